import type { Message, ToolCallPart, ToolMessage, ToolResultPart } from '@haia/llm';

/**
 * The calls of the conversation's last assistant message that have no result yet, when nothing but
 * tool messages follows it: the calls waiting for an approval or for the client's own tools.
 */
export function unresolvedToolCalls(messages: readonly Message[]): ToolCallPart[] {
  const answered = new Set<string>();
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]!;
    if (message.role === 'tool') {
      for (const part of message.content) answered.add(part.toolCallId);
      continue;
    }
    if (message.role !== 'assistant' || typeof message.content === 'string') return [];
    const unresolved: ToolCallPart[] = [];
    for (const part of message.content) {
      if (part.type === 'tool-call' && !answered.has(part.toolCallId)) unresolved.push(part);
    }
    return unresolved;
  }
  return [];
}

/**
 * Answers tool calls that never got a result (an interrupted run, a client that did not send its
 * tool's result) with an error result placed right after them, so providers accept the history.
 * The trailing unresolved calls (see {@link unresolvedToolCalls}) are left as they are. Returns the
 * same array when nothing is missing.
 */
export function repairToolPairs(messages: readonly Message[]): readonly Message[] {
  let repaired: Message[] | undefined;
  let open: ToolCallPart[] = [];
  const closeOpen = (before: number) => {
    if (open.length === 0) return;
    repaired ??= messages.slice(0, before);
    repaired.push(missingResults(open));
    open = [];
  };
  for (const [index, message] of messages.entries()) {
    if (message.role === 'tool') {
      if (open.length > 0) {
        const answered = new Set(message.content.map((part) => part.toolCallId));
        open = open.filter((call) => !answered.has(call.toolCallId));
      }
    } else if (message.role === 'assistant' || message.role === 'user') {
      closeOpen(index);
      if (message.role === 'assistant' && typeof message.content !== 'string') {
        for (const part of message.content) if (part.type === 'tool-call') open.push(part);
      }
    }
    repaired?.push(message);
  }
  return repaired ?? messages;
}

function missingResults(calls: readonly ToolCallPart[]): ToolMessage {
  return {
    role: 'tool',
    content: calls.map(
      (call): ToolResultPart => ({
        type: 'tool-result',
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        output: 'No result was recorded for this call (the run was interrupted).',
        isError: true,
      }),
    ),
  };
}
