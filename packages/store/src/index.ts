/**
 * @haia/store: HAIA's conversation memory on PostgreSQL (postgres.js) or embedded PGlite, with
 * migrations and branch-aware history resolved from the messages a client resends.
 *
 * @module
 */
export type {
  CommonStoreOptions,
  CreateStoreOptions,
  PgliteStoreOptions,
  PostgresStoreOptions,
} from './create-store.js';
export { createStore, migrate } from './create-store.js';
export type { Logger } from './logger.js';
export { noopLogger } from './logger.js';
export type { AlertRow, HeldNotificationRow, MonitorState } from './monitor-state.js';
export type { PoolOptions } from './postgres-driver.js';
export { hashChain, INITIAL_HASH, normaliseText, visibleText } from './projection.js';
export type { StoreErrorCode, StoreErrorOptions } from './store-error.js';
export { StoreError } from './store-error.js';
export type {
  Conversation,
  ConversationPage,
  ConversationWithMessages,
  MessageLike,
  MessageStatus,
  MigrationResult,
  NewMessage,
  ResolveConversationInput,
  ResolvedConversation,
  Store,
  StoreCallOptions,
  StoredMessage,
} from './types.js';
