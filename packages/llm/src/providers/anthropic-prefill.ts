import type { ContentBlockParam, MessageParam } from '@anthropic-ai/sdk/resources';
import type { AnthropicRequestBody } from './anthropic-request.js';

/**
 * A request whose messages end with an assistant message asks Claude to continue that text (a
 * "prefill": OpenWebUI's "Continue Response" sends the cut-off answer last). Anthropic refuses
 * such a text that ends with whitespace ("messages: final assistant content cannot end with
 * trailing whitespace"), so `messages` comes back with the last text block of a final assistant
 * message trimmed at its end (a block left empty is dropped, and a message left empty).
 */
export function trimPrefill(messages: MessageParam[]): MessageParam[] {
  const last = messages.at(-1);
  if (last?.role !== 'assistant') return messages;
  const blocks: ContentBlockParam[] =
    typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : [...last.content];
  const index = blocks.findLastIndex((block) => block.type === 'text');
  const block = blocks[index];
  if (block?.type !== 'text' || block.text === block.text.trimEnd()) return messages;
  const text = block.text.trimEnd();
  if (text === '') blocks.splice(index, 1);
  else blocks[index] = { ...block, text };
  const rest = messages.slice(0, -1);
  return blocks.length === 0 ? rest : [...rest, { role: 'assistant', content: blocks }];
}

/** Whether the body's messages end with an assistant message (a prefill). */
export function endsWithPrefill(body: AnthropicRequestBody): boolean {
  return body.messages.at(-1)?.role === 'assistant';
}

/**
 * The user message that asks a model without prefill (Claude 4.6 and later) to go on with a cut-off
 * answer, after it as an assistant turn of its own: Anthropic's advice for continuing one.
 */
export const ANTHROPIC_CONTINUE_INSTRUCTION =
  'Your previous answer was cut off. Continue it exactly where it stopped, without repeating any of it.';

/** `body` asking the model to continue its last answer in a user message instead of a prefill. */
export function withoutPrefill<Body extends AnthropicRequestBody>(body: Body): Body {
  return {
    ...body,
    messages: [
      ...body.messages,
      { role: 'user', content: [{ type: 'text', text: ANTHROPIC_CONTINUE_INSTRUCTION }] },
    ],
  };
}

/** Anthropic's words for a model without prefill: "This model does not support assistant message prefill." */
const PREFILL_REFUSED = /does not support assistant message prefill/;

/** Whether `error` is Anthropic's 400 for a prefill the model does not take. */
export function refusesPrefill(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error as { status?: unknown }).status === 400 &&
    PREFILL_REFUSED.test(error.message)
  );
}
