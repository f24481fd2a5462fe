import { type OllamaFake, startFakeServer, startOllamaFake } from '@haia/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../chat-event.js';
import { collectStream } from '../collect-stream.js';
import { noopLogger } from '../logger.js';
import type { Message } from '../message.js';
import { failure, run, runUntilFailure } from './adapter-test-helpers.js';
import { createOllamaAdapter, normalizeOllamaHost, type OllamaAdapterOptions } from './ollama.js';
import type { ProviderAdapter } from './provider-adapter.js';

let ollama: OllamaFake;

beforeAll(async () => {
  ollama = await startOllamaFake();
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(() => {
  ollama.server.reset();
});

function adapter(
  modelId = 'llama3.2',
  overrides: { baseURL?: string; apiKey?: string } = {},
  options: OllamaAdapterOptions = {},
): Promise<ProviderAdapter> {
  return createOllamaAdapter(
    modelId,
    {
      apiKey: overrides.apiKey,
      baseURL: overrides.baseURL ?? ollama.url,
      headers: { 'x-test': 'yes' },
      fetch: globalThis.fetch,
      logger: noopLogger,
    },
    options,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: tests read recorded wire bodies field by field
type WireBody = Record<string, any>;

const hello: Message[] = [{ role: 'user', content: 'Hello' }];

function lastBody() {
  const request = ollama.requests.at(-1);
  if (!request) throw new Error('no request recorded');
  return request.json<WireBody>();
}

describe('ollama adapter: requests and answers', () => {
  it('streams text with usage and sends options', async () => {
    ollama.reply({ text: ['The', ' sky', ' is blue.'], promptEvalCount: 26, evalCount: 282 });
    const events = await run(await adapter(), {
      messages: [{ role: 'system', content: 'Be brief.' }, ...hello],
      temperature: 0.2,
      topP: 0.8,
      stop: ['END'],
      maxOutputTokens: 64,
    });
    expect(events).toEqual([
      { type: 'text-delta', text: 'The' },
      { type: 'text-delta', text: ' sky' },
      { type: 'text-delta', text: ' is blue.' },
      {
        type: 'finish',
        finishReason: 'stop',
        usage: { inputTokens: 26, outputTokens: 282 },
        response: { model: 'ollama:llama3.2', id: undefined },
      },
    ]);
    const request = ollama.requests.at(-1);
    expect(request?.path).toBe('/api/chat');
    expect(request?.headers['x-test']).toBe('yes');
    expect(request?.headers.authorization).toBeUndefined();
    expect(lastBody()).toEqual({
      model: 'llama3.2',
      stream: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ],
      options: { temperature: 0.2, top_p: 0.8, stop: ['END'], num_predict: 64 },
    });
  });

  it('parses lines split across TCP writes', async () => {
    const line1 = JSON.stringify({
      model: 'llama3.2',
      message: { role: 'assistant', content: 'Hé' },
      done: false,
    });
    const line2 = JSON.stringify({
      model: 'llama3.2',
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 1,
      eval_count: 1,
    });
    const whole = Buffer.from(`${line1}\n${line2}\n`);
    const cut = whole.indexOf(Buffer.from('é')) + 1; // in the middle of a UTF-8 character
    ollama.raw(async (response, context) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(whole.subarray(0, cut));
      await context.delay(5);
      response.write(whole.subarray(cut));
      response.end();
    });
    const result = await collectStream(
      (await adapter()).stream({ messages: hello }, new AbortController().signal),
    );
    expect(result.text).toBe('Hé');
    expect(result.finishReason).toBe('stop');
  });

  it('reads slow chunks as they come', async () => {
    ollama.reply({ text: ['a', 'b', 'c'], delayMs: 3 });
    const result = await collectStream(
      (await adapter()).stream({ messages: hello }, new AbortController().signal),
    );
    expect(result.text).toBe('abc');
  });

  it('asks for JSON, plain or with a schema', async () => {
    ollama.reply({ text: '{"ok":true}' });
    await run(await adapter(), { messages: hello, responseFormat: { type: 'json' } });
    expect(lastBody().format).toBe('json');
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } } };
    await run(await adapter(), { messages: hello, responseFormat: { type: 'json', schema } });
    expect(lastBody().format).toEqual(schema);
  });

  it('streams thinking as reasoning when think is on', async () => {
    ollama.reply({ thinking: ['Let me', ' think.'], text: 'Four.', promptEvalCount: 10, evalCount: 30 });
    const result = await collectStream(
      (await adapter('qwen3', {}, { think: true, keepAlive: '10m' })).stream(
        { messages: hello },
        new AbortController().signal,
      ),
    );
    expect(result.reasoning).toBe('Let me think.');
    expect(result.text).toBe('Four.');
    expect(result.message.content).toEqual([
      { type: 'reasoning', text: 'Let me think.' },
      { type: 'text', text: 'Four.' },
    ]);
    expect(lastBody()).toMatchObject({ think: true, keep_alive: '10m' });
  });

  it('makes two tool calls in one turn (no ids) and sends both results back', async () => {
    ollama.reply({
      toolCalls: [
        { name: 'get_weather', arguments: { city: 'Toronto' } },
        { name: 'get_weather', arguments: { city: 'Paris' } },
      ],
    });
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather in a city',
        inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
      { name: 'unused', description: 'Not offered', inputSchema: { type: 'object' } },
    ];
    const model = await adapter();
    const first = await collectStream(
      model.stream(
        { messages: hello, tools, toolChoice: { type: 'tool', toolName: 'get_weather' } },
        new AbortController().signal,
      ),
    );
    expect(first.finishReason).toBe('tool-calls');
    expect(first.toolCalls.map((call) => call.input)).toEqual([{ city: 'Toronto' }, { city: 'Paris' }]);
    const [toronto, paris] = first.toolCalls;
    expect(toronto?.toolCallId).toMatch(/^ollama-call-/);
    expect(toronto?.toolCallId).not.toBe(paris?.toolCallId);
    expect(lastBody().tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: tools[0]?.inputSchema,
        },
      },
    ]);

    ollama.reply({ text: 'Toronto 11°, Paris 20°.' });
    const second = await collectStream(
      model.stream(
        {
          messages: [
            ...hello,
            first.message,
            {
              role: 'tool',
              content: [
                {
                  type: 'tool-result',
                  toolCallId: toronto?.toolCallId ?? '',
                  toolName: 'get_weather',
                  output: '11 degrees celsius',
                },
                {
                  type: 'tool-result',
                  toolCallId: paris?.toolCallId ?? '',
                  toolName: 'get_weather',
                  output: { celsius: 20 },
                },
              ],
            },
          ],
          tools,
          toolChoice: 'none',
        },
        new AbortController().signal,
      ),
    );
    expect(second.text).toBe('Toronto 11°, Paris 20°.');
    const body = lastBody();
    expect(body.tools).toBeUndefined();
    expect(body.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { function: { name: 'get_weather', arguments: { city: 'Toronto' } } },
          { function: { name: 'get_weather', arguments: { city: 'Paris' } } },
        ],
      },
      { role: 'tool', content: '11 degrees celsius', tool_name: 'get_weather' },
      { role: 'tool', content: '{"celsius":20}', tool_name: 'get_weather' },
    ]);
  });

  it("keeps a current server's call ids and echoes them", async () => {
    ollama.reply({ toolCalls: [{ id: 'call_k3x9a2b1', name: 'lookup', arguments: { q: 'x' } }] });
    const model = await adapter();
    const first = await collectStream(model.stream({ messages: hello }, new AbortController().signal));
    expect(first.toolCalls[0]?.toolCallId).toBe('call_k3x9a2b1');
    await run(model, {
      messages: [
        ...hello,
        first.message,
        {
          role: 'tool',
          content: [{ type: 'tool-result', toolCallId: 'call_k3x9a2b1', toolName: 'lookup', output: 'ok' }],
        },
      ],
    });
    expect(lastBody().messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'call_k3x9a2b1', function: { name: 'lookup', arguments: { q: 'x' } } }],
      },
      { role: 'tool', content: 'ok', tool_name: 'lookup', tool_call_id: 'call_k3x9a2b1' },
    ]);
  });

  it('sends images as base64 and refuses plain URLs', async () => {
    await run(await adapter(), {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
            { type: 'image', url: 'data:image/jpeg;base64,/9j/4AAQ' },
          ],
        },
      ],
    });
    expect(lastBody().messages).toEqual([
      { role: 'user', content: 'What is this?', images: ['iVBORw0KGgo=', '/9j/4AAQ'] },
    ]);
    const error = await failure(
      run(await adapter(), {
        messages: [{ role: 'user', content: [{ type: 'image', url: 'https://example.com/a.png' }] }],
      }),
    );
    expect(error.code).toBe('invalid-request');
    expect(error.message).toContain('data');
  });

  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['load', 'other'],
    ['unload', 'other'],
  ])('maps done_reason %s to %s', async (reason, expected) => {
    ollama.reply({ text: 'x', doneReason: reason });
    const result = await collectStream(
      (await adapter()).stream({ messages: hello }, new AbortController().signal),
    );
    expect(result.finishReason).toBe(expected);
  });

  it('sends an API key as a bearer token (ollama.com)', async () => {
    await run(await adapter('llama3.2', { apiKey: 'ol-secret-1234' }), { messages: hello });
    expect(ollama.requests.at(-1)?.headers.authorization).toBe('Bearer ol-secret-1234');
  });

  it('reads OLLAMA_HOST forms', () => {
    expect(normalizeOllamaHost('http://127.0.0.1:11434/')).toBe('http://127.0.0.1:11434');
    expect(normalizeOllamaHost('gpu-box')).toBe('http://gpu-box:11434');
    expect(normalizeOllamaHost('gpu-box:8080')).toBe('http://gpu-box:8080');
    expect(normalizeOllamaHost('https://ollama.example.com')).toBe('https://ollama.example.com');
  });
});

describe('ollama adapter: errors', () => {
  it('says Ollama is not running when the port is closed', async () => {
    const closed = await startFakeServer();
    const url = closed.url;
    await closed.close();
    const error = await failure(run(await adapter('llama3.2', { baseURL: url }), { messages: hello }));
    expect(error).toMatchObject({ code: 'network', retryable: true, provider: 'ollama' });
    expect(error.message).toBe(
      `Ollama is not running at ${url}: start it with \`ollama serve\` or set OLLAMA_HOST.`,
    );
  });

  it('says how to pull a model that is not there', async () => {
    const error = await failure(run(await adapter('llama9'), { messages: hello }));
    expect(error).toMatchObject({ code: 'not-found', status: 404, retryable: false });
    expect(error.message).toContain('model llama9 is not pulled');
    expect(error.message).toContain('run `ollama pull llama9`');
  });

  it('explains a model that does not think', async () => {
    const error = await failure(run(await adapter('llama3.2', {}, { think: true }), { messages: hello }));
    expect(error).toMatchObject({ code: 'invalid-request', status: 400 });
    expect(error.message).toContain('think');
  });

  it("answers a client's reasoning effort to a model that does not think without it, and later calls too", async () => {
    const llama = await adapter('llama3.2');
    const first = await run(llama, { messages: hello, reasoningEffort: 'high' });
    expect(first.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(ollama.requests.map((request) => request.json<WireBody>().think)).toEqual(['high', undefined]);
    await run(llama, { messages: hello, reasoningEffort: 'low' });
    expect(ollama.requests).toHaveLength(3);
    expect(lastBody()).not.toHaveProperty('think');
  });

  it('answers without tools on a model that cannot call them, and so later calls', async () => {
    await using plain = await startOllamaFake({ models: ['gemma3:4b'], noToolModels: ['gemma3:4b'] });
    const gemma = await adapter('gemma3:4b', { baseURL: plain.url });
    const weather = { name: 'get_weather', description: 'Weather', inputSchema: { type: 'object' } };
    const first = await run(gemma, { messages: hello, tools: [weather], toolChoice: 'auto' });
    expect(first.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const sentTools = () => plain.requests.map((request) => request.json<WireBody>().tools?.length);
    expect(sentTools()).toEqual([1, undefined]);
    await run(gemma, { messages: hello, tools: [weather] });
    expect(sentTools()).toEqual([1, undefined, undefined]);
    // A model with tools still gets them.
    await run(await adapter('llama3.2'), { messages: hello, tools: [weather] });
    expect(lastBody().tools).toHaveLength(1);
  });

  it.each([
    [400, 'invalid request', 'invalid-request'],
    [401, 'unauthorized', 'auth'],
    [403, 'forbidden', 'permission'],
    [404, 'not found', 'not-found'],
    [429, 'too many requests', 'rate-limit'],
    [500, 'llama runner process has terminated', 'server'],
    [502, 'cloud model unreachable', 'server'],
    [503, 'server busy, please try again', 'overloaded'],
  ])('maps HTTP %i to its code', async (status, message, code) => {
    ollama.error(status, message);
    const error = await failure(
      run(await adapter('llama3.2', { apiKey: 'ol-secret-1234' }), { messages: hello }),
    );
    expect(error).toMatchObject({ code, status });
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('ol-secret-1234');
  });

  it('fails on an in-stream error line after the text before it', async () => {
    ollama.midStreamError({ text: ['one', ' two'] }, 'an error was encountered while running the model');
    const { events, error } = await runUntilFailure(await adapter(), { messages: hello });
    expect(events.map((event) => event.type)).toEqual(['text-delta', 'text-delta']);
    expect(error.code).toBe('server');
    expect(error.message).toContain('an error was encountered while running the model');
  });

  it('fails when the stream ends without done: true', async () => {
    ollama.endEarly({ text: ['one', ' two'] });
    const error = await failure(run(await adapter(), { messages: hello }));
    expect(error.code).toBe('network');
    expect(error.message).toContain('ended before "done"');
  });

  it('fails when the connection drops mid-stream, saying the answer was cut off', async () => {
    ollama.truncate({ text: ['one', ' two'] });
    const { events, error } = await runUntilFailure(await adapter(), { messages: hello });
    expect(events.some((event) => event.type === 'text-delta')).toBe(true);
    // Output was sent: not "could not reach", and not worth retrying the same call.
    expect(error).toMatchObject({ code: 'network', retryable: false });
    expect(error.message).toContain(`The connection to Ollama at ${ollama.url} was lost mid-answer`);
    expect(error.message).not.toContain('Could not reach');
  });

  it('rejects a line that is not JSON', async () => {
    ollama.raw((response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.end('not json\n');
    });
    const error = await failure(run(await adapter(), { messages: hello }));
    expect(error.code).toBe('server');
  });

  it('aborts at once and closes the socket', async () => {
    ollama.raw(async (response, context) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(
        `${JSON.stringify({ model: 'llama3.2', message: { role: 'assistant', content: 'first' }, done: false })}\n`,
      );
      await context.delay(60_000);
    });
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of (await adapter()).stream({ messages: hello }, controller.signal)) {
          events.push(event);
          controller.abort();
        }
      })(),
    );
    expect(events).toEqual([{ type: 'text-delta', text: 'first' }]);
    expect(error.code).toBe('aborted');
    await vi.waitFor(() => expect(ollama.activeRequests()).toBe(0));
  });
});

describe('ollama adapter: review fixes', () => {
  it('marks a failed tool result as an error, as the other providers do', async () => {
    ollama.reply({ text: 'The VM list failed.' });
    const model = await adapter();
    await run(model, {
      messages: [
        ...hello,
        {
          role: 'assistant',
          content: [{ type: 'tool-call', toolCallId: 'call_k3x9a2b1', toolName: 'list_vms', input: {} }],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: 'call_k3x9a2b1',
              toolName: 'list_vms',
              output: 'Proxmox answered 401',
              isError: true,
            },
          ],
        },
      ],
    });
    expect(lastBody().messages.at(-1)).toEqual({
      role: 'tool',
      content: 'Error: Proxmox answered 401',
      tool_name: 'list_vms',
      tool_call_id: 'call_k3x9a2b1',
    });
  });
});
