import { bindLogger } from '../bound-logger.js';
import type { ChatEvent } from '../chat-event.js';
import type { ChatRequest } from '../language-model.js';
import { LlmError } from '../llm-error.js';
import { type GeminiErrorContext, toGeminiError } from './gemini-error.js';
import { type GeminiThinkingOptions, toGeminiRequest } from './gemini-request.js';
import { GeminiStreamState } from './gemini-stream.js';
import { chainGuards } from './guard-chain.js';
import { createOutputLimitGuard, geminiStatedMaximum } from './output-limit-guard.js';
import type { ProviderAdapter, ProviderSettings } from './provider-adapter.js';
import { createRefusalGuard } from './refusal-guard.js';

/** Where the Gemini Developer API lives. */
export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/** Gemini-only settings of {@link createGeminiAdapter}. */
export interface GeminiAdapterOptions {
  /** API version in the path (default `v1beta`, what @google/genai 2.x uses). */
  apiVersion?: string;
  /**
   * Ask for thought summaries (streamed as `reasoning-delta`). Default: on for models that think
   * (`gemini-2.5-*`, `gemini-3*` and later, the `gemini-*-latest` aliases, names with `thinking`), off
   * otherwise.
   */
  includeThoughts?: boolean;
  /** `thinkingConfig.thinkingBudget` in tokens. */
  thinkingBudget?: number;
}

/** Whether a Gemini model id names a model that thinks (and so accepts `includeThoughts`). */
export function geminiModelThinks(modelId: string): boolean {
  return /gemini-(2\.5|[3-9])|thinking|^gemini-(flash|flash-lite|pro)-latest$/.test(modelId);
}

/**
 * The Gemini provider: `generateContentStream` of @google/genai, loaded on first use, with the
 * SDK's own retries and automatic continuation off (the core retries). One attempt per `stream`.
 */
export async function createGeminiAdapter(
  modelId: string,
  settings: ProviderSettings,
  options: GeminiAdapterOptions = {},
): Promise<ProviderAdapter> {
  const { GoogleGenAI } = await import('@google/genai');
  const baseURL = (settings.baseURL ?? GEMINI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const origin = safeOrigin(baseURL);
  const apiKey = settings.apiKey;
  const client = apiKey
    ? new GoogleGenAI({
        apiKey,
        // Explicit, so that GOOGLE_GENAI_USE_VERTEXAI / GOOGLE_GEMINI_BASE_URL in the environment
        // cannot redirect the call: the library reads no environment.
        vertexai: false,
        apiVersion: options.apiVersion ?? 'v1beta',
        httpOptions: {
          baseUrl: baseURL,
          apiVersion: options.apiVersion ?? 'v1beta',
          headers: settings.headers,
          fetch: settings.fetch,
        },
      })
    : undefined;
  const thinking: GeminiThinkingOptions = {
    includeThoughts: options.includeThoughts ?? geminiModelThinks(modelId),
    thinkingBudget: options.thinkingBudget,
  };
  const logger = bindLogger(settings.logger, { provider: 'gemini', model: modelId });
  // A client's reasoning effort is a hint: a model without thinking refuses every budget, one whose
  // thinking cannot be turned off a budget of 0 (effort `none`); either answers without the effort.
  // A configured budget still goes (and fails with Google's message).
  const withoutEffort = <Request extends Omit<ChatRequest, 'signal'>>(request: Request): Request => ({
    ...request,
    reasoningEffort: undefined,
  });
  const anyEffort = createRefusalGuard<Omit<ChatRequest, 'signal'>>({
    modelId,
    logger,
    carries: (request) => request.reasoningEffort !== undefined,
    without: withoutEffort,
    refusal: (error) =>
      refusedThinking(error, /thinking is not supported by this model/i) ? 'reasoningEffort' : undefined,
    message: 'the model has no thinking: sent without the reasoning effort',
  });
  const noEffort = createRefusalGuard<Omit<ChatRequest, 'signal'>>({
    modelId,
    logger,
    carries: (request) => request.reasoningEffort === 'none',
    without: withoutEffort,
    refusal: (error) =>
      refusedThinking(error, /thinking can't be disabled/i) ? 'reasoningEffort' : undefined,
    message: "the model's thinking cannot be turned off: sent without the reasoning effort none",
  });

  // A client's token limit above the model's maximum (gemini-2.0-flash takes 8192) goes again at
  // the maximum Google's 400 names, and so at once for this model's later calls.
  const outputLimit = createOutputLimitGuard<Omit<ChatRequest, 'signal'>>({
    modelId,
    logger,
    limitOf: (request) => request.maxOutputTokens,
    withLimit: (request, limit) => ({ ...request, maxOutputTokens: limit }),
    statedMaximum: geminiStatedMaximum,
  });

  const guards = chainGuards<Omit<ChatRequest, 'signal'>>([anyEffort, noEffort, outputLimit]);

  return {
    provider: 'gemini',
    modelId,
    async *stream(request: Omit<ChatRequest, 'signal'>, signal: AbortSignal): AsyncIterable<ChatEvent> {
      if (!client) {
        throw new LlmError({
          code: 'auth',
          message: 'No Gemini API key: set GEMINI_API_KEY or GOOGLE_API_KEY (or pass apiKey).',
          provider: 'gemini',
          model: modelId,
          retryable: false,
        });
      }
      const context: GeminiErrorContext = { modelId, baseURL: origin, apiKey, signal, started: false };
      const state = new GeminiStreamState(modelId);
      logger.debug(
        { messages: request.messages.length, tools: request.tools?.length ?? 0 },
        'gemini request',
      );
      const open = (sent: Omit<ChatRequest, 'signal'>) => {
        const { contents, config } = toGeminiRequest(modelId, sent, thinking);
        return client.models.generateContentStream({
          model: modelId,
          contents,
          config: {
            ...config,
            abortSignal: signal,
            automaticFunctionCalling: { disable: true },
            automaticContinuation: false,
          },
        });
      };
      try {
        const chunks = await guards.send(request, open);
        for await (const chunk of chunks) {
          for (const event of state.push(chunk)) {
            context.started = true;
            yield event;
          }
        }
      } catch (error) {
        throw toGeminiError(error, context);
      }
      if (signal.aborted) throw toGeminiError(signal.reason, context);
      yield state.finish();
    },
  };
}

/** Whether `error` is Google's 400 with `words` about the thinking budget. */
function refusedThinking(error: unknown, words: RegExp): boolean {
  const { status, message } = error as { status?: unknown; message?: unknown };
  return status === 400 && typeof message === 'string' && words.test(message);
}

function safeOrigin(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'the configured baseURL';
  }
}
