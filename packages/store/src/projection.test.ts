import { describe, expect, test } from 'vitest';
import {
  advance,
  hashChain,
  INITIAL_STATE,
  normaliseText,
  stateFromTail,
  visibleText,
} from './projection.js';
import type { MessageLike } from './types.js';

const user = (content: unknown): MessageLike => ({ role: 'user', content });
const assistant = (content: unknown): MessageLike => ({ role: 'assistant', content });

describe('visible projection', () => {
  test('whitespace, Unicode form and OpenWebUI reasoning blocks do not change the text', () => {
    expect(normaliseText('  Hello,\n\n world\t')).toBe(normaliseText('Hello, world'));
    expect(normaliseText('Cafe\u0301')).toBe(normaliseText('Café'));
    expect(
      normaliseText(
        '<details type="reasoning" done="true" duration="3">\n<summary>Thought</summary>\n> hmm\n</details>\nAnswer',
      ),
    ).toBe('Answer');
    expect(normaliseText('<think>step by step</think>Answer')).toBe('Answer');
    // A <details> the user wrote (no type attribute) is content.
    expect(normaliseText('<details>mine</details>')).toBe('<details>mine</details>');
  });

  test('only text and image identity count; reasoning and tool calls are invisible', () => {
    expect(
      visibleText(
        assistant([
          { type: 'reasoning', text: 'secret thoughts' },
          { type: 'text', text: 'Done.' },
          { type: 'tool-call', toolCallId: '1', toolName: 'x', input: {} },
        ]),
      ),
    ).toBe('Done.');
    const stored = visibleText(
      user([
        { type: 'text', text: 'What is this?' },
        { type: 'image', url: 'data:image/png;base64,AAAA' },
      ]),
    );
    const wire = visibleText(
      user([
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
      ]),
    );
    const bytes = visibleText(
      user([
        { type: 'text', text: 'What is this?' },
        { type: 'image', data: 'AAAA', mediaType: 'image/png' },
      ]),
    );
    expect(stored).toBe(wire);
    expect(bytes).toBe(wire);
    expect(
      visibleText(
        user([
          { type: 'text', text: 'What is this?' },
          { type: 'image', url: 'https://x/other.png' },
        ]),
      ),
    ).not.toBe(wire);
  });

  test('one agent turn (text, tool call, tool result, text) hashes like the single message the client resends', () => {
    const stored = hashChain([
      user('Is pve1 up?'),
      assistant([
        { type: 'text', text: 'Let me check.' },
        { type: 'tool-call', toolCallId: 'c1', toolName: 'nodes', input: {} },
      ]),
      {
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'nodes', output: 'online' }],
      },
      assistant([{ type: 'text', text: 'Yes.' }]),
    ]).hashes;
    const resent = hashChain([user('Is pve1 up?'), assistant('Let me check.\n\nYes.')]).hashes;
    expect(stored[3]).toBe(resent[1]);
    expect(stored[0]).toBe(resent[0]);
    // The tool message inherits the hash before it.
    expect(stored[2]).toBe(stored[1]);
  });

  test('system messages take no part in the hash', () => {
    const withSystem = hashChain([{ role: 'system', content: 'v1' }, user('Hi')]).hashes;
    const changedSystem = hashChain([{ role: 'system', content: 'v2' }, user('Hi')]).hashes;
    expect(withSystem[1]).toBe(changedSystem[1]);
    expect(withSystem[1]).toBe(hashChain([user('Hi')]).hashes[0]);
  });

  test('roles and order matter', () => {
    expect(hashChain([user('Hi')]).hashes[0]).not.toBe(hashChain([assistant('Hi')]).hashes[0]);
    expect(hashChain([user('a'), user('b')]).hashes[1]).not.toBe(hashChain([user('b'), user('a')]).hashes[1]);
    // Two user messages in a row are two entries; two assistant messages merge.
    expect(hashChain([user('ab')]).hashes[0]).not.toBe(hashChain([user('a'), user('b')]).hashes[1]);
  });

  test('the state after a path can be rebuilt from its tail since the last user message', () => {
    const messages = [user('one'), assistant('two'), user('three'), assistant('four'), assistant('five')];
    const { hashes, state } = hashChain(messages);
    const tail = messages
      .slice(2)
      .map((message, index) => ({ ...message, prefixHash: hashes[index + 2] ?? '' }));
    expect(stateFromTail(tail)).toEqual(state);
    const next = assistant('six');
    expect(advance(stateFromTail(tail), next).hash).toBe(hashChain([...messages, next]).hashes[5]);
    expect(stateFromTail([])).toEqual(INITIAL_STATE);
  });
});
