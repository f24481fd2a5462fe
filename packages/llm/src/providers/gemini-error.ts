import { z } from 'zod';
import { codeForStatus, LlmError, type LlmErrorCode } from '../llm-error.js';

/** What a Gemini error needs to be explained. */
export interface GeminiErrorContext {
  modelId: string;
  /** Where requests go (an origin, never with a key in it). */
  baseURL: string;
  apiKey: string | undefined;
  signal: AbortSignal;
  /** Output was already yielded: a lost connection then cut an answer short. */
  started?: boolean;
}

const googleErrorSchema = z.object({
  error: z.object({
    code: z.number().optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    details: z.array(z.record(z.string(), z.unknown())).optional(),
  }),
});

type GoogleError = z.infer<typeof googleErrorSchema>['error'];

const KEY_VARIABLES = 'GEMINI_API_KEY or GOOGLE_API_KEY';

/** Reads Google's `{"error": {code, message, status, details}}` out of an SDK error message. */
export function parseGoogleError(text: string): GoogleError | undefined {
  const start = text.indexOf('{');
  if (start === -1) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start));
  } catch {
    return undefined;
  }
  const result = googleErrorSchema.safeParse(parsed);
  if (!result.success) return undefined;
  const error = result.data.error;
  // A non-JSON error response is wrapped by the SDK as {error: {message: <body text>}}: unwrap it.
  if (error.message?.trimStart().startsWith('{')) {
    const inner = parseGoogleError(error.message);
    if (inner) return inner;
  }
  return error;
}

/** `"34.4s"` (a protobuf Duration) in milliseconds. */
export function parseRetryDelay(details: GoogleError['details']): number | undefined {
  for (const detail of details ?? []) {
    if (!String(detail['@type'] ?? '').endsWith('google.rpc.RetryInfo')) continue;
    const delay = detail.retryDelay;
    if (typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay)) {
      return Math.round(Number.parseFloat(delay) * 1000);
    }
  }
  return undefined;
}

function reasons(details: GoogleError['details']): string[] {
  return (details ?? []).map((detail) => String(detail.reason ?? '')).filter(Boolean);
}

/** Turns anything the SDK threw into an `LlmError` with a message that says what to do. */
export function toGeminiError(error: unknown, context: GeminiErrorContext): LlmError {
  if (LlmError.isInstance(error)) return error;
  const base = { provider: 'gemini', model: context.modelId, cause: error };
  const clean = (message: string) => redact(message, context.apiKey);
  if (context.signal.aborted || isAbort(error)) {
    return new LlmError({ ...base, code: 'aborted', message: 'The Gemini request was aborted.' });
  }
  const name = (error as { name?: unknown } | null)?.name;
  const status = (error as { status?: unknown } | null)?.status;
  if (name === 'ApiError' && typeof status === 'number') {
    const google = parseGoogleError(String((error as Error).message));
    const googleStatus = google?.status ?? '';
    const text = (google?.message ?? '').slice(0, 300);
    const why = reasons(google?.details);
    let code: LlmErrorCode = codeForStatus(status);
    let message = `Gemini answered ${status}${googleStatus ? ` ${googleStatus}` : ''}: ${text || 'no message'}`;
    if (why.includes('API_KEY_INVALID') || /api key not valid|api key expired/i.test(text)) {
      code = 'auth';
      message = `Gemini rejected the API key (${text || googleStatus}): check ${KEY_VARIABLES}.`;
    } else if (status === 401 || googleStatus === 'UNAUTHENTICATED') {
      code = 'auth';
      message = `Gemini did not accept the credentials (${text || googleStatus}): set ${KEY_VARIABLES}.`;
    } else if (
      googleStatus === 'PERMISSION_DENIED' &&
      /unregistered callers|missing a valid api key|api key/i.test(text)
    ) {
      code = 'auth';
      message = `Gemini got no usable API key (${text}): set ${KEY_VARIABLES}.`;
    } else if (googleStatus === 'PERMISSION_DENIED' || status === 403) {
      code = 'permission';
      message = `Gemini denied access (${text || googleStatus}): the key lacks permission for model ${context.modelId}.`;
    } else if (googleStatus === 'NOT_FOUND' || status === 404) {
      code = 'not-found';
      message = `Gemini does not know model ${context.modelId} (${text || googleStatus}): check the model id.`;
    } else if (googleStatus === 'RESOURCE_EXHAUSTED' || status === 429) {
      code = 'rate-limit';
      message = `Gemini rate or quota limit reached (${text || googleStatus}): wait and retry, or check the quota.`;
    } else if (googleStatus === 'UNAVAILABLE' || status === 503) {
      code = 'overloaded';
      message = `Gemini is overloaded or unavailable (${text || googleStatus}): retry later.`;
    } else if (googleStatus === 'DEADLINE_EXCEEDED' || status === 504) {
      code = 'timeout';
      message = `Gemini timed out processing the request (${text || googleStatus}).`;
    } else if (/token count|exceeds the maximum number of tokens|context window/i.test(text)) {
      code = 'context-length';
      message = `The conversation is too long for ${context.modelId} (${text}): shorten it.`;
    } else if (googleStatus === 'FAILED_PRECONDITION') {
      code = 'invalid-request';
      message = `Gemini refused the request (${text}): billing or region may need setting up.`;
    }
    return new LlmError({
      ...base,
      code,
      status,
      message: clean(message),
      retryAfterMs: parseRetryDelay(google?.details),
    });
  }
  const network = describeNetworkError(error);
  if (network && context.started) {
    return new LlmError({
      ...base,
      code: 'network',
      // The core never retries once output was yielded; say so to every other reader too.
      retryable: false,
      message: clean(
        `The connection to Gemini at ${context.baseURL} was lost mid-answer (${network}): the answer is incomplete; ask again.`,
      ),
    });
  }
  if (network) {
    return new LlmError({
      ...base,
      code: 'network',
      message: clean(
        `Could not reach Gemini at ${context.baseURL} (${network}): check the network or baseURL.`,
      ),
    });
  }
  const detail = error instanceof Error ? error.message : String(error);
  if (/Incomplete JSON segment|exception parsing stream chunk/.test(detail)) {
    return new LlmError({
      ...base,
      code: 'network',
      message: clean(`Gemini's stream broke off or sent a malformed chunk: ${detail.slice(0, 200)}`),
    });
  }
  return new LlmError({
    ...base,
    code: 'server',
    message: clean(`Gemini call failed: ${detail.slice(0, 300)}`),
  });
}

/** Replaces the API key, wherever it appears, by `[redacted]`. */
function redact(message: string, apiKey: string | undefined): string {
  return apiKey && apiKey.length >= 4 ? message.split(apiKey).join('[redacted]') : message;
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/** The system error code (`ECONNREFUSED`, …) or message of a failed fetch, from its cause chain. */
function describeNetworkError(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  if (error instanceof TypeError && /fetch failed|terminated|network/i.test(error.message))
    return error.message;
  return undefined;
}
