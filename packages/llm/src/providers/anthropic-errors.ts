import { codeForStatus, LlmError, type LlmErrorCode, parseRetryAfter } from '../llm-error.js';
import { redactSecrets } from '../redact.js';

/** What an Anthropic failure is mapped with. */
export interface AnthropicErrorContext {
  modelId: string;
  /** Removed from every message. */
  apiKey: string | undefined;
  baseURL: string;
  /** The attempt's signal: once aborted, any failure is an abort. */
  signal?: AbortSignal;
  /** Output was already yielded (the failure ends a stream that had begun). */
  started?: boolean;
  now?: () => number;
}

const PROVIDER = 'anthropic';

/** The shape of the SDK's `APIError` this mapping reads (duck-typed: the SDK is loaded lazily). */
interface AnthropicApiErrorLike {
  status: number | undefined;
  headers: { get(name: string): string | null } | undefined;
  type: string | null | undefined;
  apiMessage?: string | null;
  error?: unknown;
  message: string;
  name: string;
}

function isApiError(error: unknown): error is AnthropicApiErrorLike {
  return error instanceof Error && 'status' in error && 'headers' in error && 'error' in error;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

function apiMessageOf(error: AnthropicApiErrorLike): string | undefined {
  if (typeof error.apiMessage === 'string' && error.apiMessage) return error.apiMessage;
  const body = error.error as { error?: { message?: unknown } } | undefined;
  return typeof body?.error?.message === 'string' ? body.error.message : undefined;
}

const TYPE_CODES: Record<string, LlmErrorCode> = {
  authentication_error: 'auth',
  permission_error: 'permission',
  billing_error: 'permission',
  not_found_error: 'not-found',
  request_too_large: 'context-length',
  rate_limit_error: 'rate-limit',
  api_error: 'server',
  overloaded_error: 'overloaded',
  timeout_error: 'timeout',
};

const CONTEXT_LENGTH =
  /prompt is too long|context (window|length)|too many (input )?tokens|exceeds? the (model'?s? )?(maximum )?context/i;

function advice(code: LlmErrorCode, modelId: string, type: string | undefined): string {
  switch (code) {
    case 'auth':
      return 'Anthropic rejected the API key: set ANTHROPIC_API_KEY to a valid key (console.anthropic.com, Settings > API keys).';
    case 'permission':
      return type === 'billing_error'
        ? "Anthropic refused the request for billing reasons: check the plan and credit balance of the API key's organization."
        : `The Anthropic API key may not use ${modelId} or this feature: check the key's workspace and model access.`;
    case 'not-found':
      return `Anthropic model not found: "${modelId}". Check HAIA_MODEL (for example anthropic:claude-sonnet-4-5) and the base URL.`;
    case 'context-length':
      return `The request is too long for ${modelId}: shorten the conversation or the tool results, or use a model with a larger context window.`;
    case 'rate-limit':
      return 'Anthropic rate limit reached: wait and try again, or lower the request rate or tokens per minute.';
    case 'overloaded':
      return 'Anthropic is overloaded right now: try again shortly or configure a fallback model (HAIA_FALLBACK_MODELS).';
    case 'timeout':
      return 'Anthropic timed out processing the request: try again, or ask for a shorter answer.';
    case 'server':
      return 'Anthropic had an internal error: try again shortly.';
    case 'invalid-request':
      return `Anthropic rejected the request to ${modelId} as invalid.`;
    default:
      return `The call to Anthropic (${modelId}) failed.`;
  }
}

/**
 * Maps anything the Anthropic SDK (or the stream) throws to an {@link LlmError}: by the body's
 * `error.type` first (in-stream `event: error` has no status), then by HTTP status; connection
 * failures become `network`, aborts `aborted`. `retry-after`/`retry-after-ms` become `retryAfterMs`.
 * The API key never appears in the message.
 */
export function toAnthropicError(error: unknown, context: AnthropicErrorContext): LlmError {
  if (LlmError.isInstance(error)) return error;
  const scrub = (text: string) => redactSecrets(text, [context.apiKey]);
  const base = { provider: PROVIDER, model: context.modelId, cause: error };
  const name = errorName(error);

  if (context.signal?.aborted || name === 'APIUserAbortError' || name === 'AbortError') {
    return new LlmError({
      ...base,
      code: 'aborted',
      message: `The call to anthropic:${context.modelId} was aborted.`,
    });
  }
  if (name === 'APIConnectionTimeoutError') {
    return new LlmError({
      ...base,
      code: 'timeout',
      message: 'The Anthropic request timed out before an answer arrived: try again.',
    });
  }
  if (name === 'APIConnectionError') {
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    return new LlmError({
      ...base,
      code: 'network',
      message: scrub(
        `Could not reach Anthropic at ${context.baseURL}${detail}. Check the network connection and the base URL (ANTHROPIC_BASE_URL).`,
      ),
    });
  }
  if (isApiError(error)) {
    const type = error.type ?? undefined;
    const apiMessage = apiMessageOf(error);
    let code: LlmErrorCode | undefined = type ? TYPE_CODES[type] : undefined;
    if (type === 'invalid_request_error' || (!code && error.status !== undefined && error.status < 500)) {
      code = apiMessage && CONTEXT_LENGTH.test(apiMessage) ? 'context-length' : undefined;
    }
    code ??=
      error.status !== undefined
        ? codeForStatus(error.status)
        : type === 'invalid_request_error'
          ? 'invalid-request'
          : 'server';
    const retryAfterMs = parseRetryAfter(error.headers, context.now);
    const status = error.status;
    const said = apiMessage ? ` Anthropic said: ${apiMessage}` : '';
    const tag = [status, type].filter((item) => item !== undefined).join(' ');
    const during = status === undefined ? ' (error event in the stream)' : '';
    return new LlmError({
      ...base,
      code,
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      message: scrub(`${advice(code, context.modelId, type)}${tag ? ` [${tag}]` : ''}${during}${said}`),
    });
  }
  if (error instanceof SyntaxError) {
    return new LlmError({
      ...base,
      code: 'server',
      message: 'Anthropic sent a stream event that is not valid JSON: the response was corrupted; try again.',
    });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new LlmError({
    ...base,
    code: 'network',
    message: scrub(
      context.started
        ? `The Anthropic stream ended early: the connection failed mid-answer (${detail}). Try again.`
        : `The request to Anthropic failed: ${detail}. Check the network connection and the base URL.`,
    ),
  });
}
