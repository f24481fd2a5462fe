import { type GeminiFake, startGeminiFake } from '@haia/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createModel } from '../create-model.js';
import type { Message } from '../message.js';
import { failure } from './adapter-test-helpers.js';

let gemini: GeminiFake;
const waits: number[] = [];
const sleep = async (ms: number) => {
  waits.push(ms);
};

beforeAll(async () => {
  gemini = await startGeminiFake();
});
afterAll(async () => {
  await gemini.close();
});
beforeEach(() => {
  gemini.server.reset();
  waits.length = 0;
});

const hello: Message[] = [{ role: 'user', content: 'Hello' }];

function model(id = 'gemini:gemini-2.5-flash', options: Parameters<typeof createModel>[1] = {}) {
  return createModel(id, { apiKey: gemini.apiKey, baseURL: gemini.url, env: {}, sleep, ...options });
}

describe("createModel('gemini:…')", () => {
  it('generates text, reasoning and usage through the real SDK', async () => {
    gemini.reply({
      thoughts: 'Thinking.',
      text: ['Hi', ' there'],
      usage: { promptTokenCount: 4, candidatesTokenCount: 2, thoughtsTokenCount: 3 },
    });
    const result = await model().generate({ messages: hello });
    expect(result).toMatchObject({
      text: 'Hi there',
      reasoning: 'Thinking.',
      finishReason: 'stop',
      usage: { inputTokens: 4, outputTokens: 5, reasoningTokens: 3 },
      response: { model: 'gemini:gemini-2.5-flash' },
    });
    expect(model().provider).toBe('gemini');
    expect(model().modelId).toBe('gemini-2.5-flash');
  });

  it('reads the key from GEMINI_API_KEY or GOOGLE_API_KEY and asks for it when both are missing', async () => {
    const fromEnv = createModel('gemini:gemini-2.5-flash', {
      baseURL: gemini.url,
      env: { GOOGLE_API_KEY: gemini.apiKey },
    });
    expect((await fromEnv.generate({ messages: hello })).text).toBe('Hello from the Gemini fake.');
    const missing = createModel('gemini:gemini-2.5-flash', { baseURL: gemini.url, env: {} });
    const error = await failure(missing.generate({ messages: hello }));
    expect(error.code).toBe('auth');
    expect(error.message).toContain('GEMINI_API_KEY or GOOGLE_API_KEY');
  });

  it('retries UNAVAILABLE before the first event and then answers', async () => {
    gemini.error(503, { message: 'The model is overloaded. Please try again later.' });
    const result = await model('gemini:gemini-2.5-flash', { maxRetries: 2 }).generate({ messages: hello });
    expect(result.text).toBe('Hello from the Gemini fake.');
    expect(gemini.requests).toHaveLength(2);
    expect(waits).toHaveLength(1);
  });

  it("waits for RetryInfo's retryDelay on RESOURCE_EXHAUSTED", async () => {
    gemini.error(429, {
      message: 'Quota exceeded.',
      details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2.5s' }],
    });
    await model('gemini:gemini-2.5-flash', { maxRetries: 1 }).generate({ messages: hello });
    expect(waits).toEqual([2500]);
  });

  it('does not retry a rejected key and keeps it out of the message', async () => {
    const error = await failure(
      model('gemini:gemini-2.5-flash', { apiKey: 'AIzaWrongKey0123456789', maxRetries: 2 }).generate({
        messages: hello,
      }),
    );
    expect(error.code).toBe('auth');
    expect(error.message).not.toContain('AIzaWrongKey0123456789');
    expect(gemini.requests).toHaveLength(1);
  });

  it('logs failures and successes without the key', async () => {
    const lines: unknown[] = [];
    const logger = {
      debug: (object: object, message?: string) => lines.push([object, message]),
      info: (object: object, message?: string) => lines.push([object, message]),
      warn: (object: object, message?: string) => lines.push([object, message]),
      error: (object: object, message?: string) => lines.push([object, message]),
      child() {
        return logger;
      },
    };
    await failure(
      model('gemini:gemini-2.5-flash', { apiKey: 'AIzaLoggedKey0123456789', logger, maxRetries: 0 }).generate(
        { messages: hello },
      ),
    );
    await model('gemini:gemini-2.5-flash', { logger }).generate({ messages: hello });
    expect(lines.length).toBeGreaterThan(1);
    const logged = JSON.stringify(lines, (_key, value) =>
      value instanceof Error ? { message: value.message, stack: value.stack } : value,
    );
    expect(logged).not.toContain('AIzaLoggedKey0123456789');
    expect(logged).not.toContain(gemini.apiKey);
  });

  it('never retries after output began', async () => {
    gemini.midStreamError({ text: ['one'] }, { code: 503, message: 'overloaded', status: 'UNAVAILABLE' });
    const error = await failure(
      model('gemini:gemini-2.5-flash', { maxRetries: 2 }).generate({ messages: hello }),
    );
    expect(error.code).toBe('overloaded');
    expect(gemini.requests).toHaveLength(1);
  });

  it("aborts on the caller's signal and closes the socket", async () => {
    gemini.hang();
    const controller = new AbortController();
    const pending = model().generate({ messages: hello, signal: controller.signal });
    await vi.waitFor(() => expect(gemini.activeRequests()).toBe(1));
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe('aborted');
    await vi.waitFor(() => expect(gemini.activeRequests()).toBe(0));
  });
});
