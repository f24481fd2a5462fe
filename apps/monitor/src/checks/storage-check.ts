import type { ClusterResources } from '@haia/proxmox';
import type { CheckOutcome, Observation } from '../observation.js';
import { formatBytes } from './units.js';

/** Storage at or above `thresholdPercent` used (critical from 95%). Shared storage counts once. */
export function checkStorage(resources: ClusterResources, thresholdPercent: number): CheckOutcome {
  const observations: Observation[] = [];
  const sharedSeen = new Set<string>();
  for (const storage of resources.storage) {
    if (storage.totalBytes <= 0 || storage.status !== 'available') continue;
    if (storage.shared) {
      if (sharedSeen.has(storage.storage)) continue;
      sharedSeen.add(storage.storage);
    }
    const percent = (storage.usedBytes / storage.totalBytes) * 100;
    const where = storage.shared ? storage.storage : `${storage.node}/${storage.storage}`;
    const usage = `${percent.toFixed(1)}% used (${formatBytes(storage.usedBytes)} of ${formatBytes(storage.totalBytes)})`;
    observations.push({
      key: `storage:${where}`,
      ok: percent < thresholdPercent,
      severity: percent >= 95 ? 'critical' : 'warning',
      title: `Storage ${where} is ${Math.floor(percent)}% full`,
      body: `Storage ${where} is ${usage}; the alert threshold is ${thresholdPercent}%.`,
      fields: [
        { name: 'Storage', value: where },
        { name: 'Free', value: formatBytes(storage.totalBytes - storage.usedBytes) },
      ],
    });
  }
  return { check: 'storage', observations };
}
