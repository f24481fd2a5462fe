import ky, { type Options as KyOptions } from 'ky';
import { type Logger, noopLogger } from './logger.js';
import { NotifyError } from './notify-error.js';

/** Delivery settings every notifier takes. */
export interface DeliveryOptions {
  /** The fetch to send with (injectable for tests). */
  fetch?: typeof globalThis.fetch;
  logger?: Logger;
  /** Most HTTP attempts per message (default 4). */
  maxAttempts?: number;
  /** First backoff delay in ms, doubled each retry, with jitter (default 500). */
  baseDelayMs?: number;
  /**
   * Longest wait between attempts (default 60 000). A server asking to wait longer (retry-after) is
   * not retried early: its rate-limit error is thrown.
   */
  maxDelayMs?: number;
  /** Time limit of one HTTP attempt in ms (default 15 000). */
  timeoutMs?: number;
  /** Waits between attempts (injectable so tests need not sleep). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1) (injectable). */
  random?: () => number;
}

/** One HTTP request of a channel. */
export interface DeliveryRequest {
  url: string;
  method: 'POST';
  json?: unknown;
  headers?: Record<string, string>;
}

/** Connection failures that happen before the request reached the server: safe to retry. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Sends one request with the retry policy: network failures where nothing was sent, 5xx and 429
 * (honouring the server's retry-after; a longer one than `maxDelayMs` is not retried) are retried with
 * backoff; a failure where the message may already have arrived (a timeout or a connection cut after
 * sending) is not, so nothing is sent twice.
 * `interpret` turns a response into the channel's value or a `NotifyError`.
 */
export async function deliver<T>(
  channel: string,
  request: DeliveryRequest,
  interpret: (response: Response) => Promise<T | NotifyError>,
  options: DeliveryOptions & { signal?: AbortSignal },
): Promise<{ value: T; attempts: number }> {
  const logger = options.logger ?? noopLogger;
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce(channel, request, interpret, options);
    if (!(outcome instanceof NotifyError)) {
      logger.info(
        { channel, attempts: attempt, durationMs: Date.now() - started, outcome: 'sent' },
        'notification sent',
      );
      return { value: outcome, attempts: attempt };
    }
    const retryable = outcome.retryable && attempt < maxAttempts && !options.signal?.aborted;
    // A retry before the asked wait would be refused again and use up the attempts.
    const waitTooLong = outcome.retryAfterMs !== undefined && outcome.retryAfterMs > maxDelayMs;
    const retry = retryable && !waitTooLong;
    const error = retryable && waitTooLong ? askedToWaitTooLong(outcome, maxDelayMs) : outcome;
    logger.warn(
      {
        channel,
        attempt,
        code: outcome.code,
        status: outcome.status,
        willRetry: retry,
        error: error.message,
      },
      'notification attempt failed',
    );
    if (!retry) throw error;
    const backoff = (options.baseDelayMs ?? 500) * 2 ** (attempt - 1) * (0.5 + random() / 2);
    await sleep(outcome.retryAfterMs ?? Math.min(backoff, maxDelayMs), options.signal);
  }
}

/** `outcome` (a rate limit) with a message saying the service asked for a wait longer than `maxDelayMs`. */
function askedToWaitTooLong(outcome: NotifyError, maxDelayMs: number): NotifyError {
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  return new NotifyError({
    code: outcome.code,
    channel: outcome.channel,
    status: outcome.status,
    variable: outcome.variable,
    retryAfterMs: outcome.retryAfterMs,
    message: `${outcome.message} It asked to wait ${seconds(outcome.retryAfterMs ?? 0)}, longer than maxDelayMs (${seconds(maxDelayMs)}): not retried now.`,
    cause: outcome.cause,
  });
}

async function attemptOnce<T>(
  channel: string,
  request: DeliveryRequest,
  interpret: (response: Response) => Promise<T | NotifyError>,
  options: DeliveryOptions & { signal?: AbortSignal },
): Promise<T | NotifyError> {
  const kyOptions: KyOptions = {
    method: request.method,
    retry: 0,
    throwHttpErrors: false,
    timeout: options.timeoutMs ?? 15_000,
    ...(request.json === undefined ? {} : { json: request.json }),
    ...(request.headers ? { headers: request.headers } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  let response: Response;
  try {
    response = await ky(request.url, kyOptions);
  } catch (error) {
    return classifyFailure(channel, error, options.signal);
  }
  try {
    return await interpret(response);
  } catch (error) {
    return new NotifyError({
      code: 'ambiguous',
      channel,
      status: response.status,
      message: `${channel} answered with an unreadable response (HTTP ${response.status}); the message may have been delivered, so it was not sent again.`,
      cause: error,
    });
  }
}

function classifyFailure(channel: string, failure: unknown, signal: AbortSignal | undefined): NotifyError {
  // The transport's error names the request URL, which holds the bot or webhook token.
  const error = withoutUrls(failure);
  if (signal?.aborted) {
    return new NotifyError({
      code: 'aborted',
      channel,
      message: `Sending to ${channel} was aborted.`,
      cause: error,
    });
  }
  const name = error.name;
  if (name === 'TimeoutError') {
    return new NotifyError({
      code: 'ambiguous',
      channel,
      message: `${channel} did not answer in time; the message may have been delivered, so it was not sent again.`,
      cause: error,
    });
  }
  const code = causeCode(error);
  if (code && NOT_SENT_CODES.has(code)) {
    return new NotifyError({
      code: 'network',
      channel,
      message: `Could not connect to ${channel} (${code}); check the network and the channel's URL.`,
      cause: error,
    });
  }
  return new NotifyError({
    code: 'ambiguous',
    channel,
    message: `The connection to ${channel} failed after the message was sent${code ? ` (${code})` : ''}; it may have been delivered, so it was not sent again.`,
    cause: error,
  });
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Reads a JSON body, or undefined when it is not JSON. */
export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/**
 * `error` as an Error whose message (and whose causes' messages) show each URL as its origin only:
 * a Telegram URL holds the bot token in its path, a Discord webhook URL its token. Keeps the name and
 * the first `code` found, for the classification above and for logs.
 */
function withoutUrls(error: unknown): Error {
  const source = error as { name?: unknown; message?: unknown } | null;
  const messages: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && message !== '') messages.push(message);
    current = (current as { cause?: unknown }).cause;
  }
  const text = (messages.length > 0 ? messages.join(': ') : String(error)).replace(URL_PATTERN, (url) => {
    try {
      return `${new URL(url).origin}/…`;
    } catch {
      return '[url]';
    }
  });
  const clean = new Error(text);
  if (typeof source?.name === 'string') clean.name = source.name;
  const code = causeCode(error);
  if (code) Object.assign(clean, { code });
  return clean;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s"'<>]+/g;
