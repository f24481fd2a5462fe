import { bindLogger } from '../bound-logger.js';
import type { ChatEvent } from '../chat-event.js';
import type { ChatRequest } from '../language-model.js';
import { LlmError } from '../llm-error.js';
import { type GeminiErrorContext, toGeminiError } from './gemini-error.js';
import { type GeminiThinkingOptions, toGeminiRequest } from './gemini-request.js';
import { GeminiStreamState } from './gemini-stream.js';
import type { ProviderAdapter, ProviderSettings } from './provider-adapter.js';

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
  // Set once the model refused the thinking budget a request's effort asked for: later calls
  // leave the effort out (the configured budget, if any, still goes).
  let effortRefused = false;

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
      const withoutEffort = { ...request, reasoningEffort: undefined };
      try {
        let chunks: Awaited<ReturnType<typeof open>>;
        try {
          chunks = await open(effortRefused ? withoutEffort : request);
        } catch (error) {
          // A client's reasoning effort is a hint: a model without thinking, or one whose thinking
          // cannot be turned off, answers without the budget it asked for.
          if (effortRefused || request.reasoningEffort === undefined || !refusesThinkingBudget(error))
            throw error;
          effortRefused = true;
          logger.info(
            { reasoningEffort: request.reasoningEffort },
            'the model refuses that thinking budget: sent without the reasoning effort',
          );
          chunks = await open(withoutEffort);
        }
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

/** Google's 400 for a thinking budget the model cannot take (no thinking, or thinking always on). */
const THINKING_BUDGET_REFUSED = /thinking is not supported by this model|thinking can't be disabled/i;

function refusesThinkingBudget(error: unknown): boolean {
  const { status, message } = error as { status?: unknown; message?: unknown };
  return status === 400 && typeof message === 'string' && THINKING_BUDGET_REFUSED.test(message);
}

function safeOrigin(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'the configured baseURL';
  }
}
