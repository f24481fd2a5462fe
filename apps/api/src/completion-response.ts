import type { OpenAiFinishReason, OpenAiUsage } from './openai-usage.js';

/** What a non-streaming answer is built from. */
export interface CompletionParts {
  id: string;
  created: number;
  model: string;
  text: string;
  /** The model's refusal, if it declined to answer: `message.refusal` (with `content` null when no text). */
  refusal: string;
  reasoning: string;
  /** OpenAI `tool_calls` for the client's own tools. */
  toolCalls: unknown[];
  finishReason: OpenAiFinishReason;
  usage: OpenAiUsage;
}

/** The `chat.completion` object of a `stream: false` answer, `message.refusal` always present as OpenAI sends it. */
export function buildCompletion(parts: CompletionParts) {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: (parts.toolCalls.length > 0 || parts.refusal !== '') && parts.text === '' ? null : parts.text,
    refusal: parts.refusal === '' ? null : parts.refusal,
  };
  if (parts.reasoning) message.reasoning_content = parts.reasoning;
  if (parts.toolCalls.length > 0) message.tool_calls = parts.toolCalls;
  return {
    id: parts.id,
    object: 'chat.completion',
    created: parts.created,
    model: parts.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: parts.finishReason }],
    usage: parts.usage,
  };
}
