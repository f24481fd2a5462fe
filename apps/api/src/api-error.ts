import { LlmError, type LlmErrorCode, redactSecrets } from '@haia/llm';
import { fastResponse } from './fast-response.js';

/** The `type` field of OpenAI's error envelope. */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error';

/** Fields of an {@link ApiError}. */
export interface ApiErrorOptions {
  status: number;
  message: string;
  type?: ApiErrorType;
  code?: string | null;
  param?: string | null;
  /** Extra response headers (`retry-after`, `x-should-retry`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export interface ErrorEnvelope {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

const MARKER = Symbol.for('haia.api.error');

/**
 * The one error class of apps/api: an HTTP status plus the fields of OpenAI's error envelope. Every
 * failure a client sees goes through {@link toApiError}, which maps other errors onto this one.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly type: ApiErrorType;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly [MARKER] = true;

  constructor(options: ApiErrorOptions) {
    super(options.message, { cause: options.cause });
    this.status = options.status;
    this.type = options.type ?? typeForStatus(options.status);
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  /** True for an `ApiError`, also one from another copy of this module. */
  static isInstance(error: unknown): error is ApiError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }

  /** The JSON body clients read. */
  toEnvelope(): ErrorEnvelope {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** OpenAI's error `type` for an HTTP status. */
export function typeForStatus(status: number): ApiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'api_error';
}

const LLM_STATUS: Record<LlmErrorCode, number> = {
  auth: 401,
  permission: 403,
  'not-found': 404,
  'invalid-request': 400,
  'context-length': 400,
  'content-filter': 400,
  'rate-limit': 429,
  overloaded: 503,
  timeout: 504,
  network: 503,
  server: 502,
  aborted: 499,
};

/** The `retry-after` of a 429 whose upstream said nothing of when to retry, in seconds. */
const DEFAULT_RATE_LIMIT_RETRY_AFTER_S = 5;

/** What an upstream (model) failure means for the client: status, envelope fields and headers. */
export function fromLlmError(error: LlmError, hints: { ollamaHost?: string } = {}): ApiError {
  const status = LLM_STATUS[error.code] ?? 502;
  const headers: Record<string, string> = {};
  if (error.retryAfterMs !== undefined && (status === 429 || status === 503)) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  } else if (status === 429) {
    // The upstream gave no hint (HAIA's own retries have backed off already): a few seconds.
    headers['retry-after'] = String(DEFAULT_RATE_LIMIT_RETRY_AFTER_S);
  }
  // The SDKs retry 5xx and 429 on their own; retrying a broken key or a missing model never helps.
  if (!error.retryable) headers['x-should-retry'] = 'false';
  let message = error.message;
  // Retryable: nothing came yet, so Ollama is not there. A connection lost mid-answer says so itself.
  if (error.provider === 'ollama' && error.code === 'network' && error.retryable) {
    message = `The model ${error.provider}:${error.model} is not reachable: Ollama is not running at ${redactSecrets(hints.ollamaHost ?? 'http://127.0.0.1:11434')}. Start it with \`ollama serve\` (then \`ollama pull ${error.model}\`), set OLLAMA_HOST to where it runs, or set HAIA_MODEL to another provider:model (for example HAIA_MODEL=openai:gpt-4o-mini with OPENAI_API_KEY).${detail(error.message)}`;
  } else if (error.provider === 'ollama' && error.code === 'not-found') {
    message = `Ollama does not have the model ${error.model}: run \`ollama pull ${error.model}\` or set HAIA_MODEL to a model you have.${detail(error.message)}`;
  } else if (error.code === 'auth' || error.code === 'permission') {
    message = `The upstream provider ${error.provider} refused HAIA's credentials for ${error.model}: check its API key in HAIA's configuration. (${error.message})`;
  }
  return new ApiError({
    status,
    message,
    code:
      error.code === 'context-length'
        ? 'context_length_exceeded'
        : `upstream_${error.code.replace('-', '_')}`,
    headers,
    cause: error,
  });
}

/** Maps anything thrown while answering onto an {@link ApiError}; unknown errors become a 500. */
export function toApiError(error: unknown, hints: { ollamaHost?: string } = {}): ApiError {
  if (ApiError.isInstance(error)) return error;
  if (LlmError.isInstance(error)) return fromLlmError(error, hints);
  const code = (error as { code?: unknown; name?: unknown } | null)?.code;
  if (code === 'aborted') {
    return new ApiError({
      status: 499,
      message: 'The client closed the connection.',
      code: 'client_closed',
      cause: error,
    });
  }
  return new ApiError({
    status: 500,
    message: 'HAIA failed while answering; the server log has the details (search for the request id).',
    code: 'internal_error',
    cause: error,
  });
}

/** A JSON error response with OpenAI's envelope, the status and the error's headers. */
export function errorResponse(error: ApiError, headers: Record<string, string> = {}): Response {
  return fastResponse(JSON.stringify(error.toEnvelope()), {
    status: error.status,
    headers: { 'content-type': 'application/json', ...headers, ...error.headers },
  });
}

/** The provider's own words in parentheses, unless they only repeat the advice already given. */
function detail(message: string): string {
  return /ollama (serve|pull)/i.test(message) ? '' : ` (${message})`;
}
