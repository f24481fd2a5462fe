import type { Logger } from './logger.js';
import type { MonitorState } from './monitor-state.js';

/**
 * The store's data types. Messages are stored in `@haia/llm`'s `Message` shape, as JSON; the store
 * does not import `@haia/llm` and only relies on this structural type.
 */

/** A message as the store sees it: a role and JSON content (string or parts). */
export interface MessageLike {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: unknown;
}

/** How complete a stored message is: `partial` while streaming or after the client left, `error` when the model failed. */
export type MessageStatus = 'complete' | 'partial' | 'error';

/** A message to append, with what the API knows about it. */
export interface NewMessage extends MessageLike {
  status?: MessageStatus;
  /** `provider:model` that produced an assistant message. */
  model?: string;
  /** Token usage of an assistant message (JSON). */
  usage?: Record<string, unknown>;
}

/** A stored message. */
export interface StoredMessage extends MessageLike {
  id: string;
  conversationId: string;
  /** The message before this one on its branch; null for the first. */
  parentId: string | null;
  status: MessageStatus;
  model: string | null;
  usage: Record<string, unknown> | null;
  createdAt: Date;
  /** Hash of the visible path from the root to this message (see the README's resolution rules). */
  prefixHash: string;
}

/** A stored conversation. */
export interface Conversation {
  id: string;
  userId: string | null;
  title: string | null;
  /** An id the client gave it, such as an OpenWebUI chat id. */
  externalId: string | null;
  /** Which client created it (`openwebui`, `librechat`, `openai-sdk`, …). */
  client: string | null;
  createdAt: Date;
  updatedAt: Date;
  metadata: Record<string, unknown>;
}

/** Input of `resolveConversation`. */
export interface ResolveConversationInput {
  /** An explicit HAIA conversation id (`X-HAIA-Conversation-Id`): wins over everything. */
  conversationId?: string;
  /** A client's own id (`X-OpenWebUI-Chat-Id`): finds or creates the conversation with it. */
  externalId?: string;
  userId?: string;
  client?: string;
  /** The messages the client sent, oldest first, the newest user message last. */
  messages: MessageLike[];
}

/** What `resolveConversation` found. */
export interface ResolvedConversation {
  conversation: Conversation;
  /** True when no stored conversation matched and a new one was created. */
  created: boolean;
  /**
   * The stored path that the incoming history continues, root first, including HAIA's own tool
   * calls and tool results that the client never saw. This is the model's context before `newMessages`.
   * For a trimmed or compacted history (README: "Trimmed and compacted histories") it starts where
   * the client's copy starts instead, after `head`.
   */
  path: StoredMessage[];
  /**
   * The client's messages before `path` when its history was trimmed or compacted and matched a
   * stretch inside a stored path: what it kept of the start, or its summary of what it dropped. Put
   * them between `system` and `path` in the model's context; they are not stored. Otherwise [].
   */
  head: MessageLike[];
  /** The incoming messages after the matched path: to be stored (and sent to the model). */
  newMessages: MessageLike[];
  /** Where to append `newMessages`: the last message of `path`, or null for a new conversation. */
  parentId: string | null;
  /**
   * True when the incoming history diverges inside a stored path (an edit or a regenerate). When the
   * store answered from a path it holds (no statement), the replies it counts are those it has seen.
   */
  branched: boolean;
  /**
   * The client's `system` (and `developer`) messages of this request, in order. They take no part in
   * matching and are not in `newMessages`: put them in front of the model's context; storing them is
   * not needed (the client sends them every turn, possibly changed).
   */
  system: MessageLike[];
}

/** What a migration run did. */
export interface MigrationResult {
  /** Names of the migrations this run applied, in order (empty when the schema was current). */
  applied: string[];
  /** The schema version now: the number of the newest migration. */
  version: number;
}

/** A page of conversations, newest first. */
export interface ConversationPage {
  conversations: Conversation[];
  /** Pass to the next call to get the following page; undefined on the last page. */
  nextCursor: string | undefined;
}

/** A conversation with the messages of its active branch (the newest leaf), root first. */
export interface ConversationWithMessages {
  conversation: Conversation;
  messages: StoredMessage[];
}

/**
 * Per-call options, the optional last argument of every conversation and message operation.
 *
 * @example
 * // The warning of a failed append carries the request's id.
 * await store.appendMessages(conversationId, parentId, messages, { logger: requestLogger });
 */
export interface StoreCallOptions {
  /**
   * Where this call's `store operation failed` warning goes instead of the store's own logger (with
   * `component: 'store'` added), such as a logger bound to the request the call serves. The store
   * logs nothing else per call, so a call that succeeds never touches it.
   */
  logger?: Logger | undefined;
}

/** Conversation memory for HAIA, on PostgreSQL or PGlite. */
export interface Store {
  /** `postgres` or `pglite`. */
  readonly backend: 'postgres' | 'pglite';
  resolveConversation(
    input: ResolveConversationInput,
    options?: StoreCallOptions,
  ): Promise<ResolvedConversation>;
  /** Appends messages after `parentId` in one transaction; returns them stored, in order. */
  appendMessages(
    conversationId: string,
    parentId: string | null,
    messages: NewMessage[],
    options?: StoreCallOptions,
  ): Promise<StoredMessage[]>;
  /** Updates a message written first as `partial`: its status, usage, content or model. */
  updateMessage(
    id: string,
    changes: Partial<Pick<StoredMessage, 'status' | 'usage' | 'content' | 'model'>>,
    options?: StoreCallOptions,
  ): Promise<StoredMessage>;
  getConversation(id: string, options?: StoreCallOptions): Promise<ConversationWithMessages | undefined>;
  /** Every message of a conversation, all branches, in the order they were stored; [] when there is none. */
  getMessages(conversationId: string, options?: StoreCallOptions): Promise<StoredMessage[]>;
  /** Sets a conversation's title (and other editable fields). */
  updateConversation(
    id: string,
    changes: { title?: string; metadata?: Record<string, unknown> },
    options?: StoreCallOptions,
  ): Promise<Conversation>;
  listConversations(
    filter?: {
      userId?: string;
      limit?: number;
      cursor?: string;
    },
    options?: StoreCallOptions,
  ): Promise<ConversationPage>;
  /** Deletes a conversation and its messages; false when there was none. */
  deleteConversation(id: string, options?: StoreCallOptions): Promise<boolean>;
  /** Applies pending migrations (`createStore` does it unless `migrate: false`); for `pnpm db:migrate`. */
  migrate(): Promise<MigrationResult>;
  /** Round trip to the database, for `/ready`; throws a `StoreError` when it is unreachable. */
  ping(): Promise<void>;
  /** The monitor daemon's alert state, digest queue and leader lock (same database). */
  readonly monitor: MonitorState;
  /** Drains and closes the connections. */
  close(): Promise<void>;
}
