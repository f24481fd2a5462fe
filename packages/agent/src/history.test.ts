import type { Message } from '@haia/llm';
import { describe, expect, it } from 'vitest';
import { repairToolPairs, unresolvedToolCalls } from './history.js';
import { user } from './test-helpers.js';

const call = (id: string): Message => ({
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: id, toolName: 'list_vms', input: {} }],
});
const result = (id: string): Message => ({
  role: 'tool',
  content: [{ type: 'tool-result', toolCallId: id, toolName: 'list_vms', output: 'ok' }],
});

describe('history', () => {
  it('finds the trailing calls without results', () => {
    expect(unresolvedToolCalls([user('a'), call('x')]).map((part) => part.toolCallId)).toEqual(['x']);
    expect(unresolvedToolCalls([user('a'), call('x'), result('x')])).toEqual([]);
    expect(unresolvedToolCalls([user('a'), call('x'), user('b')])).toEqual([]);
    expect(unresolvedToolCalls([user('a')])).toEqual([]);
  });

  it('answers calls that never got a result, leaving trailing ones alone', () => {
    const messages = [user('a'), call('x'), user('b'), call('y'), result('y'), call('z')];
    const repaired = repairToolPairs(messages);
    expect(repaired).toHaveLength(7);
    expect(repaired[2]).toMatchObject({ role: 'tool', content: [{ toolCallId: 'x', isError: true }] });
    expect(repaired.slice(3)).toEqual(messages.slice(2));
    const fine = [user('a'), call('x'), result('x')];
    expect(repairToolPairs(fine)).toBe(fine);
  });
});
