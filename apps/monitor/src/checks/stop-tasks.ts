import type { Guest, ProxmoxClient, Task } from '@haia/proxmox';
import { ProxmoxError } from '@haia/proxmox';
import type { Logger } from 'pino';

/** The task types of a shutdown, stop or hibernation that someone asked Proxmox for. */
const STOP_TASK_TYPES = new Set(['qmshutdown', 'qmstop', 'qmsuspend', 'vzshutdown', 'vzstop']);

/**
 * How long before the previous run a stop task may have started and still count: a shutdown waits
 * for the guest (Proxmox's default timeout is 180 s for a VM, and a user may set longer ones).
 */
const STOP_LOOKBACK_MS = 3_600_000;

/** Slack on the previous run's time, for a task that ended while that run was reading the cluster. */
const CLOCK_SLACK_MS = 60_000;

/**
 * Which of `guests` (running at the previous run, at `previousRunAt`, and stopped now) were stopped
 * through Proxmox: a shutdown, stop or hibernate task of that guest (from the web UI, `qm`/`pct`, the
 * API, HA or a node's bulk stop) that is still running or finished without error since it was last
 * seen running. A guest that stopped with no such task (it crashed, was killed, or shut down from
 * inside) is not here, and neither is one whose node's task list could not be read (its alert goes
 * out as before). One task-list call per guest; the task that stopped each, by vmid.
 */
export async function findStopsOnPurpose(
  client: ProxmoxClient,
  guests: readonly Guest[],
  previousRunAt: Date,
  options: { logger: Logger; signal?: AbortSignal },
): Promise<Map<string, Task>> {
  const stops = new Map<string, Task>();
  const since = new Date(previousRunAt.getTime() - STOP_LOOKBACK_MS);
  const endedAfter = previousRunAt.getTime() - CLOCK_SLACK_MS;
  await Promise.all(
    guests.map(async (guest) => {
      try {
        const page = await client.nodeTasks(guest.node, {
          vmid: guest.vmid,
          since,
          source: 'all',
          limit: 50,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const task = page.tasks.find(
          (candidate) =>
            STOP_TASK_TYPES.has(candidate.type) &&
            candidate.id === String(guest.vmid) &&
            !candidate.failed &&
            (candidate.running || (candidate.endedAt ?? candidate.startedAt).getTime() >= endedAfter),
        );
        if (task) stops.set(String(guest.vmid), task);
      } catch (error) {
        if (!ProxmoxError.isInstance(error)) throw error;
        options.logger.warn(
          { vmid: guest.vmid, node: guest.node, error: error.message },
          'the tasks of a stopped guest could not be read: alerting as if it crashed',
        );
      }
    }),
  );
  return stops;
}
