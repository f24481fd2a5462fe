import { Writable } from 'node:stream';
import { type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from './chat-event.js';
import { createModel } from './create-model.js';
import { createFallbackModel } from './fallback-model.js';
import type { LanguageModel } from './language-model.js';
import type { LlmError } from './llm-error.js';
import { MockLanguageModel } from './test/mock-language-model.js';

const hi = { messages: [{ role: 'user' as const, content: 'Hi' }] };
let primary: OpenAIFake;
let backup: OpenAIFake;

beforeEach(async () => {
  primary = await startOpenAIFake({ apiKeys: ['sk-primary-key-000000'], models: ['gpt-4o-mini'] });
  backup = await startOpenAIFake();
});
afterEach(async () => {
  await primary.close();
  await backup.close();
});

function models() {
  return [
    createModel('openai:gpt-4o-mini', {
      apiKey: 'sk-primary-key-000000',
      baseURL: primary.baseURL,
      env: {},
      maxRetries: 0,
    }),
    createModel('openai-compatible:llama3.1:8b', { baseURL: backup.baseURL, env: {}, maxRetries: 0 }),
  ];
}

async function failure(promise: Promise<unknown>): Promise<LlmError> {
  try {
    await promise;
  } catch (error) {
    return error as LlmError;
  }
  throw new Error('expected a failure');
}

describe('createFallbackModel', () => {
  it('answers from the first model when it works', async () => {
    const result = await createFallbackModel(models()).generate(hi);
    expect(result.response.model).toBe('openai:gpt-4o-mini');
    expect(backup.requests).toHaveLength(0);
  });

  it('moves on after a retryable, auth or not-found failure before the first event, and logs who answered', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    const fallback = createFallbackModel(models(), { logger });
    expect(fallback.provider).toBe('openai');
    for (const error of [{ status: 503 }, { status: 401 }, { status: 404 }]) primary.enqueue({ error });
    for (let call = 0; call < 3; call++) {
      const result = await fallback.generate(hi);
      expect(result.response.model).toBe('openai-compatible:llama3.1:8b');
      expect(result.text).toBe('Hello from the fake.');
    }
    expect(backup.requests).toHaveLength(3);
    expect(
      lines
        .filter((line) => line.msg === 'llm model failed, trying the next one')
        .map((line) => line.errorCode),
    ).toEqual(['overloaded', 'auth', 'not-found']);
    expect(lines.filter((line) => line.msg === 'llm fallback answered').map((line) => line.model)).toEqual([
      'openai-compatible:llama3.1:8b',
      'openai-compatible:llama3.1:8b',
      'openai-compatible:llama3.1:8b',
    ]);
  });

  it('announces the model that takes over with a fallback event before its first event', async () => {
    primary.enqueue({ error: { status: 503 } });
    const events: ChatEvent[] = [];
    for await (const event of createFallbackModel(models()).stream(hi)) events.push(event);
    expect(events[0]).toEqual({
      type: 'fallback',
      model: 'openai-compatible:llama3.1:8b',
      failed: 'openai:gpt-4o-mini',
    });
    expect(events.slice(1).map((event) => event.type)).not.toContain('fallback');
    expect(events.at(-1)).toMatchObject({
      type: 'finish',
      response: { model: 'openai-compatible:llama3.1:8b' },
    });
    const direct: ChatEvent[] = [];
    for await (const event of createFallbackModel(models()).stream(hi)) direct.push(event);
    expect(direct.map((event) => event.type)).not.toContain('fallback');
  });

  it("writes every model's lines and its own through the request's logger", async () => {
    const own: Array<Record<string, unknown>> = [];
    const lines: Array<Record<string, unknown>> = [];
    const memory = (into: Array<Record<string, unknown>>) =>
      pino(
        new Writable({
          write(chunk, _encoding, done) {
            into.push(JSON.parse(String(chunk)));
            done();
          },
        }),
      );
    const [first, second] = models();
    const fallback = createFallbackModel([first as LanguageModel, second as LanguageModel], {
      logger: memory(own),
    });
    primary.enqueue({ error: { status: 503 } });
    const result = await fallback.generate({ ...hi, logger: memory(lines).child({ requestId: 'req-9' }) });
    expect(result.response.model).toBe('openai-compatible:llama3.1:8b');
    expect(lines.map((line) => [line.msg, line.requestId, line.component])).toEqual([
      ['llm call failed', 'req-9', 'llm'],
      ['llm model failed, trying the next one', 'req-9', 'llm'],
      ['llm call', 'req-9', 'llm'],
      ['llm fallback answered', 'req-9', 'llm'],
    ]);
    expect(own).toHaveLength(0);
  });

  it('does not move on for a bad request, after output began, or on abort; throws the last error', async () => {
    primary.enqueue({ error: { status: 400 } }, { text: 'half', truncate: true });
    expect((await failure(createFallbackModel(models()).generate(hi))).code).toBe('invalid-request');
    const seen: ChatEvent[] = [];
    const cut = await failure(
      (async () => {
        for await (const event of createFallbackModel(models()).stream(hi)) seen.push(event);
      })(),
    );
    expect(cut.code).toBe('network');
    expect(seen.length).toBeGreaterThan(0);
    const controller = new AbortController();
    controller.abort();
    expect(
      (await failure(createFallbackModel(models()).generate({ ...hi, signal: controller.signal }))).code,
    ).toBe('aborted');
    expect(backup.requests).toHaveLength(0);
    primary.enqueue({ error: { status: 500 } });
    backup.enqueue({ error: { status: 502 } });
    expect(await failure(createFallbackModel(models()).generate(hi))).toMatchObject({
      code: 'server',
      provider: 'openai-compatible',
    });
  });

  it('works over any LanguageModel', async () => {
    const result = await createFallbackModel([
      new MockLanguageModel({ results: { text: 'mocked' } }),
    ]).generate(hi);
    expect(result).toMatchObject({ text: 'mocked', response: { model: 'mock:mock-model' } });
    expect(() => createFallbackModel([])).toThrow(/at least one model/);
  });
});
