import type { Driver, Queryable, ReservedConnection } from './driver.js';
import { jsonParameter, toDate } from './driver.js';
import type { Logger } from './logger.js';

/** One alert's persisted state, as the monitor's alert engine keeps it. */
export interface AlertRow {
  key: string;
  check: string;
  status: 'pending' | 'firing' | 'resolved';
  severity: 'critical' | 'warning' | 'info';
  title: string;
  body: string;
  fields: Array<{ name: string; value: string }>;
  links: Array<{ label: string; url: string }>;
  event: boolean;
  consecutiveBad: number;
  consecutiveGood: number;
  firstBadAt: Date | null;
  firingSince: Date | null;
  lastNotifiedAt: Date | null;
  resolvedAt: Date | null;
  updatedAt: Date;
}

/** A notification held back by quiet hours until the digest. */
export interface HeldNotificationRow {
  key: string;
  kind: string;
  /** The notification itself, as `@haia/notify` describes one (stored as JSON). */
  notification: {
    title: string;
    body: string;
    severity: AlertRow['severity'];
    state: 'firing' | 'resolved';
    fields?: AlertRow['fields'];
    links?: AlertRow['links'];
  };
  heldAt: Date;
}

/** The monitor's tables: alerts, per-check memories, the digest queue and the leader lock. */
export interface MonitorState {
  /** The stored alerts of one check (all statuses). */
  loadAlerts(check: string): Promise<AlertRow[]>;
  /** Every alert that is pending or firing. */
  activeAlerts(): Promise<AlertRow[]>;
  /** Inserts or replaces alerts by key, in one transaction. */
  saveAlerts(rows: readonly AlertRow[]): Promise<void>;
  /** The JSON value stored under `key` in `monitor_state` (`guests.running`, `notifications.undelivered`), or undefined. */
  getState<T>(key: string): Promise<T | undefined>;
  /** Stores `value` (JSON) under `key` in `monitor_state`, replacing what was there, in one statement. */
  setState(key: string, value: unknown): Promise<void>;
  /** Adds a notification to the quiet-hours digest queue. */
  holdNotification(held: HeldNotificationRow): Promise<void>;
  /** Returns and removes every held notification, oldest first. */
  takeHeldNotifications(): Promise<HeldNotificationRow[]>;
  /**
   * True while this store holds the monitor's leader lock, taking it when it is free: a PostgreSQL
   * session advisory lock on a connection of its own, released when that connection ends (so a dead
   * leader frees it). On PGlite, which one process owns, always true.
   */
  tryLeadership(): Promise<boolean>;
  /** Gives the leader lock up (and its connection back). */
  close(): Promise<void>;
}

interface AlertDbRow {
  key: string;
  check_name: string;
  status: AlertRow['status'];
  severity: AlertRow['severity'];
  title: string;
  body: string;
  fields: AlertRow['fields'];
  links: AlertRow['links'];
  event: boolean;
  consecutive_bad: number;
  consecutive_good: number;
  first_bad_at: unknown;
  firing_since: unknown;
  last_notified_at: unknown;
  resolved_at: unknown;
  updated_at: unknown;
}

const optionalDate = (value: unknown) => (value === null || value === undefined ? null : toDate(value));

function toAlert(row: AlertDbRow): AlertRow {
  return {
    key: row.key,
    check: row.check_name,
    status: row.status,
    severity: row.severity,
    title: row.title,
    body: row.body,
    fields: row.fields ?? [],
    links: row.links ?? [],
    event: row.event,
    consecutiveBad: Number(row.consecutive_bad),
    consecutiveGood: Number(row.consecutive_good),
    firstBadAt: optionalDate(row.first_bad_at),
    firingSince: optionalDate(row.firing_since),
    lastNotifiedAt: optionalDate(row.last_notified_at),
    resolvedAt: optionalDate(row.resolved_at),
    updatedAt: toDate(row.updated_at),
  };
}

const UPSERT_ALERT = `insert into monitor_alerts (key, check_name, status, severity, title, body, fields, links, event,
    consecutive_bad, consecutive_good, first_bad_at, firing_since, last_notified_at, resolved_at, updated_at)
  values ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8::text::jsonb, $9, $10, $11, $12, $13, $14, $15, $16)
  on conflict (key) do update set check_name = excluded.check_name, status = excluded.status,
    severity = excluded.severity, title = excluded.title, body = excluded.body, fields = excluded.fields,
    links = excluded.links, event = excluded.event, consecutive_bad = excluded.consecutive_bad,
    consecutive_good = excluded.consecutive_good, first_bad_at = excluded.first_bad_at,
    firing_since = excluded.firing_since, last_notified_at = excluded.last_notified_at,
    resolved_at = excluded.resolved_at, updated_at = excluded.updated_at`;

/** The monitor's state on one driver (the store's). */
export function createMonitorState(
  driver: Driver,
  options: { logger: Logger; now: () => Date; schema?: string | undefined },
): MonitorState {
  // One leader per database and schema, like the migrations lock.
  const leaderLock = `haia:monitor-leader:${options.schema ?? ''}`;
  let session: ReservedConnection | undefined;
  let leadership: Promise<boolean> | undefined;

  async function dropSession() {
    const ended = session;
    session = undefined;
    await ended?.release().catch(() => {});
  }

  const saveOne = (queryable: Queryable, row: AlertRow) =>
    queryable.query(UPSERT_ALERT, [
      row.key,
      row.check,
      row.status,
      row.severity,
      row.title,
      row.body,
      jsonParameter(row.fields),
      jsonParameter(row.links),
      row.event,
      row.consecutiveBad,
      row.consecutiveGood,
      row.firstBadAt,
      row.firingSince,
      row.lastNotifiedAt,
      row.resolvedAt,
      row.updatedAt,
    ]);

  return {
    async loadAlerts(check) {
      const rows = await driver.query<AlertDbRow>('select * from monitor_alerts where check_name = $1', [
        check,
      ]);
      return rows.map(toAlert);
    },
    async activeAlerts() {
      const rows = await driver.query<AlertDbRow>("select * from monitor_alerts where status <> 'resolved'");
      return rows.map(toAlert);
    },
    async saveAlerts(rows) {
      if (rows.length === 0) return;
      await driver.transaction(async (transaction) => {
        for (const row of rows) await saveOne(transaction, row);
      });
    },
    async getState<T>(key: string) {
      const rows = await driver.query<{ value: T }>('select value from monitor_state where key = $1', [key]);
      return rows[0]?.value;
    },
    async setState(key, value) {
      await driver.query(
        `insert into monitor_state (key, value, updated_at) values ($1, $2::text::jsonb, $3)
         on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`,
        [key, jsonParameter(value), options.now()],
      );
    },
    async holdNotification(held) {
      await driver.query(
        'insert into monitor_held_notifications (alert_key, kind, notification, held_at) values ($1, $2, $3::text::jsonb, $4)',
        [held.key, held.kind, jsonParameter(held.notification), held.heldAt],
      );
    },
    async takeHeldNotifications() {
      const rows = await driver.query<{
        alert_key: string;
        kind: string;
        notification: HeldNotificationRow['notification'];
        held_at: unknown;
      }>('delete from monitor_held_notifications returning alert_key, kind, notification, held_at, id');
      return rows
        .map((row) => ({
          key: row.alert_key,
          kind: row.kind,
          notification: row.notification,
          heldAt: toDate(row.held_at),
        }))
        .sort((a, b) => a.heldAt.getTime() - b.heldAt.getTime());
    },
    tryLeadership() {
      // One attempt at a time: calls that overlap (a daemon's jobs all start at once) share it, or
      // each would reserve a session of its own, and they would lose the lock to each other.
      leadership ??= takeLeadership().finally(() => {
        leadership = undefined;
      });
      return leadership;
    },
    async close() {
      await dropSession();
    },
  };

  async function takeLeadership(): Promise<boolean> {
    if (!driver.reserve) return true;
    if (session) {
      try {
        await session.query('select 1');
        return true;
      } catch (error) {
        options.logger.warn({ error: (error as Error).message }, 'the leader lock connection was lost');
        await dropSession();
      }
    }
    let candidate: ReservedConnection | undefined;
    try {
      candidate = await driver.reserve();
      const [row] = await candidate.query<{ locked: boolean }>(
        'select pg_try_advisory_lock(hashtext($1)) as locked',
        [leaderLock],
      );
      if (row?.locked) {
        session = candidate;
        return true;
      }
    } catch (error) {
      options.logger.warn({ error: (error as Error).message }, 'could not take the leader lock');
    }
    await candidate?.release().catch(() => {});
    return false;
  }
}
