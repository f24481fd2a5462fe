import { createModel, LlmError, type Message } from '@haia/llm';
import { startOpenAIFake } from '@haia/testkit';
import { describe, expect, it } from 'vitest';
import { createAgent } from './create-agent.js';
import { repairToolPairs, unresolvedToolCalls } from './history.js';
import { collectEvents, lastEvent, user } from './test-helpers.js';

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

describe('history the provider would refuse', () => {
  it('ends the run with invalid-request before any request for an orphan result', async () => {
    const fake = await startOpenAIFake({ apiKeys: ['sk-agent-ids-key-1234567890'] });
    try {
      const model = createModel('openai:gpt-4o-mini', {
        apiKey: 'sk-agent-ids-key-1234567890',
        baseURL: fake.baseURL,
        env: {},
      });
      const agent = createAgent({ model, instructions: 'You are HAIA.' });
      const events = await collectEvents(
        agent.run({ messages: [user('a'), call('x'), result('x'), user('b'), result('ghost')] }),
      );
      const error = lastEvent(events, 'error').error;
      expect(LlmError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'invalid-request' });
      // Index 5: the instructions' system message comes first in the request.
      expect(error.message).toContain('messages[5] (tool)');
      expect(error.message).toContain('"ghost"');
      expect(fake.server.requests).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });
});
