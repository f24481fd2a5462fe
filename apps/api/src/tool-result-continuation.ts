import type { Message, ToolMessage } from '@haia/llm';
import type { Logger, Store } from '@haia/store';
import { type ConversationIdentity, conversationByIdNotFound, storeFailure } from './conversation-turn.js';
import type { ApiMetrics } from './metrics.js';

/** A request by id that sends only the results of the client's tools, with the stored branch they answer. */
export interface ToolResultContinuation {
  /** The history to resolve: the request's system messages, the stored active branch, then the rest of the request. */
  messages: Message[];
  /** The ids of the tool calls on the stored branch: the calls the request's results may answer. */
  storedCalls: Set<string>;
}

/**
 * A client that names its conversation (`X-HAIA-Conversation-Id`) sends only what is new: after the
 * model called one of its tools, that is the tool's result, whose call is stored, not resent. For
 * such a request (its first message after the system messages is a `tool` message) this loads the
 * conversation's active branch, so the results resolve after the call they answer, as when the
 * whole history is resent. A result the branch holds already (the same request again after the
 * model failed) is left out: it is not stored a second time. Returns `undefined` for any other
 * request (no id, or a history that does not begin with tool results); a 404 when the
 * conversation does not exist or is another user's.
 */
export async function continueWithToolResults(
  store: Store,
  metrics: ApiMetrics,
  logger: Logger,
  identity: Pick<ConversationIdentity, 'conversationId' | 'userId'>,
  incoming: readonly Message[],
): Promise<ToolResultContinuation | undefined> {
  const { conversationId, userId } = identity;
  if (conversationId === undefined) return undefined;
  if (incoming.find((message) => message.role !== 'system')?.role !== 'tool') return undefined;
  const system = incoming.filter((message) => message.role === 'system');
  const rest = incoming.filter((message) => message.role !== 'system');
  const found = await metrics
    .timeStore('get', () => store.getConversation(conversationId, { logger }))
    .catch((error: unknown) => {
      throw storeFailure(error);
    });
  // Scoped like the store's resolve by id: another user's conversation is not there for this one.
  if (!found || (userId !== undefined && found.conversation.userId !== userId)) {
    throw conversationByIdNotFound(conversationId);
  }

  const branch: Message[] = [];
  const toolNames = new Map<string, string>();
  const storedResults = new Set<string>();
  for (const stored of found.messages) {
    const message = { role: stored.role, content: stored.content } as Message;
    branch.push(message);
    if (message.role === 'assistant' && typeof message.content !== 'string') {
      for (const part of message.content)
        if (part.type === 'tool-call') toolNames.set(part.toolCallId, part.toolName);
    } else if (message.role === 'tool') {
      for (const part of message.content) storedResults.add(part.toolCallId);
    }
  }
  const fresh: Message[] = [];
  for (const message of rest) {
    if (message.role !== 'tool') {
      fresh.push(message);
      continue;
    }
    // The request has not the call, so the result is named after the stored one (Gemini needs the name).
    const unstored = message.content
      .filter((part) => !storedResults.has(part.toolCallId))
      .map((part) => ({ ...part, toolName: toolNames.get(part.toolCallId) ?? part.toolName }));
    if (unstored.length > 0) fresh.push({ ...message, content: unstored } satisfies ToolMessage);
  }
  return { messages: [...system, ...branch, ...fresh], storedCalls: new Set(toolNames.keys()) };
}
