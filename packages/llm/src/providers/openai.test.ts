import { type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../chat-event.js';
import { type CreateModelOptions, createModel } from '../create-model.js';
import type { Message } from '../message.js';
import { failure } from './adapter-test-helpers.js';
import { nearestEffort } from './openai-effort-guard.js';

const KEY = 'sk-test-secret-key-1234567890';
let fake: OpenAIFake;

beforeEach(async () => {
  fake = await startOpenAIFake({ apiKeys: [KEY], models: ['gpt-4o-mini'] });
});
afterEach(async () => {
  await fake.close();
});

async function events(stream: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of stream) out.push(event);
  return out;
}

const hi: Message[] = [{ role: 'user', content: 'Hi' }];

/** `createModel(id)` on `target` with the test key, no environment fallbacks and no retries. */
function modelOn(id: string, target: OpenAIFake, logger?: CreateModelOptions['logger']) {
  return createModel(id, {
    apiKey: KEY,
    baseURL: target.baseURL,
    env: {},
    maxRetries: 0,
    ...(logger ? { logger } : {}),
  });
}

/** A logger that keeps its info lines (object and message) for the test to read. */
function recordingLogger() {
  const lines: Array<{ object: object; message: string }> = [];
  const logger = {
    debug() {},
    info: (object: object, message: string) => void lines.push({ object, message }),
    warn() {},
    error() {},
    child() {
      return logger;
    },
  };
  return { lines, logger };
}

// Every test runs against the openai SDK (`openai:`) and HAIA's own wire client
// (`openai-compatible:`, undici): same fake, same expectations unless a line says otherwise.
describe.each(['openai', 'openai-compatible'] as const)('%s', (provider) => {
  function model(options: CreateModelOptions = {}, id = `${provider}:gpt-4o-mini`) {
    return createModel(id, { apiKey: KEY, baseURL: fake.baseURL, env: {}, maxRetries: 0, ...options });
  }
  const maxTokensField = provider === 'openai' ? 'max_completion_tokens' : 'max_tokens';

  describe('openai provider', () => {
    it('streams text with usage and exactly one finish, last', async () => {
      fake.enqueue({
        text: 'Hello there, homelab.',
        usage: { promptTokens: 16, completionTokens: 4, cachedTokens: 8 },
      });
      const list = await events(
        model().stream({ messages: [{ role: 'system', content: 'Be brief.' }, ...hi] }),
      );
      const text = list.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('');
      expect(text).toBe('Hello there, homelab.');
      expect(list.filter((event) => event.type === 'finish')).toHaveLength(1);
      expect(list.at(-1)).toEqual({
        type: 'finish',
        finishReason: 'stop',
        usage: { inputTokens: 16, outputTokens: 4, cachedInputTokens: 8, reasoningTokens: 0 },
        response: { model: `${provider}:gpt-4o-mini`, id: 'chatcmpl-fake0' },
      });
      const body = fake.requests[0]?.body;
      expect(body).toMatchObject({
        model: 'gpt-4o-mini',
        stream: true,
        stream_options: { include_usage: true },
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
      });
      expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
      if (provider === 'openai') expect(fake.requests[0]?.headers['x-stainless-retry-count']).toBe('0');
    });

    it('assembles several fragmented tool calls and sends a tool round trip back', async () => {
      fake.enqueue({
        toolCalls: [
          { id: 'call_a', name: 'get_vm_status', arguments: { vmid: 101, node: 'pve1' }, fragments: 5 },
          { id: 'call_b', name: 'get_vm_status', arguments: { vmid: 102, node: 'pve2' }, fragments: 4 },
        ],
        usage: { promptTokens: 50, completionTokens: 20 },
      });
      const tools = [
        {
          name: 'get_vm_status',
          description: 'VM status',
          inputSchema: { type: 'object', properties: { vmid: { type: 'number' } } },
        },
      ];
      const first = await model().generate({ messages: hi, tools, toolChoice: 'required' });
      expect(first.finishReason).toBe('tool-calls');
      expect(first.toolCalls).toEqual([
        {
          type: 'tool-call',
          toolCallId: 'call_a',
          toolName: 'get_vm_status',
          input: { vmid: 101, node: 'pve1' },
        },
        {
          type: 'tool-call',
          toolCallId: 'call_b',
          toolName: 'get_vm_status',
          input: { vmid: 102, node: 'pve2' },
        },
      ]);
      fake.enqueue({ text: 'Both run.' });
      const second = await model().generate({
        messages: [
          ...hi,
          first.message,
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'call_a',
                toolName: 'get_vm_status',
                output: { status: 'running' },
              },
              {
                type: 'tool-result',
                toolCallId: 'call_b',
                toolName: 'get_vm_status',
                output: 'node offline',
                isError: true,
              },
            ],
          },
        ],
        tools,
        toolChoice: { type: 'tool', toolName: 'get_vm_status' },
      });
      expect(second.text).toBe('Both run.');
      expect(fake.requests[0]?.body.tool_choice).toBe('required');
      expect(fake.requests[0]?.body.tools).toEqual([
        {
          type: 'function',
          function: { name: 'get_vm_status', description: 'VM status', parameters: tools[0]?.inputSchema },
        },
      ]);
      const sent = fake.requests[1]?.body;
      expect(sent?.tool_choice).toEqual({ type: 'function', function: { name: 'get_vm_status' } });
      expect(sent?.messages.slice(1)).toEqual([
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_a',
              type: 'function',
              function: { name: 'get_vm_status', arguments: '{"vmid":101,"node":"pve1"}' },
            },
            {
              id: 'call_b',
              type: 'function',
              function: { name: 'get_vm_status', arguments: '{"vmid":102,"node":"pve2"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '{"status":"running"}' },
        { role: 'tool', tool_call_id: 'call_b', content: 'Error: node offline' },
      ]);
    });

    it('maps reasoning_content and reasoning, with reasoning tokens', async () => {
      fake.enqueue(
        {
          reasoning: 'Let me think.',
          text: '42',
          usage: { promptTokens: 3, completionTokens: 9, reasoningTokens: 6 },
        },
        { reasoning: 'Hmm.', reasoningField: 'reasoning', text: 'ok' },
      );
      const first = await model({}, 'openai-compatible:gpt-4o-mini').generate({ messages: hi });
      expect(first).toMatchObject({
        reasoning: 'Let me think.',
        text: '42',
        usage: { reasoningTokens: 6, outputTokens: 9 },
      });
      expect(first.message.content).toEqual([
        { type: 'reasoning', text: 'Let me think.' },
        { type: 'text', text: '42' },
      ]);
      expect(first.response.model).toBe('openai-compatible:gpt-4o-mini');
      const second = await model({}, 'openai-compatible:gpt-4o-mini').generate({ messages: hi });
      expect(second.reasoning).toBe('Hmm.');
    });

    it('sends images, stop, limits and response formats', async () => {
      fake.enqueue({ text: '{"a":1}' }, { text: '{"a":1}' }, { text: 'x' });
      const image: Message = {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', url: 'https://example.test/cat.png' },
          { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
        ],
      };
      const schema = { type: 'object', properties: { a: { type: 'number' } } };
      await model().generate({
        messages: [image],
        stop: ['END'],
        maxOutputTokens: 64,
        temperature: 0.2,
        topP: 0.9,
        responseFormat: { type: 'json', schema, name: 'answer', description: 'The answer', strict: true },
      });
      await model().generate({ messages: hi, responseFormat: { type: 'json' } });
      await model({}, 'openai-compatible:gpt-4o-mini').generate({ messages: hi, maxOutputTokens: 32 });
      const [first, second, third] = fake.requests.map((request) => request.body);
      expect(first).toMatchObject({
        stop: ['END'],
        [maxTokensField]: 64,
        temperature: 0.2,
        top_p: 0.9,
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'answer', schema, description: 'The answer', strict: true },
        },
      });
      expect(first?.messages[0]?.content).toEqual([
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: 'https://example.test/cat.png' } },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ]);
      expect(second?.response_format).toEqual({ type: 'json_object' });
      expect(third).toMatchObject({ max_tokens: 32 });
      // generate() on openai-compatible asks for one chat.completion JSON; the SDK path always streams.
      expect(third?.stream).toBe(false);
      expect(third).not.toHaveProperty('stream_options');
      expect(third).not.toHaveProperty('max_completion_tokens');
    });

    it('tolerates compatible-server quirks: no usage, no tool-call ids, empty choices, stop with tools', async () => {
      fake.enqueue({
        emptyChoicesChunk: true,
        usage: false,
        finishReason: 'stop',
        toolCalls: [
          { id: null, name: 'list_vms', arguments: {} },
          { id: null, name: 'get_storage', arguments: '' },
        ],
      });
      const result = await model({}, 'openai-compatible:gpt-4o-mini').generate({ messages: hi });
      expect(result.finishReason).toBe('tool-calls');
      expect(result.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
      expect(result.toolCalls.map((call) => call.input)).toEqual([{}, {}]);
      const ids = result.toolCalls.map((call) => call.toolCallId);
      expect(ids[0]).toMatch(/^call_\w+/);
      expect(new Set(ids).size).toBe(2);
    });

    it('works without a key for openai-compatible, and says how to set one for openai', async () => {
      const open = await startOpenAIFake();
      try {
        const local = createModel('openai-compatible:llama', { baseURL: open.baseURL, env: {} });
        expect((await local.generate({ messages: hi })).text).toBe('Hello from the fake.');
      } finally {
        await open.close();
      }
      const error = await failure(createModel('openai:gpt-4o-mini', { env: {} }).generate({ messages: hi }));
      expect(error).toMatchObject({
        code: 'auth',
        retryable: false,
        message: expect.stringMatching(/OPENAI_API_KEY/),
      });
      const noBase = await failure(
        createModel('openai-compatible:x', { env: {} }).generate({ messages: hi }),
      );
      expect(noBase).toMatchObject({
        code: 'invalid-request',
        message: expect.stringMatching(/OPENAI_BASE_URL/),
      });
    });

    it('passes headers and the injected fetch through', async () => {
      const urls: string[] = [];
      const counting: typeof fetch = (input, init) => {
        urls.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      };
      await model({ headers: { 'x-haia-test': 'yes' }, fetch: counting }).generate({ messages: hi });
      expect(urls).toEqual([`${fake.baseURL}/chat/completions`]);
      expect(fake.requests[0]?.headers['x-haia-test']).toBe('yes');
    });

    it('reads the key and base URL from the environment only when not given', async () => {
      const fromEnv = createModel('openai:gpt-4o-mini', {
        env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseURL },
      });
      expect((await fromEnv.generate({ messages: hi })).text).toBe('Hello from the fake.');
      const explicit = createModel('openai:gpt-4o-mini', {
        apiKey: 'sk-wrong-but-explicit-0000',
        baseURL: fake.baseURL,
        env: { OPENAI_API_KEY: KEY },
        maxRetries: 0,
      });
      expect((await failure(explicit.generate({ messages: hi }))).code).toBe('auth');
    });
  });

  describe('openai error mapping', () => {
    const cases: Array<[number, Record<string, unknown>, string, boolean]> = [
      [400, {}, 'invalid-request', false],
      [
        400,
        { code: 'context_length_exceeded', message: "This model's maximum context length is 128000 tokens." },
        'context-length',
        false,
      ],
      [
        400,
        { code: 'content_policy_violation', message: 'Your request was rejected by the safety system.' },
        'content-filter',
        false,
      ],
      [401, {}, 'auth', false],
      [403, {}, 'permission', false],
      [404, {}, 'not-found', false],
      [408, {}, 'timeout', true],
      [413, {}, 'context-length', false],
      [422, {}, 'invalid-request', false],
      [429, {}, 'rate-limit', true],
      [429, { code: 'insufficient_quota', message: 'You exceeded your current quota.' }, 'rate-limit', false],
      [500, {}, 'server', true],
      [502, {}, 'server', true],
      [503, {}, 'overloaded', true],
    ];
    it.each(cases)('status %i %j is %s (retryable %s)', async (status, fields, code, retryable) => {
      fake.enqueue({ error: { status, ...fields } });
      const error = await failure(model().generate({ messages: hi }));
      expect(error).toMatchObject({
        name: 'LlmError',
        code,
        retryable,
        status,
        provider,
        model: 'gpt-4o-mini',
      });
      expect(error.message).not.toContain(KEY);
    });

    it('says which variable sets a rejected key and never shows the key', async () => {
      const wrongKey = 'sk-this-key-is-wrong-555555';
      const error = await failure(model({ apiKey: wrongKey }).generate({ messages: hi }));
      expect(error.code).toBe('auth');
      expect(error.message).toMatch(/Set OPENAI_API_KEY or pass apiKey/);
      expect(error.message).not.toContain(wrongKey);
      // A server that echoes the whole key in its message still does not leak it.
      fake.enqueue({ error: { status: 401, message: `Invalid key ${KEY} for this project` } });
      const echoed = await failure(model().generate({ messages: hi }));
      expect(echoed.message).not.toContain(KEY);
      expect(echoed.message).toContain('[redacted]');
    });

    it('names the model that does not exist and the unreachable base URL', async () => {
      const missing = await failure(model({}, `${provider}:gpt-9`).generate({ messages: hi }));
      expect(missing).toMatchObject({ code: 'not-found', message: expect.stringMatching(/gpt-9/) });
      const closed = await startOpenAIFake();
      const baseURL = closed.baseURL;
      await closed.close();
      const unreachable = await failure(
        createModel(`${provider}:gpt-4o-mini`, { apiKey: KEY, baseURL, env: {}, maxRetries: 0 }).generate({
          messages: hi,
        }),
      );
      expect(unreachable).toMatchObject({ code: 'network', retryable: true });
      expect(unreachable.message).toContain(baseURL);
      expect(unreachable.message).toMatch(/ECONNREFUSED/);
    });

    it('ends the stream with an error on a mid-stream error event, a truncation or a hang-up', async () => {
      fake.enqueue(
        {
          text: 'partial answer',
          midStreamError: { message: 'The server had an error processing your request.' },
        },
        { text: 'partial answer', truncate: true },
        { hangUp: true },
        { text: 'cut', finishReason: null },
      );
      const seen: ChatEvent[] = [];
      const mid = await failure(
        (async () => {
          for await (const event of model().stream({ messages: hi })) seen.push(event);
        })(),
      );
      expect(seen.some((event) => event.type === 'text-delta')).toBe(true);
      expect(seen.some((event) => event.type === 'finish')).toBe(false);
      expect(mid).toMatchObject({ code: 'server', message: expect.stringMatching(/error in the stream/) });
      // Streamed on purpose (generate() would ask openai-compatible for one JSON answer).
      const streamed = { messages: hi, wholeAnswer: false };
      expect((await failure(model().generate(streamed))).code).toBe('network');
      expect((await failure(model().generate(streamed))).code).toBe('network');
      expect(await failure(model().generate(streamed))).toMatchObject({
        code: 'network',
        message: expect.stringMatching(/finish_reason/),
      });
    });
  });

  describe('openai provider: review fixes', () => {
    it('streams a refusal as text and finishes with content-filter, not an empty stop', async () => {
      fake.enqueue({ refusal: "I'm sorry, I can't help with that." });
      const list = await events(model().stream({ messages: hi }));
      const text = list.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('');
      expect(text).toBe("I'm sorry, I can't help with that.");
      expect(list.at(-1)).toMatchObject({ type: 'finish', finishReason: 'content-filter' });
    });

    it('marks refusal text with refusal: true, streamed and whole, and generate() keeps it as the text', async () => {
      const refusal = "I'm sorry, I can't help with that.";
      fake.enqueue({ refusal, chunkSize: 10 });
      const list = await events(model().stream({ messages: hi }));
      const deltas = list.filter((event) => event.type === 'text-delta');
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.every((event) => event.refusal === true)).toBe(true);
      fake.enqueue({ text: 'fine', refusal: undefined }, { refusal });
      const plain = await events(model().stream({ messages: hi }));
      expect(plain.find((event) => event.type === 'text-delta')).toEqual({
        type: 'text-delta',
        text: 'fine',
      });
      const whole = await model().generate({ messages: hi });
      expect(whole.text).toBe(refusal);
      expect(whole.finishReason).toBe('content-filter');
      expect(whole.message.content).toEqual([{ type: 'text', text: refusal }]);
    });

    it('keeps one tool name when a compatible server repeats id and name on every fragment', async () => {
      fake.enqueue({
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' }, repeatHead: true },
          { id: 'call_b', name: 'list_vms', arguments: { node: 'pve1' }, repeatHead: true, fragments: 4 },
        ],
      });
      const result = await model({}, 'openai-compatible:gpt-4o-mini').generate({ messages: hi });
      expect(result.toolCalls).toEqual([
        { type: 'tool-call', toolCallId: 'call_a', toolName: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool-call', toolCallId: 'call_b', toolName: 'list_vms', input: { node: 'pve1' } },
      ]);
      expect(result.finishReason).toBe('tool-calls');
    });

    it('lets a tool call that streams longer than firstTokenTimeoutMs finish: its fragments are output', async () => {
      // The first fragment comes at once, the other 9 a slow 60 ms apart: 540 ms, past the 300 ms limit.
      fake.enqueue({
        toolCalls: [
          { id: 'call_long', name: 'write_file', arguments: { text: 'x'.repeat(90) }, fragments: 10 },
        ],
        firstDelayMs: 0,
        delayMs: 60,
      });
      const result = await model({ firstTokenTimeoutMs: 300 }).generate({ messages: hi, wholeAnswer: false });
      expect(result.toolCalls).toMatchObject([{ toolCallId: 'call_long', input: { text: 'x'.repeat(90) } }]);
      expect(fake.requests).toHaveLength(1);
    });

    it('drops a tool call cut off by the token limit and finishes with length', async () => {
      fake.enqueue({
        text: 'Let me look.',
        toolCalls: [{ id: 'call_cut', name: 'get_weather', arguments: '{"city": "Par' }],
        finishReason: 'length',
      });
      const list = await events(model().stream({ messages: hi }));
      expect(list.filter((event) => event.type === 'tool-call')).toEqual([]);
      expect(list.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length' });
    });

    it('sends max_completion_tokens, which reasoning models require, and a tool round trip the API accepts', async () => {
      await using reasoningFake = await startOpenAIFake({ apiKeys: [KEY], models: ['o3-mini'] });
      reasoningFake.enqueue(
        {
          toolCalls: [
            { name: 'a', arguments: {} },
            { name: 'b', arguments: {} },
          ],
        },
        { text: 'ok' },
      );
      const reasoning = model({ baseURL: reasoningFake.baseURL }, 'openai:o3-mini');
      const first = await reasoning.generate({ messages: hi, maxOutputTokens: 50 });
      const second = await reasoning.generate({
        messages: [
          ...hi,
          first.message,
          {
            role: 'tool',
            content: first.toolCalls.map((call) => ({
              type: 'tool-result' as const,
              toolCallId: call.toolCallId,
              toolName: call.toolName,
              output: 'done',
            })),
          },
        ],
        maxOutputTokens: 50,
      });
      expect(second.text).toBe('ok');
      expect(reasoningFake.requests[1]?.body.max_completion_tokens).toBe(50);
    });
  });
});

describe.each(['openai', 'openai-compatible'] as const)(
  '%s: a reasoning model that takes no sampling parameters',
  (provider) => {
    it('gets the request again without temperature and top_p, and later calls leave them out', async () => {
      await using reasoningFake = await startOpenAIFake({ apiKeys: [KEY], models: ['gpt-5-mini'] });
      reasoningFake.enqueue({ text: 'first' }, { text: 'second' });
      const { lines, logger } = recordingLogger();
      const gpt5 = modelOn(`${provider}:gpt-5-mini`, reasoningFake, logger);
      const first = await gpt5.generate({ messages: hi, temperature: 0.2, topP: 0.9 });
      expect(first.text).toBe('first');
      expect(reasoningFake.requests).toHaveLength(1);
      expect(reasoningFake.requests[0]?.body).not.toHaveProperty('temperature');
      expect(reasoningFake.requests[0]?.body).not.toHaveProperty('top_p');
      expect(lines.filter((line) => /refuses sampling/.test(line.message))).toEqual([
        expect.objectContaining({
          object: expect.objectContaining({ model: 'gpt-5-mini', parameter: 'temperature' }),
        }),
      ]);
      const second = await gpt5.generate({ messages: hi, temperature: 0.7 });
      expect(second.text).toBe('second');
      expect(reasoningFake.requests).toHaveLength(2);
      expect(reasoningFake.requests[1]?.body).not.toHaveProperty('temperature');
    });

    it('gets the request again without the penalties a reasoning model does not take', async () => {
      await using reasoningFake = await startOpenAIFake({ apiKeys: [KEY], models: ['gpt-5'] });
      reasoningFake.enqueue({ text: 'ok' });
      const gpt5 = modelOn(`${provider}:gpt-5`, reasoningFake);
      const answer = await gpt5.generate({ messages: hi, presencePenalty: 0.5, frequencyPenalty: 0.3 });
      expect(answer.text).toBe('ok');
      expect(reasoningFake.requests).toHaveLength(1);
      expect(reasoningFake.requests[0]?.body).not.toHaveProperty('presence_penalty');
      expect(reasoningFake.requests[0]?.body).not.toHaveProperty('frequency_penalty');
    });

    it('still sends them to a model that takes them', async () => {
      fake.enqueue({ text: 'ok' });
      const gpt4 = modelOn(`${provider}:gpt-4o-mini`, fake);
      await gpt4.generate({ messages: hi, temperature: 0.2, topP: 0.9, presencePenalty: 0.5 });
      expect(fake.requests[0]?.body).toMatchObject({ temperature: 0.2, top_p: 0.9, presence_penalty: 0.5 });
    });
  },
);

describe('openai-compatible: a reasoning model behind the server that takes max_completion_tokens', () => {
  it('gets the limit in max_completion_tokens after the refusal, and later calls at once', async () => {
    await using reasoningFake = await startOpenAIFake({ apiKeys: [KEY], models: ['o3-mini'] });
    reasoningFake.enqueue({ text: 'first' }, { text: 'second' });
    const o3 = modelOn('openai-compatible:o3-mini', reasoningFake);
    expect((await o3.generate({ messages: hi, maxOutputTokens: 50 })).text).toBe('first');
    expect((await o3.generate({ messages: hi, maxOutputTokens: 60 })).text).toBe('second');
    // The refused request is not recorded: two requests, both with the new field.
    expect(reasoningFake.requests.map((request) => request.body.max_completion_tokens)).toEqual([50, 60]);
    for (const request of reasoningFake.requests) expect(request.body).not.toHaveProperty('max_tokens');
  });
});

describe.each(['openai', 'openai-compatible'] as const)(
  "%s: a token limit above the model's maximum",
  (provider) => {
    it('gets the request again at the maximum the server names, and later calls at once', async () => {
      await using limitedFake = await startOpenAIFake({ apiKeys: [KEY], models: ['gpt-4o'] });
      limitedFake.enqueue({ text: 'first' }, { text: 'second' }, { text: 'third' });
      const { lines, logger } = recordingLogger();
      const gpt4o = modelOn(`${provider}:gpt-4o`, limitedFake, logger);
      const field = provider === 'openai' ? 'max_completion_tokens' : 'max_tokens';
      expect((await gpt4o.generate({ messages: hi, maxOutputTokens: 20_480 })).text).toBe('first');
      expect(lines.filter((line) => /output token maximum/.test(line.message))).toEqual([
        expect.objectContaining({ object: { model: 'gpt-4o', requested: 20_480, maximum: 16_384 } }),
      ]);
      expect((await gpt4o.generate({ messages: hi, maxOutputTokens: 50_000 })).text).toBe('second');
      expect((await gpt4o.generate({ messages: hi, maxOutputTokens: 100 })).text).toBe('third');
      // The refused request is not among the fake's accepted ones; the raw log has it.
      expect(limitedFake.requests.map((request) => request.body[field])).toEqual([16_384, 16_384, 100]);
      const chat = limitedFake.server.requests.filter((request) =>
        request.path.endsWith('/chat/completions'),
      );
      expect(chat).toHaveLength(4);
    });

    it('passes on a refusal that names no lower maximum', async () => {
      await using limitedFake = await startOpenAIFake({ apiKeys: [KEY], models: ['gpt-4o'] });
      limitedFake.enqueue({
        error: {
          status: 400,
          message:
            'max_tokens is too large: 10. This model supports at most 20 completion tokens, whereas you provided 10.',
        },
      });
      const gpt4o = modelOn(`${provider}:gpt-4o`, limitedFake);
      await expect(gpt4o.generate({ messages: hi, maxOutputTokens: 10 })).rejects.toMatchObject({
        code: 'invalid-request',
      });
      expect(limitedFake.requests).toHaveLength(1);
    });
  },
);

describe('openai-compatible: a reasoning model whose limit is both in the wrong field and too large', () => {
  it('moves the limit to max_completion_tokens, then lowers it to the maximum', async () => {
    await using reasoningFake = await startOpenAIFake({ apiKeys: [KEY], models: ['o3-mini'] });
    reasoningFake.enqueue({ text: 'ok' });
    const o3 = modelOn('openai-compatible:o3-mini', reasoningFake);
    expect((await o3.generate({ messages: hi, maxOutputTokens: 200_000 })).text).toBe('ok');
    expect(reasoningFake.requests.map((request) => request.body.max_completion_tokens)).toEqual([100_000]);
  });
});

describe.each(['openai', 'openai-compatible'] as const)(
  '%s: a reasoning effort sent to a model that does not reason',
  (provider) => {
    it('gets the request again without it, and later calls leave it out', async () => {
      await using plainFake = await startOpenAIFake({ apiKeys: [KEY], models: ['gpt-4o'] });
      plainFake.enqueue({ text: 'first' }, { text: 'second' });
      const { lines, logger } = recordingLogger();
      const gpt4o = modelOn(`${provider}:gpt-4o`, plainFake, logger);
      expect((await gpt4o.generate({ messages: hi, reasoningEffort: 'high' })).text).toBe('first');
      expect((await gpt4o.generate({ messages: hi, reasoningEffort: 'low' })).text).toBe('second');
      expect(plainFake.requests).toHaveLength(2);
      for (const request of plainFake.requests) expect(request.body).not.toHaveProperty('reasoning_effort');
      const chat = plainFake.server.requests.filter((request) => request.path.endsWith('/chat/completions'));
      expect(chat).toHaveLength(3);
      expect(lines.filter((line) => /reasoning effort/.test(line.message))).toEqual([
        expect.objectContaining({ object: { model: 'gpt-4o', parameter: 'reasoning_effort' } }),
      ]);
    });

    it('still sends it to a reasoning model', async () => {
      await using reasoningFake = await startOpenAIFake({ apiKeys: [KEY], models: ['gpt-5-mini'] });
      const gpt5 = modelOn(`${provider}:gpt-5-mini`, reasoningFake);
      await gpt5.generate({ messages: hi, reasoningEffort: 'high' });
      expect(reasoningFake.requests[0]?.body).toMatchObject({ reasoning_effort: 'high' });
    });
  },
);

describe('openai-compatible: a token limit that does not fit beside the prompt (vLLM)', () => {
  it.each([
    "'max_tokens' or 'max_completion_tokens' is too large: 64000. This model's maximum context length is 64001 tokens and your request has 24235 input tokens (64000 > 64001 - 24235). None",
    "This model's maximum context length is 64001 tokens. However, you requested 88235 tokens (24235 in the messages, 64000 in the completion). Please reduce the length of the messages or completion.",
  ])('goes again with the room the context leaves, for that request only: %s', async (refusal) => {
    await using vllm = await startOpenAIFake({ apiKeys: [KEY] });
    vllm.enqueue(
      { error: { status: 400, message: refusal, type: 'BadRequestError', code: null } },
      { text: 'fits' },
    );
    const qwen = modelOn('openai-compatible:qwen3-32b', vllm);
    expect((await qwen.generate({ messages: hi, maxOutputTokens: 64_000 })).text).toBe('fits');
    expect(vllm.requests.map((request) => request.body.max_tokens)).toEqual([64_000, 40_000 - 234]);
    // The room belonged to that prompt: the next request asks for its own limit again.
    await qwen.generate({ messages: hi, maxOutputTokens: 64_000 });
    expect(vllm.requests.at(-1)?.body.max_tokens).toBe(64_000);
  });

  it('passes the error on when the prompt alone fills the context', async () => {
    await using vllm = await startOpenAIFake({ apiKeys: [KEY] });
    vllm.enqueue({
      error: {
        status: 400,
        message:
          "This model's maximum context length is 4096 tokens. However, you requested 5096 tokens (5000 in the messages, 96 in the completion).",
      },
    });
    const qwen = modelOn('openai-compatible:qwen3-32b', vllm);
    await expect(qwen.generate({ messages: hi, maxOutputTokens: 96 })).rejects.toMatchObject({
      code: 'context-length',
    });
    expect(vllm.requests).toHaveLength(1);
  });
});

describe.each(['openai', 'openai-compatible'] as const)(
  '%s: a reasoning effort the model does not take',
  (provider) => {
    it('gets the request again with the nearest effort the model names, and later calls at once', async () => {
      await using oFake = await startOpenAIFake({ apiKeys: [KEY], models: ['o3'] });
      const { lines, logger } = recordingLogger();
      const o3 = modelOn(`${provider}:o3`, oFake, logger);
      await o3.generate({ messages: hi, reasoningEffort: 'minimal' });
      await o3.generate({ messages: hi, reasoningEffort: 'xhigh' });
      await o3.generate({ messages: hi, reasoningEffort: 'medium' });
      expect(oFake.requests.map((request) => request.body.reasoning_effort)).toEqual([
        'low',
        'high',
        'medium',
      ]);
      const chat = oFake.server.requests.filter((request) => request.path.endsWith('/chat/completions'));
      expect(chat).toHaveLength(4);
      expect(lines.filter((line) => /nearest/.test(line.message))).toEqual([
        expect.objectContaining({ object: { model: 'o3', requested: 'minimal', sent: 'low' } }),
      ]);
    });
  },
);

describe('nearestEffort', () => {
  it('picks the nearest effort the model takes, the higher of two as near', () => {
    expect(nearestEffort('none', ['minimal', 'low', 'medium', 'high'])).toBe('minimal');
    expect(nearestEffort('minimal', ['none', 'low', 'medium', 'high'])).toBe('low');
    expect(nearestEffort('xhigh', ['low', 'medium', 'high'])).toBe('high');
    expect(nearestEffort('none', ['low', 'medium', 'high'])).toBe('low');
    expect(nearestEffort('medium', ['turbo'])).toBeUndefined();
  });
});

describe('openai-compatible: a server that takes no tools for the model', () => {
  it.each([
    [400, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'],
    [500, 'tools param requires --jinja flag'],
  ])('answers without them after a %i, and later calls too', async (status, refusal) => {
    await using server = await startOpenAIFake({ apiKeys: [KEY] });
    server.enqueue(
      { error: { status, message: refusal, type: 'BadRequestError', code: null } },
      { text: 'without tools' },
    );
    const { lines, logger } = recordingLogger();
    const local = modelOn('openai-compatible:qwen3-8b', server, logger);
    const weather = { name: 'get_weather', description: 'Weather', inputSchema: { type: 'object' } };
    expect((await local.generate({ messages: hi, tools: [weather], toolChoice: 'auto' })).text).toBe(
      'without tools',
    );
    await local.generate({ messages: hi, tools: [weather] });
    expect(server.requests.map((request) => (request.body.tools as unknown[] | undefined)?.length)).toEqual([
      1,
      undefined,
      undefined,
    ]);
    for (const request of server.requests.slice(1)) expect(request.body).not.toHaveProperty('tool_choice');
    expect(lines.filter((line) => /takes no tools/.test(line.message))).toHaveLength(1);
  });
});

describe.each(['openai', 'openai-compatible'] as const)(
  '%s: stop sequences sent to a reasoning model that takes none',
  (provider) => {
    it('gets the request again without them, and later calls leave them out', async () => {
      await using reasoningFake = await startOpenAIFake({ apiKeys: [KEY], models: ['gpt-5-mini'] });
      const { lines, logger } = recordingLogger();
      const gpt5 = modelOn(`${provider}:gpt-5-mini`, reasoningFake, logger);
      await gpt5.generate({ messages: hi, stop: ['END'] });
      await gpt5.generate({ messages: hi, stop: ['\n\n'] });
      expect(reasoningFake.requests).toHaveLength(2);
      for (const request of reasoningFake.requests) expect(request.body).not.toHaveProperty('stop');
      expect(lines.filter((line) => /stop sequences/.test(line.message))).toHaveLength(1);
      // A model that takes them still gets them.
      fake.enqueue({ text: 'ok' });
      const gpt4 = modelOn(`${provider}:gpt-4o-mini`, fake);
      await gpt4.generate({ messages: hi, stop: ['END'] });
      expect(fake.requests.at(-1)?.body).toMatchObject({ stop: ['END'] });
    });
  },
);
