import { describe, expect, it } from 'vitest';
import { LlmError } from './llm-error.js';
import { defaultRetryPolicy, retryDelay } from './retry-policy.js';

const error = (code: 'server' | 'auth', retryAfterMs?: number) =>
  new LlmError({ code, message: 'x', provider: 'p', model: 'm', retryAfterMs });

describe('retryDelay', () => {
  it('backs off exponentially up to the cap, with jitter taking up to a quarter off', () => {
    const policy = { ...defaultRetryPolicy, maxRetries: 10 };
    expect([0, 1, 2, 3, 4, 5].map((retry) => retryDelay(error('server'), retry, policy, () => 0))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000,
    ]);
    expect(retryDelay(error('server'), 0, policy, () => 0.999)).toBe(375);
  });

  it('honours retry-after, refuses non-retryable errors, exhausted retries and waits over a minute', () => {
    expect(retryDelay(error('server', 1234), 0, defaultRetryPolicy, () => 0.5)).toBe(1234);
    expect(retryDelay(error('auth'), 0, defaultRetryPolicy, () => 0)).toBeUndefined();
    expect(retryDelay(error('server'), 2, defaultRetryPolicy, () => 0)).toBeUndefined();
    expect(retryDelay(error('server', 61_000), 0, defaultRetryPolicy, () => 0)).toBeUndefined();
  });

  it('backs off as usual on a hint of 0 (`retry-after: 0`, a date already past), as the vendor SDKs do', () => {
    expect(retryDelay(error('server', 0), 0, defaultRetryPolicy, () => 0)).toBe(500);
    expect(retryDelay(error('server', 0), 1, defaultRetryPolicy, () => 0)).toBe(1000);
  });

  it('retries a 409 conflict whatever its code, and nothing else outside the transient codes', () => {
    const conflict = new LlmError({
      code: 'invalid-request',
      message: 'x',
      provider: 'p',
      model: 'm',
      status: 409,
    });
    expect(conflict.retryable).toBe(true);
    expect(retryDelay(conflict, 0, defaultRetryPolicy, () => 0)).toBe(500);
    const bad = new LlmError({
      code: 'invalid-request',
      message: 'x',
      provider: 'p',
      model: 'm',
      status: 400,
    });
    expect(bad.retryable).toBe(false);
  });
});
