import { z } from 'zod';
import { codeForStatus, LlmError, type LlmErrorCode } from '../llm-error.js';

/** What an Ollama error needs to be explained. */
export interface OllamaErrorContext {
  modelId: string;
  /** The server, as configured (`http://127.0.0.1:11434`). */
  host: string;
  apiKey: string | undefined;
  signal: AbortSignal;
  /** Output was already yielded: a lost connection then cut an answer short. */
  started?: boolean;
}

const ollamaErrorSchema = z.object({ error: z.string() });

/** Ollama's error text from a body (`{"error": "…"}`), or the body itself. */
export function ollamaErrorText(body: string): string {
  try {
    const parsed = ollamaErrorSchema.safeParse(JSON.parse(body));
    if (parsed.success) return parsed.data.error;
  } catch {
    // not JSON: use the text
  }
  return body.trim().slice(0, 300) || 'no message';
}

/** An `LlmError` for an HTTP error answer of `/api/chat`. */
export function ollamaHttpError(status: number, body: string, context: OllamaErrorContext): LlmError {
  const text = ollamaErrorText(body);
  const model = context.modelId;
  let code: LlmErrorCode = codeForStatus(status);
  let message = `Ollama answered ${status}: ${text}`;
  if (status === 404 && /model .*not found|not found, try pulling/i.test(text)) {
    code = 'not-found';
    message = `model ${model} is not pulled: run \`ollama pull ${model}\` (Ollama at ${context.host} said: ${text}).`;
  } else if (/does not support thinking/i.test(text)) {
    code = 'invalid-request';
    message = `model ${model} does not think (${text}): turn the \`think\` option off or pick a thinking model.`;
  } else if (/does not support tools/i.test(text)) {
    code = 'invalid-request';
    message = `model ${model} cannot call tools (${text}): pick a model with tool support or send no tools.`;
  } else if (status === 401) {
    code = 'auth';
    message = `Ollama refused the request as unauthorized (${text}): for ollama.com models, pass an API key (OLLAMA_API_KEY) or run \`ollama signin\`.`;
  }
  return new LlmError({
    code,
    status,
    message: redact(message, context.apiKey),
    provider: 'ollama',
    model,
  });
}

/** Turns a failure of the HTTP call itself (refused, reset, aborted) into an `LlmError`. */
export function toOllamaError(error: unknown, context: OllamaErrorContext): LlmError {
  if (LlmError.isInstance(error)) return error;
  const base = { provider: 'ollama', model: context.modelId, cause: error };
  const name = (error as { name?: unknown } | null)?.name;
  if (context.signal.aborted || name === 'AbortError') {
    return new LlmError({ ...base, code: 'aborted', message: 'The Ollama request was aborted.' });
  }
  const systemCode = systemErrorCode(error);
  const detail = systemCode ?? (error instanceof Error ? error.message : String(error));
  if (context.started && (systemCode || error instanceof TypeError)) {
    return new LlmError({
      ...base,
      code: 'network',
      // The core never retries once output was yielded; say so to every other reader too.
      retryable: false,
      message: redact(
        `The connection to Ollama at ${context.host} was lost mid-answer (${detail}): the answer is incomplete; ask again.`,
        context.apiKey,
      ),
    });
  }
  if (systemCode === 'ECONNREFUSED') {
    return new LlmError({
      ...base,
      code: 'network',
      message: `Ollama is not running at ${context.host}: start it with \`ollama serve\` or set OLLAMA_HOST.`,
    });
  }
  if (systemCode || error instanceof TypeError) {
    return new LlmError({
      ...base,
      code: 'network',
      message: redact(
        `Could not reach Ollama at ${context.host} (${detail}): check that it runs and OLLAMA_HOST.`,
        context.apiKey,
      ),
    });
  }
  return new LlmError({
    ...base,
    code: 'server',
    message: redact(`Ollama call failed: ${detail.slice(0, 300)}`, context.apiKey),
  });
}

function systemErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function redact(message: string, apiKey: string | undefined): string {
  return apiKey && apiKey.length >= 4 ? message.split(apiKey).join('[redacted]') : message;
}
