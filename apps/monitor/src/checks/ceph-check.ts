import type { CephStatus } from '@haia/proxmox';
import type { CheckOutcome } from '../observation.js';

/** Ceph health: `HEALTH_WARN` is a warning, `HEALTH_ERR` critical, each with its checks named. */
export function checkCeph(status: CephStatus): CheckOutcome {
  const ok = status.health === 'HEALTH_OK';
  const checks = status.checks.filter((check) => !check.muted);
  const summary = checks.map((check) => `${check.code}: ${check.summary}`).join('\n');
  return {
    check: 'ceph',
    observations: [
      {
        key: 'ceph:health',
        ok,
        severity: status.health === 'HEALTH_ERR' ? 'critical' : 'warning',
        title: `Ceph ${status.health}`,
        body: ok ? 'Ceph is HEALTH_OK again.' : summary || `Ceph reports ${status.health}.`,
        fields: [
          { name: 'OSDs up/in', value: `${status.osds.up}/${status.osds.in} of ${status.osds.total}` },
          ...checks
            .slice(0, 5)
            .map((check) => ({ name: check.code, value: check.details[0] ?? check.summary })),
        ],
      },
    ],
  };
}
