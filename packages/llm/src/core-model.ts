import { abortableSleep, linkAbort, TimeoutReason } from './abort.js';
import { bindLogger } from './bound-logger.js';
import {
  type CallHook,
  type CallLogLevel,
  type CallOutcome,
  type CallRecord,
  reportCall,
} from './call-record.js';
import type { ChatEvent, FinishEvent } from './chat-event.js';
import { collectStream } from './collect-stream.js';
import type { ChatRequest, GenerateResult, LanguageModel } from './language-model.js';
import { LightAbortController } from './light-abort.js';
import { LlmError } from './llm-error.js';
import { type Logger, noopLogger } from './logger.js';
import type { ProviderAdapter } from './providers/provider-adapter.js';
import { redactSecrets } from './redact.js';
import { defaultRetryPolicy, type RetryPolicy, retryDelay } from './retry-policy.js';
import { toolCallIdError } from './tool-call-ids.js';

/** What every line of a call carries, on the model's logger or the request's. */
const LLM_BINDINGS = { component: 'llm' };

/** Waits `ms`; should resolve early when `signal` aborts. Injectable so retry tests need no timers. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Options of {@link createCoreModel}. */
export interface CoreModelOptions {
  provider: string;
  modelId: string;
  /** Creates the provider adapter; called on first use (and again only if it failed). */
  adapter: () => Promise<ProviderAdapter>;
  /** pino-compatible; one line per call. Silent without one. */
  logger?: Logger;
  /** Receives the same record that is logged, once per call. */
  onCall?: CallHook;
  /** The level of a successful call's `llm call` line (default `info`). */
  callLogLevel?: CallLogLevel;
  /** Retries after the first attempt, for retryable errors before the first event (default 2). */
  maxRetries?: number;
  /** Fine-tuning of the back-off (`maxRetries` above wins over `retryPolicy.maxRetries`). */
  retryPolicy?: Partial<RetryPolicy>;
  /** Limit for the whole call, retries included (code `timeout`). */
  timeoutMs?: number;
  /** Limit per attempt until the first event arrives (code `timeout`, retried). */
  firstTokenTimeoutMs?: number;
  /** Back-off wait; default a real timer. */
  sleep?: Sleep;
  /** Jitter source in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Clock for latency, in ms; default `performance.now`. */
  now?: () => number;
  /** Values removed from every error message (the API key). */
  secrets?: string[];
}

/**
 * Wraps a {@link ProviderAdapter} (one attempt, no policy) into a {@link LanguageModel} with the
 * policy every provider shares: the history's tool-call ids checked before any request (an orphan
 * result or a repeated id fails with `invalid-request`), retries with back-off before the first
 * event, time-to-first-token and total timeouts, the caller's abort, exactly one `finish` last, one
 * log line and `onCall` record per call, and API keys scrubbed from errors. `createModel` uses
 * it; use it directly to plug in a provider of your own.
 *
 * @example
 * const model = createCoreModel({ provider: 'acme', modelId: 'm1', adapter: async () => myAdapter, logger });
 */
export function createCoreModel(options: CoreModelOptions): LanguageModel {
  const { provider, modelId } = options;
  const fullId = `${provider}:${modelId}`;
  const logger = bindLogger(options.logger ?? noopLogger, LLM_BINDINGS);
  const policy: RetryPolicy = {
    ...defaultRetryPolicy,
    ...options.retryPolicy,
    ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
  };
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());
  const secrets = options.secrets ?? [];
  let adapterPromise: Promise<ProviderAdapter> | undefined;
  let loadedAdapter: ProviderAdapter | undefined;

  function loadAdapter(): Promise<ProviderAdapter> {
    adapterPromise ??= options.adapter().then(
      (adapter) => {
        loadedAdapter = adapter;
        return adapter;
      },
      (error: unknown) => {
        adapterPromise = undefined;
        throw error;
      },
    );
    return adapterPromise;
  }

  function scrub(error: unknown): LlmError {
    const base = LlmError.isInstance(error)
      ? error
      : new LlmError({
          code: 'server',
          message: `Unexpected failure in the ${provider} provider: ${error instanceof Error ? error.message : String(error)}`,
          provider,
          model: modelId,
          retryable: false,
          cause: error,
        });
    const message = redactSecrets(base.message, secrets);
    if (message === base.message) return base;
    return new LlmError({
      code: base.code,
      message,
      provider: base.provider,
      model: base.model,
      status: base.status,
      retryAfterMs: base.retryAfterMs,
      retryable: base.retryable,
      cause: base.cause,
    });
  }

  function abortError(callerSignal: AbortSignal | undefined, signals: AbortSignal[], cause?: unknown) {
    if (callerSignal?.aborted) {
      return new LlmError({
        code: 'aborted',
        message: `The call to ${fullId} was aborted by the caller.`,
        provider,
        model: modelId,
        cause: callerSignal.reason ?? cause,
      });
    }
    for (const signal of signals) {
      if (!signal.aborted || !(signal.reason instanceof TimeoutReason)) continue;
      const reason = signal.reason;
      return new LlmError({
        code: 'timeout',
        message:
          reason.kind === 'total'
            ? `${fullId} did not finish within ${reason.ms} ms (timeoutMs); raise timeoutMs or ask for a shorter answer.`
            : `${fullId} sent no first token within ${reason.ms} ms (firstTokenTimeoutMs); the server may be overloaded or still loading the model.`,
        provider,
        model: modelId,
        // Only a first-token timeout leaves time for another attempt.
        retryable: reason.kind === 'first-token',
        cause: cause ?? reason,
      });
    }
    return undefined;
  }

  const shared: CallShared = {
    provider,
    modelId,
    fullId,
    logger,
    onCall: options.onCall,
    callLogLevel: options.callLogLevel ?? 'info',
    policy,
    sleep,
    random,
    now,
    firstTokenTimeoutMs: options.firstTokenTimeoutMs,
    timeoutMs: options.timeoutMs,
    loadAdapter,
    loadedAdapter: () => loadedAdapter,
    scrub,
    abortError,
  };

  function stream(request: ChatRequest): AsyncIterable<ChatEvent> {
    return new CoreCall(shared, request);
  }

  return {
    provider,
    modelId,
    stream,
    generate(request: ChatRequest): Promise<GenerateResult> {
      return collectStream(stream({ wholeAnswer: true, ...request }));
    },
  };
}

/** What every call of one core model shares. */
interface CallShared {
  provider: string;
  modelId: string;
  fullId: string;
  logger: Logger;
  onCall: CallHook | undefined;
  callLogLevel: CallLogLevel;
  policy: RetryPolicy;
  sleep: Sleep;
  random: () => number;
  now: () => number;
  firstTokenTimeoutMs: number | undefined;
  timeoutMs: number | undefined;
  loadAdapter: () => Promise<ProviderAdapter>;
  /** The adapter once loaded (it says whether it takes a {@link LightAbortController}'s signal). */
  loadedAdapter: () => ProviderAdapter | undefined;
  scrub: (error: unknown) => LlmError;
  abortError: (
    callerSignal: AbortSignal | undefined,
    signals: AbortSignal[],
    cause?: unknown,
  ) => LlmError | undefined;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const NO_TIMER = { clear() {} };
const NOT_LINKED = () => {};

/**
 * One call: an async iterator written by hand rather than an async generator, because every
 * generator layer costs a few hundred nanoseconds per streamed event. Until the first event it
 * runs the attempt/retry loop (`start`); after it, `next` forwards the adapter's results as they
 * are (no new result object, no extra promise hop) and only looks for the `finish`. Like a
 * generator it iterates once; `next` calls are served one at a time (as `for await` makes them).
 *
 * One controller per attempt, whose plain signal is what the adapter gets: the caller's signal is
 * linked to it (a listener removed when the attempt or the call ends), the first-token timer aborts
 * it, and so does the total timer, which also marks the call as out of time so nothing retries.
 * The back-off before a retry waits on the next attempt's controller. No `AbortSignal.any`: Node
 * keeps such a signal with a listener on it (every vendor SDK adds one and never removes it) in a
 * process-wide set until it aborts, so each finished call stayed reachable for good.
 */
class CoreCall implements AsyncIterableIterator<ChatEvent> {
  private readonly call: Omit<ChatRequest, 'signal' | 'logger'>;
  private readonly callerSignal: AbortSignal | undefined;
  /** The request's logger (bound to `component: 'llm'`), else the model's. */
  private readonly logger: Logger;
  private startedAt = 0;
  private firstEventAt: number | undefined;
  private endedAt: number | undefined;
  private finish: FinishEvent | undefined;
  private failure: LlmError | undefined;
  private retries = 0;
  private totalTimer: { clear(): void } = NO_TIMER;
  /** Set when the total timeout fired: the reason every later attempt is aborted with. */
  private outOfTime: TimeoutReason | undefined;
  private attempt: AbortController | LightAbortController | undefined;
  private attemptTimer: { clear(): void } = NO_TIMER;
  /** Removes the current attempt's listener on the caller's signal (which may live as long as the process). */
  private unlinkCaller: () => void = NOT_LINKED;
  private signals: AbortSignal[] = [];
  private inner: AsyncIterator<ChatEvent> | undefined;
  private pending: Promise<IteratorResult<ChatEvent>> | undefined;
  private started = false;
  private ended = false;
  private reported = false;

  constructor(
    private readonly shared: CallShared,
    request: ChatRequest,
  ) {
    const { signal, logger, ...call } = request;
    this.call = call;
    this.callerSignal = signal;
    this.logger = logger ? bindLogger(logger, LLM_BINDINGS) : shared.logger;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ChatEvent>> {
    if (this.pending) return this.pending.then(this.nextAfter, this.nextAfter);
    if (this.ended) return Promise.resolve(DONE);
    const inner = this.inner;
    const promise =
      inner && this.firstEventAt !== undefined
        ? inner.next().then(this.onResult, this.onError)
        : this.start().then(this.settle, this.settleError);
    this.pending = promise;
    return promise;
  }

  async return(): Promise<IteratorResult<ChatEvent>> {
    if (this.pending) await this.pending.catch(() => undefined);
    if (this.ended) return DONE;
    // The consumer stopped early: close the request at once, then let the adapter clean up.
    this.ended = true;
    this.release();
    this.attempt?.abort(new Error('stream consumer stopped reading'));
    const inner = this.inner;
    this.inner = undefined;
    if (inner?.return) await inner.return().catch(() => undefined);
    this.report();
    return DONE;
  }

  private readonly nextAfter = (): Promise<IteratorResult<ChatEvent>> => this.next();

  private readonly settle = (result: IteratorResult<ChatEvent>): IteratorResult<ChatEvent> => {
    this.pending = undefined;
    return result;
  };

  private readonly settleError = (error: unknown): never => {
    this.pending = undefined;
    throw error;
  };

  /** A result of the adapter after the first event: forwarded as is unless it ends the call. */
  /** Output the adapter holds back began (a tool call streaming in): the first-token timeout is met. */
  private readonly onOutput = (): void => {
    this.attemptTimer.clear();
    this.attemptTimer = NO_TIMER;
  };

  private readonly onResult = (result: IteratorResult<ChatEvent>): IteratorResult<ChatEvent> => {
    this.pending = undefined;
    if (result.done) {
      // An adapter whose request was aborted (caller, total timeout) may just end.
      const stopped = this.shared.abortError(this.callerSignal, this.signals);
      throw this.fail(stopped ?? this.noFinishError());
    }
    if (result.value.type === 'finish') return this.complete(result.value);
    return result;
  };

  private readonly onError = (error: unknown): never => {
    this.pending = undefined;
    const { abortError, scrub } = this.shared;
    throw this.fail(abortError(this.callerSignal, this.signals, error) ?? scrub(error));
  };

  /** Attempts (with retries and back-off) until the first event, which it returns. */
  private async start(): Promise<IteratorResult<ChatEvent>> {
    if (this.started) return DONE;
    this.started = true;
    const shared = this.shared;
    const callerSignal = this.callerSignal;
    this.startedAt = shared.now();
    if (callerSignal?.aborted) throw this.fail(shared.abortError(callerSignal, []) as LlmError);
    // A history the provider would refuse with an obscure 400 fails here, before any request.
    const malformed = toolCallIdError(this.call.messages, shared.provider, shared.modelId);
    if (malformed) throw this.fail(malformed);
    this.totalTimer = startTimer('total', shared.timeoutMs, (reason) => {
      this.outOfTime = reason;
      this.attempt?.abort(reason);
    });
    // Loaded before the first attempt, whose signal depends on the adapter (a failure to load is
    // met again, and reported, in the attempt below).
    if (shared.loadedAdapter() === undefined) await shared.loadAdapter().catch(() => undefined);
    let attempt = this.newAttempt();
    for (;;) {
      this.attemptTimer = startTimer('first-token', shared.firstTokenTimeoutMs, (reason) =>
        attempt.abort(reason),
      );
      const signals = [attempt.signal];
      this.signals = signals;
      // Aborted by the caller, the total timeout or the first-token timeout.
      const signal = attempt.signal;
      try {
        const adapter = await shared.loadAdapter();
        if (signal.aborted) throw shared.abortError(callerSignal, signals);
        // A whole answer's first event is its last: only the total timeout applies.
        if (this.call.wholeAnswer && adapter.answersWhole) this.attemptTimer.clear();
        const inner = adapter.stream(this.call, signal, this.onOutput)[Symbol.asyncIterator]();
        this.inner = inner;
        const result = await inner.next();
        if (this.ended) {
          // return() came first (it waited for this attempt): it already cleaned up.
          return DONE;
        }
        if (result.done) throw shared.abortError(callerSignal, signals) ?? this.noFinishError();
        this.firstEventAt = shared.now();
        this.attemptTimer.clear();
        if (result.value.type === 'finish') return this.complete(result.value);
        return result;
      } catch (error) {
        this.inner = undefined;
        const llmError = shared.abortError(callerSignal, signals, error) ?? shared.scrub(error);
        this.attemptTimer.clear();
        const delay = retryDelay(llmError, this.retries, shared.policy, shared.random);
        if (delay === undefined || this.ended) throw this.fail(llmError);
        this.logger.debug(
          {
            provider: shared.provider,
            model: shared.modelId,
            retry: this.retries + 1,
            delayMs: delay,
            errorCode: llmError.code,
          },
          'llm call retrying',
        );
        // The back-off waits on the next attempt's controller: the caller's abort and the total
        // timeout end it too.
        attempt = this.newAttempt();
        await shared.sleep(delay, attempt.signal);
        const stopped = shared.abortError(callerSignal, [attempt.signal]);
        if (stopped) throw this.fail(stopped);
        this.retries++;
      }
    }
  }

  /** The controller of the next attempt, linked to the caller's signal (and already aborted when out of time). */
  private newAttempt(): AbortController | LightAbortController {
    const attempt = this.shared.loadedAdapter()?.acceptsLightSignal
      ? new LightAbortController()
      : new AbortController();
    this.attempt = attempt;
    this.unlinkCaller();
    this.unlinkCaller = this.callerSignal ? linkAbort(this.callerSignal, attempt) : NOT_LINKED;
    if (this.outOfTime) attempt.abort(this.outOfTime);
    return attempt;
  }

  private noFinishError(): LlmError {
    const { fullId, provider, modelId } = this.shared;
    return new LlmError({
      code: 'network',
      message: `The ${fullId} stream ended before the answer was complete (no finish); the connection may have dropped.`,
      provider,
      model: modelId,
    });
  }

  /** The `finish`: stamped with the model, the call ended, the adapter told to clean up. */
  private complete(event: FinishEvent): IteratorResult<ChatEvent> {
    this.endedAt = this.shared.now();
    const finish: FinishEvent = { ...event, response: { model: this.shared.fullId, id: event.response?.id } };
    this.finish = finish;
    this.ended = true;
    this.release();
    const inner = this.inner;
    this.inner = undefined;
    // Anything the adapter would still send after its finish is dropped; its cleanup runs now.
    inner?.return?.().catch(() => undefined);
    this.report();
    return { done: false, value: finish };
  }

  /** Ends the call with an error (once) and returns the error to throw. */
  private fail(error: LlmError): LlmError {
    if (this.failure) return this.failure;
    this.failure = LlmError.isInstance(error) ? error : this.shared.scrub(error);
    this.endedAt = this.shared.now();
    this.ended = true;
    this.release();
    this.inner = undefined;
    this.report();
    return this.failure;
  }

  /** The call ended: its timers stop and its listener comes off the caller's signal. */
  private release(): void {
    this.totalTimer.clear();
    this.attemptTimer.clear();
    this.unlinkCaller();
    this.unlinkCaller = NOT_LINKED;
  }

  /** Logs the call's one line and hands the record to `onCall`, once. */
  private report(): void {
    if (this.reported) return;
    this.reported = true;
    const { finish, failure, shared } = this;
    const outcome: CallOutcome = finish
      ? 'success'
      : failure
        ? failure.code === 'aborted'
          ? 'aborted'
          : 'error'
        : 'cancelled';
    const record: CallRecord = {
      provider: shared.provider,
      model: shared.modelId,
      latencyMs: Math.round((this.endedAt ?? shared.now()) - this.startedAt),
      timeToFirstTokenMs:
        this.firstEventAt === undefined ? undefined : Math.round(this.firstEventAt - this.startedAt),
      inputTokens: finish?.usage.inputTokens,
      outputTokens: finish?.usage.outputTokens,
      cachedInputTokens: finish?.usage.cachedInputTokens,
      reasoningTokens: finish?.usage.reasoningTokens,
      finishReason: finish?.finishReason,
      retries: this.retries,
      outcome,
      errorCode: failure?.code,
      ...(failure ? { errorMessage: failure.message } : {}),
    };
    reportCall(record, this.logger, shared.onCall, shared.callLogLevel);
  }
}

function startTimer(
  kind: TimeoutReason['kind'],
  ms: number | undefined,
  onTimeout: (reason: TimeoutReason) => void,
) {
  if (ms === undefined || ms <= 0 || !Number.isFinite(ms)) return NO_TIMER;
  const timer = setTimeout(() => onTimeout(new TimeoutReason(kind, ms)), ms);
  return {
    clear() {
      clearTimeout(timer);
    },
  };
}
