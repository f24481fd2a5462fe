import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from './chat-event.js';
import { createCoreModel } from './core-model.js';
import { LlmError } from './llm-error.js';
import { noopLogger } from './logger.js';
import { helloAnswer } from './providers/adapter-test-helpers.js';
import { createOpenAIAdapter } from './providers/openai.js';
import { createOpenAICompatibleAdapter } from './providers/openai-compatible.js';
import type { ProviderAdapter } from './providers/provider-adapter.js';

// A real full garbage collection, without starting the worker with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const hi = { messages: [{ role: 'user' as const, content: 'Hi' }] };
const CALLS = 40;

/** Collects until nothing more goes (WeakRefs made in a job are only cleared after it). */
async function collectGarbage(): Promise<void> {
  for (let round = 0; round < 4; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}

function alive(refs: WeakRef<object>[]): number {
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

async function drain(stream: AsyncIterable<ChatEvent>): Promise<void> {
  for await (const _event of stream);
}

async function drainUntilFailure(stream: AsyncIterable<ChatEvent>): Promise<LlmError> {
  try {
    await drain(stream);
  } catch (error) {
    return error as LlmError;
  }
  throw new Error('expected a failure');
}

/** Remembers, weakly, every signal the core hands to `adapter`. */
function watched(adapter: () => Promise<ProviderAdapter>) {
  const signals: WeakRef<AbortSignal>[] = [];
  const watchedAdapter = async (): Promise<ProviderAdapter> => {
    const inner = await adapter();
    return {
      provider: inner.provider,
      modelId: inner.modelId,
      stream(request, signal) {
        signals.push(new WeakRef(signal));
        return inner.stream(request, signal);
      },
    };
  };
  return { signals, adapter: watchedAdapter };
}

/** An adapter that, like the vendor SDKs, adds an abort listener and never removes it. */
function sdkLikeAdapter(script: { failFirst?: boolean } = {}): ProviderAdapter {
  let attempts = 0;
  return {
    provider: 'acme',
    modelId: 'm1',
    async *stream(_request, signal): AsyncGenerator<ChatEvent> {
      const controller = new AbortController();
      signal.addEventListener('abort', () => controller.abort(), { once: true });
      attempts++;
      if (script.failFirst && attempts % 2 === 1) {
        throw new LlmError({
          code: 'overloaded',
          message: 'busy',
          provider: 'acme',
          model: 'm1',
          status: 503,
        });
      }
      yield* helloAnswer();
    },
  };
}

describe('a finished call leaves nothing behind', () => {
  let fake: OpenAIFake;
  beforeAll(async () => {
    fake = await startOpenAIFake({ reply: { text: 'Hello there, this is the fake.' } });
  });
  afterAll(async () => {
    await fake.close();
  });

  // The openai SDK (openai:) and our own wire client (openai-compatible:), same fake.
  const adapters = [
    ['openai', createOpenAIAdapter],
    ['openai-compatible', createOpenAICompatibleAdapter],
  ] as const;

  function openaiAdapter(factory: (typeof adapters)[number][1]) {
    return watched(() =>
      factory('mock', {
        apiKey: 'x',
        baseURL: fake.baseURL,
        headers: {},
        fetch: globalThis.fetch,
        logger: noopLogger,
      }),
    );
  }

  it.each(adapters)(
    '%s: the signals handed to the adapter are collectable after the calls end',
    async (provider, factory) => {
      const { signals, adapter } = openaiAdapter(factory);
      const model = createCoreModel({ provider, modelId: 'mock', adapter });
      for (let call = 0; call < CALLS; call++) await drain(model.stream(hi));
      await collectGarbage();
      expect(signals).toHaveLength(CALLS);
      expect(alive(signals)).toBe(0);
    },
  );

  it.each(adapters)(
    '%s: a caller signal that lives for the whole process keeps no listener and no call',
    async (provider, factory) => {
      const shutdown = new AbortController();
      const { signals, adapter } = openaiAdapter(factory);
      const model = createCoreModel({
        provider,
        modelId: 'mock',
        adapter,
        timeoutMs: 60_000,
        firstTokenTimeoutMs: 30_000,
      });
      for (let call = 0; call < CALLS; call++) {
        await drain(model.stream({ ...hi, signal: shutdown.signal }));
        // Stopping early ends the call too.
        for await (const _event of model.stream({ ...hi, signal: shutdown.signal })) break;
      }
      const codes: string[] = [];
      for (let call = 0; call < 5; call++) {
        fake.enqueue({ error: { status: 400, message: 'bad request' } });
        codes.push((await drainUntilFailure(model.stream({ ...hi, signal: shutdown.signal }))).code);
      }
      expect(codes).toEqual(Array(5).fill('invalid-request'));
      expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
      await collectGarbage();
      expect(signals).toHaveLength(2 * CALLS + 5);
      expect(alive(signals)).toBe(0);
    },
  );

  it('retried attempts are released as well, and the caller can still abort', async () => {
    const shutdown = new AbortController();
    const { signals, adapter } = watched(async () => sdkLikeAdapter({ failFirst: true }));
    const model = createCoreModel({ provider: 'acme', modelId: 'm1', adapter, sleep: async () => {} });
    for (let call = 0; call < CALLS; call++) await drain(model.stream({ ...hi, signal: shutdown.signal }));
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    await collectGarbage();
    expect(signals).toHaveLength(2 * CALLS);
    expect(alive(signals)).toBe(0);

    const stream = model.stream({ ...hi, signal: shutdown.signal })[Symbol.asyncIterator]();
    await stream.next();
    const adapterSignal = signals.at(-1)?.deref();
    shutdown.abort(new Error('shutting down'));
    expect(adapterSignal?.aborted).toBe(true);
    expect(adapterSignal?.reason).toEqual(new Error('shutting down'));
    await stream.return?.();
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });
});
