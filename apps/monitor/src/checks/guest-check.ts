import type { ClusterResources, Guest } from '@haia/proxmox';
import type { CheckOutcome, Observation } from '../observation.js';
import { guestLabel } from './units.js';

/** What the guest check remembers between runs: the guests that were running, and when it ran. */
export interface GuestMemory {
  running: string[];
  /** ISO time of the run (absent in memory written before it was kept). */
  checkedAt?: string;
}

/**
 * The guests that were running at the previous run and are stopped now, on online nodes: the ones
 * whose stop may have been asked for (see `findStopsOnPurpose`) before {@link checkGuests} alerts.
 */
export function newlyStoppedGuests(resources: ClusterResources, memory: GuestMemory | undefined): Guest[] {
  const wasRunning = new Set(memory?.running ?? []);
  const offlineNodes = new Set(resources.nodes.filter((node) => !node.online).map((node) => node.node));
  return resources.guests.filter(
    (guest) =>
      !guest.template &&
      guest.status !== 'running' &&
      wasRunning.has(String(guest.vmid)) &&
      !offlineNodes.has(guest.node),
  );
}

/**
 * Guests that were running at the previous run and are stopped now. Guests on an offline node are
 * left to the node check (one alert for the node, not one per guest): their state cannot be seen, so
 * their alerts stay as they are (`unknown`), neither resolved nor new. Templates are ignored. A
 * guest in `stoppedOnPurpose` (its vmid: someone shut it down through Proxmox) is not alerted and is
 * forgotten as running, so it stays quiet until it runs again. `checkedAt` is this run's time.
 */
export function checkGuests(
  resources: ClusterResources,
  memory: GuestMemory | undefined,
  checkedAt: Date,
  stoppedOnPurpose: ReadonlySet<string> = new Set(),
): { outcome: CheckOutcome; memory: GuestMemory } {
  const offlineNodes = new Set(resources.nodes.filter((node) => !node.online).map((node) => node.node));
  const wasRunning = new Set(memory?.running ?? []);
  const running: string[] = [];
  const observations: Observation[] = [];
  const unknown: string[] = [];
  for (const guest of resources.guests) {
    if (guest.template) continue;
    const id = String(guest.vmid);
    if (offlineNodes.has(guest.node)) {
      if (wasRunning.has(id)) running.push(id);
      unknown.push(`guest:${id}`);
      continue;
    }
    if (guest.status === 'running') {
      running.push(id);
      observations.push({
        key: `guest:${id}`,
        ok: true,
        severity: 'warning',
        title: `${guestLabel(guest)} stopped`,
        body: `${guestLabel(guest)} is running again on ${guest.node}.`,
      });
      continue;
    }
    if (!wasRunning.has(id) || stoppedOnPurpose.has(id)) continue;
    running.push(id);
    observations.push({
      key: `guest:${id}`,
      ok: false,
      severity: 'warning',
      title: `${guestLabel(guest)} stopped`,
      body: `${guestLabel(guest)} on ${guest.node} was running and is now ${guest.status}.`,
      fields: [
        { name: 'Node', value: guest.node },
        { name: 'Status', value: guest.status },
        ...(guest.tags.length ? [{ name: 'Tags', value: guest.tags.join(', ') }] : []),
      ],
    });
  }
  return {
    outcome: { check: 'guests', observations, unknown },
    memory: { running, checkedAt: checkedAt.toISOString() },
  };
}
