import { bindLogger } from '../bound-logger.js';
import type { ChatEvent } from '../chat-event.js';
import { LlmError } from '../llm-error.js';
import type { Logger } from '../logger.js';
import { toAnthropicError } from './anthropic-errors.js';
import { endsWithPrefill, refusesPrefill, withoutPrefill } from './anthropic-prefill.js';
import { type AnthropicRequestBody, buildAnthropicRequest } from './anthropic-request.js';
import { mapAnthropicStream } from './anthropic-stream.js';
import { createThinkingGuard, withThinking, withThinkingLimit } from './anthropic-thinking.js';
import { chainGuards } from './guard-chain.js';
import { anthropicStatedMaximum, createOutputLimitGuard } from './output-limit-guard.js';
import type { ProviderAdapter, ProviderFactory } from './provider-adapter.js';
import { createRefusalGuard } from './refusal-guard.js';
import { createSamplingGuard } from './sampling-guard.js';

/** Anthropic's API host, used when no `baseURL` is given (the SDK's own env fallback is bypassed). */
export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';

function sdkLogger(logger: Logger) {
  const log = bindLogger(logger, { component: 'anthropic-sdk' });
  const forward =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, ...details: unknown[]) =>
      log[level](details.length > 0 ? { details } : {}, message);
  return { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
}

/** Claude Opus 4.7 and later: 400 "`temperature` is deprecated for this model" (or `top_p`, `top_k`). */
const DEPRECATED_SAMPLING = /`?(temperature|top_p|top_k)`? is deprecated for this model/i;

/** The sampling parameter a 400 from Anthropic says the model refuses, or undefined. */
function refusedSamplingParameter(error: unknown): string | undefined {
  if (!(error instanceof Error) || (error as { status?: unknown }).status !== 400) return undefined;
  return DEPRECATED_SAMPLING.exec(error.message)?.[1]?.toLowerCase();
}

function hasAuthHeader(headers: Record<string, string>): boolean {
  return Object.keys(headers).some((name) => ['x-api-key', 'authorization'].includes(name.toLowerCase()));
}

/**
 * The Anthropic provider: Messages API through `@anthropic-ai/sdk` (imported on first use), one
 * streamed attempt per call (`maxRetries: 0`; retries and timeouts are the core's). The caller's
 * `fetch`, `baseURL` and `headers` are passed through; the SDK reads no API key or base URL from
 * the environment (a missing key is an `auth` error that names ANTHROPIC_API_KEY). A model that
 * refuses `temperature`/`top_p` (Claude Opus 4.7 and later answer 400 "deprecated for this model")
 * gets the request again without them, and no longer gets them from this adapter. A `max_tokens`
 * above the model's maximum (the 400 names it) goes again at that maximum, and so from then on. A
 * request's reasoning effort turns thinking on: adaptive for Claude 4.6 and later, a budget before,
 * none for a model that cannot think (learned from the model's refusals; see `anthropic-thinking.ts`).
 * A cut-off answer to continue (a last assistant message) goes as a prefill, or, for a model that
 * refuses prefills (Claude 4.6 and later), as its own turn followed by a user message asking to go on.
 *
 * @example
 * const adapter = await createAnthropicAdapter('claude-sonnet-4-5', { apiKey, baseURL: undefined, headers: {}, fetch, logger: noopLogger });
 * for await (const event of adapter.stream({ messages: [{ role: 'user', content: 'Hi' }] }, signal)) console.log(event);
 */
export const createAnthropicAdapter: ProviderFactory = async (modelId, settings) => {
  const { default: Anthropic } = await import('@anthropic-ai/sdk');
  const baseURL = (settings.baseURL ?? ANTHROPIC_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const canAuthenticate = Boolean(settings.apiKey) || hasAuthHeader(settings.headers);
  const client = canAuthenticate
    ? new Anthropic({
        apiKey: settings.apiKey ?? null,
        authToken: null,
        baseURL,
        fetch: settings.fetch,
        maxRetries: 0,
        defaultHeaders: settings.headers,
        logger: sdkLogger(settings.logger),
        logLevel: 'warn',
      })
    : undefined;
  const errorContext = { modelId, apiKey: settings.apiKey, baseURL };
  const sampling = createSamplingGuard({
    modelId,
    logger: settings.logger,
    refusedParameter: refusedSamplingParameter,
  });
  // The default `max_tokens` (8192) or a client's setting above a model's maximum (Claude 3 Haiku
  // takes 4096) is lowered to the maximum Anthropic names in its 400.
  const outputLimit = createOutputLimitGuard<AnthropicRequestBody>({
    modelId,
    logger: settings.logger,
    limitOf: (body) => body.max_tokens,
    withLimit: (body, limit) => withThinkingLimit(body, limit) as typeof body,
    statedMaximum: anthropicStatedMaximum,
  });
  // A request's reasoning effort: adaptive thinking or a thinking budget, whichever the model takes.
  const thinking = createThinkingGuard(modelId, settings.logger);
  const afterThinking = chainGuards<AnthropicRequestBody>([sampling, outputLimit]);
  // A cut-off answer to continue, for a model that takes no prefill (Claude 4.6 and later): the
  // answer as a turn of its own, then a user message asking to go on.
  const prefill = createRefusalGuard<AnthropicRequestBody>({
    modelId,
    logger: settings.logger,
    carries: endsWithPrefill,
    without: withoutPrefill,
    refusal: (error) => (refusesPrefill(error) ? 'prefill' : undefined),
    message: 'the model takes no prefill: a cut-off answer is continued through a user message',
  });

  const adapter: ProviderAdapter = {
    provider: 'anthropic',
    modelId,
    stream(request, signal, onOutput): AsyncIterable<ChatEvent> {
      return mapAnthropicStream(
        async () => {
          if (!client) {
            throw new LlmError({
              code: 'auth',
              message: 'No Anthropic API key: set ANTHROPIC_API_KEY (or pass apiKey to createModel).',
              provider: 'anthropic',
              model: modelId,
            });
          }
          const body = buildAnthropicRequest(modelId, request);
          const thinks = request.reasoningEffort !== undefined && request.reasoningEffort !== 'none';
          return prefill.send(body, (asked) =>
            thinking.send(
              (mode) => withThinking(asked, request, mode),
              (built) => afterThinking.send(built, (sent) => client.messages.create(sent, { signal })),
              thinks,
            ),
          );
        },
        {
          modelId,
          logger: settings.logger,
          onOutput,
          mapError: (error, started) => toAnthropicError(error, { ...errorContext, signal, started }),
          onIncomplete: () => {
            if (signal.aborted) throw toAnthropicError(signal.reason, { ...errorContext, signal });
            throw new LlmError({
              code: 'network',
              message:
                'The connection to Anthropic closed before message_stop: the stream ended early and the answer is incomplete. Try again.',
              provider: 'anthropic',
              model: modelId,
            });
          },
        },
      );
    },
  };
  return adapter;
};
