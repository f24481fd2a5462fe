import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { LlmError } from '../llm-error.js';
import {
  isAbortError,
  type OpenAIErrorBody,
  type OpenAIErrorContext,
  openAIAbortedError,
  openAIStatusError,
  openAIStreamError,
  openAITransportError,
  openAIUnreachableError,
  openAIWho,
} from './openai-error-mapping.js';

export type { OpenAIErrorContext } from './openai-error-mapping.js';

/** Maps anything the openai SDK (or the fetch under it) throws to an {@link LlmError}. */
export function toOpenAILlmError(error: unknown, context: OpenAIErrorContext): LlmError {
  if (LlmError.isInstance(error)) return error;
  const base = { provider: context.provider, model: context.model, cause: error };
  const who = openAIWho(context);

  if (error instanceof APIUserAbortError || isAbortError(error)) return openAIAbortedError(context, error);
  if (error instanceof APIConnectionTimeoutError) {
    return new LlmError({
      ...base,
      code: 'timeout',
      message: `${who} did not answer in time (${context.baseURL}).`,
    });
  }
  if (error instanceof APIConnectionError) return openAIUnreachableError(error, context, error.cause);
  if (error instanceof APIError) {
    const body = (error.error ?? {}) as OpenAIErrorBody;
    const upstream = typeof body.message === 'string' ? body.message : error.message;
    if (error.status === undefined) return openAIStreamError(body, upstream, context, error);
    return openAIStatusError(error.status, body, upstream, error.headers, context, error);
  }
  return openAITransportError(error, context);
}
