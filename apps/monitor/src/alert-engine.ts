import type { Notification } from '@haia/notify';
import type { AlertRecord } from './alert-record.js';
import type { CheckOutcome, Observation } from './observation.js';

/** How alerts move from bad results to notifications. */
export interface AlertRules {
  /** Consecutive bad results before `pending` becomes `firing` (events fire at once). */
  failureThreshold: number;
  /** Consecutive good results before a firing alert resolves (default 1). */
  successThreshold?: number;
  /** Repeat a firing alert after this long; undefined never repeats. */
  reminderIntervalMs: number | undefined;
}

/** Why a notification goes out. */
export type NotificationKind = 'firing' | 'reminder' | 'resolved';

/** A notification the engine decided to send for an alert. */
export interface AlertNotification {
  key: string;
  kind: NotificationKind;
  notification: Notification;
}

/** The engine's decision after one check run: changed records and notifications to send. */
export interface Evaluation {
  records: AlertRecord[];
  notifications: AlertNotification[];
}

/**
 * The alert state machine: `ok -> pending -> firing -> resolved`, notifying once on firing, once on
 * resolve, and a reminder only after `reminderIntervalMs`. Pure: the caller passes the stored records
 * of this check and the time, and persists what comes back.
 */
export function evaluateCheck(
  outcome: CheckOutcome,
  stored: ReadonlyMap<string, AlertRecord>,
  rules: AlertRules,
  now: Date,
): Evaluation {
  const records: AlertRecord[] = [];
  const notifications: AlertNotification[] = [];
  const seen = new Set<string>(outcome.unknown);
  for (const observation of outcome.observations) {
    seen.add(observation.key);
    const previous = stored.get(observation.key);
    // A firing alert resolves only once the object has recovered (hysteresis), not when it is just
    // back under the threshold.
    const good = observation.ok && (previous?.status !== 'firing' || observation.recovered !== false);
    const result = good
      ? onGood(previous, rules, now, observation)
      : onBad(outcome.check, observation, previous, rules, now);
    if (result.record) records.push(result.record);
    if (result.notification) notifications.push(result.notification);
  }
  for (const previous of stored.values()) {
    if (previous.check !== outcome.check || seen.has(previous.key) || previous.event) continue;
    const result = onGood(previous, rules, now, undefined);
    if (result.record) records.push(result.record);
    if (result.notification) notifications.push(result.notification);
  }
  return { records, notifications };
}

const SEVERITY_RANK: Record<AlertRecord['severity'], number> = { info: 0, warning: 1, critical: 2 };

interface Step {
  record?: AlertRecord;
  notification?: AlertNotification;
}

function onBad(
  check: string,
  observation: Observation,
  previous: AlertRecord | undefined,
  rules: AlertRules,
  now: Date,
): Step {
  if (observation.event) {
    if (previous) return {};
    const record = {
      ...fresh(check, observation, now),
      status: 'resolved' as const,
      firingSince: now,
      lastNotifiedAt: now,
      resolvedAt: now,
    };
    return { record, notification: notify(record, 'firing') };
  }
  const active = previous && previous.status !== 'resolved' ? previous : undefined;
  const base: AlertRecord = active
    ? {
        ...active,
        ...describe(observation),
        consecutiveBad: active.consecutiveBad + 1,
        consecutiveGood: 0,
        updatedAt: now,
      }
    : fresh(check, observation, now);
  if (active?.status === 'firing') {
    // Worse than when it was last told (warning to critical): say so now, not at the next reminder.
    // A firing alert keeps its worst severity, so one that hovers at the boundary tells it once.
    if (SEVERITY_RANK[observation.severity] > SEVERITY_RANK[active.severity]) {
      const record = { ...base, lastNotifiedAt: now };
      return { record, notification: notify(record, 'firing') };
    }
    const firing = { ...base, severity: active.severity };
    const due =
      rules.reminderIntervalMs !== undefined &&
      firing.lastNotifiedAt !== null &&
      now.getTime() - firing.lastNotifiedAt.getTime() >= rules.reminderIntervalMs;
    if (!due) return { record: firing };
    const record = { ...firing, lastNotifiedAt: now };
    return { record, notification: notify(record, 'reminder') };
  }
  if (base.consecutiveBad >= rules.failureThreshold) {
    const record: AlertRecord = { ...base, status: 'firing', firingSince: now, lastNotifiedAt: now };
    return { record, notification: notify(record, 'firing') };
  }
  return { record: { ...base, status: 'pending' } };
}

function onGood(
  previous: AlertRecord | undefined,
  rules: AlertRules,
  now: Date,
  observation: Observation | undefined,
): Step {
  if (!previous || previous.status === 'resolved') return {};
  if (previous.status === 'pending') {
    return {
      record: {
        ...previous,
        status: 'resolved',
        consecutiveBad: 0,
        consecutiveGood: 1,
        resolvedAt: now,
        updatedAt: now,
      },
    };
  }
  const consecutiveGood = previous.consecutiveGood + 1;
  if (consecutiveGood < (rules.successThreshold ?? 1)) {
    return { record: { ...previous, consecutiveGood, updatedAt: now } };
  }
  const record: AlertRecord = {
    ...previous,
    status: 'resolved',
    consecutiveBad: 0,
    consecutiveGood,
    resolvedAt: now,
    lastNotifiedAt: now,
    updatedAt: now,
  };
  const since = previous.firingSince ?? previous.firstBadAt ?? now;
  const body = [
    observation?.body ?? 'The problem is no longer seen.',
    `It lasted ${formatDuration(now.getTime() - since.getTime())}.`,
  ].join(' ');
  return {
    record,
    notification: notify({ ...record, body, fields: observation?.fields ?? record.fields }, 'resolved'),
  };
}

function describe(
  observation: Observation,
): Pick<AlertRecord, 'severity' | 'title' | 'body' | 'fields' | 'links'> {
  return {
    severity: observation.severity,
    title: observation.title,
    body: observation.body,
    fields: observation.fields ?? [],
    links: observation.links ?? [],
  };
}

function fresh(check: string, observation: Observation, now: Date): AlertRecord {
  return {
    key: observation.key,
    check,
    status: 'pending',
    ...describe(observation),
    event: observation.event === true,
    consecutiveBad: 1,
    consecutiveGood: 0,
    firstBadAt: now,
    firingSince: null,
    lastNotifiedAt: null,
    resolvedAt: null,
    updatedAt: now,
  };
}

function notify(record: AlertRecord, kind: NotificationKind): AlertNotification {
  return {
    key: record.key,
    kind,
    notification: {
      title: kind === 'reminder' ? `Still: ${record.title}` : record.title,
      body: record.body,
      severity: record.severity,
      state: kind === 'resolved' ? 'resolved' : 'firing',
      fields: record.fields,
      links: record.links,
    },
  };
}

/** `1h 5m`, `12m`, `40s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const parts = [days ? `${days}d` : '', hours ? `${hours}h` : '', minutes ? `${minutes}m` : ''].filter(
    Boolean,
  );
  return parts.length > 0 ? parts.slice(0, 2).join(' ') : `${seconds}s`;
}
