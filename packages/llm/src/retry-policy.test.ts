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
    expect(retryDelay(error('server', 0), 0, defaultRetryPolicy, () => 0.5)).toBe(0);
    expect(retryDelay(error('auth'), 0, defaultRetryPolicy, () => 0)).toBeUndefined();
    expect(retryDelay(error('server'), 2, defaultRetryPolicy, () => 0)).toBeUndefined();
    expect(retryDelay(error('server', 61_000), 0, defaultRetryPolicy, () => 0)).toBeUndefined();
  });
});
