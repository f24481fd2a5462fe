import { type AnthropicFake, anthropicError, startAnthropicFake } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createModel } from '../create-model.js';
import type { LanguageModel } from '../language-model.js';
import { LlmError } from '../llm-error.js';

const API_KEY = 'sk-ant-api03-model-test-key-9876543210';

let fake: AnthropicFake;
let model: LanguageModel;
let sleeps: number[];

beforeEach(async () => {
  fake = await startAnthropicFake({ apiKey: API_KEY });
  sleeps = [];
  model = createModel('anthropic:claude-test', {
    apiKey: API_KEY,
    baseURL: fake.url,
    env: {},
    maxRetries: 2,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
});
afterEach(async () => {
  await fake.close();
});

describe("createModel('anthropic:…') against the fake", () => {
  it('generates text, reasoning and usage', async () => {
    fake.enqueue({
      id: 'msg_generate',
      content: [
        { type: 'thinking', thinking: 'Short.', signature: 'sig' },
        { type: 'text', text: 'Hello!', chunks: ['Hel', 'lo!'] },
      ],
      usage: { inputTokens: 5, cacheReadInputTokens: 2, outputTokens: 3 },
    });
    const result = await model.generate({ messages: [{ role: 'user', content: 'Hi' }] });
    expect(model.provider).toBe('anthropic');
    expect(model.modelId).toBe('claude-test');
    expect(result.text).toBe('Hello!');
    expect(result.reasoning).toBe('Short.');
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: 3, cachedInputTokens: 2 });
    expect(result.response).toEqual({ model: 'anthropic:claude-test', id: 'msg_generate' });
  });

  it('retries an overloaded 529 honouring retry-after, then answers', async () => {
    fake.enqueue(anthropicError(529, { retryAfter: 3 }), { content: [{ type: 'text', text: 'second try' }] });
    const result = await model.generate({ messages: [{ role: 'user', content: 'Hi' }] });
    expect(result.text).toBe('second try');
    expect(fake.requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(3000);
  });

  it('does not retry after the first token: an in-stream error ends the stream with an LlmError', async () => {
    fake.enqueue({
      content: [
        { type: 'text', text: 'partial' },
        { type: 'text', text: 'rest' },
      ],
      streamError: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const texts: string[] = [];
    const consumed = (async () => {
      for await (const event of model.stream({ messages: [{ role: 'user', content: 'Hi' }] })) {
        if (event.type === 'text-delta') texts.push(event.text);
      }
    })();
    await expect(consumed).rejects.toMatchObject({ code: 'overloaded' });
    expect(texts).toEqual(['partial']);
    expect(fake.requests).toHaveLength(1);
  });

  it('fails on a stream cut before message_stop without retrying', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'cut' }], endEarly: {} });
    const error = await model
      .generate({ messages: [{ role: 'user', content: 'Hi' }] })
      .catch((caught: unknown) => caught);
    expect(LlmError.isInstance(error)).toBe(true);
    expect((error as LlmError).message).toMatch(/the stream ended early/);
    expect(fake.requests).toHaveLength(1);
  });

  it('does not retry a rejected key and keeps the key out of the message', async () => {
    model = createModel('anthropic:claude-test', {
      apiKey: 'sk-ant-wrong-key-000000',
      baseURL: fake.url,
      env: {},
      sleep: async () => {},
    });
    const error = (await model
      .generate({ messages: [{ role: 'user', content: 'Hi' }] })
      .catch((caught: unknown) => caught)) as LlmError;
    expect(error.code).toBe('auth');
    expect(error.message).toContain('ANTHROPIC_API_KEY');
    expect(error.message).not.toContain('sk-ant-wrong-key-000000');
    expect(fake.requests).toHaveLength(1);
  });

  it("aborts on the caller's signal and closes the socket", async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'a', chunks: ['a', 'b'] }], hangAfterEvents: 4 });
    const controller = new AbortController();
    const consumed = (async () => {
      for await (const event of model.stream({
        messages: [{ role: 'user', content: 'Hi' }],
        signal: controller.signal,
      })) {
        if (event.type === 'text-delta') controller.abort();
      }
    })();
    await expect(consumed).rejects.toMatchObject({ code: 'aborted' });
    await vi.waitFor(() => expect(fake.activeRequests()).toBe(0));
  });

  it('turns a stalled stream into a timeout through firstTokenTimeoutMs', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'never' }], hangAfterEvents: 1 });
    model = createModel('anthropic:claude-test', {
      apiKey: API_KEY,
      baseURL: fake.url,
      env: {},
      maxRetries: 0,
      firstTokenTimeoutMs: 30,
    });
    await expect(model.generate({ messages: [{ role: 'user', content: 'Hi' }] })).rejects.toMatchObject({
      code: 'timeout',
    });
    await vi.waitFor(() => expect(fake.activeRequests()).toBe(0));
  });
});

describe('anthropic through createModel: the first-token timeout', () => {
  it('lets a tool_use block that streams longer than firstTokenTimeoutMs finish', async () => {
    // content_block_start comes at once, then 12 input_json_delta events 50 ms apart: past 300 ms.
    const text = 'y'.repeat(120);
    const json = JSON.stringify({ text });
    const fragments = Array.from({ length: 12 }, (_, index) => json.slice(index * 12, (index + 1) * 12));
    fragments[11] = json.slice(132);
    fake.enqueue({
      content: [{ type: 'tool_use', id: 'toolu_long', name: 'write_file', input: { text }, fragments }],
      firstDelayMs: 0,
      delayMs: 50,
    });
    model = createModel('anthropic:claude-test', {
      apiKey: API_KEY,
      baseURL: fake.url,
      env: {},
      maxRetries: 0,
      firstTokenTimeoutMs: 300,
    });
    const result = await model.generate({ messages: [{ role: 'user', content: 'Write it' }] });
    expect(result.toolCalls).toMatchObject([{ toolCallId: 'toolu_long', input: { text } }]);
  });
});

describe('anthropic through createModel: review fixes', () => {
  it('finishes with length, without retrying, when max_tokens cuts a tool call mid-arguments', async () => {
    fake.enqueue({
      content: [
        { type: 'text', text: 'Checking.' },
        {
          type: 'tool_use',
          id: 'toolu_cut',
          name: 'get_weather',
          input: {},
          fragments: ['', '{"city": "Pa'],
        },
      ],
      stopReason: 'max_tokens',
      usage: { inputTokens: 5, outputTokens: 16 },
    });
    const result = await model.generate({
      messages: [{ role: 'user', content: 'Weather?' }],
      maxOutputTokens: 16,
    });
    expect(result.finishReason).toBe('length');
    expect(result.text).toBe('Checking.');
    expect(result.toolCalls).toEqual([]);
    expect(fake.requests).toHaveLength(1);
  });

  it('still fails (and retries) on unparseable tool arguments when the answer was not cut off', async () => {
    const corrupt = {
      content: [
        {
          type: 'tool_use' as const,
          id: 'toolu_bad',
          name: 'get_weather',
          input: {},
          fragments: ['{"city": '],
        },
      ],
      stopReason: 'tool_use' as const,
    };
    fake.enqueue(corrupt, corrupt, corrupt);
    const error: unknown = await model.generate({ messages: [{ role: 'user', content: 'Weather?' }] }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(LlmError.isInstance(error) && error.code).toBe('server');
    expect(LlmError.isInstance(error) && error.message).toMatch(/get_weather/);
    expect(fake.requests).toHaveLength(3);
  });
});
