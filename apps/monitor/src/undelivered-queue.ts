import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AlertNotification } from './alert-engine.js';
import type { MonitorStore } from './monitor-store.js';
import { oneAtATime } from './one-at-a-time.js';

/** The `monitor_state` key under which the queue is stored (one JSON array, oldest first). */
export const UNDELIVERED_STATE_KEY = 'notifications.undelivered';

/** How many notifications wait at most by default; past it the oldest are dropped. */
export const MAX_UNDELIVERED = 100;

/** A notification that no channel took, waiting in the store for the next digest tick. */
export interface UndeliveredNotification extends AlertNotification {
  /** Tells this entry apart from another one of the same alert (a firing and its resolved notice). */
  id: string;
  /** When no channel took it (ISO 8601). */
  queuedAt: string;
}

/** Options of {@link createUndeliveredQueue}. */
export interface UndeliveredQueueOptions {
  store: MonitorStore;
  logger: Logger;
  /** Most notifications kept (default {@link MAX_UNDELIVERED}). */
  max?: number;
  /** The clock (injectable for tests). */
  now: () => Date;
}

/**
 * The notifications no channel took, kept in the store's monitor state so that a restarted monitor
 * (or the instance that takes over as leader) still sends them.
 */
export interface UndeliveredQueue {
  /** Adds a notification at the end; past `max`, drops the oldest with one log line saying how many. */
  add(alert: AlertNotification): Promise<void>;
  /** Every waiting notification, oldest first. */
  list(): Promise<UndeliveredNotification[]>;
  /** Removes one waiting notification (it was sent, or held for the quiet-hours digest). */
  remove(id: string): Promise<void>;
}

/** Creates the queue on the monitor's store; its changes run one at a time. */
export function createUndeliveredQueue(options: UndeliveredQueueOptions): UndeliveredQueue {
  const { store, logger } = options;
  const max = options.max ?? MAX_UNDELIVERED;
  /** Read-modify-write of the stored array, one at a time, so concurrent checks never lose an entry. */
  const serialized = oneAtATime();

  async function read(): Promise<UndeliveredNotification[]> {
    const stored = await store.getState<unknown>(UNDELIVERED_STATE_KEY);
    if (stored === undefined) return [];
    const entries = Array.isArray(stored) ? stored : [stored];
    const readable = entries.filter(isUndelivered);
    if (readable.length < entries.length) {
      logger.warn(
        { key: UNDELIVERED_STATE_KEY, ignored: entries.length - readable.length },
        'ignoring unreadable undelivered notifications in the monitor state (left by another version?): they are not sent, and go at the next change of the queue',
      );
    }
    return readable;
  }

  return {
    add(alert) {
      return serialized(async () => {
        const entries = await read();
        entries.push({
          id: randomUUID(),
          key: alert.key,
          kind: alert.kind,
          notification: alert.notification,
          queuedAt: options.now().toISOString(),
        });
        const dropped = entries.splice(0, Math.max(0, entries.length - max));
        if (dropped.length > 0) {
          logger.error(
            {
              dropped: dropped.length,
              max,
              keys: dropped.map((entry) => entry.key),
              titles: dropped.map((entry) => entry.notification.title),
            },
            `dropped the ${dropped.length} oldest undelivered notification${dropped.length === 1 ? '' : 's'}: at most ${max} wait for a channel`,
          );
        }
        await store.setState(UNDELIVERED_STATE_KEY, entries);
      });
    },
    list() {
      return serialized(read);
    },
    remove(id) {
      return serialized(async () => {
        const entries = await read();
        const kept = entries.filter((entry) => entry.id !== id);
        if (kept.length !== entries.length) await store.setState(UNDELIVERED_STATE_KEY, kept);
      });
    },
  };
}

/** True for an entry this module wrote (the state is JSON another version may have left). */
function isUndelivered(value: unknown): value is UndeliveredNotification {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Partial<UndeliveredNotification>;
  const notification = entry.notification;
  return (
    typeof entry.id === 'string' &&
    typeof entry.key === 'string' &&
    typeof entry.kind === 'string' &&
    typeof entry.queuedAt === 'string' &&
    typeof notification === 'object' &&
    notification !== null &&
    typeof notification.title === 'string' &&
    typeof notification.body === 'string' &&
    typeof notification.severity === 'string' &&
    typeof notification.state === 'string'
  );
}
