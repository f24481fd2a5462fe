import { LlmError } from './llm-error.js';
import type { Message } from './message.js';

/** How much of a tool-call id an error message quotes (ids come from clients and can be long). */
const QUOTED_ID_CHARS = 80;

/**
 * Checks the tool-call ids of a conversation before it goes to a provider: every tool result must
 * answer a tool call some earlier assistant message made, and no two tool calls of one message may
 * share an id. Providers refuse both with an obscure 400 (OpenAI: "messages with role 'tool' must be
 * a response to a preceding message with 'tool_calls'"; Anthropic: "tool_use ids must be unique").
 * An id reused by a later turn passes (servers that number calls per turn do that). Returns an
 * `invalid-request` {@link LlmError} naming the message index and the id, or `undefined` when the
 * ids are sound. One pass; the only allocation is one map of the ids seen, made at the first call.
 */
export function toolCallIdError(
  messages: readonly Message[],
  provider: string,
  model: string,
): LlmError | undefined {
  let calls: Map<string, number> | undefined;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as Message;
    if (message.role === 'assistant') {
      const content = message.content;
      if (typeof content === 'string') continue;
      for (let at = 0; at < content.length; at++) {
        const part = content[at] as (typeof content)[number];
        if (part.type !== 'tool-call') continue;
        calls ??= new Map();
        // Within one message only: some servers number their calls per turn (`call_0` every turn),
        // which OpenAI accepts, so an id an earlier turn used is not refused here.
        if (calls.get(part.toolCallId) === index) {
          return invalid(
            `messages[${index}] (assistant) makes two tool calls with the id ${quote(part.toolCallId)}: the tool calls of one message need ids of their own. Give each tool call, and the tool result answering it, an id of its own.`,
            provider,
            model,
          );
        }
        calls.set(part.toolCallId, index);
      }
    } else if (message.role === 'tool') {
      const content = message.content;
      for (let at = 0; at < content.length; at++) {
        const id = (content[at] as (typeof content)[number]).toolCallId;
        if (calls?.has(id)) continue;
        return invalid(
          `messages[${index}] (tool) holds a result for tool call ${quote(id)}, but no earlier assistant message made a tool call with that id: each tool result must answer a call of an assistant message before it. Remove the result, or keep the assistant message that made the call (with the same tool-call id) before it.`,
          provider,
          model,
        );
      }
    }
  }
  return undefined;
}

function invalid(message: string, provider: string, model: string): LlmError {
  return new LlmError({ code: 'invalid-request', message, provider, model, retryable: false });
}

function quote(id: string): string {
  return JSON.stringify(id.length > QUOTED_ID_CHARS ? `${id.slice(0, QUOTED_ID_CHARS)}…` : id);
}
