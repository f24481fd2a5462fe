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
 * matched prefix hash, the messages that carry ids the client sent (its tool calls and results) are
 * lined up with the stored ones. HAIA's own tool calls carry ids the client never saw, with their
 * results stored after them, and are passed over; a stored call that nobody answered (a client call
 * of another attempt) is not. Incoming messages past the stored ones are new; a stored stretch that
 * goes further or elsewhere is cut back to where both agree, and the rest becomes a branch.
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

/** The messages of a stretch that carry client-visible ids, as `role:ids` keys with their positions. */
function keyed(messages: readonly MessageLike[], visible: ReadonlySet<string>) {
  const keys: string[] = [];
  const positions: number[] = [];
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as MessageLike;
    const ids = callIds(message).filter((id) => visible.has(id));
    if (ids.length === 0) continue;
    keys.push(`${message.role}:${ids.join(',')}`);
    positions.push(index);
  }
  return { keys, positions };
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
  const theirs = keyed(incomingStretch, visible);
  // Stored calls without a stored result were the client's to run (HAIA runs its own and stores
  // the result): when the client does not send them, the stored stretch went elsewhere.
  const answered = new Set<string>();
  for (const message of storedStretch)
    if (message.role === 'tool') for (const id of callIds(message)) answered.add(id);
  const oursVisible = new Set(visible);
  for (const message of storedStretch)
    if (message.role === 'assistant')
      for (const id of callIds(message)) if (!answered.has(id)) oursVisible.add(id);
  const ours = keyed(storedStretch, oursVisible);
  let agreed = 0;
  while (
    agreed < theirs.keys.length &&
    agreed < ours.keys.length &&
    theirs.keys[agreed] === ours.keys[agreed]
  )
    agreed++;
  if (agreed === theirs.keys.length && agreed === ours.keys.length) return resolved;

  // Incoming messages from the first one the store does not have (none when the store has them all).
  const fresh = agreed < theirs.keys.length ? incomingStretch.slice(theirs.positions[agreed] as number) : [];
  const newMessages = [...fresh, ...resolved.newMessages];
  if (agreed === ours.keys.length) return { ...resolved, newMessages };
  // The stored stretch goes elsewhere: keep it up to the last message both agree on.
  const keep =
    agreed === 0
      ? storedStretchStart + (ours.positions[0] as number)
      : storedStretchStart + (ours.positions[agreed - 1] as number) + 1;
  const cut = path.slice(0, keep);
  return {
    ...resolved,
    path: cut,
    newMessages,
    parentId: cut.at(-1)?.id ?? null,
    branched: true,
  };
}
