import { ApiError } from './api-error.js';
import type { OpenAiMessage } from './request-schema.js';

/** How much of a tool-call id an error message quotes (ids come from clients and can be long). */
const QUOTED_ID_CHARS = 80;

/**
 * Refuses, with a 400 naming the message of the request (`messages[i]`), tool-call ids no model
 * accepts: a `tool` message answering no tool call of an earlier assistant message (of the request,
 * or `storedCalls`: the calls of the stored conversation a request by id continues), or two tool
 * calls of one assistant message with the same id. Runs before anything of the request is stored:
 * the model would refuse the history, and a stored copy would make every later turn of the
 * conversation fail the same way.
 */
export function checkToolCallIds(
  messages: readonly OpenAiMessage[],
  storedCalls?: ReadonlySet<string>,
): void {
  let calls: Set<string> | undefined;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as OpenAiMessage;
    if (message.role === 'assistant') {
      const toolCalls = message.tool_calls;
      if (!toolCalls?.length) continue;
      calls ??= new Set();
      for (let at = 0; at < toolCalls.length; at++) {
        const id = (toolCalls[at] as (typeof toolCalls)[number]).id;
        if (toolCalls.findIndex((call) => call.id === id) !== at) {
          throw new ApiError({
            status: 400,
            message: `messages[${index}].tool_calls[${at}] has the id ${quote(id)}, like an earlier tool call of the same message: give each tool call (and the tool message answering it) an id of its own.`,
            param: `messages[${index}].tool_calls[${at}].id`,
            code: 'invalid_value',
          });
        }
        calls.add(id);
      }
    } else if (message.role === 'tool') {
      const id = message.tool_call_id;
      if (calls?.has(id) || storedCalls?.has(id)) continue;
      const where = storedCalls ? 'in this request or the stored conversation' : 'before it';
      throw new ApiError({
        status: 400,
        message: `messages[${index}] (tool) answers tool call ${quote(id)}, but no assistant message ${where} made a tool call with that id. Send the assistant message with that call (its tool_calls[].id) before the result, or leave the result out.`,
        param: `messages[${index}].tool_call_id`,
        code: 'invalid_value',
      });
    }
  }
}

function quote(id: string): string {
  return JSON.stringify(id.length > QUOTED_ID_CHARS ? `${id.slice(0, QUOTED_ID_CHARS)}…` : id);
}
