/** Small formatters that keep tool results short and give every number its unit. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `2684354560` -> `2.5 GiB` (binary units, as Proxmox's GUI shows them). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${BYTE_UNITS[unit]}`;
}

/** `0.0213` -> `2.1%`. */
export function formatPercent(fraction: number): string {
  const percent = fraction * 100;
  if (percent === 0) return '0%';
  if (percent < 0.1) return '<0.1%';
  return `${Number(percent.toFixed(percent >= 10 ? 0 : 1))}%`;
}

/** `1234499` -> `14d 6h`; `190` -> `3m 10s`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${rest}s`;
  return `${rest}s`;
}

/** A time in UTC to the minute: `2026-05-12 08:00 UTC`. */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `used of total (percent)`, or just `used` when the total is unknown. */
export function formatUsage(used: number, total: number): string {
  if (total <= 0) return formatBytes(used);
  return `${formatBytes(used)} of ${formatBytes(total)} (${formatPercent(used / total)})`;
}
