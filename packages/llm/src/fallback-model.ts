import { bindLogger } from './bound-logger.js';
import type { ChatEvent } from './chat-event.js';
import { collectStream } from './collect-stream.js';
import type { ChatRequest, GenerateResult, LanguageModel } from './language-model.js';
import { LlmError, type LlmErrorCode } from './llm-error.js';
import { type Logger, noopLogger } from './logger.js';

/** Options of {@link createFallbackModel}. */
export interface FallbackModelOptions {
  logger?: Logger;
  /**
   * Which failures move on to the next model (default: retryable errors, `auth` and `not-found`).
   * Only failures before the model's first event ever move on.
   */
  shouldFallback?: (error: LlmError) => boolean;
}

const MOVE_ON: ReadonlySet<LlmErrorCode> = new Set(['auth', 'not-found']);

/** The default {@link FallbackModelOptions.shouldFallback}. */
export function isFallbackError(error: LlmError): boolean {
  return error.code !== 'aborted' && (error.retryable || MOVE_ON.has(error.code));
}

/**
 * A model that asks `models` in order: when one fails before its first event with a retryable,
 * `auth` or `not-found` error, the next one is tried, announced by a `fallback` event before its
 * own events. The `finish` event's `response.model` (and the log) says which model answered. Its
 * `provider`/`modelId` are the first model's.
 *
 * @example
 * const model = createFallbackModel([createModel('anthropic:claude-sonnet-4-5'), createModel('ollama:llama3.2')], { logger });
 */
export function createFallbackModel(
  models: LanguageModel[],
  options: FallbackModelOptions = {},
): LanguageModel {
  const [primary] = models;
  if (!primary) {
    throw new LlmError({
      code: 'invalid-request',
      message: 'createFallbackModel needs at least one model.',
      provider: 'fallback',
      model: 'none',
      retryable: false,
    });
  }
  const primaryName = `${primary.provider}:${primary.modelId}`;
  const logger = bindLogger(options.logger ?? noopLogger, { component: 'llm' });
  const shouldFallback = options.shouldFallback ?? isFallbackError;

  async function* stream(request: ChatRequest): AsyncGenerator<ChatEvent> {
    // Each model gets the request as is, its `logger` included; the fallback's own lines go there too.
    const log = request.logger ? bindLogger(request.logger, { component: 'llm' }) : logger;
    let failed: string | undefined;
    for (const [index, model] of models.entries()) {
      const name = `${model.provider}:${model.modelId}`;
      const next = models[index + 1];
      let started = false;
      try {
        for await (const event of model.stream(request)) {
          if (!started && failed !== undefined) yield { type: 'fallback', model: name, failed };
          started = true;
          if (event.type === 'finish') {
            if (index > 0)
              log.info({ model: event.response.model, primary: primaryName }, 'llm fallback answered');
            yield event;
            return;
          }
          yield event;
        }
        return;
      } catch (error) {
        const llmError = LlmError.isInstance(error) ? error : undefined;
        if (started || !next || !llmError || request.signal?.aborted || !shouldFallback(llmError))
          throw error;
        log.warn(
          {
            model: name,
            errorCode: llmError.code,
            errorMessage: llmError.message,
            next: `${next.provider}:${next.modelId}`,
          },
          'llm model failed, trying the next one',
        );
        failed = name;
      }
    }
  }

  return {
    provider: primary.provider,
    modelId: primary.modelId,
    stream,
    generate(request: ChatRequest): Promise<GenerateResult> {
      return collectStream(stream({ wholeAnswer: true, ...request }));
    },
  };
}
