import type { ClusterResources } from '@haia/proxmox';
import type { CheckOutcome, Observation } from '../observation.js';
import { guestLabel } from './units.js';

/** What the guest check remembers between runs: the guests that were running. */
export interface GuestMemory {
  running: string[];
}

/**
 * Guests that were running at the previous run and are stopped now. Guests on an offline node are
 * left to the node check (one alert for the node, not one per guest): their state cannot be seen, so
 * their alerts stay as they are (`unknown`), neither resolved nor new. Templates are ignored.
 */
export function checkGuests(
  resources: ClusterResources,
  memory: GuestMemory | undefined,
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
    if (!wasRunning.has(id)) continue;
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
  return { outcome: { check: 'guests', observations, unknown }, memory: { running } };
}
