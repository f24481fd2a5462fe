/** Why a delivery failed. */
export type NotifyErrorCode =
  | 'auth'
  | 'not-found'
  | 'invalid-request'
  | 'rate-limit'
  | 'network'
  | 'ambiguous'
  | 'server'
  | 'aborted';

/** Fields of a {@link NotifyError}. */
export interface NotifyErrorOptions {
  code: NotifyErrorCode;
  channel: string;
  message: string;
  status?: number;
  /** The variable that fixes a permanent failure (`TELEGRAM_BOT_TOKEN`, `DISCORD_WEBHOOK_URL`, …). */
  variable?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

const MARKER = Symbol.for('haia.notify.error');
const RETRYABLE: ReadonlySet<NotifyErrorCode> = new Set(['rate-limit', 'network', 'server']);

/**
 * The one error `@haia/notify` throws. Its message names the variable to fix for a permanent failure
 * and never contains a token or a webhook URL.
 */
export class NotifyError extends Error {
  override readonly name = 'NotifyError';
  readonly code: NotifyErrorCode;
  readonly channel: string;
  readonly status: number | undefined;
  readonly variable: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** Worth another attempt: the request certainly did not deliver the message. */
  readonly retryable: boolean;
  readonly [MARKER] = true;

  constructor(options: NotifyErrorOptions) {
    super(options.message, { cause: options.cause });
    this.code = options.code;
    this.channel = options.channel;
    this.status = options.status;
    this.variable = options.variable;
    this.retryAfterMs = options.retryAfterMs;
    this.retryable = RETRYABLE.has(options.code);
  }

  /** True for a `NotifyError`, also one from another copy of this package. */
  static isInstance(error: unknown): error is NotifyError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}
