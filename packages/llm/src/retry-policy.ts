import type { LlmError } from './llm-error.js';

/** How the core retries a failed attempt. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 2, so 3 attempts at most). */
  maxRetries: number;
  /** First back-off in ms (default 500). */
  initialDelayMs: number;
  /** Largest back-off in ms (default 8000). */
  maxDelayMs: number;
  /** Fraction of the delay taken off at random (default 0.25: 75 % to 100 % of the delay). */
  jitter: number;
  /** A `retry-after` longer than this (default 60 s) is not waited for: the error is thrown. */
  maxRetryAfterMs: number;
}

/** The defaults: the same numbers the OpenAI and Anthropic SDKs use. */
export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 2,
  initialDelayMs: 500,
  maxDelayMs: 8000,
  jitter: 0.25,
  maxRetryAfterMs: 60_000,
};

/**
 * The wait before retry number `retry` (0 for the first retry), or `undefined` when the error must
 * not be retried: not retryable, retries used up, or a `retry-after` beyond `maxRetryAfterMs`.
 * A provider's `retryAfterMs` above 0 is honoured as given; otherwise exponential back-off with jitter.
 * `random` returns a number in [0, 1).
 */
export function retryDelay(
  error: LlmError,
  retry: number,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  if (!error.retryable || retry >= policy.maxRetries) return undefined;
  // A hint of 0 (`retry-after: 0`, a date already past) means no hint, as in the vendors' SDKs:
  // retrying at once would spend every retry within milliseconds on a server that is limiting.
  if (error.retryAfterMs !== undefined && error.retryAfterMs > 0) {
    return error.retryAfterMs > policy.maxRetryAfterMs ? undefined : error.retryAfterMs;
  }
  const base = Math.min(policy.initialDelayMs * 2 ** retry, policy.maxDelayMs);
  return Math.round(base * (1 - policy.jitter * random()));
}
