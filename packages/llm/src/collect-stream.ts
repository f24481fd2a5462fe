import { type ChatEvent, emptyUsage } from './chat-event.js';
import type { GenerateResult } from './language-model.js';
import type { ReasoningPart, TextPart, ToolCallPart } from './message.js';
import { addReasoningDelta } from './reasoning-parts.js';

/**
 * Collects a chat stream into a {@link GenerateResult}: text and reasoning joined, tool calls in
 * order, and an assistant message with the parts in the order they came.
 */
export async function collectStream(stream: AsyncIterable<ChatEvent>): Promise<GenerateResult> {
  const parts: Array<TextPart | ReasoningPart | ToolCallPart> = [];
  const toolCalls: ToolCallPart[] = [];
  let text = '';
  let reasoning = '';
  let finish: Extract<ChatEvent, { type: 'finish' }> | undefined;
  for await (const event of stream) {
    const last = parts.at(-1);
    switch (event.type) {
      case 'text-delta':
        text += event.text;
        if (last?.type === 'text') last.text += event.text;
        else parts.push({ type: 'text', text: event.text });
        break;
      case 'reasoning-delta':
        reasoning += event.text;
        addReasoningDelta(parts, event);
        break;
      case 'tool-call': {
        const call: ToolCallPart = {
          type: 'tool-call',
          toolCallId: event.toolCallId,
          toolName: event.toolName,
          input: event.input,
        };
        toolCalls.push(call);
        parts.push(call);
        break;
      }
      case 'finish':
        finish = event;
        break;
    }
  }
  return {
    text,
    reasoning,
    toolCalls,
    finishReason: finish?.finishReason ?? 'other',
    usage: finish?.usage ?? emptyUsage(),
    message: { role: 'assistant', content: parts },
    response: finish?.response ?? { model: 'unknown', id: undefined },
  };
}
