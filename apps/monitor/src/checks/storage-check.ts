import type { ClusterResources } from '@haia/proxmox';
import type { CheckOutcome, Observation } from '../observation.js';
import { formatBytes } from './units.js';

/**
 * How many points under the threshold a storage must fall before its firing alert resolves, so that
 * one hovering around the threshold (84.9%, 85.1%, 84.9%…) is one alert, not an alert every hour.
 */
export const STORAGE_RECOVERY_MARGIN_PERCENT = 2;

/**
 * Storage at or above `thresholdPercent` used (critical from 95%; a firing alert resolves below
 * `thresholdPercent - STORAGE_RECOVERY_MARGIN_PERCENT`), and storage that an online node
 * reports unavailable (an NFS or iSCSI target gone). Shared storage counts once. The fill alert of an
 * unavailable storage stays as it was: its use cannot be seen, so it is neither firing anew nor over.
 */
export function checkStorage(resources: ClusterResources, thresholdPercent: number): CheckOutcome {
  const observations: Observation[] = [];
  const unknown: string[] = [];
  const sharedSeen = new Set<string>();
  const online = new Set(resources.nodes.filter((node) => node.online).map((node) => node.node));
  for (const storage of resources.storage) {
    const where = storage.shared ? storage.storage : `${storage.node}/${storage.storage}`;
    if (storage.status !== 'available') {
      unknown.push(`storage:${where}`);
      // An offline node's storage is the node check's alert, not one per storage.
      if (!online.has(storage.node) || (storage.shared && sharedSeen.has(storage.storage))) continue;
      if (storage.shared) sharedSeen.add(storage.storage);
      observations.push({
        key: `storage-unavailable:${where}`,
        ok: false,
        severity: 'warning',
        title: `Storage ${where} is unavailable`,
        body: `Node ${storage.node} reports storage ${where} as ${storage.status}: its target (NFS, iSCSI, a disk) may be gone or unmounted.`,
        fields: [
          { name: 'Storage', value: where },
          { name: 'Node', value: storage.node },
        ],
      });
      continue;
    }
    if (storage.totalBytes <= 0) continue;
    if (storage.shared) {
      if (sharedSeen.has(storage.storage)) continue;
      sharedSeen.add(storage.storage);
    }
    const percent = (storage.usedBytes / storage.totalBytes) * 100;
    const usage = `${percent.toFixed(1)}% used (${formatBytes(storage.usedBytes)} of ${formatBytes(storage.totalBytes)})`;
    observations.push({
      key: `storage:${where}`,
      ok: percent < thresholdPercent,
      recovered: percent < thresholdPercent - STORAGE_RECOVERY_MARGIN_PERCENT,
      severity: percent >= 95 ? 'critical' : 'warning',
      title: `Storage ${where} is ${percent.toFixed(1)}% full`,
      body: `Storage ${where} is ${usage}; the alert threshold is ${thresholdPercent}%.`,
      fields: [
        { name: 'Storage', value: where },
        { name: 'Free', value: formatBytes(storage.totalBytes - storage.usedBytes) },
      ],
    });
  }
  return { check: 'storage', observations, unknown };
}
