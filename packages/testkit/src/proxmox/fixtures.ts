import clusterCephStatus from './fixtures/cluster-ceph-status.json' with { type: 'json' };
import clusterResources from './fixtures/cluster-resources.json' with { type: 'json' };
import clusterStatus from './fixtures/cluster-status.json' with { type: 'json' };
import clusterTasks from './fixtures/cluster-tasks.json' with { type: 'json' };
import nodes from './fixtures/nodes.json' with { type: 'json' };
import pve1Lxc from './fixtures/nodes-pve1-lxc.json' with { type: 'json' };
import pve1Lxc200 from './fixtures/nodes-pve1-lxc-200-status-current.json' with { type: 'json' };
import pve1Qemu from './fixtures/nodes-pve1-qemu.json' with { type: 'json' };
import pve1Qemu100 from './fixtures/nodes-pve1-qemu-100-status-current.json' with { type: 'json' };
import pve1Status from './fixtures/nodes-pve1-status.json' with { type: 'json' };
import pve1Storage from './fixtures/nodes-pve1-storage.json' with { type: 'json' };
import pve1Tasks from './fixtures/nodes-pve1-tasks.json' with { type: 'json' };
import pve2Lxc from './fixtures/nodes-pve2-lxc.json' with { type: 'json' };
import pve2Lxc201 from './fixtures/nodes-pve2-lxc-201-status-current.json' with { type: 'json' };
import pve2Qemu from './fixtures/nodes-pve2-qemu.json' with { type: 'json' };
import pve2Qemu102 from './fixtures/nodes-pve2-qemu-102-status-current.json' with { type: 'json' };
import pve2Status from './fixtures/nodes-pve2-status.json' with { type: 'json' };
import pve2Storage from './fixtures/nodes-pve2-storage.json' with { type: 'json' };
import pve2Tasks from './fixtures/nodes-pve2-tasks.json' with { type: 'json' };
import version from './fixtures/version.json' with { type: 'json' };

/** A JSON object as Proxmox sends it. */
export type WireObject = Record<string, unknown>;

/**
 * The fixture bodies of the 2-node `homelab` cluster (copied from the shared Proxmox reference), as
 * fresh copies a fake can change.
 */
export function proxmoxFixtures() {
  const copy = <T>(value: T): T => structuredClone(value);
  return {
    version: copy(version.data) as WireObject,
    clusterStatus: copy(clusterStatus.data) as WireObject[],
    clusterResources: copy(clusterResources.data) as WireObject[],
    clusterTasks: copy(clusterTasks.data) as WireObject[],
    ceph: copy(clusterCephStatus.data) as WireObject,
    nodes: copy(nodes.data) as WireObject[],
    nodeStatus: { pve1: copy(pve1Status.data), pve2: copy(pve2Status.data) } as Record<string, WireObject>,
    nodeStorage: { pve1: copy(pve1Storage.data), pve2: copy(pve2Storage.data) } as Record<
      string,
      WireObject[]
    >,
    nodeTasks: { pve1: copy(pve1Tasks.data), pve2: copy(pve2Tasks.data) } as Record<string, WireObject[]>,
    qemu: [...copy(pve1Qemu.data), ...copy(pve2Qemu.data)] as WireObject[],
    lxc: [...copy(pve1Lxc.data), ...copy(pve2Lxc.data)] as WireObject[],
    current: {
      100: copy(pve1Qemu100.data),
      102: copy(pve2Qemu102.data),
      200: copy(pve1Lxc200.data),
      201: copy(pve2Lxc201.data),
    } as Record<number, WireObject>,
  };
}

/** The fixtures' reference time: 2026-05-12T10:00:00Z, in epoch seconds. Uptimes count back from it. */
export const PROXMOX_FIXTURE_NOW = 1778580000;
