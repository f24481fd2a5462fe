import { bindLogger } from '../bound-logger.js';
import type { ChatEvent } from '../chat-event.js';
import type { ChatRequest } from '../language-model.js';
import { LlmError } from '../llm-error.js';
import { chainGuards } from './guard-chain.js';
import { type OllamaErrorContext, ollamaHttpError, toOllamaError } from './ollama-error.js';
import { type OllamaThink, toOllamaBody } from './ollama-request.js';
import { OllamaStreamState, readOllamaLines } from './ollama-stream.js';
import type { ProviderAdapter, ProviderSettings } from './provider-adapter.js';
import { createRefusalGuard } from './refusal-guard.js';

/** Where a local Ollama listens. */
export const OLLAMA_DEFAULT_BASE_URL = 'http://127.0.0.1:11434';

/** Ollama-only settings of {@link createOllamaAdapter}. */
export interface OllamaAdapterOptions {
  /**
   * `think` of `/api/chat`: `true` (or a level for models with levels) streams the model's thinking
   * as `reasoning-delta`. Left out by default: models that do not think reject it.
   */
  think?: OllamaThink;
  /** How long the model stays loaded after the call (`keep_alive`, e.g. `"5m"` or seconds). */
  keepAlive?: string | number;
}

/**
 * The Ollama provider: `POST {baseURL}/api/chat` with `stream: true` over ky, NDJSON parsed line by
 * line. One attempt per `stream` (ky's retries and timeout are off: the core owns both). `apiKey`,
 * when set, is sent as `Authorization: Bearer` (ollama.com); a local server needs none.
 */
export async function createOllamaAdapter(
  modelId: string,
  settings: ProviderSettings,
  options: OllamaAdapterOptions = {},
): Promise<ProviderAdapter> {
  const { default: ky } = await import('ky');
  const host = normalizeOllamaHost(settings.baseURL ?? OLLAMA_DEFAULT_BASE_URL);
  const logger = bindLogger(settings.logger, { provider: 'ollama', model: modelId });
  const headers: Record<string, string> = {
    ...settings.headers,
    ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
  };
  const client = ky.create({
    fetch: settings.fetch,
    retry: 0,
    timeout: false,
    throwHttpErrors: false,
    headers,
  });

  // A client's reasoning effort is a hint (OpenWebUI's "Reasoning Effort" goes to every model): a
  // model that does not think answers without it. A configured `think` still fails.
  const effort = createRefusalGuard<Omit<ChatRequest, 'signal'>>({
    modelId,
    logger,
    carries: (request) => request.reasoningEffort !== undefined,
    without: (request) => ({ ...request, reasoningEffort: undefined }),
    refusal: (error) =>
      LlmError.isInstance(error) && error.status === 400 && /does not support thinking/i.test(error.message)
        ? 'reasoningEffort'
        : undefined,
    message: 'the model does not think: sent without the reasoning effort',
  });

  // The agent's tools (Proxmox, MCP) or a client's go to a model without tool support (gemma3,
  // deepseek-r1) too, and Ollama refuses the whole request: it answers without them instead.
  const tools = createRefusalGuard<Omit<ChatRequest, 'signal'>>({
    modelId,
    logger,
    carries: (request) => (request.tools?.length ?? 0) > 0,
    without: (request) => ({ ...request, tools: undefined, toolChoice: undefined }),
    refusal: (error) =>
      LlmError.isInstance(error) && error.status === 400 && /does not support tools/i.test(error.message)
        ? 'tools'
        : undefined,
    message: 'the model cannot call tools: it answers without them',
    // One answer to a request with tools shows the model takes them: no guard after that.
    provenByAnswer: true,
  });

  const guards = chainGuards<Omit<ChatRequest, 'signal'>>([effort, tools]);

  return {
    provider: 'ollama',
    modelId,
    async *stream(request: Omit<ChatRequest, 'signal'>, signal: AbortSignal): AsyncIterable<ChatEvent> {
      const context: OllamaErrorContext = { modelId, host, apiKey: settings.apiKey, signal, started: false };
      if (request.toolChoice === 'required') {
        logger.debug({}, 'ollama has no tool_choice: "required" is sent as "auto"');
      }
      const state = new OllamaStreamState(modelId);
      try {
        const response = await guards.send(request, async (sent) => {
          const json = toOllamaBody(modelId, sent, { think: options.think, keepAlive: options.keepAlive });
          const answer = await client.post(`${host}/api/chat`, { json, signal });
          if (!answer.ok) throw ollamaHttpError(answer.status, await answer.text(), context);
          return answer;
        });
        if (!response.body) throw ollamaHttpError(response.status, 'empty body', context);
        for await (const chunk of readOllamaLines(response.body, modelId)) {
          for (const event of state.push(chunk)) {
            context.started = true;
            yield event;
          }
          if (state.finished) break;
        }
      } catch (error) {
        throw toOllamaError(error, context);
      }
      if (signal.aborted) throw toOllamaError(signal.reason, context);
      yield state.finish();
    },
  };
}

/**
 * Reads a host the way Ollama's `OLLAMA_HOST` is written: `http://host:port`, `host:port` or a bare
 * `host` (without a scheme, `http` and port 11434 are filled in, as Ollama's clients do). Trailing
 * slashes are dropped.
 */
export function normalizeOllamaHost(value: string): string {
  const trimmed = value.trim().replace(/\/+$/, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return trimmed;
  try {
    const url = new URL(`http://${trimmed}`);
    if (!/^(\[[^\]]+\]|[^/:]+):\d+/.test(trimmed)) url.port = '11434';
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return `http://${trimmed}`;
  }
}
