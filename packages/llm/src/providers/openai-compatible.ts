import { randomUUID } from 'node:crypto';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { ChatEvent } from '../chat-event.js';
import type { ChatRequest } from '../language-model.js';
import { LlmError } from '../llm-error.js';
import { refusesMaxTokens, withCompletionTokens } from './completion-tokens-field.js';
import { chainGuards } from './guard-chain.js';
import { type PostJson, postWithFetch, type TextResponse } from './http-response.js';
import { openAIChunks } from './openai-chunk-stream.js';
import { createOpenAIEffortGuard, createOpenAIEffortValueGuard } from './openai-effort-guard.js';
import {
  isAbortError,
  type OpenAIErrorBody,
  type OpenAIErrorContext,
  openAIAbortedError,
  openAIStatusError,
  openAIStreamError,
  openAITransportError,
  openAIUnreachableError,
  readErrorPayload,
} from './openai-error-mapping.js';
import { toOpenAIRequest } from './openai-request.js';
import { createOpenAIStopGuard } from './openai-stop-guard.js';
import { mapOpenAIStream } from './openai-stream.js';
import {
  createOutputLimitGuard,
  openAIStatedMaximum,
  openAIStatedRoom,
  openAITokenLimit,
  withOpenAITokenLimit,
} from './output-limit-guard.js';
import type { ProviderFactory } from './provider-adapter.js';
import { createRefusalGuard } from './refusal-guard.js';
import { createSamplingGuard, refusedOpenAISampling } from './sampling-guard.js';
import { postWithUndici } from './undici-post.js';

const PROVIDER = 'openai-compatible';

/**
 * The adapter for `openai-compatible:` models (vLLM, LM Studio, llama.cpp server, OpenRouter,
 * LiteLLM, Ollama's /v1): the Chat Completions wire spoken directly over undici, without the openai
 * SDK, because it is HAIA's hot path to local servers and the SDK's fetch, web streams and stream
 * layers cost several times the CPU of the request itself (the package README says why and how much).
 * Same request body, chunk mapping and error mapping as the `openai:` adapter. The key is optional;
 * `max_tokens` is sent instead of `max_completion_tokens`, which older servers do not know.
 */
export const createOpenAICompatibleAdapter: ProviderFactory = async (modelId, settings) => {
  if (!settings.baseURL) {
    throw new LlmError({
      code: 'invalid-request',
      message:
        'openai-compatible needs a base URL: pass baseURL to createModel or set OPENAI_BASE_URL (for example http://127.0.0.1:8080/v1).',
      provider: PROVIDER,
      model: modelId,
      retryable: false,
    });
  }
  const baseURL = settings.baseURL;
  const url = `${baseURL.replace(/\/+$/, '')}/chat/completions`;
  const context: OpenAIErrorContext = {
    provider: PROVIDER,
    model: modelId,
    baseURL,
    apiKeyVariable: 'OPENAI_API_KEY',
  };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': 'haia-llm',
    // Local servers usually need no key, but some reject a request without the header.
    authorization: `Bearer ${settings.apiKey ?? 'not-needed'}`,
    ...settings.headers,
  };
  // undici directly, unless the caller gave createModel a fetch of its own.
  const post: PostJson = settings.fetch === globalThis.fetch ? postWithUndici : postWithFetch(settings.fetch);
  const responseModel = `${PROVIDER}:${modelId}`;
  const streamError = (body: OpenAIErrorBody, upstream: string) =>
    openAIStreamError(body, upstream, context, undefined);

  const sampling = createSamplingGuard({
    modelId,
    logger: settings.logger,
    refusedParameter: refusedOpenAISampling,
  });

  // `max_tokens` until the server says the model takes `max_completion_tokens` (a reasoning model
  // behind a proxy or Azure): then the limit goes in that field, for this model's later calls too.
  const tokenLimit = createRefusalGuard<ChatCompletionCreateParamsStreaming>({
    modelId,
    logger: settings.logger,
    carries: (params) => params.max_tokens != null,
    without: withCompletionTokens,
    refusal: (error) => (refusesMaxTokens(error) ? 'max_tokens' : undefined),
    message: 'the model takes max_completion_tokens: the limit is sent in it',
    // One answer with `max_tokens` shows the server takes it: no guard on the hot path after that.
    provenByAnswer: true,
  });

  // A limit above the model's maximum, when the server names the maximum in OpenAI's words.
  const outputLimit = createOutputLimitGuard<ChatCompletionCreateParamsStreaming>({
    modelId,
    logger: settings.logger,
    limitOf: openAITokenLimit,
    withLimit: withOpenAITokenLimit,
    statedMaximum: openAIStatedMaximum,
    // vLLM: a limit that does not fit beside this prompt goes again with the room that is left.
    statedRoom: openAIStatedRoom,
  });

  // A server that takes no tools for the model (vLLM started without --enable-auto-tool-choice,
  // llama.cpp without --jinja) refuses the whole request: the model answers without them.
  const tools = createRefusalGuard<ChatCompletionCreateParamsStreaming>({
    modelId,
    logger: settings.logger,
    carries: (params) => (params.tools?.length ?? 0) > 0,
    without: (params) => {
      const { tools: _tools, tool_choice: _choice, parallel_tool_calls: _parallel, ...rest } = params;
      return rest as typeof params;
    },
    refusal: (error) => (refusesTools(error) ? 'tools' : undefined),
    message:
      'the server takes no tools for this model (vLLM needs --enable-auto-tool-choice and --tool-call-parser, llama.cpp --jinja): it answers without them',
    // One answer to a request with tools shows the model takes them: no guard after that.
    provenByAnswer: true,
  });

  // What a model or server refuses of a request goes again without it (or fitted), as from OpenAI,
  // whose words a proxy in front of a reasoning model passes on.
  const guards = chainGuards<ChatCompletionCreateParamsStreaming>([
    createOpenAIEffortGuard(modelId, settings.logger),
    createOpenAIEffortValueGuard(modelId, settings.logger),
    sampling,
    tokenLimit,
    outputLimit,
    tools,
    createOpenAIStopGuard(modelId, settings.logger),
  ]);

  const open = (request: Omit<ChatRequest, 'signal'>, signal: AbortSignal) =>
    guards.send(toOpenAIRequest(modelId, request, { maxTokensField: 'max_tokens' }), (sent) =>
      send(sent, request.wholeAnswer === true, signal),
    );

  const send = async (
    params: ChatCompletionCreateParamsStreaming,
    wholeAnswer: boolean,
    signal: AbortSignal,
  ) => {
    // One chat.completion JSON instead of an event stream (openAIChunks reads both).
    const body = JSON.stringify(
      wholeAnswer ? { ...params, stream: false, stream_options: undefined } : params,
    );
    let response: TextResponse;
    try {
      response = await post(url, headers, body, signal, { headersComeLate: wholeAnswer });
    } catch (error) {
      if (signal.aborted || isAbortError(error)) throw error;
      throw openAIUnreachableError(error, context);
    }
    if (response.status >= 400) throw await statusError(response, context);
    return openAIChunks(response, streamError);
  };

  return {
    provider: PROVIDER,
    modelId,
    answersWhole: true,
    // Our own undici POST only reads `aborted`, `reason` and listens for `abort`; a given fetch may need more.
    acceptsLightSignal: post === postWithUndici,
    stream(
      request: Omit<ChatRequest, 'signal'>,
      signal: AbortSignal,
      onOutput?: () => void,
    ): AsyncIterable<ChatEvent> {
      return mapOpenAIStream(() => open(request, signal), {
        responseModel,
        onOutput,
        generateId: () => `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
        onTruncated: () => {
          if (signal.aborted) throw openAIAbortedError(context, signal.reason);
          throw new LlmError({
            code: 'network',
            message: `The stream from ${baseURL} ended before a finish_reason: the answer is incomplete.`,
            provider: PROVIDER,
            model: modelId,
          });
        },
        mapError: (error) => {
          if (LlmError.isInstance(error)) return error;
          if (signal.aborted || isAbortError(error)) return openAIAbortedError(context, error);
          return openAITransportError(error, context);
        },
      });
    },
  };
};

/** An error status as an {@link LlmError}, with the server's own message from the body. */
async function statusError(response: TextResponse, context: OpenAIErrorContext): Promise<LlmError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // The body is only for the message; the status says enough.
  }
  let found: ReturnType<typeof readErrorPayload>;
  try {
    found = readErrorPayload(JSON.parse(text));
  } catch {
    // Not JSON (a proxy's HTML page): the text itself is the message.
  }
  const upstream =
    text.trim() === '' ? `status code ${response.status} (no body)` : text.trim().slice(0, 500);
  return openAIStatusError(
    response.status,
    found?.body ?? {},
    found?.upstream ?? upstream,
    response.headers,
    context,
    undefined,
  );
}

/**
 * A server's refusal of tools for the model: vLLM's "\"auto\" tool choice requires
 * --enable-auto-tool-choice and --tool-call-parser to be set" (400), llama.cpp's "tools param
 * requires --jinja flag".
 */
const TOOLS_REFUSED = /tool choice requires --enable-auto-tool-choice|tools param requires --jinja/;

function refusesTools(error: unknown): boolean {
  const { status, message } = (error ?? {}) as { status?: unknown; message?: unknown };
  return (status === 400 || status === 500) && typeof message === 'string' && TOOLS_REFUSED.test(message);
}
