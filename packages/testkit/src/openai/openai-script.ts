/**
 * The scripting vocabulary of the OpenAI fake: one {@link OpenAIScript} describes one reply to
 * `POST /v1/chat/completions`, streamed (SSE) or as JSON depending on the request's `stream` flag.
 */

/** A tool call the fake's model makes. */
export interface OpenAIScriptToolCall {
  /** Default `call_<n>`; `null` leaves the id out (a quirk of some compatible servers). */
  id?: string | null;
  name: string;
  /** An object (JSON-encoded) or the exact argument text. */
  arguments: unknown;
  /** How many SSE fragments the argument text is cut into (default 3). */
  fragments?: number;
  /**
   * Repeat `id`, `type` and `function.name` on every argument fragment, as some compatible servers
   * do (the client must not join the names).
   */
  repeatHead?: boolean;
}

/** Token counts the fake reports (`usage`), cached and reasoning tokens as details. */
export interface OpenAIScriptUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
  reasoningTokens?: number;
}

/** An error reply in OpenAI's envelope `{ error: { message, type, param, code } }`. */
export interface OpenAIScriptError {
  status: number;
  /** Defaults per status, worded like OpenAI's. */
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
  /** Extra response headers, e.g. `{ 'retry-after': '2' }` or `{ 'retry-after-ms': '1500' }`. */
  headers?: Record<string, string>;
}

/** One scripted reply. Every field is optional: `{}` answers "Hello from the fake.". */
export interface OpenAIScript {
  /** The answer's text: a string (cut into `chunkSize` pieces) or the exact deltas. */
  text?: string | string[];
  /**
   * A refusal instead of an answer: streamed as `delta.refusal` pieces (content stays null), in
   * `message.refusal` of a JSON reply; the finish reason stays `stop`, as OpenAI sends it.
   */
  refusal?: string | string[];
  /** Reasoning sent before the text, as `reasoning_content` (or `reasoningField`). */
  reasoning?: string | string[];
  /** `reasoning_content` (DeepSeek, vLLM, llama.cpp) or `reasoning` (OpenRouter, LM Studio). */
  reasoningField?: 'reasoning_content' | 'reasoning';
  toolCalls?: OpenAIScriptToolCall[];
  /** Default `tool_calls` with tool calls, else `stop`; `null` sends none. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter' | null;
  /** Default computed from the text; `false` leaves usage out even when `include_usage` was asked. */
  usage?: OpenAIScriptUsage | false;
  /** The `model` field of the reply (default: the requested model). */
  model?: string;
  /** The reply's id (default `chatcmpl-fake<n>`). */
  id?: string;
  /** Characters per text delta when `text` is a string (default 8). */
  chunkSize?: number;
  /** Wait before each SSE event, in ms (default 0). */
  delayMs?: number;
  /** Wait before the first SSE event (default `delayMs`); also delays a JSON reply. */
  firstDelayMs?: number;
  /** Answer with an error status and envelope instead. */
  error?: OpenAIScriptError;
  /** After the content, send `data: {"error": …}` and close (status stays 200). */
  midStreamError?: { message: string; type?: string; code?: string | null };
  /** After the content, destroy the socket: no finish chunk, no `[DONE]`. */
  truncate?: boolean;
  /** Never answer (until the client aborts or the fake closes). */
  hang?: boolean;
  /** Close the connection before any byte. */
  hangUp?: boolean;
  /** Send a chunk with `"choices": []` first (a compatible-server quirk). */
  emptyChoicesChunk?: boolean;
  /** Extra response headers on success. */
  headers?: Record<string, string>;
  /**
   * Write the whole SSE body at once instead of one write per event (benchmarks: the client then
   * parses every chunk from one read, so read batching does not vary between runs).
   */
  coalesce?: boolean;
}

const DEFAULT_ERRORS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: {
    message:
      'Incorrect API key provided: sk-fa***ke. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: {
    message: 'Country, region, or territory not supported',
    type: 'request_forbidden',
    code: 'unsupported_country_region_territory',
  },
  404: {
    message: 'The model does not exist or you do not have access to it.',
    type: 'invalid_request_error',
    code: 'model_not_found',
  },
  409: { message: 'Conflict.', type: 'invalid_request_error', code: null },
  413: { message: 'Request too large.', type: 'invalid_request_error', code: null },
  422: { message: 'Unprocessable entity.', type: 'invalid_request_error', code: null },
  429: {
    message: 'Rate limit reached for requests. Please try again in 1s.',
    type: 'requests',
    code: 'rate_limit_exceeded',
  },
  500: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    code: null,
  },
  502: { message: 'Bad gateway.', type: 'server_error', code: null },
  503: {
    message: 'The engine is currently overloaded, please try again later.',
    type: 'server_error',
    code: null,
  },
};

/** OpenAI's error envelope for a status, with OpenAI's usual wording unless overridden. */
export function openAIErrorBody(error: OpenAIScriptError): { error: Record<string, unknown> } {
  const fallback = DEFAULT_ERRORS[error.status] ?? {
    message: `Error ${error.status}.`,
    type: error.status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
  };
  return {
    error: {
      message: error.message ?? fallback.message,
      type: error.type ?? fallback.type,
      param: error.param ?? null,
      code: error.code === undefined ? fallback.code : error.code,
    },
  };
}

/** What the chunk builder needs to know about the request. */
export interface ScriptContext {
  model: string;
  index: number;
  created: number;
  includeUsage: boolean;
}

function pieces(value: string | string[] | undefined, size: number): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  const out: string[] = [];
  for (let start = 0; start < value.length; start += size) out.push(value.slice(start, start + size));
  return out;
}

function cut(text: string, count: number): string[] {
  if (count <= 1 || text.length <= 1) return [text];
  const size = Math.ceil(text.length / count);
  const out: string[] = [];
  for (let start = 0; start < text.length; start += size) out.push(text.slice(start, start + size));
  return out;
}

function argumentText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function joined(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join('') : (value ?? '');
}

function defaultText(script: OpenAIScript): string | string[] | undefined {
  if (script.text !== undefined) return script.text;
  return script.toolCalls?.length || script.refusal !== undefined ? undefined : 'Hello from the fake.';
}

function usageBody(script: OpenAIScript): Record<string, unknown> | undefined {
  if (script.usage === false) return undefined;
  const usage = script.usage ?? {
    promptTokens: 10,
    completionTokens: Math.max(
      1,
      Math.ceil(
        (joined(defaultText(script)).length +
          joined(script.reasoning).length +
          joined(script.refusal).length) /
          4,
      ),
    ),
  };
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoningTokens ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function finishOf(script: OpenAIScript): string | null {
  if (script.finishReason !== undefined) return script.finishReason;
  return script.toolCalls?.length ? 'tool_calls' : 'stop';
}

/** The SSE `data` payloads of a streamed reply, in order (without `[DONE]`, error or truncation). */
export function streamChunks(script: OpenAIScript, context: ScriptContext): unknown[] {
  const id = script.id ?? `chatcmpl-fake${context.index}`;
  const base = {
    id,
    object: 'chat.completion.chunk',
    created: context.created,
    model: script.model ?? context.model,
    system_fingerprint: 'fp_fake',
  };
  const usageNull = context.includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...usageNull,
  });
  const out: unknown[] = [];
  if (script.emptyChoicesChunk) out.push({ ...base, choices: [], ...usageNull });
  out.push(
    chunk({
      role: 'assistant',
      content:
        (script.toolCalls?.length || script.refusal !== undefined) && script.text === undefined ? null : '',
      refusal: null,
    }),
  );
  for (const piece of pieces(script.refusal, script.chunkSize ?? 8)) out.push(chunk({ refusal: piece }));
  const field = script.reasoningField ?? 'reasoning_content';
  for (const piece of pieces(script.reasoning, script.chunkSize ?? 8)) out.push(chunk({ [field]: piece }));
  for (const piece of pieces(defaultText(script), script.chunkSize ?? 8)) out.push(chunk({ content: piece }));
  for (const [index, call] of (script.toolCalls ?? []).entries()) {
    const head: Record<string, unknown> = {
      index,
      type: 'function',
      function: { name: call.name, arguments: '' },
    };
    if (call.id !== null) head.id = call.id ?? `call_${context.index}_${index}`;
    out.push(chunk({ tool_calls: [head] }));
    for (const fragment of cut(argumentText(call.arguments), call.fragments ?? 3)) {
      const piece = call.repeatHead
        ? { ...head, function: { name: call.name, arguments: fragment } }
        : { index, function: { arguments: fragment } };
      out.push(chunk({ tool_calls: [piece] }));
    }
  }
  return out;
}

/** The closing payloads: the finish chunk and, when asked for, the usage chunk. */
export function closingChunks(script: OpenAIScript, context: ScriptContext): unknown[] {
  const id = script.id ?? `chatcmpl-fake${context.index}`;
  const base = {
    id,
    object: 'chat.completion.chunk',
    created: context.created,
    model: script.model ?? context.model,
    system_fingerprint: 'fp_fake',
  };
  const out: unknown[] = [];
  const finish = finishOf(script);
  if (finish !== null) {
    out.push({
      ...base,
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish }],
      ...(context.includeUsage ? { usage: null } : {}),
    });
  }
  const usage = usageBody(script);
  if (context.includeUsage && usage) out.push({ ...base, choices: [], usage });
  return out;
}

/** A non-streaming `chat.completion` body. */
export function completionBody(script: OpenAIScript, context: ScriptContext): Record<string, unknown> {
  const text = defaultText(script);
  const reasoning = joined(script.reasoning);
  const field = script.reasoningField ?? 'reasoning_content';
  const toolCalls = (script.toolCalls ?? []).map((call, index) => ({
    ...(call.id !== null ? { id: call.id ?? `call_${context.index}_${index}` } : {}),
    type: 'function',
    function: { name: call.name, arguments: argumentText(call.arguments) },
  }));
  const usage = usageBody(script);
  return {
    id: script.id ?? `chatcmpl-fake${context.index}`,
    object: 'chat.completion',
    created: context.created,
    model: script.model ?? context.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === undefined ? null : joined(text),
          refusal: script.refusal === undefined ? null : joined(script.refusal),
          annotations: [],
          ...(reasoning ? { [field]: reasoning } : {}),
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishOf(script),
      },
    ],
    ...(usage ? { usage } : {}),
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  };
}
