import { describe, expect, it } from 'vitest';
import { hashChain } from './projection.js';
import { matchTrimmedHistory } from './trimmed-history.js';
import type { MessageLike, StoredMessage } from './types.js';

const user = (content: unknown): MessageLike => ({ role: 'user', content });
const assistant = (content: unknown): MessageLike => ({ role: 'assistant', content });

/** Stored messages with ids `m0`, `m1`, …; `parents[i]` names message i's parent (default: the one before). */
function stored(messages: MessageLike[], parents: Record<number, number | null> = {}): StoredMessage[] {
  return messages.map((message, index) => {
    const parent = index in parents ? parents[index] : index - 1;
    return {
      ...message,
      id: `m${index}`,
      conversationId: 'c',
      parentId: parent === null || parent === undefined || parent < 0 ? null : `m${parent}`,
      status: 'complete',
      model: null,
      usage: null,
      createdAt: new Date(index),
      prefixHash: hashChain(messages.slice(0, index + 1)).hashes.at(-1) as string,
    };
  });
}

describe('matchTrimmedHistory', () => {
  const tree = stored([user('one'), assistant('first answer'), user('two'), assistant('second answer')]);

  it('takes a history that kept only the last answer, when nothing before it differs', () => {
    const match = matchTrimmedHistory(tree, [assistant('second answer'), user('three')]);
    expect(match).toMatchObject({ parentId: 'm3', newMessages: [user('three')], head: [], branched: false });
    expect(match?.path.map((message) => message.id)).toEqual(['m3']);
  });

  it('gives the model a head without tool messages or tool-call parts, whose partners were dropped', () => {
    const match = matchTrimmedHistory(tree, [
      assistant([
        { type: 'text', text: 'Checking.' },
        { type: 'tool-call', toolCallId: 'x', toolName: 'lookup', input: {} },
      ]),
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'x', toolName: 'lookup', output: 1 }] },
      assistant([{ type: 'tool-call', toolCallId: 'y', toolName: 'lookup', input: {} }]),
      user('two'),
      assistant('second answer'),
      user('three'),
    ]);
    expect(match?.head).toEqual([assistant([{ type: 'text', text: 'Checking.' }])]);
    expect(match?.path.map((message) => message.id)).toEqual(['m2', 'm3']);
  });

  it('prefers the stretch with more entries in common, then the newest', () => {
    // m4 answers "two" again in another branch with the same text; m6 repeats it under "other".
    const branches = stored(
      [
        user('one'),
        assistant('first answer'),
        user('two'),
        assistant('second answer'),
        assistant('second answer'),
        user('other'),
        assistant('second answer'),
      ],
      { 4: 2, 5: null, 6: 5 },
    );
    const longer = matchTrimmedHistory(branches, [user('two'), assistant('second answer'), user('next')]);
    expect(longer?.parentId).toBe('m4');
    const other = matchTrimmedHistory(branches, [user('other'), assistant('second answer'), user('next')]);
    expect(other?.parentId).toBe('m6');
  });

  it('finds nothing without an answer followed by a new user message, or when the answer is not stored', () => {
    expect(matchTrimmedHistory(tree, [user('two'), assistant('second answer')])).toBeUndefined();
    expect(matchTrimmedHistory(tree, [user('three')])).toBeUndefined();
    expect(matchTrimmedHistory(tree, [assistant('never said'), user('three')])).toBeUndefined();
    // An answer of tool calls only: nothing to recognise it by, though an empty stored one exists.
    const silent = stored([user('one'), assistant([]), user('two')]);
    expect(matchTrimmedHistory(silent, [user('one'), assistant([]), user('again')])).toBeUndefined();
  });
});
