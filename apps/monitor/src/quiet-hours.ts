import type { QuietHours } from '@haia/config';
import type { Notification, Severity } from '@haia/notify';
import type { HeldNotification } from './monitor-store.js';

/** True when `now` (local time) is inside the daily quiet window. */
export function isQuietTime(now: Date, quietHours: QuietHours | undefined): boolean {
  if (!quietHours) return false;
  const minute = now.getHours() * 60 + now.getMinutes();
  const { startMinute, endMinute } = quietHours;
  return startMinute < endMinute
    ? minute >= startMinute && minute < endMinute
    : minute >= startMinute || minute < endMinute;
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** One digest notification for everything held during quiet hours. */
export function buildDigest(held: readonly HeldNotification[]): Notification {
  const severity = held.reduce<Severity>(
    (worst, item) => (RANK[item.notification.severity] > RANK[worst] ? item.notification.severity : worst),
    'info',
  );
  const lines = held.map((item) => {
    const time = item.heldAt.toTimeString().slice(0, 5);
    const state = item.notification.state === 'resolved' ? 'resolved' : item.kind;
    return `${time} ${state}: ${item.notification.title}`;
  });
  return {
    title: `${held.length} alert${held.length === 1 ? '' : 's'} during quiet hours`,
    body: lines.join('\n'),
    severity,
    state: 'firing',
  };
}
