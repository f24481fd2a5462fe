import type { CallHook, CallLogLevel } from './call-record.js';
import { createCoreModel, type Sleep } from './core-model.js';
import { validateModelOptions } from './create-model-options.js';
import type { LanguageModel } from './language-model.js';
import { LlmError } from './llm-error.js';
import { type Logger, noopLogger } from './logger.js';
import { parseModelId } from './model-id.js';
import { builtInProviders, type ProviderOptions } from './provider-registry.js';
import type { RetryPolicy } from './retry-policy.js';

/** Options of {@link createModel}. */
export interface CreateModelOptions {
  /**
   * The provider's API key. When absent, read from the environment like the vendor SDKs do:
   * `OPENAI_API_KEY` (openai, openai-compatible), `ANTHROPIC_API_KEY`, `GEMINI_API_KEY` then
   * `GOOGLE_API_KEY`; Ollama needs none.
   */
  apiKey?: string;
  /**
   * The provider's endpoint. When absent: `OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`,
   * `GEMINI_BASE_URL` or `OLLAMA_HOST` from the environment, else the vendor default.
   */
  baseURL?: string;
  /** pino-compatible logger: one line per call. Silent without one. */
  logger?: Logger;
  /** The fetch used for HTTP (default `globalThis.fetch`). */
  fetch?: typeof globalThis.fetch;
  /** Retries of retryable failures before the first event (default 2). SDK-internal retries are off. */
  maxRetries?: number;
  /** Limit for the whole call, retries included, in ms (default none). */
  timeoutMs?: number;
  /** Limit per attempt until the first event, in ms (default none). */
  firstTokenTimeoutMs?: number;
  /** Extra HTTP headers sent with every request. */
  headers?: Record<string, string>;
  /** Settings only one provider understands: `{ ollama: { think, keepAlive }, gemini: { apiVersion, … } }`. */
  providerOptions?: ProviderOptions;
  /** Receives the record of every call (the same fields as the log line). */
  onCall?: CallHook;
  /**
   * The level of a call's `llm call` line (default `info`; a failed call's line is always a
   * warning). `debug` for a caller that logs each request once itself, with the model and tokens.
   */
  callLogLevel?: CallLogLevel;
  /** Back-off tuning (initial/max delay, jitter, longest `retry-after` honoured). */
  retryPolicy?: Partial<Omit<RetryPolicy, 'maxRetries'>>;
  /** Back-off wait (tests inject one that records the delay). */
  sleep?: Sleep;
  /** Jitter source in [0, 1) (default `Math.random`). */
  random?: () => number;
  /**
   * Where env fallbacks are read from (default `process.env`); pass `{}` to turn them off.
   */
  env?: Record<string, string | undefined>;
}

/**
 * Creates a chat model from a `provider:model` id (split at the first colon: `ollama:llama3.1:8b`).
 * Providers: `anthropic`, `openai`, `openai-compatible`, `gemini`, `ollama`. The provider's SDK is
 * imported on the first call only, so using one provider never loads another's SDK.
 *
 * Throws an `invalid-request` {@link LlmError} for a malformed id or an unknown provider.
 *
 * @example
 * const model = createModel('openai:gpt-4o-mini', { apiKey: process.env.OPENAI_API_KEY });
 * for await (const event of model.stream({ messages: [{ role: 'user', content: 'Hi' }] })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.text);
 * }
 */
export function createModel(id: string, options: CreateModelOptions = {}): LanguageModel {
  const { provider, modelId } = parseModelId(id);
  const entry = Object.hasOwn(builtInProviders, provider) ? builtInProviders[provider] : undefined;
  if (!entry) {
    throw new LlmError({
      code: 'invalid-request',
      message: `Unknown provider "${provider}" in model id "${id}": use one of ${Object.keys(builtInProviders).join(', ')}.`,
      provider,
      model: modelId,
      retryable: false,
    });
  }
  validateModelOptions(options, provider, modelId);
  const env = options.env ?? globalThis.process?.env ?? {};
  const fromEnv = (names: readonly string[]) =>
    names.map((name) => env[name]).find((value): value is string => !!value && value.trim() !== '');
  const apiKey = options.apiKey ?? fromEnv(entry.apiKeyEnv);
  const baseURL = options.baseURL ?? fromEnv(entry.baseURLEnv);
  const logger = options.logger ?? noopLogger;
  return createCoreModel({
    provider,
    modelId,
    logger,
    onCall: options.onCall,
    ...(options.callLogLevel ? { callLogLevel: options.callLogLevel } : {}),
    maxRetries: options.maxRetries,
    retryPolicy: options.retryPolicy,
    timeoutMs: options.timeoutMs,
    firstTokenTimeoutMs: options.firstTokenTimeoutMs,
    sleep: options.sleep,
    random: options.random,
    secrets: apiKey ? [apiKey] : [],
    adapter: async () => {
      const factory = await entry.load();
      return factory(
        modelId,
        {
          apiKey,
          baseURL,
          headers: { ...options.headers },
          fetch: options.fetch ?? globalThis.fetch,
          logger,
        },
        options.providerOptions ?? {},
      );
    },
  });
}
