import {
  type AnthropicFake,
  anthropicError,
  anthropicThinkingSupport,
  startAnthropicFake,
} from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../chat-event.js';
import { collectStream } from '../collect-stream.js';
import type { ChatRequest } from '../language-model.js';
import { LlmError, type LlmErrorCode } from '../llm-error.js';
import { noopLogger } from '../logger.js';
import type { Message } from '../message.js';
import { createAnthropicAdapter } from './anthropic.js';
import { ANTHROPIC_CONTINUE_INSTRUCTION } from './anthropic-prefill.js';
import { ANTHROPIC_DEFAULT_MAX_TOKENS, ANTHROPIC_JSON_INSTRUCTION } from './anthropic-request.js';
import { ANTHROPIC_REFUSAL_TEXT } from './anthropic-stream.js';
import type { ProviderAdapter } from './provider-adapter.js';

const API_KEY = 'sk-ant-api03-test-secret-key-0123456789';
const hi: Message[] = [{ role: 'user', content: 'Hi' }];
const weatherTool = {
  name: 'get_weather',
  description: 'Weather of a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
};

let fake: AnthropicFake;
let adapter: ProviderAdapter;

beforeEach(async () => {
  fake = await startAnthropicFake({ apiKey: API_KEY });
  adapter = await createAnthropicAdapter('claude-test', {
    apiKey: API_KEY,
    baseURL: fake.url,
    headers: { 'x-haia-test': 'yes' },
    fetch: globalThis.fetch,
    logger: noopLogger,
  });
});
afterEach(async () => {
  await fake.close();
});

async function run(
  request: Omit<ChatRequest, 'signal'>,
  signal = new AbortController().signal,
): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of adapter.stream(request, signal)) events.push(event);
  return events;
}

async function failure(
  request: Omit<ChatRequest, 'signal'> = { messages: hi },
): Promise<{ error: LlmError; events: ChatEvent[] }> {
  const events: ChatEvent[] = [];
  try {
    for await (const event of adapter.stream(request, new AbortController().signal)) events.push(event);
  } catch (error) {
    expect(LlmError.isInstance(error)).toBe(true);
    return { error: error as LlmError, events };
  }
  throw new Error('expected the stream to fail');
}

/** An adapter of `modelId` on the fake whose info lines are kept, and a way to run one request. */
async function recordedAdapter(modelId: string) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = { ...noopLogger, info: (object: object) => void lines.push({ ...object }) };
  const model = await createAnthropicAdapter(modelId, {
    apiKey: API_KEY,
    baseURL: fake.url,
    headers: {},
    fetch: globalThis.fetch,
    logger,
  });
  const ask = async (request: Omit<ChatRequest, 'signal'>) => {
    const events: ChatEvent[] = [];
    for await (const event of model.stream(request, new AbortController().signal)) events.push(event);
    return events;
  };
  return { lines, model, ask };
}

function lastBody(): Record<string, unknown> {
  const body = fake.requests.at(-1)?.body;
  if (!body) throw new Error('no request recorded');
  return body;
}

describe('anthropic adapter: answers', () => {
  it('streams text deltas and one finish with usage and the message id', async () => {
    fake.enqueue({
      id: 'msg_text',
      content: [{ type: 'text', text: 'Hello there!', chunks: ['Hello', ' there', '!'] }],
      usage: { inputTokens: 11, outputTokens: 6 },
    });
    const events = await run({ messages: hi });
    expect(events).toEqual([
      { type: 'text-delta', text: 'Hello' },
      { type: 'text-delta', text: ' there' },
      { type: 'text-delta', text: '!' },
      {
        type: 'finish',
        finishReason: 'stop',
        usage: { inputTokens: 11, outputTokens: 6, cachedInputTokens: 0 },
        response: { model: 'anthropic:claude-test', id: 'msg_text' },
      },
    ]);
  });

  it('streams thinking with its signature and sends it back as a thinking block', async () => {
    fake.enqueue({
      content: [
        {
          type: 'thinking',
          thinking: 'The user greets me.',
          chunks: ['The user', ' greets me.'],
          signature: 'EqQBCgIYAhIM-sig',
        },
        { type: 'text', text: 'Hi!' },
      ],
      usage: { outputTokens: 30, thinkingTokens: 12 },
    });
    const result = await collectStream(adapter.stream({ messages: hi }, new AbortController().signal));
    expect(result.reasoning).toBe('The user greets me.');
    expect(result.text).toBe('Hi!');
    expect(result.usage.reasoningTokens).toBe(12);
    expect(result.message.content).toEqual([
      { type: 'reasoning', text: 'The user greets me.', signature: 'EqQBCgIYAhIM-sig' },
      { type: 'text', text: 'Hi!' },
    ]);
    await run({ messages: [...hi, result.message, { role: 'user', content: 'And?' }] });
    expect((lastBody().messages as unknown[])[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'The user greets me.', signature: 'EqQBCgIYAhIM-sig' },
        { type: 'text', text: 'Hi!' },
      ],
    });
  });

  it('does a multi-turn tool round trip with two tool calls in one turn', async () => {
    fake.enqueue(
      {
        content: [
          { type: 'text', text: 'Checking both.' },
          {
            type: 'tool_use',
            id: 'toolu_a',
            name: 'get_weather',
            input: { city: 'Paris' },
            fragments: ['', '{"ci', 'ty": "Pa', 'ris"}'],
          },
          { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: { city: 'Oslo' } },
        ],
      },
      { content: [{ type: 'text', text: 'Paris 18C, Oslo unknown.' }] },
    );
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather of a city',
        inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ];
    const messages: Message[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris and Oslo?' },
    ];
    const first = await collectStream(adapter.stream({ messages, tools }, new AbortController().signal));
    expect(first.finishReason).toBe('tool-calls');
    expect(first.toolCalls).toEqual([
      { type: 'tool-call', toolCallId: 'toolu_a', toolName: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool-call', toolCallId: 'toolu_b', toolName: 'get_weather', input: { city: 'Oslo' } },
    ]);
    const second = await collectStream(
      adapter.stream(
        {
          tools,
          messages: [
            ...messages,
            first.message,
            {
              role: 'tool',
              content: [
                {
                  type: 'tool-result',
                  toolCallId: 'toolu_a',
                  toolName: 'get_weather',
                  output: { celsius: 18 },
                },
                {
                  type: 'tool-result',
                  toolCallId: 'toolu_b',
                  toolName: 'get_weather',
                  output: 'service down',
                  isError: true,
                },
              ],
            },
          ],
        },
        new AbortController().signal,
      ),
    );
    expect(second.text).toBe('Paris 18C, Oslo unknown.');
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
    const body = lastBody();
    expect(body.system).toBe('Be brief.');
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Oslo?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking both.' },
          { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: { city: 'Oslo' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_a', content: '{"celsius":18}' },
          { type: 'tool_result', tool_use_id: 'toolu_b', content: 'service down', is_error: true },
        ],
      },
    ]);
  });

  it('sends images by URL, data URL and base64', async () => {
    await run({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image', url: 'https://example.com/a.png' },
            { type: 'image', url: 'data:image/jpeg;base64,/9j/4AAQ' },
            { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
          ],
        },
      ],
    });
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
    expect((lastBody().messages as Array<{ content: unknown }>)[0]?.content).toEqual([
      { type: 'text', text: 'Compare' },
      { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
    ]);
  });

  it('counts cache reads and writes into inputTokens and reports cachedInputTokens', async () => {
    fake.enqueue({
      content: [{ type: 'text', text: 'cached' }],
      usage: { inputTokens: 20, cacheReadInputTokens: 1500, cacheCreationInputTokens: 300, outputTokens: 4 },
      repeatUsageInDelta: true,
    });
    const finish = (await run({ messages: hi })).at(-1);
    expect(finish).toMatchObject({
      type: 'finish',
      usage: { inputTokens: 1820, outputTokens: 4, cachedInputTokens: 1500 },
    });
  });

  it.each([
    ['max_tokens', 'length'],
    ['stop_sequence', 'stop'],
    ['refusal', 'content-filter'],
    ['pause_turn', 'other'],
    ['model_context_window_exceeded', 'length'],
  ] as const)('maps stop_reason %s to %s', async (stopReason, finishReason) => {
    fake.enqueue({ content: [{ type: 'text', text: 'x' }], stopReason });
    expect((await run({ messages: hi })).at(-1)).toMatchObject({ type: 'finish', finishReason });
  });

  it('says a refusal in a refusal text delta after any partial text, then finishes with content-filter', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'Here is how' }], stopReason: 'refusal' });
    const events = await run({ messages: hi });
    expect(events.filter((event) => event.type === 'text-delta')).toEqual([
      { type: 'text-delta', text: 'Here is how' },
      { type: 'text-delta', text: ANTHROPIC_REFUSAL_TEXT, refusal: true },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'content-filter' });
    fake.enqueue({ content: [], stopReason: 'refusal' });
    const collected = await collectStream(adapter.stream({ messages: hi }, new AbortController().signal));
    expect(collected.text).toBe(ANTHROPIC_REFUSAL_TEXT);
    expect(collected.message.content).toEqual([{ type: 'text', text: ANTHROPIC_REFUSAL_TEXT }]);
  });

  it('buffers events split across TCP writes', async () => {
    fake.enqueue({
      content: [
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'split', chunks: ['sp', 'lit'] },
      ],
      splitEvents: true,
    });
    const events = await run({ messages: hi });
    expect(
      events.filter((event) => event.type === 'text-delta').map((event) => (event as { text: string }).text),
    ).toEqual(['sp', 'lit']);
    expect(events.filter((event) => event.type === 'reasoning-delta')).toEqual([
      { type: 'reasoning-delta', text: '', redactedData: 'opaque' },
    ]);
  });

  it('keeps redacted thinking and sends every thinking block back, in order, in a tool round trip', async () => {
    fake.enqueue({
      content: [
        { type: 'thinking', thinking: 'First.', signature: 'sig-1' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy-encrypted' },
        { type: 'thinking', thinking: 'Second.', signature: 'sig-2' },
        { type: 'tool_use', id: 'toolu_r', name: 'get_weather', input: { city: 'Oslo' } },
      ],
      stopReason: 'tool_use',
    });
    const result = await collectStream(
      adapter.stream({ messages: hi, tools: [weatherTool] }, new AbortController().signal),
    );
    expect(result.reasoning).toBe('First.Second.');
    expect(result.message.content).toEqual([
      { type: 'reasoning', text: 'First.', signature: 'sig-1' },
      { type: 'reasoning', text: '', redactedData: 'EmwKAhgBEgy-encrypted' },
      { type: 'reasoning', text: 'Second.', signature: 'sig-2' },
      { type: 'tool-call', toolCallId: 'toolu_r', toolName: 'get_weather', input: { city: 'Oslo' } },
    ]);
    await run({
      messages: [
        ...hi,
        result.message,
        {
          role: 'tool',
          content: [{ type: 'tool-result', toolCallId: 'toolu_r', toolName: 'get_weather', output: 'sunny' }],
        },
      ],
      tools: [weatherTool],
    });
    expect((lastBody().messages as Array<{ content: unknown }>)[1]?.content).toEqual([
      { type: 'thinking', thinking: 'First.', signature: 'sig-1' },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy-encrypted' },
      { type: 'thinking', thinking: 'Second.', signature: 'sig-2' },
      { type: 'tool_use', id: 'toolu_r', name: 'get_weather', input: { city: 'Oslo' } },
    ]);
  });
});

describe('anthropic adapter: request shape', () => {
  it('leaves out whitespace-only text, which the API refuses, so a history with such an answer still works', async () => {
    const events = await run({
      messages: [
        { role: 'user', content: 'list the VMs' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: '\n\n' },
            { type: 'tool-call', toolCallId: 'toolu_w', toolName: 'get_weather', input: { city: 'Oslo' } },
          ],
        },
        {
          role: 'tool',
          content: [{ type: 'tool-result', toolCallId: 'toolu_w', toolName: 'get_weather', output: 'sunny' }],
        },
        { role: 'assistant', content: ' \n' },
        { role: 'user', content: [{ type: 'text', text: ' ' }] },
        { role: 'user', content: 'and now?' },
      ],
      tools: [weatherTool],
    });
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(lastBody().messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'list the VMs' }] },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_w', name: 'get_weather', input: { city: 'Oslo' } }],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_w', content: 'sunny' },
          { type: 'text', text: 'and now?' },
        ],
      },
    ]);
  });

  it('puts the system prompt on top, merges same-role turns, sets max_tokens and sends the headers', async () => {
    await run({
      messages: [
        { role: 'system', content: 'You are HAIA.' },
        { role: 'user', content: 'one' },
        { role: 'user', content: [{ type: 'text', text: 'two' }] },
        { role: 'assistant', content: 'ok' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'three' },
      ],
    });
    const recorded = fake.requests.at(-1);
    expect(recorded?.rejected).toBeUndefined();
    // SDK 1.x sends the key as a bearer token (0.x used x-api-key); the fake accepts both.
    expect(recorded?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(recorded?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(recorded?.headers['x-haia-test']).toBe('yes');
    expect(recorded?.headers['x-stainless-retry-count']).toBe('0');
    expect(lastBody()).toEqual({
      model: 'claude-test',
      max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
      stream: true,
      system: 'You are HAIA.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'one' },
            { type: 'text', text: 'two' },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
        { role: 'user', content: [{ type: 'text', text: 'three' }] },
      ],
    });
  });

  it('sends every request through the injected fetch', async () => {
    const urls: string[] = [];
    const recordingFetch: typeof globalThis.fetch = (input, init) => {
      urls.push(input instanceof Request ? input.url : String(input));
      return globalThis.fetch(input, init);
    };
    const injected = await createAnthropicAdapter('claude-test', {
      apiKey: API_KEY,
      baseURL: `${fake.url}/`,
      headers: {},
      fetch: recordingFetch,
      logger: noopLogger,
    });
    for await (const _event of injected.stream({ messages: hi }, new AbortController().signal)) {
      // drain
    }
    expect(urls).toEqual([`${fake.url}/v1/messages`]);
  });

  it('maps tools, tool choice, stop sequences, sampling and maxOutputTokens', async () => {
    const tools = [
      { name: 'lookup', description: 'Look up', inputSchema: { properties: { q: { type: 'string' } } } },
    ];
    const choices = [
      ['auto', { type: 'auto' }],
      ['none', { type: 'none' }],
      ['required', { type: 'any' }],
      [
        { type: 'tool', toolName: 'lookup' },
        { type: 'tool', name: 'lookup' },
      ],
    ] as const;
    for (const [toolChoice, expected] of choices) {
      await run({
        messages: hi,
        tools,
        toolChoice,
        stop: ['END'],
        temperature: 0.5,
        topP: 0.9,
        maxOutputTokens: 100,
      });
      expect(lastBody()).toMatchObject({
        tools: [
          {
            name: 'lookup',
            description: 'Look up',
            input_schema: { type: 'object', properties: { q: { type: 'string' } } },
          },
        ],
        tool_choice: expected,
        stop_sequences: ['END'],
        temperature: 0.5,
        max_tokens: 100,
      });
      // Current models refuse `temperature` and `top_p` together: the temperature is kept.
      expect(lastBody()).not.toHaveProperty('top_p');
    }
    await run({ messages: hi, toolChoice: 'required' });
    expect(lastBody()).not.toHaveProperty('tool_choice');
    expect(fake.requests.every((request) => request.rejected === undefined)).toBe(true);
  });

  it('sends a model that refuses sampling parameters (Opus 4.7) the request again without them, once', async () => {
    const { lines, ask } = await recordedAdapter('claude-opus-4-7');
    const first = await ask({ messages: hi, temperature: 0.2, topP: 0.9 });
    expect(first.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(fake.requests.map((request) => request.rejected?.message)).toEqual([
      '`temperature` is deprecated for this model.',
      undefined,
    ]);
    expect(lastBody()).not.toHaveProperty('temperature');
    expect(lines).toEqual([{ model: 'claude-opus-4-7', parameter: 'temperature' }]);
    // From then on the adapter leaves them out at once.
    const second = await ask({ messages: hi, topP: 0.5 });
    expect(second.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests[2]?.rejected).toBeUndefined();
    expect(lastBody()).not.toHaveProperty('top_p');
  });

  it("lowers max_tokens above the model's maximum to the maximum Anthropic names, from then on at once", async () => {
    const { lines, ask } = await recordedAdapter('claude-3-haiku-20240307');
    // The default max_tokens (8192) is above Claude 3 Haiku's 4096.
    const first = await ask({ messages: hi });
    expect(first.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(fake.requests.map((request) => [request.body?.max_tokens, request.rejected?.message])).toEqual([
      [
        ANTHROPIC_DEFAULT_MAX_TOKENS,
        'max_tokens: 8192 > 4096, which is the maximum allowed number of output tokens for claude-3-haiku-20240307',
      ],
      [4096, undefined],
    ]);
    expect(lines).toEqual([{ model: 'claude-3-haiku-20240307', requested: 8192, maximum: 4096 }]);
    // Later calls above the maximum go at the maximum at once; a lower limit goes as it is.
    await ask({ messages: hi, maxOutputTokens: 10_000 });
    await ask({ messages: hi, maxOutputTokens: 1000 });
    expect(fake.requests.slice(2).map((request) => [request.body?.max_tokens, request.rejected])).toEqual([
      [4096, undefined],
      [1000, undefined],
    ]);
    expect(lines).toHaveLength(1);
  });

  it('leaves out the stop sequences Anthropic refuses: empty or only whitespace', async () => {
    const events = await run({ messages: hi, stop: ['\n\n', 'END', '', ' \t'] });
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
    expect(lastBody().stop_sequences).toEqual(['END']);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    await run({ messages: hi, stop: ['\n'] });
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
    expect(lastBody()).not.toHaveProperty('stop_sequences');
  });

  it('continues a cut-off answer as a prefill trimmed at its end, or through a user message', async () => {
    const partial: Message[] = [...hi, { role: 'assistant', content: 'The answer is \n' }];
    await run({ messages: partial });
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
    expect((lastBody().messages as unknown[]).at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'The answer is' }],
    });
    // Claude 4.6 and later take no prefill: the answer goes as its own turn, then a user asks to go on.
    const { lines, ask } = await recordedAdapter('claude-sonnet-4-6');
    const events = await ask({ messages: partial, reasoningEffort: 'low' });
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(fake.requests.slice(1).map((request) => request.rejected?.message)).toEqual([
      'This model does not support assistant message prefill. The conversation must end with a user message.',
      undefined,
    ]);
    expect((lastBody().messages as unknown[]).slice(-2)).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'The answer is' }] },
      { role: 'user', content: [{ type: 'text', text: ANTHROPIC_CONTINUE_INSTRUCTION }] },
    ]);
    // The prefill itself went without thinking, which Anthropic does not allow with one; the
    // continuation through a user message thinks.
    expect(fake.requests[1]?.body).not.toHaveProperty('thinking');
    expect(lastBody()).toMatchObject({ thinking: { type: 'adaptive' } });
    expect(lines).toEqual([{ model: 'claude-sonnet-4-6', parameter: 'prefill' }]);
    await ask({ messages: partial });
    expect(fake.requests).toHaveLength(4);
    expect(fake.requests[3]?.rejected).toBeUndefined();
  });

  it('does not resend a request refused for anything else', async () => {
    const { error } = await failure({ messages: [{ role: 'user', content: ' ' }], temperature: 0.2 });
    expect(error.code).toBe('invalid-request');
    expect(fake.requests).toHaveLength(1);
  });

  it('sends top_p alone when no temperature is set', async () => {
    const events = await run({ messages: hi, topP: 0.8 });
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
    expect(lastBody()).toMatchObject({ top_p: 0.8 });
    expect(lastBody()).not.toHaveProperty('temperature');
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it("clamps an OpenAI-scale temperature (0 to 2) to Anthropic's 0 to 1, which the API would refuse", async () => {
    const events = await run({ messages: hi, temperature: 1.5 });
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
    expect(lastBody().temperature).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    await run({ messages: hi, temperature: 0.3 });
    expect(lastBody().temperature).toBe(0.3);
  });

  it('asks for JSON with output_config.format, or with a system instruction when there is no schema', async () => {
    const schema = {
      type: 'object',
      properties: { answer: { type: 'string' } },
      required: ['answer'],
      additionalProperties: false,
    };
    fake.enqueue({ content: [{ type: 'text', text: '{"answer":"42"}' }] });
    const result = await collectStream(
      adapter.stream(
        { messages: hi, responseFormat: { type: 'json', schema } },
        new AbortController().signal,
      ),
    );
    expect(JSON.parse(result.text)).toEqual({ answer: '42' });
    expect(lastBody().output_config).toEqual({ format: { type: 'json_schema', schema } });
    await run({
      messages: [{ role: 'system', content: 'Be terse.' }, ...hi],
      responseFormat: { type: 'json' },
    });
    expect(lastBody().system).toBe(`Be terse.\n\n${ANTHROPIC_JSON_INSTRUCTION}`);
    expect(lastBody()).not.toHaveProperty('output_config');
  });
});

describe('anthropic adapter: errors', () => {
  it.each<[string, Parameters<typeof anthropicError>, LlmErrorCode, boolean, RegExp]>([
    ['401', [401], 'auth', false, /set ANTHROPIC_API_KEY/],
    ['402 billing', [402], 'permission', false, /billing/],
    ['403', [403], 'permission', false, /access/],
    [
      '404',
      [404, { message: 'model: claude-nope' }],
      'not-found',
      false,
      /model not found: "claude-test".*HAIA_MODEL/,
    ],
    [
      '400',
      [400, { message: 'messages.0: bad' }],
      'invalid-request',
      false,
      /Anthropic said: messages\.0: bad/,
    ],
    [
      '400 prompt too long',
      [400, { message: 'prompt is too long: 210000 tokens > 200000 maximum' }],
      'context-length',
      false,
      /too long/,
    ],
    ['413', [413], 'context-length', false, /too long/],
    ['429', [429], 'rate-limit', true, /rate limit/],
    ['500', [500], 'server', true, /internal error/],
    ['504', [504], 'timeout', true, /timed out/],
    ['529', [529], 'overloaded', true, /overloaded/],
    ['503 without a body type', [503, { type: 'unknown_error' }], 'overloaded', true, /overloaded/],
  ])('maps HTTP %s to its code', async (_name, args, code, retryable, message) => {
    fake.enqueue(anthropicError(...args));
    const { error } = await failure();
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(args[0]);
    expect(error.provider).toBe('anthropic');
    expect(error.model).toBe('claude-test');
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(API_KEY);
    expect(fake.requests).toHaveLength(1);
  });

  it('never puts the API key in a message, even when the server echoes it', async () => {
    fake.enqueue(anthropicError(401, { message: `invalid x-api-key ${API_KEY}` }));
    const { error } = await failure();
    expect(error.message).not.toContain(API_KEY);
    expect(error.message).toContain('[redacted]');
  });

  it('parses retry-after and retry-after-ms into retryAfterMs', async () => {
    fake.enqueue(anthropicError(429, { retryAfter: 7 }), anthropicError(529, { retryAfterMs: 250 }));
    expect((await failure()).error.retryAfterMs).toBe(7000);
    expect((await failure()).error.retryAfterMs).toBe(250);
  });

  it('turns an in-stream error event into an LlmError after the output began', async () => {
    fake.enqueue({
      content: [
        { type: 'text', text: 'partial' },
        { type: 'text', text: 'never' },
      ],
      streamError: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const { error, events } = await failure();
    expect(events).toEqual([{ type: 'text-delta', text: 'partial' }]);
    expect(error.code).toBe('overloaded');
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/error event in the stream/);
    fake.enqueue({
      content: [{ type: 'text', text: 'x' }],
      streamError: { type: 'invalid_request_error', message: 'bad' },
    });
    expect((await failure()).error.code).toBe('invalid-request');
  });

  it('fails when the stream ends before message_stop, cleanly or abruptly', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'cut' }], endEarly: {} });
    const clean = await failure();
    expect(clean.events).toEqual([{ type: 'text-delta', text: 'cut' }]);
    expect(clean.error.code).toBe('network');
    expect(clean.error.message).toMatch(/the stream ended early/i);
    fake.enqueue({ content: [{ type: 'text', text: 'cut' }], endEarly: { afterEvents: 4, mode: 'destroy' } });
    const abrupt = await failure();
    expect(abrupt.error.code).toBe('network');
    expect(abrupt.error.message).toMatch(/stream ended early/i);
  });

  it('maps a refused connection to network', async () => {
    const { url } = fake;
    await fake.close();
    const { error } = await failure();
    expect(error.code).toBe('network');
    expect(error.message).toContain(url);
  });

  it('fails with auth and sends nothing when there is no API key', async () => {
    const keyless = await createAnthropicAdapter('claude-test', {
      apiKey: undefined,
      baseURL: fake.url,
      headers: {},
      fetch: globalThis.fetch,
      logger: noopLogger,
    });
    await expect(async () => {
      for await (const _event of keyless.stream({ messages: hi }, new AbortController().signal)) {
        // no events expected
      }
    }).rejects.toMatchObject({ code: 'auth', message: expect.stringContaining('ANTHROPIC_API_KEY') });
    expect(fake.requests).toHaveLength(0);
  });

  it('aborts at once and closes the socket', async () => {
    fake.enqueue({
      content: [{ type: 'text', text: 'first', chunks: ['first', 'second'] }],
      hangAfterEvents: 4,
    });
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    const consumed = (async () => {
      for await (const event of adapter.stream({ messages: hi }, controller.signal)) {
        events.push(event);
        controller.abort();
      }
    })();
    await expect(consumed).rejects.toMatchObject({ code: 'aborted' });
    expect(events).toEqual([{ type: 'text-delta', text: 'first' }]);
    await vi.waitFor(() => expect(fake.activeRequests()).toBe(0));
  });

  it('aborts before the response head arrives', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'late' }], hangAfterEvents: 0 });
    const controller = new AbortController();
    const consumed = run({ messages: hi }, controller.signal);
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
    controller.abort();
    await expect(consumed).rejects.toMatchObject({ code: 'aborted' });
    await vi.waitFor(() => expect(fake.activeRequests()).toBe(0));
  });
});

describe('the fake, read by the real SDK directly', () => {
  it('serves non-streaming JSON and streams that the SDK message accumulator assembles', async () => {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const client = new Anthropic({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 0 });
    fake.enqueue(
      { content: [{ type: 'text', text: 'plain' }], usage: { inputTokens: 3, outputTokens: 1 } },
      {
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'toolu_x', name: 'lookup', input: { q: 'a "quoted" value', n: [1, 2] } },
        ],
      },
    );
    const message = await client.messages.create({
      model: 'claude-test',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'plain' }]);
    expect(message.usage.input_tokens).toBe(3);
    const final = await client.messages
      .stream({ model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content[1]).toMatchObject({
      type: 'tool_use',
      id: 'toolu_x',
      input: { q: 'a "quoted" value', n: [1, 2] },
    });
  });
});

describe('anthropic adapter: reasoning effort as thinking', () => {
  const infoLines: Array<Record<string, unknown>> = [];
  const logger = { ...noopLogger, info: (object: object) => void infoLines.push({ ...object }) };
  beforeEach(() => {
    infoLines.length = 0;
  });
  const adapterFor = (modelId: string) =>
    createAnthropicAdapter(modelId, {
      apiKey: API_KEY,
      baseURL: fake.url,
      headers: {},
      fetch: globalThis.fetch,
      logger,
    });
  const ask = async (model: ProviderAdapter, request: Omit<ChatRequest, 'signal'>) => {
    const events: ChatEvent[] = [];
    for await (const event of model.stream(request, new AbortController().signal)) events.push(event);
    return events;
  };
  const thought = {
    content: [
      { type: 'thinking' as const, thinking: 'Check the node first.', signature: 'sig-1' },
      { type: 'text' as const, text: 'pve1 is up.' },
    ],
  };

  it('asks a 4.5 model for a thinking budget on top of max_tokens, without sampling values', async () => {
    const sonnet = await adapterFor('claude-sonnet-4-5-20250929');
    fake.enqueue(thought);
    const events = await ask(sonnet, { messages: hi, reasoningEffort: 'medium', temperature: 0.3 });
    expect(lastBody()).toMatchObject({
      thinking: { type: 'enabled', budget_tokens: 8192 },
      max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS + 8192,
    });
    expect(lastBody()).not.toHaveProperty('temperature');
    expect(lastBody()).not.toHaveProperty('output_config');
    expect(
      events
        .filter((event) => event.type === 'reasoning-delta')
        .map((event) => event.text)
        .join(''),
    ).toBe('Check the node first.');
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(fake.requests.every((request) => request.rejected === undefined)).toBe(true);
  });

  it('asks Opus 4.7 for adaptive thinking at the effort, with the thinking text shown', async () => {
    const opus = await adapterFor('claude-opus-4-7');
    fake.enqueue(thought);
    await ask(opus, { messages: hi, reasoningEffort: 'high', maxOutputTokens: 2000 });
    expect(lastBody()).toMatchObject({
      thinking: { type: 'adaptive', display: 'summarized' },
      output_config: { effort: 'high' },
      max_tokens: 2000 + 16_384,
    });
    expect(fake.requests.every((request) => request.rejected === undefined)).toBe(true);
  });

  it('learns from the refusals which kind of thinking a model takes, or that it takes none', async () => {
    // A name the adapter cannot place (a proxy's), for a model that takes adaptive thinking only.
    await fake.close();
    fake = await startAnthropicFake({
      apiKey: API_KEY,
      thinkingSupport: (model) => (model === 'team-claude' ? 'adaptive' : anthropicThinkingSupport(model)),
    });
    const proxied = await adapterFor('team-claude');
    await ask(proxied, { messages: hi, reasoningEffort: 'low' });
    expect(
      fake.requests.map((request) => (request.body?.thinking as { type?: string } | undefined)?.type),
    ).toEqual(['enabled', 'adaptive']);
    expect(fake.requests[0]?.rejected?.message).toMatch(/"thinking\.type\.enabled" is not supported/);
    await ask(proxied, { messages: hi, reasoningEffort: 'low' });
    expect(fake.requests).toHaveLength(3);
    expect(lastBody()).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' } });
    expect(infoLines).toEqual([{ model: 'team-claude', from: 'manual', to: 'adaptive' }]);

    // A model that cannot think gets the request without thinking, and so from then on (Claude 3.5
    // Haiku's 8192 output tokens also lower the limit that made room for the thinking).
    fake.requests.length = 0;
    const haiku = await adapterFor('claude-3-5-haiku-20241022');
    const answer = await ask(haiku, { messages: hi, reasoningEffort: 'high' });
    expect(answer.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(fake.requests.map((request) => request.rejected?.message)).toContain(
      "'claude-3-5-haiku-20241022' does not support thinking.",
    );
    expect(lastBody()).not.toHaveProperty('thinking');
    const first = fake.requests.length;
    await ask(haiku, { messages: hi, reasoningEffort: 'high' });
    expect(fake.requests).toHaveLength(first + 1);
    expect(lastBody()).not.toHaveProperty('thinking');
    expect(lastBody()).toMatchObject({ max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS });
  });

  it('does not think with a forced tool call or in a tool loop that began without thinking, or for none', async () => {
    const sonnet = await adapterFor('claude-sonnet-4-5');
    await ask(sonnet, {
      messages: hi,
      tools: [weatherTool],
      toolChoice: 'required',
      reasoningEffort: 'high',
    });
    expect(lastBody()).not.toHaveProperty('thinking');
    await ask(sonnet, {
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'tool-call', toolCallId: 'toolu_1', toolName: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'tool',
          content: [{ type: 'tool-result', toolCallId: 'toolu_1', toolName: 'get_weather', output: 'sunny' }],
        },
      ],
      tools: [weatherTool],
      reasoningEffort: 'high',
    });
    expect(lastBody()).not.toHaveProperty('thinking');
    await ask(sonnet, { messages: hi, reasoningEffort: 'none', temperature: 0.2 });
    expect(lastBody()).not.toHaveProperty('thinking');
    expect(lastBody()).toMatchObject({ temperature: 0.2 });
    expect(fake.requests.every((request) => request.rejected === undefined)).toBe(true);
  });

  it('thinks on in a tool loop whose assistant message kept its signed thinking', async () => {
    const sonnet = await adapterFor('claude-sonnet-4-5');
    await ask(sonnet, {
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'Ask the tool.', signature: 'sig-1' },
            { type: 'tool-call', toolCallId: 'toolu_1', toolName: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'tool',
          content: [{ type: 'tool-result', toolCallId: 'toolu_1', toolName: 'get_weather', output: 'sunny' }],
        },
      ],
      tools: [weatherTool],
      reasoningEffort: 'low',
    });
    expect(lastBody()).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(fake.requests.at(-1)?.rejected).toBeUndefined();
  });

  it('keeps the thinking budget below a max_tokens lowered to the model maximum', async () => {
    const opus41 = await adapterFor('claude-opus-4-1-20250805');
    await ask(opus41, { messages: hi, reasoningEffort: 'xhigh' });
    expect(fake.requests.map((request) => request.rejected?.message)).toEqual([
      expect.stringContaining('> 32000, which is the maximum allowed number of output tokens'),
      undefined,
    ]);
    expect(lastBody()).toMatchObject({
      max_tokens: 32_000,
      thinking: { type: 'enabled', budget_tokens: 16_000 },
    });
  });
});
