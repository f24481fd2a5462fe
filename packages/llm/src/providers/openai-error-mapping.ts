import { codeForStatus, LlmError, type LlmErrorCode, parseRetryAfter } from '../llm-error.js';

/** What the error mapping needs to write a helpful message. */
export interface OpenAIErrorContext {
  provider: 'openai' | 'openai-compatible';
  model: string;
  baseURL: string;
  /** The variable that sets the key, for "set OPENAI_API_KEY" hints. */
  apiKeyVariable: string;
}

/** The `error` object of an OpenAI-style error body (`{ "error": { message, type, code } }`). */
export interface OpenAIErrorBody {
  message?: unknown;
  type?: unknown;
  code?: unknown;
}

/** Response headers, as `Headers` or anything with the same `get`. */
export interface HeaderLookup {
  get(name: string): string | null;
}

/**
 * How servers word a conversation too long for the model: OpenAI and vLLM ("maximum context
 * length"), llama.cpp's server ("exceeds the available context size", type
 * `exceed_context_size_error`), and others.
 */
const CONTEXT_LENGTH =
  /context[_ ]length|maximum context|context window|context size|too many tokens|prompt is too long/i;

/** How messages name the server: "OpenAI" or "The OpenAI-compatible server at <url>". */
export function openAIWho(context: OpenAIErrorContext): string {
  return context.provider === 'openai' ? 'OpenAI' : `The OpenAI-compatible server at ${context.baseURL}`;
}

/**
 * The error in a payload, in the shapes servers send it: `{ "error": { message, type, code } }`,
 * `{ "error": "text" }` (llama.cpp, Ollama) or the error object itself; with the message to show.
 * Undefined for a payload that holds no error object or text.
 */
export function readErrorPayload(payload: unknown): { body: OpenAIErrorBody; upstream: string } | undefined {
  const inner = (payload as { error?: unknown } | null)?.error ?? payload;
  if (typeof inner === 'string') return { body: { message: inner }, upstream: inner };
  if (typeof inner !== 'object' || inner === null) return undefined;
  const body = inner as OpenAIErrorBody;
  return { body, upstream: typeof body.message === 'string' ? body.message : JSON.stringify(inner) };
}

/** An HTTP error status (with the body's `error` object and the headers) as an {@link LlmError}. */
export function openAIStatusError(
  status: number,
  body: OpenAIErrorBody,
  upstream: string,
  headers: HeaderLookup | undefined,
  context: OpenAIErrorContext,
  cause: unknown,
): LlmError {
  const who = openAIWho(context);
  const code = typeof body.code === 'string' ? body.code : undefined;
  const retryAfterMs = parseRetryAfter(headers);
  const shouldRetry = headers?.get('x-should-retry');
  const retryable = shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : undefined;
  const common = {
    provider: context.provider,
    model: context.model,
    cause,
    status,
    retryAfterMs,
    ...(retryable !== undefined ? { retryable } : {}),
  };
  let llmCode = codeForStatus(status);
  let message: string;
  if (status === 401) {
    message = `${who} rejected the API key (401: ${upstream}). Set ${context.apiKeyVariable} or pass apiKey to createModel.`;
  } else if (status === 403) {
    message = `${who} refused access to ${context.model} (403: ${upstream}). Check the key's project, organization and region.`;
  } else if (status === 404) {
    message = `${who} does not know the model "${context.model}" or the endpoint (404: ${upstream}). Check the model name and the base URL ${context.baseURL}.`;
  } else if (status === 429 && code === 'insufficient_quota') {
    return new LlmError({
      ...common,
      code: 'rate-limit',
      retryable: false,
      message: `${who} says the quota is used up (429 insufficient_quota: ${upstream}). Check the plan and billing.`,
    });
  } else if (status === 429) {
    message = `${who} rate-limited the request (429: ${upstream}).`;
  } else if (
    (status === 400 || status === 413) &&
    (code === 'context_length_exceeded' ||
      body.type === 'exceed_context_size_error' ||
      CONTEXT_LENGTH.test(upstream))
  ) {
    llmCode = 'context-length';
    message = `The conversation is too long for ${context.model} (${status}: ${upstream}). Shorten the history or use a model with a larger context.`;
  } else if (status === 400 && (code === 'content_filter' || code === 'content_policy_violation')) {
    llmCode = 'content-filter';
    message = `${who} blocked the request with its content filter (400: ${upstream}).`;
  } else if (status >= 500) {
    message = `${who} failed with ${status}: ${upstream}`;
  } else {
    message = `${who} rejected the request (${status}: ${upstream}).`;
  }
  return new LlmError({ ...common, code: llmCode, message });
}

/** An `error` object sent inside a stream (after a 200) as an {@link LlmError}. */
export function openAIStreamError(
  body: OpenAIErrorBody,
  upstream: string,
  context: OpenAIErrorContext,
  cause: unknown,
): LlmError {
  const type = typeof body.type === 'string' ? body.type : undefined;
  const code = typeof body.code === 'string' ? body.code : undefined;
  const kind = `${type ?? ''} ${code ?? ''}`;
  let llmCode: LlmErrorCode = 'server';
  if (/rate_limit/.test(kind)) llmCode = 'rate-limit';
  else if (/overloaded/.test(kind)) llmCode = 'overloaded';
  else if (code === 'context_length_exceeded' || CONTEXT_LENGTH.test(upstream)) llmCode = 'context-length';
  else if (/content_filter|content_policy/.test(kind)) llmCode = 'content-filter';
  else if (/invalid_request/.test(kind)) llmCode = 'invalid-request';
  return new LlmError({
    provider: context.provider,
    model: context.model,
    cause,
    code: llmCode,
    message: `${openAIWho(context)} reported an error in the stream: ${upstream}`,
  });
}

/**
 * A failure after the request was sent that is not an HTTP status: a chunk that is not JSON
 * (`server`) or a connection lost before the answer was complete (`network`).
 */
export function openAITransportError(error: unknown, context: OpenAIErrorContext): LlmError {
  const base = { provider: context.provider, model: context.model, cause: error };
  if (error instanceof SyntaxError) {
    return new LlmError({
      ...base,
      code: 'server',
      message: `${openAIWho(context)} sent a stream chunk that is not valid JSON: ${error.message}`,
    });
  }
  const detail = describeCause(error);
  return new LlmError({
    ...base,
    code: 'network',
    message: `The connection to ${context.baseURL} failed${detail ? ` (${detail})` : ''} before the answer was complete.`,
  });
}

/** The error for a server that could not be reached at all (refused, DNS, TLS). */
export function openAIUnreachableError(
  error: unknown,
  context: OpenAIErrorContext,
  detailSource: unknown = error,
): LlmError {
  const detail = describeCause(detailSource);
  return new LlmError({
    provider: context.provider,
    model: context.model,
    cause: error,
    code: 'network',
    message: `Could not reach ${context.baseURL}${detail ? ` (${detail})` : ''}: check the base URL and that the server is running and reachable.`,
  });
}

/** The error for a request the caller (or a timeout, through the signal) aborted. */
export function openAIAbortedError(context: OpenAIErrorContext, cause: unknown): LlmError {
  return new LlmError({
    provider: context.provider,
    model: context.model,
    cause,
    code: 'aborted',
    message: `The request to ${context.model} was aborted.`,
  });
}

/** An `AbortError` from fetch, undici or an SDK. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'APIUserAbortError');
}

/** The error's codes and messages down its `cause` chain, for "(ECONNREFUSED: ...)" details. */
export function describeCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${code}` : current.message);
    current = current.cause;
  }
  return [...new Set(parts.filter(Boolean))].join(': ');
}
