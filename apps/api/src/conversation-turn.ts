import type { Message, Usage } from '@haia/llm';
import type { Logger, MessageStatus, NewMessage, Store } from '@haia/store';
import { ApiError } from './api-error.js';
import type { ApiMetrics } from './metrics.js';

/** Where a turn continues: the conversation, the model's context and the parent of the answer. */
export interface OpenedConversation {
  conversationId: string;
  /** Stored path (HAIA's own tool calls and results included) plus the new messages, root first. */
  context: Message[];
  /** The last stored message: the answer is appended after it. */
  parentId: string | null;
  created: boolean;
  branched: boolean;
}

/** Who is asking, from the request's headers and body. */
export interface ConversationIdentity {
  conversationId?: string | undefined;
  externalId?: string | undefined;
  userId?: string | undefined;
  client?: string | undefined;
}

/**
 * Maps a store failure onto the API's errors: an unknown id is a 404, a value the database cannot
 * hold (a NUL character in the user id) a 400, anything else a 503.
 */
export function storeFailure(error: unknown): ApiError {
  if (ApiError.isInstance(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'not-found') {
    return new ApiError({
      status: 404,
      message: `${(error as Error).message}.`,
      code: 'conversation_not_found',
      cause: error,
    });
  }
  if (code === 'invalid') {
    return new ApiError({
      status: 400,
      message: `HAIA cannot store this request: ${(error as Error).message}.`,
      code: 'invalid_value',
      cause: error,
    });
  }
  return new ApiError({
    status: 503,
    message:
      'HAIA cannot reach its database right now, so the conversation cannot be stored. Check DATABASE_URL (or the HAIA_DATA_DIR folder) and /ready.',
    code: 'database_unavailable',
    headers: { 'retry-after': '5' },
    cause: error,
  });
}

/**
 * The 404 of a request whose `X-HAIA-Conversation-Id` names no stored conversation (deleted, or
 * never there).
 */
export function conversationByIdNotFound(conversationId: string, cause?: unknown): ApiError {
  return new ApiError({
    status: 404,
    message: `No conversation with id '${conversationId}' (X-HAIA-Conversation-Id): it was deleted, or never existed. Leave the header out to start a new conversation; GET /v1/conversations lists the stored ones.`,
    code: 'conversation_not_found',
    cause,
  });
}

/**
 * Resolves the conversation a request continues and stores the new messages (the user's message)
 * before the model is called, so a crash later loses no user input. At most two store round trips:
 * one to resolve (none when the history is a path the store holds, plus at most one new user
 * message: a regenerate or the next turn), one to append (none when nothing is new). When the
 * append finds the conversation gone (deleted through another api process an instant before, its
 * notice not yet here) and the request did not name it by id, the history is resolved once more,
 * as a new conversation. A store failure is logged on `logger`, the request's (bound to its
 * `requestId`).
 */
export async function openConversation(
  store: Store,
  metrics: ApiMetrics,
  logger: Logger,
  identity: ConversationIdentity,
  messages: Message[],
): Promise<OpenedConversation> {
  const open = () => resolveAndStore(store, metrics, logger, identity, messages);
  try {
    try {
      return await open();
    } catch (error) {
      const gone = (error as { code?: unknown } | null)?.code === 'not-found';
      if (!gone || identity.conversationId !== undefined) throw error;
      logger.debug(
        { code: 'not-found' },
        'the conversation was gone when its new message was stored: resolving again',
      );
      return await open();
    }
  } catch (error) {
    if (identity.conversationId !== undefined && (error as { code?: unknown } | null)?.code === 'not-found') {
      throw conversationByIdNotFound(identity.conversationId, error);
    }
    throw storeFailure(error);
  }
}

async function resolveAndStore(
  store: Store,
  metrics: ApiMetrics,
  logger: Logger,
  identity: ConversationIdentity,
  messages: Message[],
): Promise<OpenedConversation> {
  const call = { logger };
  const resolved = await metrics.timeStore('resolve', () =>
    store.resolveConversation(
      {
        ...(identity.conversationId ? { conversationId: identity.conversationId } : {}),
        ...(identity.externalId ? { externalId: identity.externalId } : {}),
        ...(identity.userId ? { userId: identity.userId } : {}),
        ...(identity.client ? { client: identity.client } : {}),
        messages,
      },
      call,
    ),
  );
  const conversationId = resolved.conversation.id;
  let parentId = resolved.parentId;
  if (resolved.newMessages.length > 0) {
    const fresh: NewMessage[] = resolved.newMessages.map((message) => ({
      role: message.role,
      content: message.content,
      status: 'complete',
    }));
    const stored = await metrics.timeStore('append', () =>
      store.appendMessages(conversationId, parentId, fresh, call),
    );
    parentId = stored.at(-1)?.id ?? parentId;
  }
  const context: Message[] = [];
  for (const message of resolved.system ?? []) context.push(message as Message);
  // A trimmed or compacted history: what the client kept before the stored stretch (its summary).
  for (const message of resolved.head ?? []) context.push(message as Message);
  for (const message of resolved.path)
    context.push({ role: message.role, content: message.content } as Message);
  for (const message of resolved.newMessages) context.push(message as Message);
  return { conversationId, context, parentId, created: resolved.created, branched: resolved.branched };
}

/**
 * Stores what a run produced (assistant turns, HAIA's tool calls and results) after `parentId`; a
 * store failure is logged on `logger`, the request's.
 */
export async function saveTurn(
  store: Store,
  metrics: ApiMetrics,
  logger: Logger,
  conversation: Pick<OpenedConversation, 'conversationId' | 'parentId'>,
  produced: readonly Message[],
  details: { status: MessageStatus; model: string; usage: Usage },
): Promise<void> {
  if (produced.length === 0) return;
  let lastAssistant = -1;
  for (let index = produced.length - 1; index >= 0; index--) {
    if (produced[index]?.role === 'assistant') {
      lastAssistant = index;
      break;
    }
  }
  const rows: NewMessage[] = produced.map((message, index) => {
    const row: NewMessage = {
      role: message.role,
      content: message.content,
      status:
        index === lastAssistant || (lastAssistant === -1 && index === produced.length - 1)
          ? details.status
          : 'complete',
    };
    if (message.role === 'assistant') row.model = details.model;
    if (index === lastAssistant) row.usage = { ...details.usage };
    return row;
  });
  await metrics.timeStore('append', () =>
    store.appendMessages(conversation.conversationId, conversation.parentId, rows, { logger }),
  );
}
