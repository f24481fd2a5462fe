import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { ChatEvent } from '../chat-event.js';
import type { ChatRequest } from '../language-model.js';
import { LlmError } from '../llm-error.js';
import { chainGuards } from './guard-chain.js';
import { createOpenAIEffortGuard, createOpenAIEffortValueGuard } from './openai-effort-guard.js';
import { type OpenAIErrorContext, toOpenAILlmError } from './openai-errors.js';
import { toOpenAIRequest } from './openai-request.js';
import { createOpenAIStopGuard } from './openai-stop-guard.js';
import { mapOpenAIStream } from './openai-stream.js';
import {
  createOutputLimitGuard,
  openAIStatedMaximum,
  openAITokenLimit,
  withOpenAITokenLimit,
} from './output-limit-guard.js';
import type { ProviderAdapter, ProviderFactory, ProviderSettings } from './provider-adapter.js';
import { createSamplingGuard, refusedOpenAISampling } from './sampling-guard.js';

/** OpenAI's endpoint when no `baseURL` is given. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** The adapter for `openai:` models (api.openai.com unless `baseURL` says otherwise). */
export const createOpenAIAdapter: ProviderFactory = async (modelId, settings) =>
  createAdapter(modelId, settings);

function createAdapter(modelId: string, settings: ProviderSettings): ProviderAdapter {
  const provider = 'openai';
  if (!settings.apiKey) {
    throw new LlmError({
      code: 'auth',
      message: 'No OpenAI API key: pass apiKey to createModel or set OPENAI_API_KEY.',
      provider,
      model: modelId,
      retryable: false,
    });
  }
  const baseURL = settings.baseURL ?? OPENAI_DEFAULT_BASE_URL;
  const logger = settings.logger;
  const client = new OpenAI({
    apiKey: settings.apiKey,
    baseURL,
    maxRetries: 0,
    fetch: settings.fetch,
    defaultHeaders: settings.headers,
    logLevel: 'warn',
    logger: {
      error: (message: string) => logger.debug({ provider }, `openai sdk: ${message}`),
      warn: (message: string) => logger.debug({ provider }, `openai sdk: ${message}`),
      info: (message: string) => logger.debug({ provider }, `openai sdk: ${message}`),
      debug: (message: string) => logger.debug({ provider }, `openai sdk: ${message}`),
    },
  });
  const context: OpenAIErrorContext = {
    provider,
    model: modelId,
    baseURL,
    apiKeyVariable: 'OPENAI_API_KEY',
  };
  const responseModel = `${provider}:${modelId}`;
  const sampling = createSamplingGuard({ modelId, logger, refusedParameter: refusedOpenAISampling });
  // What a model refuses of a client's settings goes again without it (or fitted to the model).
  const guards = chainGuards<ChatCompletionCreateParamsStreaming>([
    createOpenAIEffortGuard(modelId, logger),
    createOpenAIEffortValueGuard(modelId, logger),
    sampling,
    createOutputLimitGuard<ChatCompletionCreateParamsStreaming>({
      modelId,
      logger,
      limitOf: openAITokenLimit,
      withLimit: withOpenAITokenLimit,
      statedMaximum: openAIStatedMaximum,
    }),
    createOpenAIStopGuard(modelId, logger),
  ]);

  return {
    provider,
    modelId,
    stream(
      request: Omit<ChatRequest, 'signal'>,
      signal: AbortSignal,
      onOutput?: () => void,
    ): AsyncIterable<ChatEvent> {
      return mapOpenAIStream(
        () =>
          guards.send(
            toOpenAIRequest(modelId, request, { maxTokensField: 'max_completion_tokens' }),
            (body) => client.chat.completions.create(body, { signal }),
          ),
        {
          responseModel,
          onOutput,
          generateId: () => `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
          onTruncated: () => {
            // The SDK ends a stream quietly when it is aborted; anything else is a cut-off answer.
            if (signal.aborted) throw toOpenAILlmError(new OpenAI.APIUserAbortError(), context);
            throw new LlmError({
              code: 'network',
              message: `The stream from ${baseURL} ended before a finish_reason: the answer is incomplete.`,
              provider,
              model: modelId,
            });
          },
          mapError: (error) => toOpenAILlmError(error, context),
        },
      );
    },
  };
}
