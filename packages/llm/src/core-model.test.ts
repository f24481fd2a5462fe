import { Writable } from 'node:stream';
import { type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from './call-record.js';
import type { ChatEvent } from './chat-event.js';
import { createCoreModel } from './core-model.js';
import { type CreateModelOptions, createModel } from './create-model.js';
import { LlmError } from './llm-error.js';
import type { ProviderAdapter } from './providers/provider-adapter.js';

const KEY = 'sk-core-test-key-abcdef123456';
const hi = { messages: [{ role: 'user' as const, content: 'Hi' }] };
let fake: OpenAIFake;
let sleeps: number[];

beforeEach(async () => {
  fake = await startOpenAIFake({ apiKeys: [KEY] });
  sleeps = [];
});
afterEach(async () => {
  await fake.close();
});

function model(options: CreateModelOptions = {}) {
  return createModel('openai:gpt-4o-mini', {
    apiKey: KEY,
    baseURL: fake.baseURL,
    env: {},
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
    ...options,
  });
}

async function failure(promise: Promise<unknown>): Promise<LlmError> {
  try {
    await promise;
  } catch (error) {
    return error as LlmError;
  }
  throw new Error('expected a failure');
}

async function until(condition: () => boolean) {
  for (let tries = 0; tries < 200 && !condition(); tries++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  return condition();
}

function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      raw.push(String(chunk));
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, destination), lines, raw };
}

describe('retries', () => {
  it('honours retry-after and retry-after-ms, asking for the delay the server gave', async () => {
    fake.enqueue(
      { error: { status: 429, headers: { 'retry-after': '2' } } },
      { error: { status: 503, headers: { 'retry-after-ms': '1500' } } },
      { text: 'ok' },
    );
    const records: CallRecord[] = [];
    const result = await model({ onCall: (record) => records.push(record) }).generate(hi);
    expect(result.text).toBe('ok');
    expect(sleeps).toEqual([2000, 1500]);
    expect(fake.requests).toHaveLength(3);
    // The SDK's own retries are off: every attempt is a first attempt for the SDK.
    expect(fake.requests.map((request) => request.headers['x-stainless-retry-count'])).toEqual([
      '0',
      '0',
      '0',
    ]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ retries: 2, outcome: 'success' });
  });

  it('backs off exponentially with jitter and gives up after maxRetries', async () => {
    fake.setReply({ error: { status: 500 } });
    const error = await failure(model({ random: () => 0.5 }).generate(hi));
    expect(error).toMatchObject({ code: 'server', status: 500 });
    expect(sleeps).toEqual([438, 875]);
    expect(fake.requests).toHaveLength(3);
  });

  it('does not retry what cannot succeed: 400, auth, a retry-after over a minute, maxRetries 0', async () => {
    fake.enqueue(
      { error: { status: 400 } },
      { error: { status: 429, headers: { 'retry-after': '120' } } },
      { error: { status: 500 } },
    );
    expect((await failure(model().generate(hi))).code).toBe('invalid-request');
    expect((await failure(model().generate(hi))).code).toBe('rate-limit');
    expect((await failure(model({ maxRetries: 0 }).generate(hi))).code).toBe('server');
    expect((await failure(model({ apiKey: 'sk-wrong-key-000000000' }).generate(hi))).code).toBe('auth');
    expect(sleeps).toEqual([]);
    expect(fake.requests).toHaveLength(3);
  });

  it('obeys x-should-retry from the server', async () => {
    fake.enqueue({ error: { status: 500, headers: { 'x-should-retry': 'false' } } });
    expect(await failure(model().generate(hi))).toMatchObject({ code: 'server', retryable: false });
    fake.enqueue({ error: { status: 400, headers: { 'x-should-retry': 'true' } } }, { text: 'second' });
    expect((await model().generate(hi)).text).toBe('second');
    expect(sleeps).toEqual([500]);
  });

  it('never retries once output began: the stream ends with an error', async () => {
    fake.enqueue({ text: 'partial answer', truncate: true }, { text: 'second try' });
    const seen: ChatEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of model().stream(hi)) seen.push(event);
      })(),
    );
    expect(error).toMatchObject({ name: 'LlmError', code: 'network' });
    expect(seen.map((event) => event.type)).toContain('text-delta');
    expect(seen.map((event) => event.type)).not.toContain('finish');
    expect(sleeps).toEqual([]);
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a connection that drops before any byte', async () => {
    fake.enqueue({ hangUp: true }, { text: 'back' });
    expect((await model().generate(hi)).text).toBe('back');
    expect(sleeps).toEqual([500]);
  });
});

describe('abort and timeouts', () => {
  it("aborts at once on the caller's signal and closes the socket", async () => {
    fake.enqueue({ text: 'a'.repeat(200), chunkSize: 1, delayMs: 20 });
    const controller = new AbortController();
    const seen: ChatEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of model().stream({ ...hi, signal: controller.signal })) {
          seen.push(event);
          if (seen.length === 2) controller.abort();
        }
      })(),
    );
    expect(error).toMatchObject({ code: 'aborted', retryable: false });
    expect(seen).toHaveLength(2);
    expect(await until(() => fake.activeRequests() === 0)).toBe(true);
  });

  it('aborts during the back-off wait and before the first request', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await failure(model().generate({ ...hi, signal: controller.signal }))).code).toBe('aborted');
    expect(fake.requests).toHaveLength(0);
    const later = new AbortController();
    fake.enqueue({ error: { status: 500 } });
    const error = await failure(
      model({
        sleep: async () => {
          later.abort();
        },
      }).generate({ ...hi, signal: later.signal }),
    );
    expect(error.code).toBe('aborted');
    expect(fake.requests).toHaveLength(1);
  });

  it('stops a consumer that breaks early from leaving the request open', async () => {
    fake.enqueue({ text: 'b'.repeat(100), chunkSize: 1, delayMs: 20 });
    const records: CallRecord[] = [];
    for await (const event of model({ onCall: (record) => records.push(record) }).stream(hi)) {
      if (event.type === 'text-delta') break;
    }
    expect(await until(() => fake.activeRequests() === 0)).toBe(true);
    expect(records[0]?.outcome).toBe('cancelled');
  });

  it('times out waiting for the first token, and retries that', async () => {
    fake.enqueue({ hang: true }, { hang: true });
    const error = await failure(model({ firstTokenTimeoutMs: 30, maxRetries: 0 }).generate(hi));
    expect(error).toMatchObject({
      code: 'timeout',
      retryable: true,
      message: expect.stringMatching(/firstTokenTimeoutMs/),
    });
    expect(await until(() => fake.activeRequests() === 0)).toBe(true);
    fake.enqueue({ text: 'finally' });
    // Generous limit for the second attempt: the machine may be busy.
    expect((await model({ firstTokenTimeoutMs: 500, maxRetries: 1 }).generate(hi)).text).toBe('finally');
    expect(sleeps).toEqual([500]);
  });

  it('stops a long back-off when the total timeout fires', async () => {
    fake.setReply({ error: { status: 503 } });
    const slow = createModel('openai:gpt-4o-mini', {
      apiKey: KEY,
      baseURL: fake.baseURL,
      env: {},
      timeoutMs: 100,
      retryPolicy: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const error = await failure(slow.generate(hi));
    expect(error).toMatchObject({ code: 'timeout', retryable: false });
    expect(fake.requests).toHaveLength(1);
  });

  it('times out the whole call, even after output began', async () => {
    fake.enqueue({ text: 'c'.repeat(200), chunkSize: 1, delayMs: 20, firstDelayMs: 0 });
    const seen: ChatEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of model({ timeoutMs: 400 }).stream(hi)) seen.push(event);
      })(),
    );
    expect(error).toMatchObject({
      code: 'timeout',
      retryable: false,
      message: expect.stringMatching(/timeoutMs/),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(await until(() => fake.activeRequests() === 0)).toBe(true);
  });
});

describe('observability', () => {
  it('logs one line per call with the record, and hands the same record to onCall', async () => {
    const { logger, lines } = memoryLogger();
    const records: CallRecord[] = [];
    fake.enqueue(
      { error: { status: 429, headers: { 'retry-after-ms': '1' } } },
      { text: 'ok', usage: { promptTokens: 11, completionTokens: 2 } },
    );
    await model({ logger, onCall: (record) => records.push(record) }).generate(hi);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'llm call',
      component: 'llm',
      provider: 'openai',
      model: 'gpt-4o-mini',
      inputTokens: 11,
      outputTokens: 2,
      finishReason: 'stop',
      retries: 1,
      outcome: 'success',
    });
    expect(typeof lines[0]?.latencyMs).toBe('number');
    expect(typeof lines[0]?.timeToFirstTokenMs).toBe('number');
    expect(records).toEqual([expect.objectContaining({ retries: 1, outcome: 'success', inputTokens: 11 })]);
  });

  it("writes a successful call's line at debug with callLogLevel 'debug', and a failure still as a warning", async () => {
    const { logger, lines } = memoryLogger();
    const records: CallRecord[] = [];
    const chat = model({ logger, callLogLevel: 'debug', onCall: (record) => records.push(record) });
    fake.enqueue({ text: 'ok' });
    await chat.generate(hi);
    // The memory logger is at info: the line is written at debug, so it is not there.
    expect(lines).toHaveLength(0);
    expect(records).toEqual([expect.objectContaining({ outcome: 'success' })]);
    logger.level = 'debug';
    fake.enqueue({ text: 'ok' }, { error: { status: 401, message: 'no' } });
    await chat.generate(hi);
    await failure(chat.generate(hi));
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [20, 'llm call'],
      [40, 'llm call failed'],
    ]);
    expect(() => model({ callLogLevel: 'trace' as 'debug' })).toThrow(/callLogLevel/);
  });

  it('logs failures with their code and never the API key', async () => {
    const { logger, lines, raw } = memoryLogger();
    fake.enqueue({ error: { status: 401, message: `Key ${KEY} is revoked` } });
    await failure(model({ logger }).generate(hi));
    await failure(model({ logger, apiKey: 'sk-another-wrong-key-777777' }).generate(hi));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 40,
      outcome: 'error',
      errorCode: 'auth',
      msg: 'llm call failed',
    });
    expect(raw.join('')).not.toContain(KEY);
    expect(raw.join('')).not.toContain('sk-another-wrong-key-777777');
  });

  it("writes a call's lines through the request's logger, with its bindings, when one is given", async () => {
    const own = memoryLogger();
    const { logger: root, lines } = memoryLogger();
    root.level = 'debug';
    const requestLogger = root.child({ requestId: 'req-7' });
    const records: CallRecord[] = [];
    const chat = model({ logger: own.logger, onCall: (record) => records.push(record) });
    fake.enqueue({ error: { status: 503, headers: { 'retry-after-ms': '1' } } }, { text: 'ok' });
    const result = await chat.generate({ ...hi, logger: requestLogger });
    expect(result.text).toBe('ok');
    expect(lines.map((line) => [line.msg, line.requestId, line.component])).toEqual([
      ['llm call retrying', 'req-7', 'llm'],
      ['llm call', 'req-7', 'llm'],
    ]);
    expect(lines[1]).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      retries: 1,
      outcome: 'success',
    });
    expect(records).toEqual([expect.objectContaining({ retries: 1, outcome: 'success' })]);
    // Only this call: the model's own logger gets nothing, and the logger is never sent upstream.
    expect(own.lines).toHaveLength(0);
    expect(JSON.stringify(fake.requests.at(-1)?.body)).not.toContain('req-7');

    await chat.generate(hi);
    expect(own.lines).toEqual([expect.objectContaining({ msg: 'llm call', component: 'llm' })]);
    expect(own.lines[0]).not.toHaveProperty('requestId');
    expect(lines).toHaveLength(2);
  });

  it('is silent without a logger and survives a throwing onCall', async () => {
    const result = await model({
      onCall: () => {
        throw new Error('metrics broke');
      },
    }).generate(hi);
    expect(result.text).toBe('Hello from the fake.');
  });
});

describe('createCoreModel', () => {
  it('forwards exactly one finish, last, with response.model set', async () => {
    const adapter: ProviderAdapter = {
      provider: 'acme',
      modelId: 'm1',
      async *stream() {
        yield { type: 'text-delta', text: 'x' };
        yield {
          type: 'finish',
          finishReason: 'stop',
          usage: { inputTokens: 1, outputTokens: 1 },
          response: { model: 'wrong', id: 'r1' },
        };
        yield { type: 'text-delta', text: 'after the end' };
        yield {
          type: 'finish',
          finishReason: 'stop',
          usage: { inputTokens: 1, outputTokens: 1 },
          response: { model: 'wrong', id: 'r2' },
        };
      },
    };
    const core = createCoreModel({ provider: 'acme', modelId: 'm1', adapter: async () => adapter });
    const list: ChatEvent[] = [];
    for await (const event of core.stream(hi)) list.push(event);
    expect(list.map((event) => event.type)).toEqual(['text-delta', 'finish']);
    expect(list.at(-1)).toMatchObject({ response: { model: 'acme:m1', id: 'r1' } });
  });

  it('turns a stream without finish and a foreign error into LlmErrors', async () => {
    const silent = createCoreModel({
      provider: 'acme',
      modelId: 'm1',
      maxRetries: 0,
      adapter: async () => ({ provider: 'acme', modelId: 'm1', async *stream() {} }),
    });
    expect(await failure(silent.generate(hi))).toMatchObject({
      code: 'network',
      message: expect.stringMatching(/no finish/),
    });
    const broken = createCoreModel({
      provider: 'acme',
      modelId: 'm1',
      adapter: async () => {
        throw new TypeError('boom');
      },
    });
    const error = await failure(broken.generate(hi));
    expect(LlmError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'server', retryable: false });
  });
});

describe('createCoreModel: the hand-written call iterator', () => {
  function scripted(events: ChatEvent[], cleanup: string[] = []): ProviderAdapter {
    return {
      provider: 'acme',
      modelId: 'm1',
      async *stream() {
        try {
          for (const event of events) yield event;
        } finally {
          cleanup.push('adapter closed');
        }
      },
    };
  }
  const finish: ChatEvent = {
    type: 'finish',
    finishReason: 'stop',
    usage: { inputTokens: 2, outputTokens: 1 },
    response: { model: 'acme:m1', id: 'r1' },
  };

  it('reports the call as soon as finish arrives, and closes the adapter, even if nobody asks for more', async () => {
    const records: CallRecord[] = [];
    const cleanup: string[] = [];
    const core = createCoreModel({
      provider: 'acme',
      modelId: 'm1',
      adapter: async () => scripted([{ type: 'text-delta', text: 'a' }, finish], cleanup),
      onCall: (record) => records.push(record),
    });
    const iterator = core.stream(hi)[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text-delta', text: 'a' } });
    expect((await iterator.next()).value).toMatchObject({ type: 'finish', response: { model: 'acme:m1' } });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'success', outputTokens: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(cleanup).toEqual(['adapter closed']);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(records).toHaveLength(1);
  });

  it('serves next() calls made without waiting one after the other, in order', async () => {
    const core = createCoreModel({
      provider: 'acme',
      modelId: 'm1',
      adapter: async () =>
        scripted([
          { type: 'text-delta', text: '1' },
          { type: 'text-delta', text: '2' },
          { type: 'text-delta', text: '3' },
          finish,
        ]),
    });
    const iterator = core.stream(hi)[Symbol.asyncIterator]();
    const results = await Promise.all([iterator.next(), iterator.next(), iterator.next(), iterator.next()]);
    expect(results.map((result) => (result.value as ChatEvent).type)).toEqual([
      'text-delta',
      'text-delta',
      'text-delta',
      'finish',
    ]);
    expect(results.slice(0, 3).map((result) => (result.value as { text: string }).text)).toEqual([
      '1',
      '2',
      '3',
    ]);
    expect(await iterator.next()).toMatchObject({ done: true });
  });

  it('breaking out on the finish event is a success, and breaking before it is cancelled with the adapter closed', async () => {
    const records: CallRecord[] = [];
    const cleanup: string[] = [];
    const core = createCoreModel({
      provider: 'acme',
      modelId: 'm1',
      adapter: async () =>
        scripted([{ type: 'text-delta', text: 'a' }, { type: 'text-delta', text: 'b' }, finish], cleanup),
      onCall: (record) => records.push(record),
    });
    for await (const event of core.stream(hi)) if (event.type === 'finish') break;
    for await (const event of core.stream(hi)) if (event.type === 'text-delta') break;
    expect(records.map((record) => record.outcome)).toEqual(['success', 'cancelled']);
    expect(cleanup).toEqual(['adapter closed', 'adapter closed']);
  });

  it('iterates once, like a generator', async () => {
    const core = createCoreModel({
      provider: 'acme',
      modelId: 'm1',
      adapter: async () => scripted([finish]),
    });
    const stream = core.stream(hi);
    const first: ChatEvent[] = [];
    for await (const event of stream) first.push(event);
    const second: ChatEvent[] = [];
    for await (const event of stream) second.push(event);
    expect(first.map((event) => event.type)).toEqual(['finish']);
    expect(second).toEqual([]);
  });
});
