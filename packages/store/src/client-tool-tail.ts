/**
 * Client tool results at the end of a matched history (README: "Resolution rules").
 *
 * `tool` messages and tool-call parts take no part in the prefix hash (HAIA's own tool calls are
 * never shown to the client), so a client that ran a tool it was offered and sends the result back
 * resends a history that hashes exactly like the stored path without that result. The resolve
 * would then call the result already stored and leave it out of the model's context (the model
 * sees its tool call unanswered; OpenAI and Anthropic refuse such a request).
 *
 * Where the hash cannot tell, the tool-call ids can: within the stretch of messages that share the
 * matched prefix hash, the stored messages that carry ids the client sent (its tool calls and
 * results) are checked, in order, against the calls and results the client sends. HAIA's own tool
 * calls carry ids the client never saw, with their results stored after them, and are passed over;
 * a stored call that nobody answered (a client call of another attempt) is not. The grouping does
 * not count, only the ids: OpenWebUI 0.9 and later resend calls of consecutive model steps in one
 * assistant message with all their results after it, where the store has one message a step. The
 * client's calls and results the store does not have are new; a stored stretch that goes further
 * or elsewhere is cut back to where both agree, and the rest becomes a branch.
 */
import { hashChain } from './projection.js';
import type { MessageLike, ResolvedConversation } from './types.js';

/** The tool-call ids a message carries: its calls (assistant) or the calls it answers (tool). */
function callIds(message: MessageLike): string[] {
  const { content } = message;
  if (!Array.isArray(content) || (message.role !== 'assistant' && message.role !== 'tool')) return [];
  const wanted = message.role === 'assistant' ? 'tool-call' : 'tool-result';
  const ids: string[] = [];
  for (const part of content) {
    if (typeof part !== 'object' || part === null) continue;
    const { type, toolCallId } = part as { type?: unknown; toolCallId?: unknown };
    if (type === wanted && typeof toolCallId === 'string') ids.push(toolCallId);
  }
  return ids;
}

/** Index of the first message of the trailing stretch of `hashes` equal to its last one. */
function stretchStart(hashes: readonly string[]): number {
  const last = hashes.at(-1);
  let start = hashes.length;
  while (start > 0 && hashes[start - 1] === last) start--;
  return start;
}

/** A message's client-visible ids as `call:<id>` (assistant) or `result:<id>` (tool) events. */
function events(message: MessageLike, visible: ReadonlySet<string>): string[] {
  const kind = message.role === 'assistant' ? 'call' : 'result';
  return callIds(message)
    .filter((id) => visible.has(id))
    .map((id) => `${kind}:${id}`);
}

/** The event of a tool-call or tool-result part, or `undefined` for any other part. */
function partEvent(part: unknown): string | undefined {
  if (typeof part !== 'object' || part === null) return undefined;
  const { type, toolCallId } = part as { type?: unknown; toolCallId?: unknown };
  if (typeof toolCallId !== 'string') return undefined;
  if (type === 'tool-call') return `call:${toolCallId}`;
  if (type === 'tool-result') return `result:${toolCallId}`;
  return undefined;
}

/** `message` with only the parts `keep` accepts, or `undefined` when no call or result is left. */
function withParts(message: MessageLike, keep: (part: unknown) => boolean): MessageLike | undefined {
  const parts = message.content as unknown[];
  const kept = parts.filter(keep);
  if (kept.every((part) => partEvent(part) === undefined)) return undefined;
  // A message whose calls are partly stored loses its text too: the text went with the stored ones.
  return { ...message, content: kept.length === parts.length ? parts : kept.filter(partEvent) };
}

/**
 * The client's calls and results of `stretch` that `stored` has not, as messages in the client's
 * order, except that results answering stored calls come first: the client may have grouped the
 * calls otherwise, and a result must follow its call.
 */
function unstored(stretch: readonly MessageLike[], stored: ReadonlySet<string>): MessageLike[] {
  const isNew = (part: unknown) => {
    const event = partEvent(part);
    return event === undefined || !stored.has(event);
  };
  const answersStored = (part: unknown) => stored.has(`call:${(part as { toolCallId: string }).toolCallId}`);
  const leading: MessageLike[] = [];
  const rest: MessageLike[] = [];
  for (const message of stretch) {
    if (!Array.isArray(message.content) || callIds(message).length === 0) {
      if (rest.length > 0) rest.push(message);
      continue;
    }
    if (message.role !== 'tool') {
      const fresh = withParts(message, isNew);
      if (fresh) rest.push(fresh);
      continue;
    }
    const early = withParts(message, (part) => isNew(part) && answersStored(part));
    const late = withParts(message, (part) => isNew(part) && !answersStored(part));
    if (early) leading.push(early);
    if (late) rest.push(late);
  }
  return [...leading, ...rest];
}

/**
 * `resolved` with the client's unstored tool results (and what came with them) moved into
 * `newMessages`, and its path cut back where the stored tool calls differ from the client's.
 * `messages` is the request's history (system messages included); `resolved` as the prefix match
 * found it. Returns `resolved` itself when the matched history ends without client tool results,
 * or they are all stored.
 */
export function alignClientToolTail(
  resolved: ResolvedConversation,
  messages: readonly MessageLike[],
): ResolvedConversation {
  if (resolved.path.length === 0 || !messages.some((message) => message.role === 'tool')) return resolved;
  const incoming = messages.filter(
    (message) => message.role !== 'system' && (message.role as string) !== 'developer',
  );
  const matchedLength = incoming.length - resolved.newMessages.length;
  // What the matched part has after its last user message: nothing to do without a tool result there.
  let segmentStart = matchedLength;
  while (segmentStart > 0 && incoming[segmentStart - 1]?.role !== 'user') segmentStart--;
  const segment = incoming.slice(segmentStart, matchedLength);
  if (!segment.some((message) => message.role === 'tool')) return resolved;

  // The stretch sharing the matched hash, on both sides. After a user message every chain is
  // closed, so hashing from there gives the same equalities as from the root.
  const incomingStretch = segment.slice(stretchStart(hashChain(segment).hashes));
  const path = resolved.path;
  const storedStretchStart = stretchStart(path.map((message) => message.prefixHash));
  const storedStretch = path.slice(storedStretchStart);

  const visible = new Set<string>();
  for (const message of incomingStretch) for (const id of callIds(message)) visible.add(id);
  const theirs = new Set(incomingStretch.flatMap((message) => events(message, visible)));
  // Stored calls without a stored result were the client's to run (HAIA runs its own and stores
  // the result): when the client does not send them, the stored stretch went elsewhere.
  const answered = new Set<string>();
  for (const message of storedStretch)
    if (message.role === 'tool') for (const id of callIds(message)) answered.add(id);
  const oursVisible = new Set(visible);
  for (const message of storedStretch)
    if (message.role === 'assistant')
      for (const id of callIds(message)) if (!answered.has(id)) oursVisible.add(id);
  // The stored messages with ids, in order, as far as the client sends each of their calls and results.
  const keyed = storedStretch
    .map((message, position) => ({ position, own: events(message, oursVisible) }))
    .filter((entry) => entry.own.length > 0);
  const keyedPositions = keyed.map((entry) => entry.position);
  const stored = new Set<string>();
  let agreed = 0;
  for (const { own } of keyed) {
    if (!own.every((event) => theirs.has(event))) break;
    for (const event of own) stored.add(event);
    agreed++;
  }
  const fresh = unstored(incomingStretch, stored);
  if (agreed === keyedPositions.length && fresh.length === 0) return resolved;

  const newMessages = [...fresh, ...resolved.newMessages];
  if (agreed === keyedPositions.length) return { ...resolved, newMessages };
  // The stored stretch goes elsewhere: keep it up to the last message both agree on.
  const keep =
    agreed === 0
      ? storedStretchStart + (keyedPositions[0] as number)
      : storedStretchStart + (keyedPositions[agreed - 1] as number) + 1;
  const cut = path.slice(0, keep);
  return {
    ...resolved,
    path: cut,
    newMessages,
    parentId: cut.at(-1)?.id ?? null,
    branched: true,
  };
}
