/**
 * Whether a finished task failed: Proxmox counts anything but `OK` and `WARNINGS: <n>` as an error,
 * and then `status` holds the error text itself. Running tasks (no status, or `RUNNING`) did not fail.
 */
export function isTaskFailed(status: string | undefined): boolean {
  if (status === undefined || status === '' || status === 'RUNNING') return false;
  return status !== 'OK' && !/^WARNINGS: \d+$/.test(status);
}

/** The `n` of a `WARNINGS: n` status, else 0. */
export function taskWarnings(status: string | undefined): number {
  const match = status ? /^WARNINGS: (\d+)$/.exec(status) : null;
  return match ? Number(match[1]) : 0;
}
