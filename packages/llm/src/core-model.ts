import { abortableSleep, TimeoutReason } from './abort.js';
import { type CallHook, type CallOutcome, type CallRecord, reportCall } from './call-record.js';
import type { ChatEvent, FinishEvent } from './chat-event.js';
import { collectStream } from './collect-stream.js';
import type { ChatRequest, GenerateResult, LanguageModel } from './language-model.js';
import { LlmError } from './llm-error.js';
import { type Logger, noopLogger } from './logger.js';
import type { ProviderAdapter } from './providers/provider-adapter.js';
import { redactSecrets } from './redact.js';
import { defaultRetryPolicy, type RetryPolicy, retryDelay } from './retry-policy.js';

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
 * policy every provider shares: retries with back-off before the first event, time-to-first-token
 * and total timeouts, the caller's abort, exactly one `finish` last, one log line and `onCall`
 * record per call, and API keys scrubbed from errors. `createModel` uses it; use it directly to
 * plug in a provider of your own.
 *
 * @example
 * const model = createCoreModel({ provider: 'acme', modelId: 'm1', adapter: async () => myAdapter, logger });
 */
export function createCoreModel(options: CoreModelOptions): LanguageModel {
  const { provider, modelId } = options;
  const fullId = `${provider}:${modelId}`;
  const logger = (options.logger ?? noopLogger).child({ component: 'llm' });
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

  function loadAdapter(): Promise<ProviderAdapter> {
    adapterPromise ??= options.adapter().catch((error: unknown) => {
      adapterPromise = undefined;
      throw error;
    });
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

  async function* stream(request: ChatRequest): AsyncGenerator<ChatEvent> {
    const { signal: callerSignal, ...call } = request;
    const startedAt = now();
    const total = new AbortController();
    const totalTimer = startTimer(total, 'total', options.timeoutMs);
    let firstEventAt: number | undefined;
    let endedAt: number | undefined;
    let finish: FinishEvent | undefined;
    let failure: LlmError | undefined;
    let retries = 0;
    let attempt: AbortController | undefined;
    let attemptTimer: { clear(): void } | undefined;

    try {
      if (callerSignal?.aborted) throw abortError(callerSignal, []);
      for (;;) {
        attempt = new AbortController();
        attemptTimer = startTimer(attempt, 'first-token', options.firstTokenTimeoutMs);
        const signals = [total.signal, attempt.signal];
        const signal = AbortSignal.any(callerSignal ? [callerSignal, ...signals] : signals);
        try {
          const adapter = await loadAdapter();
          if (signal.aborted) throw abortError(callerSignal, signals);
          for await (const event of adapter.stream(call, signal)) {
            if (firstEventAt === undefined) {
              firstEventAt = now();
              attemptTimer.clear();
            }
            if (event.type === 'finish') {
              endedAt = now();
              finish = { ...event, response: { model: fullId, id: event.response?.id } };
              yield finish;
              return;
            }
            yield event;
          }
          throw (
            abortError(callerSignal, signals) ??
            new LlmError({
              code: 'network',
              message: `The ${fullId} stream ended before the answer was complete (no finish); the connection may have dropped.`,
              provider,
              model: modelId,
            })
          );
        } catch (error) {
          const llmError = abortError(callerSignal, signals, error) ?? scrub(error);
          attemptTimer.clear();
          const delay =
            firstEventAt === undefined ? retryDelay(llmError, retries, policy, random) : undefined;
          if (delay === undefined) throw llmError;
          logger.debug(
            { provider, model: modelId, retry: retries + 1, delayMs: delay, errorCode: llmError.code },
            'llm call retrying',
          );
          const waitSignal = AbortSignal.any(callerSignal ? [callerSignal, total.signal] : [total.signal]);
          await sleep(delay, waitSignal);
          const stopped = abortError(callerSignal, [total.signal]);
          if (stopped) throw stopped;
          retries++;
        }
      }
    } catch (error) {
      failure = LlmError.isInstance(error) ? error : scrub(error);
      endedAt = now();
      throw failure;
    } finally {
      totalTimer.clear();
      attemptTimer?.clear();
      // A consumer that stops early must not leave the request open.
      if (!finish && !failure) attempt?.abort(new Error('stream consumer stopped reading'));
      const outcome: CallOutcome = finish
        ? 'success'
        : failure
          ? failure.code === 'aborted'
            ? 'aborted'
            : 'error'
          : 'cancelled';
      const record: CallRecord = {
        provider,
        model: modelId,
        latencyMs: Math.round((endedAt ?? now()) - startedAt),
        timeToFirstTokenMs: firstEventAt === undefined ? undefined : Math.round(firstEventAt - startedAt),
        inputTokens: finish?.usage.inputTokens,
        outputTokens: finish?.usage.outputTokens,
        cachedInputTokens: finish?.usage.cachedInputTokens,
        reasoningTokens: finish?.usage.reasoningTokens,
        finishReason: finish?.finishReason,
        retries,
        outcome,
        errorCode: failure?.code,
        ...(failure ? { errorMessage: failure.message } : {}),
      };
      reportCall(record, logger, options.onCall);
    }
  }

  return {
    provider,
    modelId,
    stream,
    generate(request: ChatRequest): Promise<GenerateResult> {
      return collectStream(stream(request));
    },
  };
}

function startTimer(controller: AbortController, kind: TimeoutReason['kind'], ms: number | undefined) {
  if (ms === undefined || ms <= 0 || !Number.isFinite(ms)) return { clear() {} };
  const timer = setTimeout(() => controller.abort(new TimeoutReason(kind, ms)), ms);
  return {
    clear() {
      clearTimeout(timer);
    },
  };
}
