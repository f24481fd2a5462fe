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

  test('a long text normalises the same when it comes back (remembered) as the first time', () => {
    const long = `<think>first the nodes</think>  pve1 is up,\n\n pve2\tis down. ${'Cafe\u0301 '.repeat(20)}`;
    const first = normaliseText(long);
    expect(first).toBe(`pve1isup,pve2isdown.${'Café'.repeat(20)}`);
    // A fresh string with the same text, as the next request's JSON.parse gives.
    expect(normaliseText(JSON.parse(JSON.stringify(long)) as string)).toBe(first);
    // Many other texts later (more than the cache holds), it still normalises the same.
    for (let index = 0; index < 2000; index++) normaliseText(`${'x '.repeat(1200)}${index}`);
    expect(normaliseText(long)).toBe(first);
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

  test('the chain is the one stored so far: fixed hashes for a mixed history', () => {
    // Computed with the first implementation; stored prefix hashes depend on every byte of them.
    const messages: MessageLike[] = [
      { role: 'system', content: 'You are HAIA.' },
      user('  Is pve1 up?\n'),
      assistant([
        { type: 'reasoning', text: 'hmm' },
        { type: 'text', text: 'Let me check.' },
        { type: 'tool-call', toolCallId: 'c1', toolName: 'x', input: {} },
      ]),
      {
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'x', output: { ok: true } }],
      },
      assistant([{ type: 'text', text: '<details type="reasoning">x</details>Yes, pve1 is <b>online</b>.' }]),
      user([
        { type: 'text', text: 'Cafe\u0301 ' },
        { type: 'image_url', image_url: { url: 'https://example.test/a.png' } },
      ]),
      assistant('<think>a</think>Noted.'),
      assistant([]),
      user([
        { type: 'image', data: 'aGVsbG8=', mediaType: 'image/png' },
        { type: 'input_text', text: 'and this' },
      ]),
      assistant([{ type: 'output_text', text: 'A picture.' }]),
      user('last'),
    ];
    const expected = [
      '3fc237ef39514b928ef8c9ba3056284201d21c81023f705a5d348d21fb94c731',
      'df4b309213d8b2a71733b7edea27fb475e1e70f76a4a15a7a2cc8e20fa0d5506',
      '38d82630426f0217902ad15e7c2c2784fd36903b293d5d5db5b6b4d6ccb470a5',
      '38d82630426f0217902ad15e7c2c2784fd36903b293d5d5db5b6b4d6ccb470a5',
      '7975ccf7cf486d1e49c6688a0d7ab73a2aae9fcce56c95ca47d805a33c46bb6d',
      '23168a2e16b247973e64bca042b5cbf99e9bfaa9cb305a6a55302610fdbb21db',
      '887716444af8a6c30096d1325aa87cbe8839f44c93f3577184fc76d9a886f88f',
      '887716444af8a6c30096d1325aa87cbe8839f44c93f3577184fc76d9a886f88f',
      'c2d7684053b287775a657e8e7dd81ee4e7ab4e617fde2bc0a44cee5872ec4d9d',
      'aa225d3d136bf049fa85776ec3096e6ea1309410e5c3c44ff9587d991c56ce33',
      '117c3fa382c108d2b6bddf7c2cde0db33ba0a9a12d963697c653f92898a86c46',
    ];
    const { hashes, state } = hashChain(messages);
    expect(hashes).toEqual(expected);
    expect(state).toEqual({ closedHash: expected[10], openAssistant: null });
    // Step by step (`advance`, what appends use) gives the same chain as `hashChain`.
    let current = INITIAL_STATE;
    const stepped = messages.map((message) => {
      const step = advance(current, message);
      current = step.state;
      return step.hash;
    });
    expect(stepped).toEqual(expected);
    // A chain resumed from a midway state ends where the whole chain ends.
    const midway = hashChain(messages.slice(0, 7)).state;
    expect(midway.openAssistant).toBe('Noted.');
    expect(hashChain(messages.slice(7), midway).hashes).toEqual(expected.slice(7));
  });
});
