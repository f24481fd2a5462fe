import type { MonitorConfig } from '@haia/config';
import type { Notification, Notifier } from '@haia/notify';
import { type ProxmoxClient, ProxmoxError } from '@haia/proxmox';
import type { Logger } from 'pino';
import { type AlertNotification, evaluateCheck } from './alert-engine.js';
import { checkCeph } from './checks/ceph-check.js';
import { checkGuests, type GuestMemory, newlyStoppedGuests } from './checks/guest-check.js';
import { checkNodes } from './checks/node-check.js';
import { findStopsOnPurpose } from './checks/stop-tasks.js';
import { checkStorage } from './checks/storage-check.js';
import { checkTasks } from './checks/task-check.js';
import type { MonitorMetrics } from './metrics.js';
import type { MonitorStore } from './monitor-store.js';
import type { CheckOutcome } from './observation.js';
import { oneAtATime } from './one-at-a-time.js';
import { buildDigest, isQuietTime } from './quiet-hours.js';
import { createUndeliveredQueue, MAX_UNDELIVERED } from './undelivered-queue.js';

/** The checks the monitor runs, each on its own schedule. */
export const CHECK_NAMES = ['guests', 'nodes', 'tasks', 'ceph', 'storage'] as const;

/** One of {@link CHECK_NAMES}. */
export type CheckName = (typeof CHECK_NAMES)[number];

/** Writes a short explanation for a firing alert, or undefined; must honour `signal`. */
export type AlertSummarizer = (
  notification: Notification,
  signal: AbortSignal,
) => Promise<string | undefined>;

/** Options of {@link createMonitor}. */
export interface MonitorOptions {
  client: ProxmoxClient;
  notifiers: readonly Notifier[];
  store: MonitorStore;
  rules: Pick<
    MonitorConfig,
    'failureThreshold' | 'reminderIntervalMs' | 'storageThresholdPercent' | 'quietHours' | 'vmIntervalMs'
  >;
  logger: Logger;
  metrics: MonitorMetrics;
  /** The clock (injectable for tests). */
  now?: () => Date;
  /** Adds an AI explanation to firing alerts (HAIA_MONITOR_AI_SUMMARY). */
  summarize?: AlertSummarizer;
  /** Time limit of the summary (default 20 s). */
  summaryTimeoutMs?: number;
}

/** The monitoring logic without the schedule: run a check, flush the quiet-hours digest. */
export interface Monitor {
  /** Runs one check now: asks Proxmox, updates the alerts, sends what is due. Never throws. */
  runCheck(name: CheckName, signal?: AbortSignal): Promise<void>;
  /**
   * Sends again the notifications no channel took, then the digest of held notifications when quiet
   * hours are over (the daemon calls it every minute).
   */
  flushDigest(signal?: AbortSignal): Promise<void>;
}

/** How long before the last run a failed task may have started and still be found (a long backup). */
const TASK_LOOKBACK_MS = 24 * 3_600_000;

/** Errors meaning the API itself cannot be reached or used: one `proxmox:api` alert, not a crash. */
const UNREACHABLE = new Set(['network', 'timeout', 'tls', 'auth', 'permission']);

/** Creates the monitor. */
export function createMonitor(options: MonitorOptions): Monitor {
  const { client, store, logger, metrics, rules } = options;
  const now = options.now ?? (() => new Date());
  /**
   * Notifications that every channel refused (Telegram down, a network outage): the alert's record
   * says it was notified, so without this it would stay unsent until its reminder, and a resolved
   * notice for good. Retried on each digest tick, in order; kept in the store, so a restart (or the
   * instance that takes over as leader) still sends them.
   */
  const undelivered = createUndeliveredQueue({ store, logger, max: MAX_UNDELIVERED, now });

  /** Evaluations and their writes run one at a time, so concurrent checks never race on a row. */
  const serialized = oneAtATime();

  async function gather(name: CheckName, signal: AbortSignal): Promise<CheckOutcome> {
    switch (name) {
      case 'guests': {
        const resources = await client.clusterResources({ signal });
        const memory = await store.getState<GuestMemory>('guests.running');
        const checkedAt = now();
        const stopped = newlyStoppedGuests(resources, memory);
        // A guest someone shut down through Proxmox is no alert: look for the task that stopped it.
        const previousRunAt = memory?.checkedAt
          ? new Date(memory.checkedAt)
          : new Date(checkedAt.getTime() - rules.vmIntervalMs);
        const onPurpose =
          stopped.length > 0
            ? await findStopsOnPurpose(client, stopped, previousRunAt, { logger, signal })
            : new Map();
        for (const [vmid, task] of onPurpose) {
          logger.info(
            { vmid: Number(vmid), node: task.node, task: task.type, user: task.user },
            'a guest was stopped through Proxmox: no alert',
          );
        }
        const result = checkGuests(resources, memory, checkedAt, new Set(onPurpose.keys()));
        await store.setState('guests.running', result.memory);
        return result.outcome;
      }
      case 'nodes': {
        const [resources, status] = await Promise.all([
          client.clusterResources({ signal }),
          client.clusterStatus({ signal }),
        ]);
        return checkNodes(resources, status);
      }
      case 'tasks': {
        const startedAt = now();
        const since =
          (await store.getState<string>('tasks.since')) ??
          new Date(startedAt.getTime() - rules.vmIntervalMs).toISOString();
        const endedSince = new Date(since);
        // Proxmox filters `since` on a task's start, and a long task that failed since the last run
        // (a nightly backup) started well before it: ask for a day more, keep those that ended since.
        const failed = await client.failedTasks({
          signal,
          since: new Date(endedSince.getTime() - TASK_LOOKBACK_MS),
        });
        if (failed.failedNodes.length > 0) {
          // Their tasks are read next time, from the same point (the others' are deduplicated by key).
          logger.warn({ nodes: failed.failedNodes }, 'the tasks of some nodes could not be read');
        } else {
          // A small overlap: tasks that ended during this run are seen again next time and deduplicated by key.
          await store.setState('tasks.since', new Date(startedAt.getTime() - 60_000).toISOString());
        }
        const tasks = failed.tasks.filter((task) => (task.endedAt ?? task.startedAt) >= endedSince);
        return checkTasks({ ...failed, tasks });
      }
      case 'ceph': {
        try {
          return checkCeph(await client.cephStatus({ signal }));
        } catch (error) {
          if (!ProxmoxError.isInstance(error)) throw error;
          // No Ceph on this cluster: nothing to watch (and nothing left firing).
          if (error.code === 'not-found') return { check: 'ceph', observations: [] };
          // Ceph itself does not answer (its monitors without quorum hang the status call): a Ceph
          // problem, not the API's, which the guests check watches.
          if (error.code === 'timeout') return cephSilent(error.message);
          throw error;
        }
      }
      case 'storage':
        // Nodes too: an offline node's storage is the node check's alert.
        return checkStorage(await client.clusterResources({ signal }), rules.storageThresholdPercent);
    }
  }

  async function evaluate(outcome: CheckOutcome): Promise<AlertNotification[]> {
    return serialized(async () => {
      const stored = new Map((await store.loadAlerts(outcome.check)).map((record) => [record.key, record]));
      const evaluation = evaluateCheck(outcome, stored, rules, now());
      if (evaluation.records.length > 0) await store.saveAlerts(evaluation.records);
      for (const record of evaluation.records) stored.set(record.key, record);
      const firing = [...stored.values()].filter((record) => record.status === 'firing').length;
      metrics.alertsFiring.set({ check: outcome.check }, firing);
      return evaluation.notifications;
    });
  }

  async function sendToAll(notification: Notification, signal: AbortSignal) {
    const results = await Promise.allSettled(
      options.notifiers.map((notifier) => notifier.send(notification, { signal })),
    );
    return results.map((result, index) => {
      const channel = options.notifiers[index]?.channel ?? 'unknown';
      metrics.notifications.inc({ channel, outcome: result.status === 'fulfilled' ? 'sent' : 'failed' });
      if (result.status === 'rejected') {
        logger.error(
          { channel, error: (result.reason as Error).message, title: notification.title },
          'notification failed',
        );
        return { channel, ok: false, error: (result.reason as Error).message };
      }
      return { channel, ok: true };
    });
  }

  /** Sends to every channel; true when one took it (or there is no channel to take it). */
  async function sendToAny(notification: Notification, signal: AbortSignal): Promise<boolean> {
    const results = await sendToAll(notification, signal);
    return results.length === 0 || results.some((result) => result.ok);
  }

  /** Sends to every channel; when none took it, queues it for {@link retryUndelivered}. */
  async function deliver(alert: AlertNotification, signal: AbortSignal) {
    if (await sendToAny(alert.notification, signal)) return;
    if (await queueUndelivered(alert))
      logger.warn(
        { key: alert.key, title: alert.notification.title },
        'no channel took the notification; retrying it in a minute',
      );
  }

  /** Adds to the undelivered queue; false (with an error log) when the database failed. */
  async function queueUndelivered(alert: AlertNotification): Promise<boolean> {
    try {
      await undelivered.add(alert);
      return true;
    } catch (error) {
      logger.error(
        { key: alert.key, title: alert.notification.title, error: (error as Error).message },
        'no channel took the notification, and it could not be kept for a retry: the database failed',
      );
      return false;
    }
  }

  /**
   * True when an earlier notification of the same alert still waits for a channel (its firing, while
   * this is its resolved notice): this one then queues behind it, so the two never arrive (or join
   * the digest) the wrong way round.
   */
  async function waitsBehindEarlier(alert: AlertNotification): Promise<boolean> {
    const waiting = await undelivered.list().catch(() => []);
    if (!waiting.some((entry) => entry.key === alert.key)) return false;
    if (await queueUndelivered(alert))
      logger.warn(
        { key: alert.key, title: alert.notification.title },
        'an earlier notification of this alert is still waiting for a channel; this one goes after it',
      );
    return true;
  }

  /**
   * Sends again what no channel took (non-critical ones during quiet hours go to the digest). Each
   * leaves the queue only once it was sent or held: a crash in between sends it again, never loses it.
   */
  async function retryUndelivered(signal: AbortSignal) {
    // An alert whose earlier notification is still waiting sends nothing later this round.
    const stuck = new Set<string>();
    for (const alert of await undelivered.list()) {
      if (signal.aborted) return;
      if (stuck.has(alert.key)) continue;
      if (!(await heldForQuietHours(alert)) && !(await sendToAny(alert.notification, signal))) {
        stuck.add(alert.key);
        logger.warn(
          { key: alert.key, title: alert.notification.title, queuedAt: alert.queuedAt },
          'no channel took the notification again; retrying it in a minute',
        );
        continue;
      }
      await undelivered.remove(alert.id);
    }
  }

  /** Holds a non-critical notification for the digest during quiet hours; true when it did. */
  async function heldForQuietHours(alert: AlertNotification): Promise<boolean> {
    if (alert.notification.severity === 'critical' || !isQuietTime(now(), rules.quietHours)) return false;
    await store.holdNotification({
      key: alert.key,
      kind: alert.kind,
      notification: alert.notification,
      heldAt: now(),
    });
    metrics.notifications.inc({ channel: 'all', outcome: 'held' });
    return true;
  }

  async function withSummary(alert: AlertNotification, signal: AbortSignal): Promise<Notification> {
    if (!options.summarize || alert.kind !== 'firing') return alert.notification;
    const timeout = AbortSignal.timeout(options.summaryTimeoutMs ?? 20_000);
    const combined = AbortSignal.any([signal, timeout]);
    try {
      const summary = await Promise.race([
        options.summarize(alert.notification, combined),
        new Promise<undefined>((resolve) =>
          combined.addEventListener('abort', () => resolve(undefined), { once: true }),
        ),
      ]);
      if (!summary) return alert.notification;
      return { ...alert.notification, body: `${alert.notification.body}\n\n${summary.trim()}` };
    } catch (error) {
      logger.warn(
        { key: alert.key, error: (error as Error).message },
        'AI summary failed; sending the alert without it',
      );
      return alert.notification;
    }
  }

  async function dispatch(alerts: AlertNotification[], signal: AbortSignal) {
    for (const alert of alerts) {
      logger.info(
        {
          key: alert.key,
          kind: alert.kind,
          severity: alert.notification.severity,
          title: alert.notification.title,
        },
        'alert',
      );
      if (await waitsBehindEarlier(alert)) continue;
      if (await heldForQuietHours(alert)) continue;
      await deliver({ ...alert, notification: await withSummary(alert, signal) }, signal);
    }
  }

  return {
    async runCheck(name, signal = new AbortController().signal) {
      const started = performance.now();
      let outcome = 'ok';
      try {
        let gathered: CheckOutcome | undefined;
        let unreachable: ProxmoxError | undefined;
        try {
          gathered = await gather(name, signal);
        } catch (error) {
          if (!ProxmoxError.isInstance(error) || !UNREACHABLE.has(error.code)) throw error;
          unreachable = error;
        }
        // Only the guests check (every HAIA_MONITOR_VM_INTERVAL) counts for the API alert: the checks
        // of one tick would each count one bad result, and the failure threshold would pass at once.
        const api =
          name !== 'guests'
            ? []
            : await evaluate({
                check: 'proxmox',
                observations: [
                  {
                    key: 'proxmox:api',
                    ok: !unreachable,
                    severity: 'critical',
                    title: 'Proxmox API unreachable',
                    body: unreachable ? unreachable.message : 'The Proxmox API answers again.',
                    fields: [{ name: 'URL', value: client.url }],
                  },
                ],
              });
        const alerts = gathered ? [...api, ...(await evaluate(gathered))] : api;
        outcome = unreachable ? 'unreachable' : 'ok';
        await dispatch(alerts, signal);
      } catch (error) {
        outcome = 'error';
        logger.error({ check: name, error: (error as Error).message }, 'check failed');
      } finally {
        const seconds = (performance.now() - started) / 1000;
        metrics.checks.inc({ check: name, outcome });
        metrics.checkDuration.observe({ check: name }, seconds);
        logger.info({ check: name, outcome, durationMs: Math.round(seconds * 1000) }, 'check run');
      }
    },

    async flushDigest(signal = new AbortController().signal) {
      await retryUndelivered(signal);
      if (isQuietTime(now(), rules.quietHours)) return;
      const held = await store.takeHeldNotifications();
      if (held.length === 0) return;
      logger.info({ count: held.length }, 'sending the quiet-hours digest');
      if (await sendToAny(buildDigest(held), signal)) return;
      // No channel took it: hold everything again, so the next tick sends the digest once more.
      try {
        for (const item of held) await store.holdNotification(item);
        logger.warn(
          { count: held.length },
          'no channel took the quiet-hours digest; retrying it in a minute',
        );
      } catch (error) {
        logger.error(
          {
            count: held.length,
            titles: held.map((item) => item.notification.title),
            error: (error as Error).message,
          },
          'no channel took the quiet-hours digest, and it could not be kept for a retry: the database failed',
        );
      }
    },
  };
}

/** The Ceph check's outcome when the status call timed out: Ceph health unknown, as a warning. */
function cephSilent(message: string): CheckOutcome {
  return {
    check: 'ceph',
    observations: [
      {
        key: 'ceph:health',
        ok: false,
        severity: 'warning',
        title: 'Ceph does not answer',
        body: `Asking Ceph for its status timed out, which happens when its monitors lost quorum: ${message}`,
      },
    ],
  };
}
