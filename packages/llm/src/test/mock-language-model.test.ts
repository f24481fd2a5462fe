import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LlmError } from '../llm-error.js';
import { MockLanguageModel } from './mock-language-model.js';

const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('MockLanguageModel', () => {
  it('answers scripted results in order and records calls', async () => {
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolName: 'list_vms', input: { node: 'pve1' } }] },
        { text: 'Two VMs.', usage: { inputTokens: 3, outputTokens: 2 } },
      ],
    });
    const first = await model.generate(ask);
    expect(first.finishReason).toBe('tool-calls');
    expect(first.toolCalls).toEqual([
      { type: 'tool-call', toolCallId: 'call_0_0', toolName: 'list_vms', input: { node: 'pve1' } },
    ]);
    const second = await model.generate(ask);
    expect(second).toMatchObject({
      text: 'Two VMs.',
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 2 },
    });
    expect(second.response).toEqual({ model: 'mock:mock-model', id: 'mock-2' });
    expect(model.calls).toHaveLength(2);
    await expect(model.generate(ask)).rejects.toThrow(/call 3 has no scripted result/);
  });

  it('takes exact events, errors and functions', async () => {
    const events = new MockLanguageModel({
      results: [
        { type: 'reasoning-delta', text: 'hm' },
        { type: 'text-delta', text: 'ok' },
      ],
    });
    const collected = await events.generate(ask);
    expect(collected.message.content).toEqual([
      { type: 'reasoning', text: 'hm' },
      { type: 'text', text: 'ok' },
    ]);
    const failing = new MockLanguageModel({
      results: new LlmError({ code: 'overloaded', message: 'busy', provider: 'mock', model: 'm' }),
    });
    await expect(failing.generate(ask)).rejects.toMatchObject({ code: 'overloaded', retryable: true });
    const echo = new MockLanguageModel({
      results: (request, index) => ({ text: `${index}:${request.messages.length}` }),
    });
    expect((await echo.generate(ask)).text).toBe('0:1');
  });

  it('stops with an aborted LlmError when the signal fires', async () => {
    const controller = new AbortController();
    const model = new MockLanguageModel({ results: { text: 'slow' }, delayMs: 1 });
    const stream = model.stream({ ...ask, signal: controller.signal });
    controller.abort();
    await expect(async () => {
      for await (const _event of stream) {
        // drain
      }
    }).rejects.toMatchObject({ code: 'aborted' });
  });

  it('keeps exactly one finish, last, when a scripted event list has one in the middle', async () => {
    const model = new MockLanguageModel({
      results: [
        [
          { type: 'text-delta', text: 'a' },
          {
            type: 'finish',
            finishReason: 'length',
            usage: { inputTokens: 1, outputTokens: 1 },
            response: { model: 'mock:m', id: 'x' },
          },
          { type: 'text-delta', text: 'ignored' },
        ],
      ],
    });
    const seen = [];
    for await (const event of model.stream(ask)) seen.push(event);
    expect(seen.map((event) => event.type)).toEqual(['text-delta', 'finish']);
    expect(seen.at(-1)).toMatchObject({ finishReason: 'length' });
  });

  it('leaves no abort listener behind on the caller signal after a slow stream', async () => {
    const controller = new AbortController();
    const model = new MockLanguageModel({
      results: Array.from({ length: 12 }, (_, index) => ({ type: 'text-delta' as const, text: `${index}` })),
      delayMs: 1,
    });
    const result = await model.generate({ ...ask, signal: controller.signal });
    expect(result.text).toBe('01234567891011');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
