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
  // What the model refused of a request's effort: every budget (it has no thinking) or a budget of
  // 0 (its thinking cannot be turned off). Later calls leave such an effort out; a configured
  // budget still goes.
  let refused: 'every budget' | 'a zero budget' | undefined;
  const keepsEffort = (request: Omit<ChatRequest, 'signal'>) =>
    request.reasoningEffort === undefined ||
    refused === undefined ||
    (refused === 'a zero budget' && request.reasoningEffort !== 'none');

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
        let chunks: Awaited<ReturnType<typeof open>>;
        const kept = keepsEffort(request);
        try {
          chunks = await open(kept ? request : { ...request, reasoningEffort: undefined });
        } catch (error) {
          // A client's reasoning effort is a hint: a model without thinking, or one whose thinking
          // cannot be turned off, answers without the budget it asked for.
          const refusal = request.reasoningEffort !== undefined && kept ? thinkingRefusal(error) : undefined;
          if (refusal === undefined) throw error;
          refused = refused === undefined || refusal === 'every budget' ? refusal : refused;
          logger.info(
            { reasoningEffort: request.reasoningEffort },
            'the model refuses that thinking budget: sent without the reasoning effort',
          );
          chunks = await open({ ...request, reasoningEffort: undefined });
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

/**
 * Which budgets a 400 from Google says the model refuses: every one ("thinking is not supported by
 * this model") or 0 ("Thinking can't be disabled for this model"); undefined for any other error.
 */
function thinkingRefusal(error: unknown): 'every budget' | 'a zero budget' | undefined {
  const { status, message } = error as { status?: unknown; message?: unknown };
  if (status !== 400 || typeof message !== 'string') return undefined;
  if (/thinking is not supported by this model/i.test(message)) return 'every budget';
  if (/thinking can't be disabled/i.test(message)) return 'a zero budget';
  return undefined;
}

function safeOrigin(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'the configured baseURL';
  }
}
