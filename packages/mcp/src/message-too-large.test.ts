import { describe, expect, it } from 'vitest';
import { classifyDroppedMessage, isMessageTooLarge, messageTooLargeText } from './message-too-large.js';

describe('classifyDroppedMessage', () => {
  it('finds the id of an answer at its start (Python, Go, Rust SDKs) or at its end (TypeScript SDK)', () => {
    expect(classifyDroppedMessage('{"jsonrpc":"2.0","id":12,"result":{"content":[{"te', 'xx"}]}}')).toEqual({
      kind: 'answer',
      id: 12,
    });
    expect(
      classifyDroppedMessage('{"result":{"content":[{"te', 'xx"}]},"jsonrpc":"2.0","id":"req-3"}'),
    ).toEqual({ kind: 'answer', id: 'req-3' });
  });

  it('tells a request or notification of the server from an answer', () => {
    expect(
      classifyDroppedMessage('{"method":"notifications/message","params":{"da', 'x"}},"jsonrpc":"2.0"}'),
    ).toEqual({
      kind: 'server-message',
    });
    expect(
      classifyDroppedMessage('{"jsonrpc":"2.0","id":0,"method":"sampling/createMessage"', 'x"}}}'),
    ).toEqual({
      kind: 'server-message',
    });
  });

  it('does not take an id from inside a string or a nested object', () => {
    expect(classifyDroppedMessage('xxxx', 'xxx \\"id\\":5}')).toEqual({ kind: 'unknown' });
    expect(classifyDroppedMessage('{"result":{"a', '{"id":5}}')).toEqual({ kind: 'unknown' });
  });
});

describe('messageTooLargeText', () => {
  it('gives the size, the limit and how to ask for less', () => {
    const data = {
      reason: 'message-too-large' as const,
      bytes: 11_534_336,
      limitBytes: 10_485_760,
      method: 'tools/call',
    };
    expect(isMessageTooLarge(data)).toBe(true);
    expect(isMessageTooLarge({ bytes: 1 })).toBe(false);
    expect(messageTooLargeText(data)).toMatch(
      /answer to tools\/call was 11534336 bytes \(11\.0 MiB\), over the limit of 10485760 bytes \(10\.0 MiB\).*Ask for less/,
    );
  });
});
