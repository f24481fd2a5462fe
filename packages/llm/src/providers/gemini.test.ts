import { type GeminiFake, startGeminiFake } from '@haia/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../chat-event.js';
import { collectStream } from '../collect-stream.js';
import { noopLogger } from '../logger.js';
import type { Message } from '../message.js';
import { failure, run, runUntilFailure } from './adapter-test-helpers.js';
import { createGeminiAdapter, type GeminiAdapterOptions } from './gemini.js';
import type { ProviderAdapter } from './provider-adapter.js';

let gemini: GeminiFake;

beforeAll(async () => {
  gemini = await startGeminiFake({ apiKey: 'gm-secret-key-123456' });
});
afterAll(async () => {
  await gemini.close();
});
beforeEach(() => {
  gemini.server.reset();
});

function adapter(
  modelId = 'gemini-2.5-flash',
  overrides: { apiKey?: string | undefined; baseURL?: string } = {},
  options: GeminiAdapterOptions = {},
): Promise<ProviderAdapter> {
  return createGeminiAdapter(
    modelId,
    {
      apiKey: 'apiKey' in overrides ? overrides.apiKey : gemini.apiKey,
      baseURL: overrides.baseURL ?? gemini.url,
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
  const request = gemini.requests.at(-1);
  if (!request) throw new Error('no request recorded');
  return request.json<WireBody>();
}

describe('gemini adapter: requests and answers', () => {
  it('streams text with usage and sends the request the way the SDK does', async () => {
    gemini.reply({
      text: ['The', ' sky is', ' blue.'],
      usage: { promptTokenCount: 9, candidatesTokenCount: 4, cachedContentTokenCount: 2 },
      responseId: 'resp-abc',
    });
    const model = await adapter('gemini-2.0-flash');
    const events = await run(model, {
      messages: [{ role: 'system', content: 'Be brief.' }, ...hello],
      temperature: 0.5,
      topP: 0.9,
      maxOutputTokens: 20,
      stop: ['END'],
    });
    expect(events).toEqual([
      { type: 'text-delta', text: 'The' },
      { type: 'text-delta', text: ' sky is' },
      { type: 'text-delta', text: ' blue.' },
      {
        type: 'finish',
        finishReason: 'stop',
        usage: { inputTokens: 9, outputTokens: 4, cachedInputTokens: 2 },
        response: { model: 'gemini:gemini-2.0-flash', id: 'resp-abc' },
      },
    ]);
    const request = gemini.requests.at(-1);
    expect(request?.path).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent');
    expect(request?.query.get('alt')).toBe('sse');
    expect(request?.headers['x-goog-api-key']).toBe(gemini.apiKey);
    expect(request?.headers['x-test']).toBe('yes');
    const body = lastBody();
    expect(body.systemInstruction).toEqual({ role: 'user', parts: [{ text: 'Be brief.' }] });
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'Hello' }] }]);
    expect(body.generationConfig).toEqual({
      temperature: 0.5,
      topP: 0.9,
      maxOutputTokens: 20,
      stopSequences: ['END'],
    });
  });

  it('asks for JSON with a schema', async () => {
    gemini.reply({ text: '{"ok":true}' });
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const result = await collectStream(
      (await adapter('gemini-2.0-flash')).stream(
        { messages: hello, responseFormat: { type: 'json', schema } },
        new AbortController().signal,
      ),
    );
    expect(JSON.parse(result.text)).toEqual({ ok: true });
    expect(lastBody().generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
    });
  });

  it('streams thought summaries as reasoning and counts thinking tokens', async () => {
    gemini.reply({
      thoughts: ['Counting', ' letters'],
      text: 'There are 3.',
      usage: { promptTokenCount: 9, candidatesTokenCount: 5, thoughtsTokenCount: 40 },
    });
    const result = await collectStream(
      (await adapter()).stream({ messages: hello }, new AbortController().signal),
    );
    expect(result.reasoning).toBe('Counting letters');
    expect(result.text).toBe('There are 3.');
    expect(result.usage).toEqual({ inputTokens: 9, outputTokens: 45, reasoningTokens: 40 });
    expect(result.message.content).toEqual([
      { type: 'reasoning', text: 'Counting letters' },
      { type: 'text', text: 'There are 3.' },
    ]);
    expect(lastBody().generationConfig.thinkingConfig).toEqual({ includeThoughts: true });
  });

  it('does not ask older models for thoughts unless told to', async () => {
    await run(await adapter('gemini-2.0-flash'), { messages: hello });
    expect(lastBody().generationConfig?.thinkingConfig).toBeUndefined();
    await run(await adapter('gemini-2.5-flash', {}, { includeThoughts: false, thinkingBudget: 0 }), {
      messages: hello,
    });
    expect(lastBody().generationConfig.thinkingConfig).toEqual({ thinkingBudget: 0 });
  });

  it("answers a client's reasoning effort that the model cannot take without it, and later calls too", async () => {
    // A model without thinking refuses any budget ...
    const flash2 = await adapter('gemini-2.0-flash');
    const first = await run(flash2, { messages: hello, reasoningEffort: 'high' });
    expect(first.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const budgets = () =>
      gemini.requests.map(
        (request) => request.json<WireBody>().generationConfig?.thinkingConfig?.thinkingBudget,
      );
    expect(budgets()).toEqual([24_576, undefined]);
    await run(flash2, { messages: hello, reasoningEffort: 'low' });
    expect(budgets()).toEqual([24_576, undefined, undefined]);
    // ... and 2.5 Pro a budget of 0 (its thinking cannot be turned off).
    gemini.server.reset();
    const pro = await adapter('gemini-2.5-pro');
    const answer = await run(pro, { messages: hello, reasoningEffort: 'none' });
    expect(answer.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(budgets()).toEqual([0, undefined]);
    // It still takes the other efforts.
    await run(pro, { messages: hello, reasoningEffort: 'medium' });
    await run(pro, { messages: hello, reasoningEffort: 'none' });
    expect(budgets()).toEqual([0, undefined, 8192, undefined]);
  });

  it("lowers a maxOutputTokens above the model's maximum to the one Google names, later calls at once", async () => {
    const flash2 = await adapter('gemini-2.0-flash');
    const first = await run(flash2, { messages: hello, maxOutputTokens: 100_000 });
    expect(first.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const limits = () =>
      gemini.requests.map((request) => request.json<WireBody>().generationConfig?.maxOutputTokens);
    expect(limits()).toEqual([100_000, 8192]);
    await run(flash2, { messages: hello, maxOutputTokens: 20_000 });
    await run(flash2, { messages: hello, maxOutputTokens: 500 });
    expect(limits()).toEqual([100_000, 8192, 8192, 500]);
  });

  it('still fails a configured budget the model cannot take, saying why', async () => {
    const error = await run(await adapter('gemini-2.0-flash', {}, { thinkingBudget: 1024 }), {
      messages: hello,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'invalid-request', status: 400 });
    expect((error as Error).message).toContain('thinking is not supported by this model');
  });

  it('makes two tool calls in one turn and sends both results back in one user turn', async () => {
    gemini.reply({
      text: 'Let me check.',
      toolCalls: [
        { name: 'weather', args: { city: 'Paris' } },
        { name: 'weather', args: { city: 'Rome' } },
      ],
    });
    const tools = [
      {
        name: 'weather',
        description: 'Weather in a city',
        inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ];
    const model = await adapter();
    const first = await collectStream(
      model.stream({ messages: hello, tools, toolChoice: 'required' }, new AbortController().signal),
    );
    expect(first.finishReason).toBe('tool-calls');
    expect(first.toolCalls.map((call) => [call.toolName, call.input])).toEqual([
      ['weather', { city: 'Paris' }],
      ['weather', { city: 'Rome' }],
    ]);
    const [paris, rome] = first.toolCalls;
    expect(paris?.toolCallId).toMatch(/^gemini-call-/);
    expect(paris?.toolCallId).not.toBe(rome?.toolCallId);
    const firstBody = lastBody();
    expect(firstBody.tools).toEqual([
      {
        functionDeclarations: [
          { name: 'weather', description: 'Weather in a city', parametersJsonSchema: tools[0]?.inputSchema },
        ],
      },
    ]);
    expect(firstBody.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });

    gemini.reply({ text: 'Paris 20°, Rome 25°.' });
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
                  toolCallId: paris?.toolCallId ?? '',
                  toolName: 'weather',
                  output: { celsius: 20 },
                },
                {
                  type: 'tool-result',
                  toolCallId: rome?.toolCallId ?? '',
                  toolName: 'weather',
                  output: '25 degrees',
                },
              ],
            },
          ],
          tools,
          toolChoice: { type: 'tool', toolName: 'weather' },
        },
        new AbortController().signal,
      ),
    );
    expect(second.text).toBe('Paris 20°, Rome 25°.');
    expect(second.finishReason).toBe('stop');
    const body = lastBody();
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Hello' }] },
      {
        role: 'model',
        parts: [
          { text: 'Let me check.' },
          { functionCall: { name: 'weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'weather', args: { city: 'Rome' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'weather', response: { celsius: 20 } } },
          { functionResponse: { name: 'weather', response: { output: '25 degrees' } } },
        ],
      },
    ]);
    expect(body.toolConfig).toEqual({
      functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['weather'] },
    });
  });

  it("keeps Gemini's call ids and thought signatures and echoes them back", async () => {
    gemini.reply({ toolCalls: [{ id: 'fc-1', name: 'lookup', args: { q: 'x' }, thoughtSignature: 'c2ln' }] });
    const model = await adapter('gemini-3-pro-preview');
    const first = await collectStream(model.stream({ messages: hello }, new AbortController().signal));
    expect(first.toolCalls).toEqual([
      { type: 'tool-call', toolCallId: 'fc-1', toolName: 'lookup', input: { q: 'x' } },
    ]);
    expect(first.message.content[0]).toEqual({ type: 'reasoning', text: '', signature: 'c2ln' });
    await run(model, {
      messages: [
        ...hello,
        first.message,
        {
          role: 'tool',
          content: [
            { type: 'tool-result', toolCallId: 'fc-1', toolName: 'lookup', output: 'no', isError: true },
          ],
        },
      ],
    });
    expect(lastBody().contents.slice(1)).toEqual([
      {
        role: 'model',
        parts: [{ functionCall: { id: 'fc-1', name: 'lookup', args: { q: 'x' } }, thoughtSignature: 'c2ln' }],
      },
      {
        role: 'user',
        parts: [{ functionResponse: { id: 'fc-1', name: 'lookup', response: { error: 'no' } } }],
      },
    ]);
  });

  it('signs echoed calls of Gemini 3 models that came without a signature', async () => {
    gemini.reply({
      toolCalls: [
        { name: 'a', args: {} },
        { name: 'b', args: {} },
      ],
    });
    const model = await adapter('gemini-3-pro-preview');
    const first = await collectStream(model.stream({ messages: hello }, new AbortController().signal));
    await run(model, { messages: [...hello, first.message, { role: 'user', content: 'go on' }] });
    expect(lastBody().contents[1]).toEqual({
      role: 'model',
      parts: [
        { functionCall: { name: 'a', args: {} }, thoughtSignature: 'skip_thought_signature_validator' },
        { functionCall: { name: 'b', args: {} } },
      ],
    });
  });

  it('parses an event split across two TCP writes', async () => {
    const frame = (body: unknown) => `data: ${JSON.stringify(body)}\n\n`;
    const whole = Buffer.from(
      frame({ candidates: [{ content: { role: 'model', parts: [{ text: 'Grüße' }] } }] }) +
        frame({ candidates: [{ content: { role: 'model', parts: [{ text: '!' }] }, finishReason: 'STOP' }] }),
    );
    const cut = whole.indexOf(Buffer.from('ü')) + 1; // inside a UTF-8 character
    gemini.raw(async (response, context) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(whole.subarray(0, cut));
      await context.delay(5);
      response.write(whole.subarray(cut));
      response.end();
    });
    const result = await collectStream(
      (await adapter()).stream({ messages: hello }, new AbortController().signal),
    );
    expect(result.text).toBe('Grüße!');
  });

  it('explains an error page that is not JSON (a proxy in front)', async () => {
    gemini.raw((response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html><body>Bad gateway</body></html>');
    });
    const error = await failure(run(await adapter(), { messages: hello }));
    expect(error).toMatchObject({ code: 'server', status: 502 });
    expect(error.message).toContain('Bad gateway');
  });

  it('sends images inline (bytes and data URLs) and other URLs as fileData', async () => {
    await run(await adapter(), {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
            { type: 'image', url: 'data:image/jpeg;base64,/9j/4AAQ' },
            { type: 'image', url: 'https://example.com/cat.webp' },
          ],
        },
      ],
    });
    expect(lastBody().contents[0].parts).toEqual([
      { text: 'What is this?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } },
      { fileData: { fileUri: 'https://example.com/cat.webp', mimeType: 'image/webp' } },
    ]);
  });

  it.each([
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content-filter'],
    ['RECITATION', 'content-filter'],
    ['BLOCKLIST', 'content-filter'],
    ['PROHIBITED_CONTENT', 'content-filter'],
    ['SPII', 'content-filter'],
    ['MALFORMED_FUNCTION_CALL', 'other'],
    ['OTHER', 'other'],
  ])('maps finishReason %s to %s', async (reason, expected) => {
    gemini.reply({ text: 'partial', finishReason: reason });
    const result = await collectStream(
      (await adapter()).stream({ messages: hello }, new AbortController().signal),
    );
    expect(result.finishReason).toBe(expected);
  });

  it('reads slow chunks as they come', async () => {
    gemini.reply({ text: ['a', 'b', 'c'], delayMs: 3 });
    const result = await collectStream(
      (await adapter()).stream({ messages: hello }, new AbortController().signal),
    );
    expect(result.text).toBe('abc');
  });

  it('reports a blocked prompt as content-filter', async () => {
    gemini.reply({ blockReason: 'SAFETY' });
    const events = await run(await adapter(), { messages: hello });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'finish', finishReason: 'content-filter' });
  });
});

describe('gemini adapter: errors', () => {
  it('asks for a key when none is set, without sending anything', async () => {
    const error = await failure(
      run(await adapter('gemini-2.5-flash', { apiKey: undefined }), { messages: hello }),
    );
    expect(error.code).toBe('auth');
    expect(error.message).toContain('set GEMINI_API_KEY or GOOGLE_API_KEY');
    expect(gemini.requests).toHaveLength(0);
  });

  it('maps a rejected key to auth and never shows the key', async () => {
    const error = await failure(
      run(await adapter('gemini-2.5-flash', { apiKey: 'wrong-key-987654' }), { messages: hello }),
    );
    expect(error).toMatchObject({ code: 'auth', status: 400, retryable: false, provider: 'gemini' });
    expect(error.message).toContain('GEMINI_API_KEY or GOOGLE_API_KEY');
    expect(error.message).not.toContain('wrong-key-987654');
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toContain('wrong-key-987654');
  });

  it('maps an unknown model to not-found', async () => {
    const error = await failure(run(await adapter('gemini-9-ultra'), { messages: hello }));
    expect(error).toMatchObject({ code: 'not-found', status: 404 });
    expect(error.message).toContain('gemini-9-ultra');
  });

  it('reads the retry delay of a RESOURCE_EXHAUSTED answer', async () => {
    gemini.error(429, {
      message: 'You exceeded your current quota.',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId: 'PerMinute' }] },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '34.4s' },
      ],
    });
    const error = await failure(run(await adapter(), { messages: hello }));
    expect(error).toMatchObject({ code: 'rate-limit', status: 429, retryable: true, retryAfterMs: 34_400 });
  });

  it.each([
    [400, 'INVALID_ARGUMENT', 'Bad field.', 'invalid-request'],
    [
      400,
      'INVALID_ARGUMENT',
      'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).',
      'context-length',
    ],
    [400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.', 'invalid-request'],
    [401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.', 'auth'],
    [403, 'PERMISSION_DENIED', 'The caller does not have permission', 'permission'],
    [404, 'NOT_FOUND', 'Requested entity was not found.', 'not-found'],
    [500, 'INTERNAL', 'Internal error encountered.', 'server'],
    [503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.', 'overloaded'],
    [504, 'DEADLINE_EXCEEDED', 'Deadline exceeded.', 'timeout'],
  ])('maps HTTP %i %s to its code', async (status, googleStatus, message, code) => {
    gemini.error(status, { status: googleStatus, message });
    const error = await failure(run(await adapter(), { messages: hello }));
    expect(error).toMatchObject({ code, status });
    expect(error.message).toContain(message);
  });

  it('fails on an error frame in the middle of the stream, after the text before it', async () => {
    gemini.midStreamError(
      { text: ['one', ' two'] },
      { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' },
    );
    const { events, error } = await runUntilFailure(await adapter(), { messages: hello });
    expect(events.map((event) => event.type)).toEqual(['text-delta', 'text-delta']);
    expect(error).toMatchObject({ code: 'overloaded', status: 503 });
  });

  it('fails when the connection drops mid-stream, saying the answer was cut off', async () => {
    gemini.truncate({ text: ['one', ' two', ' three'] });
    const { events, error } = await runUntilFailure(await adapter(), { messages: hello });
    expect(events.some((event) => event.type === 'text-delta')).toBe(true);
    // Output was sent: not "could not reach", and not worth retrying the same call.
    expect(error).toMatchObject({ code: 'network', retryable: false });
    expect(error.message).toContain(`The connection to Gemini at ${gemini.url} was lost mid-answer`);
    expect(error.message).not.toContain('Could not reach');
    // The SDK's automatic continuation is off: no second request behind the core's back.
    expect(gemini.requests).toHaveLength(1);
  });

  it('fails when the stream ends without a finish reason', async () => {
    gemini.reply({ text: ['one'], finishReason: null });
    const error = await failure(run(await adapter(), { messages: hello }));
    expect(error.code).toBe('network');
    expect(error.message).toContain('before it finished');
  });

  it('explains an unreachable server', async () => {
    const closed = await startGeminiFake();
    const url = closed.url;
    await closed.close();
    const error = await failure(
      run(await adapter('gemini-2.5-flash', { baseURL: url }), { messages: hello }),
    );
    expect(error).toMatchObject({ code: 'network', retryable: true });
    expect(error.message).toContain(`Could not reach Gemini at ${url}`);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('aborts at once and closes the socket', async () => {
    gemini.raw(async (response, context) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(
        `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'first' }] } }] })}\n\n`,
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
    await vi.waitFor(() => expect(gemini.activeRequests()).toBe(0));
  });
});

describe('gemini adapter: a key lost on the way', () => {
  it('maps a missing key from the SDK side to auth too', async () => {
    const model = await createGeminiAdapter('gemini-2.5-flash', {
      apiKey: 'k',
      baseURL: gemini.url,
      headers: {},
      // A fetch that drops the key header: what a misconfigured proxy would do.
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.delete('x-goog-api-key');
        return fetch(input, { ...init, headers });
      },
      logger: noopLogger,
    });
    const error = await failure(run(model, { messages: hello }));
    expect(error).toMatchObject({ code: 'auth', status: 403 });
  });
});
