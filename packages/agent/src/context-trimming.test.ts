import type { Message } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { estimateMessageTokens, trimMessages } from './context-trimming.js';
import { createAgent } from './create-agent.js';
import { user } from './test-helpers.js';
import { defineTool } from './tool.js';
import { createToolset } from './toolset.js';

/** Every message counts as 10 tokens: easy budgets. */
const ten = () => 10;

const system: Message = { role: 'system', content: 'You are HAIA.' };
const turn = (n: number): Message[] => [
  user(`question ${n}`),
  {
    role: 'assistant',
    content: [{ type: 'tool-call', toolCallId: `c${n}`, toolName: 'list_vms', input: {} }],
  },
  { role: 'tool', content: [{ type: 'tool-result', toolCallId: `c${n}`, toolName: 'list_vms', output: [] }] },
  { role: 'assistant', content: `answer ${n}` },
];

function pairedCalls(messages: readonly Message[]): boolean {
  const calls = new Set<string>();
  const results = new Set<string>();
  for (const message of messages) {
    if (message.role === 'assistant' && typeof message.content !== 'string') {
      for (const part of message.content) if (part.type === 'tool-call') calls.add(part.toolCallId);
    }
    if (message.role === 'tool') for (const part of message.content) results.add(part.toolCallId);
  }
  return [...calls].every((id) => results.has(id)) && [...results].every((id) => calls.has(id));
}

describe('trimMessages', () => {
  it('keeps everything that fits', () => {
    const messages = [system, ...turn(1), user('now')];
    const result = trimMessages(messages, 1000, ten);
    expect(result).toEqual({ messages, dropped: 0, estimatedTokens: 60 });
  });

  it('drops whole old turns first, never the system prompt or the last user message', () => {
    const messages = [system, ...turn(1), ...turn(2), ...turn(3), user('now')];
    const result = trimMessages(messages, 60, ten);
    expect(result.dropped).toBe(8);
    expect(result.messages).toEqual([system, ...turn(3), user('now')]);
    expect(result.estimatedTokens).toBe(60);
  });

  it('inside the run in progress drops old call/result pairs together, keeping the newest', () => {
    const pair = (id: string): Message[] => [
      {
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: id, toolName: 'list_vms', input: {} }],
      },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: id, toolName: 'list_vms', output: [] }] },
    ];
    const messages = [system, ...turn(1), user('now'), ...pair('a'), ...pair('b'), ...pair('c')];
    const result = trimMessages(messages, 50, ten);
    expect(result.messages).toEqual([system, user('now'), ...pair('c')]);
    expect(pairedCalls(result.messages)).toBe(true);
  });

  it('returns what cannot be dropped when even that is over budget', () => {
    const messages = [system, ...turn(1), user('now')];
    const result = trimMessages(messages, 5, ten);
    expect(result.messages).toEqual([system, user('now')]);
    expect(result.estimatedTokens).toBe(20);
  });

  it('keeps system messages found in the middle of the history', () => {
    const note: Message = { role: 'system', content: 'The user prefers GiB.' };
    const messages = [
      system,
      user('old'),
      note,
      { role: 'assistant', content: 'old answer' } as Message,
      user('now'),
    ];
    expect(trimMessages(messages, 30, ten).messages).toEqual([system, note, user('now')]);
  });

  it('estimates about four characters a token, images at a flat rate', () => {
    expect(estimateMessageTokens({ role: 'user', content: 'x'.repeat(400) })).toBe(104);
    expect(
      estimateMessageTokens({
        role: 'user',
        content: [{ type: 'image', url: 'https://example.test/a.png' }],
      }),
    ).toBe(804);
    expect(
      estimateMessageTokens({
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: 'a', toolName: 'abcd', output: { v: 'x'.repeat(100) } }],
      }),
    ).toBe(Math.ceil((16 + 4 + JSON.stringify({ v: 'x'.repeat(100) }).length) / 4));
  });
});

describe('context trimming in the agent', () => {
  it('sends the model a trimmed history within the budget, tool calls kept with their results', async () => {
    const listVms = defineTool({
      name: 'list_vms',
      description: 'All VMs',
      input: z.object({}),
      execute: () => 'x'.repeat(400),
    });
    const model = new MockLanguageModel({
      results: [{ toolCalls: [{ toolCallId: 'now', toolName: 'list_vms', input: {} }] }, { text: 'done' }],
    });
    // Each old turn is about 70 tokens with its long answer.
    const longTurn = (n: number): Message[] => [
      ...turn(n).slice(0, 3),
      { role: 'assistant', content: 'y'.repeat(200) },
    ];
    const history = [...longTurn(1), ...longTurn(2), ...longTurn(3), user('what now?')];
    const agent = createAgent({
      model,
      instructions: 'You are HAIA.',
      toolsets: [createToolset('proxmox', [listVms])],
      limits: { contextTokens: 250 },
    });
    const result = await agent.generate({ messages: history });
    const [first, second] = [model.calls[0]!.messages, model.calls[1]!.messages];
    const sent = (messages: Message[]) =>
      messages.reduce((sum, message) => sum + estimateMessageTokens(message), 0);
    expect(first).toEqual([system, ...longTurn(2), ...longTurn(3), user('what now?')]);
    // Once the run's large tool result came in, one more old turn went; the run's call and result stay.
    expect(second).toEqual([system, ...longTurn(3), user('what now?'), ...result.messages.slice(0, 2)]);
    expect(sent(first)).toBeLessThanOrEqual(250);
    expect(sent(second)).toBeLessThanOrEqual(250);
    expect(pairedCalls(first) && pairedCalls(second)).toBe(true);
    // Trimming changes only what is sent, never what the run reports.
    expect(result.messages).toHaveLength(3);
  });

  it('uses a custom token estimate', async () => {
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const agent = createAgent({ model, limits: { contextTokens: 3, estimateTokens: () => 1 } });
    await agent.generate({
      messages: [...turn(1), user('a'), { role: 'assistant', content: 'b' }, user('c')],
    });
    expect(model.calls[0]!.messages).toEqual([user('a'), { role: 'assistant', content: 'b' }, user('c')]);
  });
});
