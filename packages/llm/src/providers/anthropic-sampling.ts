import type { AnthropicRequestBody } from './anthropic-request.js';

/**
 * What Anthropic answers (400) when a model no longer takes a sampling parameter: Claude Opus 4.7
 * and later refuse `temperature`, `top_p` and `top_k` at any value but the default
 * ("`temperature` is deprecated for this model.").
 */
const DEPRECATED_SAMPLING = /`?(temperature|top_p|top_k)`? is deprecated for this model/i;

/**
 * The sampling parameter a 400 from Anthropic says the model refuses, or undefined for any other
 * error. Read from the SDK's `APIError` (status and message), duck-typed since the SDK loads lazily.
 */
export function refusedSamplingParameter(error: unknown): string | undefined {
  if (!(error instanceof Error) || (error as { status?: unknown }).status !== 400) return undefined;
  return DEPRECATED_SAMPLING.exec(error.message)?.[1]?.toLowerCase();
}

/** Whether `body` sets a sampling parameter. */
export function hasSampling(body: AnthropicRequestBody): boolean {
  return body.temperature !== undefined || body.top_p !== undefined;
}

/** `body` without its sampling parameters (the model's defaults then apply). */
export function withoutSampling(body: AnthropicRequestBody): AnthropicRequestBody {
  const { temperature: _temperature, top_p: _topP, ...rest } = body;
  return rest;
}
