import { describe, expect, test } from 'vitest';
import { alignClientToolTail } from './client-tool-tail.js';
import { hashChain } from './projection.js';
import type { MessageLike, ResolvedConversation, StoredMessage } from './types.js';

const user = (text: string): MessageLike => ({ role: 'user', content: text });
const calls = (text: string, ...ids: string[]): MessageLike => ({
  role: 'assistant',
  content: [
    ...(text ? [{ type: 'text', text }] : []),
    ...ids.map((id) => ({ type: 'tool-call', toolCallId: id, toolName: 'tool', input: {} })),
  ],
});
const result = (id: string): MessageLike => ({
  role: 'tool',
  content: [{ type: 'tool-result', toolCallId: id, toolName: 'tool', output: 'done' }],
});

const results = (...ids: string[]): MessageLike => ({
  role: 'tool',
  content: ids.map((id) => ({ type: 'tool-result', toolCallId: id, toolName: 'tool', output: 'done' })),
});

/** A stored path of `messages` (ids m0, m1, …) with their real prefix hashes. */
function stored(messages: MessageLike[]): StoredMessage[] {
  const { hashes } = hashChain(messages);
  return messages.map((message, index) => ({
    ...message,
    id: `m${index}`,
    conversationId: 'c',
    parentId: index === 0 ? null : `m${index - 1}`,
    status: 'complete',
    model: null,
    usage: null,
    createdAt: new Date(0),
    prefixHash: hashes[index] as string,
  }));
}

/** What the prefix match gives when `path` matched the whole history but its `newMessages`. */
function matched(path: StoredMessage[], newMessages: MessageLike[] = []): ResolvedConversation {
  return {
    conversation: {
      id: 'c',
      userId: null,
      title: null,
      externalId: null,
      client: null,
      createdAt: new Date(0),
      updatedAt: new Date(0),
      metadata: {},
    },
    created: false,
    path,
    newMessages,
    parentId: path.at(-1)?.id ?? null,
    branched: false,
    system: [],
    head: [],
  };
}

describe('alignClientToolTail', () => {
  test('a history without tool messages is left as the match found it', () => {
    const resolved = matched(stored([user('Hi'), calls('Hello')]), [user('Next')]);
    expect(alignClientToolTail(resolved, [user('Hi'), calls('Hello'), user('Next')])).toBe(resolved);
  });

  test('results the store already has change nothing', () => {
    const history = [user('Hi'), calls('', 'a'), result('a')];
    const resolved = matched(stored(history));
    expect(alignClientToolTail(resolved, [{ role: 'system', content: 'Be brief.' }, ...history])).toBe(
      resolved,
    );
  });

  test("the client's result after HAIA's own tool run of the same turn is new", () => {
    // HAIA ran its tool `h` (the client never saw it), then the model called the client's tool `a`.
    const path = stored([user('Hi'), calls('Let me check.', 'h'), result('h'), calls('', 'a')]);
    const aligned = alignClientToolTail(matched(path), [
      user('Hi'),
      calls('Let me check.', 'a'),
      result('a'),
    ]);
    expect(aligned.newMessages).toEqual([result('a')]);
    expect(aligned.parentId).toBe('m3');
    expect(aligned.path).toBe(path);
    expect(aligned.branched).toBe(false);
  });

  test('a second round of client tools keeps what came before it', () => {
    const path = stored([user('Hi'), calls('', 'a'), result('a'), calls('', 'b')]);
    const aligned = alignClientToolTail(matched(path, [user('More')]), [
      user('Hi'),
      calls('', 'a'),
      result('a'),
      calls('', 'b'),
      result('b'),
      user('More'),
    ]);
    expect(aligned.newMessages).toEqual([result('b'), user('More')]);
    expect(aligned.parentId).toBe('m3');
  });

  test('a stored path that went further is cut back to the last result the client sent', () => {
    // The model's next call `b` (unanswered) was stored, and the client retries after result `a`.
    const path = stored([user('Hi'), calls('', 'a'), result('a'), calls('', 'b')]);
    const aligned = alignClientToolTail(matched(path), [user('Hi'), calls('', 'a'), result('a')]);
    expect(aligned.newMessages).toEqual([]);
    expect(aligned.path.map((message) => message.id)).toEqual(['m0', 'm1', 'm2']);
    expect(aligned.parentId).toBe('m2');
    expect(aligned.branched).toBe(true);
  });

  test('calls of two model steps resent in one assistant message (OpenWebUI 0.9+) are not stored again', () => {
    // Stored one message a step: calls a and b, their results, then the model's next call c.
    const path = stored([user('Hi'), calls('', 'a', 'b'), results('a', 'b'), calls('', 'c')]);
    // OpenWebUI's convert_output_to_messages puts a, b and c in one message, all results after it.
    const aligned = alignClientToolTail(matched(path), [
      user('Hi'),
      calls('', 'a', 'b', 'c'),
      result('a'),
      result('b'),
      result('c'),
    ]);
    expect(aligned.newMessages).toEqual([result('c')]);
    expect(aligned.path).toBe(path);
    expect(aligned.parentId).toBe('m3');
    expect(aligned.branched).toBe(false);
  });

  test('a regrouped history whose results the store lacks sends them after their calls', () => {
    const path = stored([user('Hi'), calls('', 'a', 'b')]);
    const aligned = alignClientToolTail(matched(path), [
      user('Hi'),
      calls('', 'a', 'b', 'c'),
      results('a', 'b', 'c'),
    ]);
    expect(aligned.newMessages).toEqual([results('a', 'b'), calls('', 'c'), result('c')]);
    expect(aligned.parentId).toBe('m1');
  });

  test("another attempt's unanswered call is left behind: the client's call and result branch off", () => {
    const path = stored([user('Hi'), calls('', 'old')]);
    const aligned = alignClientToolTail(matched(path), [user('Hi'), calls('', 'new'), result('new')]);
    expect(aligned.newMessages).toEqual([calls('', 'new'), result('new')]);
    expect(aligned.path.map((message) => message.id)).toEqual(['m0']);
    expect(aligned.parentId).toBe('m0');
    expect(aligned.branched).toBe(true);
  });
});
