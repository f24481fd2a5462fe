/**
 * Matching a trimmed or compacted history (README: "Trimmed and compacted histories").
 *
 * LibreChat drops the oldest messages of a chat that outgrows the model's context, and OpenWebUI's
 * context compaction replaces them with a summary. Such a history no longer starts at the stored
 * root, so its prefix hashes match nothing past the first message it kept. Within one known
 * conversation, the store then looks for the stretch of a stored path that the history's newest
 * messages repeat, by their visible entries (the same projection as the prefix hashes), ending at the
 * history's last assistant entry.
 */
import { visibleText } from './projection.js';
import type { MessageLike, StoredMessage } from './types.js';

/** One visible entry: a user message, or consecutive assistant messages merged. */
interface Entry {
  role: 'user' | 'assistant';
  /** Normalised visible text (see `visibleText`). */
  text: string;
}

/** The entry a stored message belongs to, with the entry before it on its path. */
interface StoredEntry extends Entry {
  /** The first stored message of this entry. */
  first: StoredMessage;
  /** The entry before this one on the path; undefined at the root (or past the loaded messages). */
  previous: StoredEntry | undefined;
}

/** An incoming entry with the span of `rest` it covers (hidden tool messages after it included). */
interface IncomingEntry extends Entry {
  first: number;
  last: number;
}

/** What {@link matchTrimmedHistory} found. */
export interface TrimmedMatch {
  /**
   * The stored stretch the history repeats, from its first matched message to the match, HAIA's
   * hidden tool messages included: the model's context in place of the client's copy.
   */
  path: StoredMessage[];
  /** The client's messages before that stretch (its summary, or what it kept of the start). */
  head: MessageLike[];
  /** The messages after the match: to be stored and sent. */
  newMessages: MessageLike[];
  parentId: string;
  /** True when the match already has children (a regenerate or an edit of the newest message). */
  branched: boolean;
}

function isHidden(message: MessageLike): boolean {
  return message.role !== 'user' && message.role !== 'assistant';
}

function incomingEntries(rest: readonly MessageLike[]): IncomingEntry[] {
  const entries: IncomingEntry[] = [];
  for (let index = 0; index < rest.length; index++) {
    const message = rest[index] as MessageLike;
    const last = entries.at(-1);
    if (isHidden(message)) {
      if (last) last.last = index;
    } else if (message.role === 'assistant' && last?.role === 'assistant') {
      last.text += visibleText(message);
      last.last = index;
    } else {
      entries.push({
        role: message.role as Entry['role'],
        text: visibleText(message),
        first: index,
        last: index,
      });
    }
  }
  return entries;
}

/**
 * The client's messages before the matched stretch, for the model: without tool messages and
 * tool-call parts, whose partners may be among the messages the client dropped (a provider refuses
 * a result without its call).
 */
function headOf(rest: readonly MessageLike[], end: number): MessageLike[] {
  const head: MessageLike[] = [];
  for (const message of rest.slice(0, end)) {
    if (message.role === 'tool') continue;
    if (message.role === 'assistant' && Array.isArray(message.content)) {
      const parts = message.content.filter(
        (part) => (part as { type?: unknown } | null)?.type !== 'tool-call',
      );
      if (parts.length > 0) head.push({ ...message, content: parts });
      continue;
    }
    head.push(message);
  }
  return head;
}

/**
 * The stored stretch of `stored` (one conversation's messages, parents before children) that the
 * end of `rest` (the incoming history without system messages, ending with the new user message)
 * repeats: the newest stored message whose entry equals the history's last assistant entry, with
 * the most entries before it equal too (at least one, unless the history has nothing else before
 * it). Then the new user message is looked for among its children (a regenerate resends it).
 * Undefined when the history has no assistant entry or no stored stretch repeats it, or when the
 * first `covered` messages (what a prefix match from the root took) hold an answer and the
 * stretch starts right after them.
 */
export function matchTrimmedHistory(
  stored: readonly StoredMessage[],
  rest: readonly MessageLike[],
  covered = 0,
): TrimmedMatch | undefined {
  const entries = incomingEntries(rest);
  let target = entries.length - 1;
  while (target >= 0 && entries[target]?.role === 'user') target--;
  const answer = entries[target];
  // An answer without text (only tool calls) says too little to find it by.
  if (answer === undefined || answer.text === '' || target === entries.length - 1) return undefined;

  const byId = new Map<string, { message: StoredMessage; entry: StoredEntry }>();
  const children = new Map<string, StoredMessage[]>();
  let best: { message: StoredMessage; earliest: StoredEntry; matched: number } | undefined;
  for (const message of stored) {
    const parent = message.parentId === null ? undefined : byId.get(message.parentId);
    if (message.parentId !== null) {
      const siblings = children.get(message.parentId);
      if (siblings) siblings.push(message);
      else children.set(message.parentId, [message]);
    }
    let entry: StoredEntry;
    if (isHidden(message)) {
      if (parent === undefined) continue;
      entry = parent.entry;
    } else if (message.role === 'assistant' && parent?.entry.role === 'assistant') {
      entry = { ...parent.entry, text: parent.entry.text + visibleText(message) };
    } else {
      entry = {
        role: message.role as Entry['role'],
        text: visibleText(message),
        first: message,
        previous: parent?.entry,
      };
    }
    byId.set(message.id, { message, entry });
    if (entry.role !== 'assistant' || entry.text !== answer.text) continue;
    // How many entries before the answer agree too, walking back on both sides.
    let matched = 1;
    let earliest = entry;
    let previous = entry.previous;
    for (let index = target - 1; index >= 0 && previous !== undefined; index--) {
      const incoming = entries[index] as IncomingEntry;
      if (previous.role !== incoming.role || previous.text !== incoming.text) break;
      matched++;
      earliest = previous;
      previous = previous.previous;
    }
    // Later messages win ties: the newest of several equal answers, and the deepest message of one.
    if (best === undefined || matched >= best.matched) best = { message, earliest, matched };
  }
  // One entry alone, with entries before it that differ, is too little to go on: an answer the
  // client edited to a common text would be taken for another turn of the conversation.
  if (best === undefined || (best.matched < 2 && best.matched < target + 1)) return undefined;

  const path: StoredMessage[] = [];
  for (let at: StoredMessage | undefined = best.message; at !== undefined; ) {
    path.push(at);
    if (at.id === best.earliest.first.id || at.parentId === null) break;
    at = byId.get(at.parentId)?.message;
  }
  path.reverse();
  // The new user messages, where a regenerate or a retry resends ones stored under the match.
  let leaf = best.message;
  let consumed = (entries[target] as IncomingEntry).last + 1;
  for (let index = target + 1; index < entries.length; index++) {
    const incoming = entries[index] as IncomingEntry;
    const child = children
      .get(leaf.id)
      ?.findLast((message) => message.role === 'user' && visibleText(message) === incoming.text);
    if (child === undefined) break;
    path.push(child);
    leaf = child;
    consumed = incoming.last + 1;
  }
  const start = entries[target - best.matched + 1] as IncomingEntry;
  // A prefix match from the root that took in a whole turn, with the stretch right after it: the
  // history is a stored branch (the person deleted the turns between), not a trimmed one. With
  // messages between the two (a compaction that kept the first turns, then its summary), it is.
  const firstAnswer = rest.findIndex((message) => message.role === 'assistant');
  if (firstAnswer !== -1 && covered > firstAnswer && start.first <= covered) return undefined;
  return {
    path,
    head: headOf(rest, start.first),
    newMessages: rest.slice(consumed),
    parentId: leaf.id,
    branched: (children.get(leaf.id)?.length ?? 0) > 0,
  };
}
