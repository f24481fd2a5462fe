import { describe, expect, it } from 'vitest';
import type { ChatEvent } from './chat-event.js';
import { createCoreModel } from './core-model.js';
import { LightAbortController, LightAbortSignal } from './light-abort.js';
import type { LlmError } from './llm-error.js';
import { helloAnswer } from './providers/adapter-test-helpers.js';
import type { ProviderAdapter } from './providers/provider-adapter.js';

const hi = { messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('LightAbortController', () => {
  it('aborts once, with the reason, calling each listener once and onabort', () => {
    const controller = new LightAbortController();
    const signal = controller.signal as unknown as LightAbortSignal;
    const calls: string[] = [];
    const first = () => calls.push('first');
    const removed = () => calls.push('removed');
    signal.addEventListener('abort', first);
    signal.addEventListener('abort', removed);
    signal.addEventListener('other', () => calls.push('other'));
    signal.removeEventListener('abort', removed);
    signal.onabort = () => calls.push('onabort');
    expect(signal.aborted).toBe(false);
    expect(() => signal.throwIfAborted()).not.toThrow();
    const reason = new Error('stop');
    controller.abort(reason);
    controller.abort(new Error('again'));
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(calls).toEqual(['onabort', 'first']);
    expect(() => signal.throwIfAborted()).toThrow('stop');
    // Like an AbortSignal, a listener added after the abort is never called.
    signal.addEventListener('abort', () => calls.push('late'));
    expect(calls).toEqual(['onabort', 'first']);
  });

  it('aborts with an AbortError when no reason is given', () => {
    const controller = new LightAbortController();
    controller.abort();
    expect(controller.signal.reason).toMatchObject({ name: 'AbortError' });
  });
});

/** An adapter that records the signal of each attempt and answers once it is aborted or after `ms`. */
function recordingAdapter(acceptsLightSignal: boolean, ms = 1000) {
  const signals: AbortSignal[] = [];
  const adapter: ProviderAdapter = {
    provider: 'acme',
    modelId: 'm1',
    acceptsLightSignal,
    async *stream(_request, signal): AsyncIterable<ChatEvent> {
      signals.push(signal);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (signal.aborted) throw signal.reason;
      yield* helloAnswer();
    },
  };
  return { signals, adapter: async () => adapter };
}

async function failure(stream: AsyncIterable<ChatEvent>): Promise<LlmError> {
  try {
    for await (const _event of stream);
  } catch (error) {
    return error as LlmError;
  }
  throw new Error('expected a failure');
}

describe('the core with an adapter that accepts a light signal', () => {
  it('gives it a light signal from the first call on, and a real AbortSignal to one that does not', async () => {
    const light = recordingAdapter(true, 0);
    const heavy = recordingAdapter(false, 0);
    await createCoreModel({ provider: 'acme', modelId: 'm1', adapter: light.adapter }).generate(hi);
    await createCoreModel({ provider: 'acme', modelId: 'm1', adapter: heavy.adapter }).generate(hi);
    expect(light.signals[0]).toBeInstanceOf(LightAbortSignal);
    expect(heavy.signals[0]).toBeInstanceOf(AbortSignal);
  });

  it("passes on the caller's abort, with its reason, as an aborted call", async () => {
    const light = recordingAdapter(true);
    const model = createCoreModel({ provider: 'acme', modelId: 'm1', adapter: light.adapter });
    const caller = new AbortController();
    const pending = failure(model.stream({ ...hi, signal: caller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const reason = new Error('client gone');
    caller.abort(reason);
    const error = await pending;
    expect(error).toMatchObject({ code: 'aborted' });
    expect(light.signals[0]?.reason).toBe(reason);
  });

  it('aborts it on the first-token timeout and reports a timeout', async () => {
    const light = recordingAdapter(true);
    const model = createCoreModel({
      provider: 'acme',
      modelId: 'm1',
      adapter: light.adapter,
      firstTokenTimeoutMs: 20,
      maxRetries: 0,
    });
    expect(await failure(model.stream(hi))).toMatchObject({ code: 'timeout' });
    expect(light.signals[0]?.aborted).toBe(true);
  });
});
