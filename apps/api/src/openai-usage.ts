import type { Usage } from '@haia/llm';

/** OpenAI's `usage` object. */
export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

/** HAIA's usage in OpenAI's shape. */
export function toOpenAiUsage(usage: Usage | undefined): OpenAiUsage {
  const input = usage?.inputTokens ?? 0;
  const output = usage?.outputTokens ?? 0;
  const result: OpenAiUsage = {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
  };
  if (usage?.cachedInputTokens !== undefined)
    result.prompt_tokens_details = { cached_tokens: usage.cachedInputTokens };
  if (usage?.reasoningTokens !== undefined) {
    result.completion_tokens_details = { reasoning_tokens: usage.reasoningTokens };
  }
  return result;
}

/** OpenAI's `finish_reason` values. */
export type OpenAiFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * The `finish_reason` a client sees. `tool_calls` only when the client must run its own tools;
 * a turn that stopped on HAIA's own tools (step limit, approval) reads as `stop`.
 */
export function toOpenAiFinishReason(
  reason: string | undefined,
  clientToolCalls: boolean,
): OpenAiFinishReason {
  if (clientToolCalls) return 'tool_calls';
  if (reason === 'length') return 'length';
  if (reason === 'content-filter') return 'content_filter';
  return 'stop';
}
