/** What went wrong, in categories a caller can act on. */
export type LlmErrorCode =
  | 'auth'
  | 'permission'
  | 'not-found'
  | 'invalid-request'
  | 'context-length'
  | 'content-filter'
  | 'rate-limit'
  | 'overloaded'
  | 'timeout'
  | 'network'
  | 'server'
  | 'aborted';

/** Codes that are worth another attempt. */
const RETRYABLE: ReadonlySet<LlmErrorCode> = new Set([
  'rate-limit',
  'overloaded',
  'timeout',
  'network',
  'server',
]);

/** Fields of an {@link LlmError}. */
export interface LlmErrorOptions {
  code: LlmErrorCode;
  message: string;
  provider: string;
  model: string;
  /** HTTP status, when the provider answered with one. */
  status?: number;
  /** How long the provider asked us to wait before retrying (from `retry-after`/`retry-after-ms`). */
  retryAfterMs?: number;
  /** Defaults to whether `code` is transient (or the status is 409). */
  retryable?: boolean;
  cause?: unknown;
}

const MARKER = Symbol.for('haia.llm.error');

/**
 * The one error `@haia/llm` throws. `message` says what happened and what to do; it never contains
 * an API key.
 */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  readonly code: LlmErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly provider: string;
  readonly model: string;
  readonly status: number | undefined;
  readonly [MARKER] = true;

  constructor(options: LlmErrorOptions) {
    super(options.message, { cause: options.cause });
    this.code = options.code;
    // 409 (a conflict such as a lock timeout) is transient whatever its code: the vendors' SDKs retry it.
    this.retryable = options.retryable ?? (RETRYABLE.has(options.code) || options.status === 409);
    this.retryAfterMs = options.retryAfterMs;
    this.provider = options.provider;
    this.model = options.model;
    this.status = options.status;
  }

  /** True for an `LlmError`, also one from another copy of this package. */
  static isInstance(error: unknown): error is LlmError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}

/** The error code an HTTP status means, before looking at the body. */
export function codeForStatus(status: number): LlmErrorCode {
  if (status === 401) return 'auth';
  if (status === 403) return 'permission';
  if (status === 404) return 'not-found';
  if (status === 408) return 'timeout';
  if (status === 413) return 'context-length';
  if (status === 429) return 'rate-limit';
  if (status === 503 || status === 529) return 'overloaded';
  if (status >= 500) return 'server';
  return 'invalid-request';
}

/**
 * Reads `retry-after-ms` (milliseconds) or `retry-after` (seconds or an HTTP date) into milliseconds.
 * `now` is injectable for tests.
 */
export function parseRetryAfter(
  headers: { get(name: string): string | null } | undefined,
  now: () => number = Date.now,
): number | undefined {
  if (!headers) return undefined;
  const milliseconds = headers.get('retry-after-ms');
  if (milliseconds !== null && milliseconds.trim() !== '' && Number.isFinite(Number(milliseconds))) {
    return Math.max(0, Number(milliseconds));
  }
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  if (Number.isFinite(Number(value))) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}
