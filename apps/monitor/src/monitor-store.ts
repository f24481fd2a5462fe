import type { HeldNotificationRow, MonitorState } from '@haia/store';

/**
 * What the monitor persists: alert states, per-check memories, the quiet-hours digest queue and the
 * leader lock. It is `@haia/store`'s `store.monitor`, in the same database as the conversations.
 */
export type MonitorStore = MonitorState;

/** A notification held back by quiet hours, waiting for the digest. */
export type HeldNotification = HeldNotificationRow;
