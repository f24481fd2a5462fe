/**
 * The normalised shapes the client returns: booleans for Proxmox's 0/1 flags, numbers for its numeric
 * strings, units in the field names (`memoryBytes`, `uptimeSeconds`), and defaults for the fields
 * Proxmox leaves out for stopped guests.
 */

/** `GET /version`. */
export interface ProxmoxVersion {
  /** Full pve-manager version, such as `9.1.4`. */
  version: string;
  /** Major.minor release, such as `9.1`. */
  release: string;
  repoId: string;
}

/** One node as `GET /cluster/status` lists it. */
export interface ClusterNode {
  name: string;
  nodeId: number | undefined;
  ip: string | undefined;
  online: boolean;
  /** Whether this is the node that answered the request. */
  local: boolean;
  /** Subscription level; empty when there is none. */
  level: string;
}

/** `GET /cluster/status`: the cluster's quorum and its nodes. */
export interface ClusterStatus {
  /** False for a single host that is not part of a cluster. */
  clustered: boolean;
  /** The cluster name, undefined for a single host. */
  name: string | undefined;
  /** Whether the cluster has quorum (a single host always has). */
  quorate: boolean;
  /** Configured nodes, offline ones included. */
  nodeCount: number;
  /** Corosync config version. */
  configVersion: number | undefined;
  nodes: ClusterNode[];
}

/** A guest type: a QEMU virtual machine or an LXC container. */
export type GuestType = 'qemu' | 'lxc';

/** A VM or container as `GET /cluster/resources` or `GET /nodes/{node}/qemu|lxc` lists it. */
export interface Guest {
  vmid: number;
  type: GuestType;
  name: string;
  node: string;
  /** `running` (a paused VM too: see `qmpStatus` of its status), `stopped`, or `unknown` (no data yet, or its node is offline). */
  status: string;
  template: boolean;
  /** 0 when stopped. */
  uptimeSeconds: number;
  /** CPU use as a fraction of all its cores (0..1); 0 when stopped. */
  cpuFraction: number;
  /** Number of virtual CPUs. */
  cpuCount: number;
  memoryBytes: number;
  maxMemoryBytes: number;
  /** Used disk space; Proxmox always reports 0 for VMs. */
  diskBytes: number;
  maxDiskBytes: number;
  netInBytes: number;
  netOutBytes: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  tags: string[];
  /** A lock such as `backup` or `migrate`, when one is held. */
  lock: string | undefined;
  pool: string | undefined;
  /** High-availability state, when the guest is HA-managed. */
  haState: string | undefined;
}

/** A node as `GET /cluster/resources` or `GET /nodes` lists it; usage is undefined when it is offline. */
export interface NodeResource {
  node: string;
  /** `online`, `offline` or `unknown`. */
  status: string;
  online: boolean;
  uptimeSeconds: number | undefined;
  cpuFraction: number | undefined;
  cpuCount: number | undefined;
  memoryBytes: number | undefined;
  maxMemoryBytes: number | undefined;
  /** Root filesystem use. */
  diskBytes: number | undefined;
  maxDiskBytes: number | undefined;
  level: string | undefined;
}

/** A storage on one node as `GET /cluster/resources` lists it. */
export interface StorageResource {
  storage: string;
  node: string;
  /** Plugin type: `dir`, `lvmthin`, `rbd`, `zfspool`, `nfs`... */
  pluginType: string;
  /** `available` or `unknown`. */
  status: string;
  shared: boolean;
  content: string[];
  usedBytes: number;
  totalBytes: number;
}

/** `GET /cluster/resources`, split by kind and sorted (pools, SDN and network entries are left out). */
export interface ClusterResources {
  guests: Guest[];
  nodes: NodeResource[];
  storage: StorageResource[];
}

/** Used/total pairs of a node's memory, swap or root filesystem. */
export interface NodeMemory {
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** Memory the kernel could hand out (free plus reclaimable); undefined for swap. */
  availableBytes: number | undefined;
}

/** `GET /nodes/{node}/status`. */
export interface NodeStatus {
  node: string;
  uptimeSeconds: number;
  cpuFraction: number;
  ioWaitFraction: number | undefined;
  /** 1, 5 and 15 minute load averages. */
  loadAverage: number[];
  memory: NodeMemory;
  swap: NodeMemory | undefined;
  rootfs: { totalBytes: number; usedBytes: number; freeBytes: number; availableBytes: number };
  cpu: {
    model: string;
    cpus: number;
    cores: number;
    sockets: number;
    mhz: number | undefined;
    /** Hardware virtualisation available. */
    hvm: boolean | undefined;
  };
  /** `pve-manager/9.1.4/<repoid>`. */
  pveVersion: string | undefined;
  kernelRelease: string | undefined;
  bootMode: string | undefined;
}

/** Pressure stall information (PVE 9), percentages. */
export interface GuestPressure {
  cpuSome: number | undefined;
  cpuFull: number | undefined;
  ioSome: number | undefined;
  ioFull: number | undefined;
  memorySome: number | undefined;
  memoryFull: number | undefined;
}

/** `GET /nodes/{node}/qemu|lxc/{vmid}/status/current`: a guest's live status. */
export interface GuestStatus extends Omit<Guest, 'pool' | 'haState'> {
  /** QEMU's own view (`running`, `paused`, `prelaunch`...); for containers the same as `status`. */
  qmpStatus: string | undefined;
  /** Process id on the node; undefined when stopped. */
  pid: number | undefined;
  ha: { managed: boolean; state: string | undefined; group: string | undefined };
  /** QEMU guest agent enabled in the config. */
  agent: boolean | undefined;
  pressure: GuestPressure | undefined;
  swapBytes: number | undefined;
  maxSwapBytes: number | undefined;
  /** Free memory the guest reports through the balloon driver. */
  freeMemoryBytes: number | undefined;
  runningQemu: string | undefined;
  runningMachine: string | undefined;
}

/** `GET /nodes/{node}/storage`: one storage as seen from that node. */
export interface NodeStorage {
  storage: string;
  node: string;
  /** Plugin type: `dir`, `lvmthin`, `rbd`... */
  type: string;
  content: string[];
  shared: boolean;
  active: boolean;
  enabled: boolean;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  /** Undefined when the storage is inactive (total 0). */
  usedFraction: number | undefined;
}

/** One Ceph health check (`OSD_DOWN`, `RECENT_CRASH`...). */
export interface CephHealthCheck {
  code: string;
  /** `HEALTH_WARN` or `HEALTH_ERR`. */
  severity: string;
  summary: string;
  count: number | undefined;
  details: string[];
  muted: boolean;
}

/** `GET /cluster/ceph/status`: health with its checks, OSDs, placement groups, usage and I/O. */
export interface CephStatus {
  fsid: string | undefined;
  /** `HEALTH_OK`, `HEALTH_WARN` or `HEALTH_ERR`. */
  health: string;
  checks: CephHealthCheck[];
  monitors: { quorum: string[]; count: number | undefined };
  managers: { active: string | undefined; standbys: string[] };
  osds: { total: number; up: number; in: number };
  placementGroups: { total: number; byState: Array<{ state: string; count: number }> };
  usage: { usedBytes: number; availableBytes: number; totalBytes: number; dataBytes: number | undefined };
  io: {
    readBytesPerSecond: number;
    writeBytesPerSecond: number;
    readOpsPerSecond: number;
    writeOpsPerSecond: number;
  };
  /** Objects not yet in their place, while Ceph recovers. */
  recovery: { degradedObjects: number; misplacedObjects: number; unfoundObjects: number } | undefined;
}

/** A task from `GET /nodes/{node}/tasks` or `GET /cluster/tasks`. */
export interface Task {
  upid: string;
  node: string;
  /** `qmstart`, `vzdump`, `aptupdate`... */
  type: string;
  /** The object the task is about, usually a vmid; empty when none. */
  id: string;
  user: string;
  tokenId: string | undefined;
  startedAt: Date;
  endedAt: Date | undefined;
  /** Undefined while running. */
  durationSeconds: number | undefined;
  /** `OK`, `WARNINGS: n`, `RUNNING`, or the error text itself; undefined while running. */
  status: string | undefined;
  running: boolean;
  /** Finished with anything but `OK` or `WARNINGS: n`. */
  failed: boolean;
  /** Number of warnings of a `WARNINGS: n` task. */
  warnings: number;
}

/** `GET /nodes/{node}/tasks`: a page of tasks, newest first, with the total matching. */
export interface TaskPage {
  tasks: Task[];
  total: number;
}
