import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';

/**
 * OpenAI's refusal of `max_tokens` by a reasoning model (gpt-5, o-series), as a proxy or Azure
 * passes it on: "Unsupported parameter: 'max_tokens' is not supported with this model. Use
 * 'max_completion_tokens' instead."
 */
const MAX_TOKENS_REFUSED = /Unsupported parameter: 'max_tokens'.*max_completion_tokens/s;

/** Whether `error` is a 400 saying the model takes `max_completion_tokens` instead of `max_tokens`. */
export function refusesMaxTokens(error: unknown): boolean {
  const { status, message } = error as { status?: unknown; message?: unknown };
  return status === 400 && typeof message === 'string' && MAX_TOKENS_REFUSED.test(message);
}

/** `params` with its `max_tokens` moved to `max_completion_tokens`. */
export function withCompletionTokens<Params extends ChatCompletionCreateParamsStreaming>(
  params: Params,
): Params {
  const { max_tokens: limit, ...rest } = params;
  return { ...rest, max_completion_tokens: limit } as Params;
}
