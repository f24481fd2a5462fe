import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { codeForStatus, LlmError, type LlmErrorCode, parseRetryAfter } from '../llm-error.js';

/** What the error mapping needs to write a helpful message. */
export interface OpenAIErrorContext {
  provider: 'openai' | 'openai-compatible';
  model: string;
  baseURL: string;
  /** The variable that sets the key, for "set OPENAI_API_KEY" hints. */
  apiKeyVariable: string;
}

interface ErrorBody {
  message?: unknown;
  type?: unknown;
  code?: unknown;
}

const CONTEXT_LENGTH = /context[_ ]length|maximum context|context window|too many tokens|prompt is too long/i;

/** Maps anything the openai SDK (or the fetch under it) throws to an {@link LlmError}. */
export function toOpenAILlmError(error: unknown, context: OpenAIErrorContext): LlmError {
  if (LlmError.isInstance(error)) return error;
  const base = { provider: context.provider, model: context.model, cause: error };
  const who = context.provider === 'openai' ? 'OpenAI' : `The OpenAI-compatible server at ${context.baseURL}`;

  if (error instanceof APIUserAbortError || isAbort(error)) {
    return new LlmError({
      ...base,
      code: 'aborted',
      message: `The request to ${context.model} was aborted.`,
    });
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new LlmError({
      ...base,
      code: 'timeout',
      message: `${who} did not answer in time (${context.baseURL}).`,
    });
  }
  if (error instanceof APIConnectionError) {
    const detail = describeCause(error.cause);
    return new LlmError({
      ...base,
      code: 'network',
      message: `Could not reach ${context.baseURL}${detail ? ` (${detail})` : ''}: check the base URL and that the server is running and reachable.`,
    });
  }
  if (error instanceof APIError) {
    const body = (error.error ?? {}) as ErrorBody;
    const upstream = typeof body.message === 'string' ? body.message : error.message;
    const type = typeof body.type === 'string' ? body.type : undefined;
    const code = typeof body.code === 'string' ? body.code : undefined;
    if (error.status === undefined) return inStreamError(upstream, type, code, who, base);
    const status = error.status;
    const retryAfterMs = parseRetryAfter(error.headers);
    const shouldRetry = error.headers?.get('x-should-retry');
    const retryable = shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : undefined;
    const common = { ...base, status, retryAfterMs, ...(retryable !== undefined ? { retryable } : {}) };
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
      (code === 'context_length_exceeded' || CONTEXT_LENGTH.test(upstream))
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
  if (error instanceof SyntaxError) {
    return new LlmError({
      ...base,
      code: 'server',
      message: `${who} sent a stream chunk that is not valid JSON: ${error.message}`,
    });
  }
  const detail = describeCause(error);
  return new LlmError({
    ...base,
    code: 'network',
    message: `The connection to ${context.baseURL} failed${detail ? ` (${detail})` : ''} before the answer was complete.`,
  });
}

function inStreamError(
  upstream: string,
  type: string | undefined,
  code: string | undefined,
  who: string,
  base: { provider: string; model: string; cause: unknown },
): LlmError {
  const kind = `${type ?? ''} ${code ?? ''}`;
  let llmCode: LlmErrorCode = 'server';
  if (/rate_limit/.test(kind)) llmCode = 'rate-limit';
  else if (/overloaded/.test(kind)) llmCode = 'overloaded';
  else if (code === 'context_length_exceeded' || CONTEXT_LENGTH.test(upstream)) llmCode = 'context-length';
  else if (/content_filter|content_policy/.test(kind)) llmCode = 'content-filter';
  else if (/invalid_request/.test(kind)) llmCode = 'invalid-request';
  return new LlmError({
    ...base,
    code: llmCode,
    message: `${who} reported an error in the stream: ${upstream}`,
  });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'APIUserAbortError');
}

function describeCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${code}` : current.message);
    current = current.cause;
  }
  return [...new Set(parts.filter(Boolean))].join(': ');
}
