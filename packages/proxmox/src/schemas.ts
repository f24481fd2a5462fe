import { z } from 'zod';
import { isTaskFailed, taskWarnings } from './tasks.js';
import type {
  CephHealthCheck,
  CephStatus,
  ClusterResources,
  ClusterStatus,
  Guest,
  GuestPressure,
  GuestStatus,
  GuestType,
  NodeResource,
  NodeStatus,
  NodeStorage,
  ProxmoxVersion,
  StorageResource,
  Task,
  TaskPage,
} from './types.js';
import { splitList, wireFlag, wireNumber, wireText } from './wire.js';

/** Schemas of every response the client reads, turning the wire shapes into the types of `types.ts`. */

const optionalNumber = wireNumber.optional();
const optionalFlag = wireFlag.optional();

export const versionSchema = z
  .object({ version: z.string(), release: z.string(), repoid: z.string() })
  .transform((raw): ProxmoxVersion => ({ version: raw.version, release: raw.release, repoId: raw.repoid }));

const clusterEntry = z.object({
  type: z.literal('cluster'),
  name: z.string().optional(),
  nodes: optionalNumber,
  version: optionalNumber,
  quorate: optionalFlag,
});
const clusterNodeEntry = z.object({
  type: z.literal('node'),
  name: z.string(),
  nodeid: optionalNumber,
  ip: z.string().optional(),
  online: optionalFlag,
  local: optionalFlag,
  level: z.string().optional(),
});

export const clusterStatusSchema = z
  .array(z.union([clusterEntry, clusterNodeEntry, z.object({ type: z.string() }).loose()]))
  .transform((entries): ClusterStatus => {
    const cluster = entries.find((entry): entry is z.output<typeof clusterEntry> => entry.type === 'cluster');
    const nodes = entries
      .filter((entry): entry is z.output<typeof clusterNodeEntry> => entry.type === 'node' && 'name' in entry)
      .map((entry) => ({
        name: entry.name,
        nodeId: entry.nodeid,
        ip: entry.ip,
        online: entry.online ?? false,
        local: entry.local ?? false,
        level: entry.level ?? '',
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return {
      clustered: cluster !== undefined,
      name: cluster?.name,
      quorate: cluster ? (cluster.quorate ?? false) : true,
      nodeCount: cluster?.nodes ?? nodes.length,
      configVersion: cluster?.version,
      nodes,
    };
  });

/** Fields a guest has in `/cluster/resources` and in `/nodes/{node}/qemu|lxc`. */
const guestFields = {
  vmid: wireNumber,
  name: z.string().optional(),
  node: z.string().optional(),
  status: z.string().optional(),
  template: optionalFlag,
  uptime: optionalNumber,
  cpu: optionalNumber,
  maxcpu: optionalNumber,
  cpus: optionalNumber,
  mem: optionalNumber,
  maxmem: optionalNumber,
  disk: optionalNumber,
  maxdisk: optionalNumber,
  netin: optionalNumber,
  netout: optionalNumber,
  diskread: optionalNumber,
  diskwrite: optionalNumber,
  tags: z.string().optional(),
  lock: z.string().optional(),
  pool: z.string().optional(),
  hastate: z.string().optional(),
};
const guestObject = z.object(guestFields);
type RawGuest = z.output<typeof guestObject>;

function toGuest(raw: RawGuest, type: GuestType, node: string): Guest {
  return {
    vmid: raw.vmid,
    type,
    name: raw.name ?? (type === 'qemu' ? `VM ${raw.vmid}` : `CT${raw.vmid}`),
    node: raw.node ?? node,
    status: raw.status ?? 'unknown',
    template: raw.template ?? false,
    uptimeSeconds: raw.uptime ?? 0,
    cpuFraction: raw.cpu ?? 0,
    cpuCount: raw.maxcpu ?? raw.cpus ?? 0,
    memoryBytes: raw.mem ?? 0,
    maxMemoryBytes: raw.maxmem ?? 0,
    diskBytes: raw.disk ?? 0,
    maxDiskBytes: raw.maxdisk ?? 0,
    netInBytes: raw.netin ?? 0,
    netOutBytes: raw.netout ?? 0,
    diskReadBytes: raw.diskread ?? 0,
    diskWriteBytes: raw.diskwrite ?? 0,
    tags: splitList(raw.tags),
    lock: raw.lock,
    pool: raw.pool,
    haState: raw.hastate,
  };
}

const nodeObject = z.object({
  node: z.string(),
  status: z.string().optional(),
  uptime: optionalNumber,
  cpu: optionalNumber,
  maxcpu: optionalNumber,
  mem: optionalNumber,
  maxmem: optionalNumber,
  disk: optionalNumber,
  maxdisk: optionalNumber,
  level: z.string().optional(),
});

function toNode(raw: z.output<typeof nodeObject>): NodeResource {
  const status = raw.status ?? 'unknown';
  return {
    node: raw.node,
    status,
    online: status === 'online',
    uptimeSeconds: raw.uptime,
    cpuFraction: raw.cpu,
    cpuCount: raw.maxcpu,
    memoryBytes: raw.mem,
    maxMemoryBytes: raw.maxmem,
    diskBytes: raw.disk,
    maxDiskBytes: raw.maxdisk,
    level: raw.level,
  };
}

const storageObject = z.object({
  storage: z.string(),
  node: z.string(),
  plugintype: z.string().optional(),
  status: z.string().optional(),
  shared: optionalFlag,
  content: z.string().optional(),
  disk: optionalNumber,
  maxdisk: optionalNumber,
});

const resourceEntry = z.object({ type: z.string(), id: z.string() }).loose();

export const clusterResourcesSchema = z
  .array(resourceEntry)
  .transform((entries, context): ClusterResources => {
    const result: ClusterResources = { guests: [], nodes: [], storage: [] };
    for (const [index, entry] of entries.entries()) {
      const parse = <T extends z.ZodType>(schema: T): z.output<T> | undefined => {
        const parsed = schema.safeParse(entry);
        if (parsed.success) return parsed.data;
        for (const issue of parsed.error.issues) {
          context.addIssue({ code: 'custom', message: issue.message, path: [index, ...issue.path] });
        }
        return undefined;
      };
      if (entry.type === 'qemu' || entry.type === 'lxc') {
        const raw = parse(guestObject);
        if (raw) result.guests.push(toGuest(raw, entry.type, ''));
      } else if (entry.type === 'node') {
        const raw = parse(nodeObject);
        if (raw) result.nodes.push(toNode(raw));
      } else if (entry.type === 'storage') {
        const raw = parse(storageObject);
        if (raw) result.storage.push(toStorageResource(raw));
      }
    }
    result.guests.sort((a, b) => a.vmid - b.vmid);
    result.nodes.sort((a, b) => a.node.localeCompare(b.node));
    result.storage.sort((a, b) => a.storage.localeCompare(b.storage) || a.node.localeCompare(b.node));
    return result;
  });

function toStorageResource(raw: z.output<typeof storageObject>): StorageResource {
  return {
    storage: raw.storage,
    node: raw.node,
    pluginType: raw.plugintype ?? 'unknown',
    status: raw.status ?? 'unknown',
    shared: raw.shared ?? false,
    content: splitList(raw.content, /,/),
    usedBytes: raw.disk ?? 0,
    totalBytes: raw.maxdisk ?? 0,
  };
}

export const nodesSchema = z
  .array(nodeObject)
  .transform((nodes) => nodes.map(toNode).sort((a, b) => a.node.localeCompare(b.node)));

/** `/nodes/{node}/qemu` or `/nodes/{node}/lxc`: the node and type come from the request. */
export function guestListSchema(type: GuestType, node: string) {
  return z
    .array(guestObject)
    .transform((guests) => guests.map((raw) => toGuest(raw, type, node)).sort((a, b) => a.vmid - b.vmid));
}

const memoryObject = z.object({
  total: wireNumber,
  used: wireNumber,
  free: optionalNumber,
  available: optionalNumber,
  avail: optionalNumber,
});

export function nodeStatusSchema(node: string) {
  return z
    .object({
      uptime: optionalNumber,
      cpu: optionalNumber,
      wait: optionalNumber,
      loadavg: z.array(wireNumber).optional(),
      memory: memoryObject,
      swap: memoryObject.optional(),
      rootfs: memoryObject,
      cpuinfo: z
        .object({
          model: z.string().optional(),
          cpus: optionalNumber,
          cores: optionalNumber,
          sockets: optionalNumber,
          mhz: optionalNumber,
          hvm: optionalFlag,
        })
        .optional(),
      pveversion: z.string().optional(),
      'current-kernel': z.object({ release: z.string().optional() }).optional(),
      kversion: z.string().optional(),
      'boot-info': z.object({ mode: z.string().optional() }).optional(),
    })
    .transform(
      (raw): NodeStatus => ({
        node,
        uptimeSeconds: raw.uptime ?? 0,
        cpuFraction: raw.cpu ?? 0,
        ioWaitFraction: raw.wait,
        loadAverage: raw.loadavg ?? [],
        memory: {
          totalBytes: raw.memory.total,
          usedBytes: raw.memory.used,
          freeBytes: raw.memory.free ?? raw.memory.total - raw.memory.used,
          availableBytes: raw.memory.available,
        },
        swap: raw.swap && {
          totalBytes: raw.swap.total,
          usedBytes: raw.swap.used,
          freeBytes: raw.swap.free ?? raw.swap.total - raw.swap.used,
          availableBytes: undefined,
        },
        rootfs: {
          totalBytes: raw.rootfs.total,
          usedBytes: raw.rootfs.used,
          freeBytes: raw.rootfs.free ?? raw.rootfs.total - raw.rootfs.used,
          availableBytes: raw.rootfs.avail ?? raw.rootfs.free ?? raw.rootfs.total - raw.rootfs.used,
        },
        cpu: {
          model: raw.cpuinfo?.model ?? 'unknown',
          cpus: raw.cpuinfo?.cpus ?? 0,
          cores: raw.cpuinfo?.cores ?? 0,
          sockets: raw.cpuinfo?.sockets ?? 0,
          mhz: raw.cpuinfo?.mhz,
          hvm: raw.cpuinfo?.hvm,
        },
        pveVersion: raw.pveversion,
        kernelRelease: raw['current-kernel']?.release ?? raw.kversion,
        bootMode: raw['boot-info']?.mode,
      }),
    );
}

const pressureFields = {
  pressurecpusome: optionalNumber,
  pressurecpufull: optionalNumber,
  pressureiosome: optionalNumber,
  pressureiofull: optionalNumber,
  pressurememorysome: optionalNumber,
  pressurememoryfull: optionalNumber,
};

export function guestStatusSchema(type: GuestType, node: string) {
  return z
    .object({
      ...guestFields,
      ...pressureFields,
      qmpstatus: z.string().optional(),
      pid: optionalNumber,
      ha: z
        .object({ managed: optionalFlag, state: z.string().optional(), group: z.string().optional() })
        .optional(),
      agent: optionalFlag,
      swap: optionalNumber,
      maxswap: optionalNumber,
      freemem: optionalNumber,
      'running-qemu': z.string().optional(),
      'running-machine': z.string().optional(),
    })
    .transform((raw): GuestStatus => {
      const { pool: _pool, haState: _haState, ...guest } = toGuest(raw, type, node);
      const pressure: GuestPressure = {
        cpuSome: raw.pressurecpusome,
        cpuFull: raw.pressurecpufull,
        ioSome: raw.pressureiosome,
        ioFull: raw.pressureiofull,
        memorySome: raw.pressurememorysome,
        memoryFull: raw.pressurememoryfull,
      };
      return {
        ...guest,
        qmpStatus: raw.qmpstatus ?? (type === 'lxc' ? guest.status : undefined),
        pid: raw.pid,
        ha: { managed: raw.ha?.managed ?? false, state: raw.ha?.state, group: raw.ha?.group },
        agent: raw.agent,
        pressure: Object.values(pressure).some((value) => value !== undefined) ? pressure : undefined,
        swapBytes: raw.swap,
        maxSwapBytes: raw.maxswap,
        freeMemoryBytes: raw.freemem,
        runningQemu: raw['running-qemu'],
        runningMachine: raw['running-machine'],
      };
    });
}

export function nodeStorageSchema(node: string) {
  return z
    .array(
      z.object({
        storage: z.string(),
        type: z.string(),
        content: z.string().optional(),
        shared: optionalFlag,
        active: optionalFlag,
        enabled: optionalFlag,
        total: optionalNumber,
        used: optionalNumber,
        avail: optionalNumber,
        used_fraction: optionalNumber,
      }),
    )
    .transform((list) =>
      list
        .map(
          (raw): NodeStorage => ({
            storage: raw.storage,
            node,
            type: raw.type,
            content: splitList(raw.content, /,/),
            shared: raw.shared ?? false,
            active: raw.active ?? false,
            enabled: raw.enabled ?? true,
            totalBytes: raw.total ?? 0,
            usedBytes: raw.used ?? 0,
            availableBytes: raw.avail ?? 0,
            usedFraction: raw.used_fraction,
          }),
        )
        .sort((a, b) => a.storage.localeCompare(b.storage)),
    );
}

const cephCheck = z.object({
  severity: z.string().optional(),
  summary: z.object({ message: z.string().optional(), count: optionalNumber }).optional(),
  detail: z.array(z.object({ message: z.string() })).optional(),
  muted: z.boolean().optional(),
});

export const cephStatusSchema = z
  .object({
    fsid: z.string().optional(),
    health: z.object({
      status: z.string(),
      checks: z.record(z.string(), cephCheck).optional(),
    }),
    quorum_names: z.array(z.string()).optional(),
    monmap: z
      .object({ mons: z.array(z.unknown()).optional() })
      .loose()
      .optional(),
    mgrmap: z
      .object({
        active_name: z.string().optional(),
        standbys: z.array(z.object({ name: z.string() }).loose()).optional(),
      })
      .loose()
      .optional(),
    osdmap: z
      .object({
        num_osds: optionalNumber,
        num_up_osds: optionalNumber,
        num_in_osds: optionalNumber,
        osdmap: z
          .object({ num_osds: optionalNumber, num_up_osds: optionalNumber, num_in_osds: optionalNumber })
          .optional(),
      })
      .optional(),
    pgmap: z
      .object({
        num_pgs: optionalNumber,
        pgs_by_state: z.array(z.object({ state_name: z.string(), count: wireNumber })).optional(),
        bytes_used: optionalNumber,
        bytes_avail: optionalNumber,
        bytes_total: optionalNumber,
        data_bytes: optionalNumber,
        read_bytes_sec: optionalNumber,
        write_bytes_sec: optionalNumber,
        read_op_per_sec: optionalNumber,
        write_op_per_sec: optionalNumber,
        degraded_objects: optionalNumber,
        misplaced_objects: optionalNumber,
        unfound_objects: optionalNumber,
      })
      .optional(),
  })
  .transform((raw): CephStatus => {
    const checks = Object.entries(raw.health.checks ?? {})
      .map(
        ([code, check]): CephHealthCheck => ({
          code,
          severity: check.severity ?? 'HEALTH_WARN',
          summary: check.summary?.message ?? code,
          count: check.summary?.count,
          details: (check.detail ?? []).map((detail) => detail.message),
          muted: check.muted ?? false,
        }),
      )
      .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.code.localeCompare(b.code));
    const osdmap = raw.osdmap?.osdmap ?? raw.osdmap;
    const pgmap = raw.pgmap;
    const byState = (pgmap?.pgs_by_state ?? [])
      .map((entry) => ({ state: entry.state_name, count: entry.count }))
      .sort((a, b) => b.count - a.count);
    const recovering =
      (pgmap?.degraded_objects ?? 0) + (pgmap?.misplaced_objects ?? 0) + (pgmap?.unfound_objects ?? 0) > 0;
    return {
      fsid: raw.fsid,
      health: raw.health.status,
      checks,
      monitors: { quorum: raw.quorum_names ?? [], count: raw.monmap?.mons?.length },
      managers: {
        active: raw.mgrmap?.active_name,
        standbys: (raw.mgrmap?.standbys ?? []).map((standby) => standby.name),
      },
      osds: { total: osdmap?.num_osds ?? 0, up: osdmap?.num_up_osds ?? 0, in: osdmap?.num_in_osds ?? 0 },
      placementGroups: {
        total: pgmap?.num_pgs ?? byState.reduce((sum, entry) => sum + entry.count, 0),
        byState,
      },
      usage: {
        usedBytes: pgmap?.bytes_used ?? 0,
        availableBytes: pgmap?.bytes_avail ?? 0,
        totalBytes: pgmap?.bytes_total ?? 0,
        dataBytes: pgmap?.data_bytes,
      },
      io: {
        readBytesPerSecond: pgmap?.read_bytes_sec ?? 0,
        writeBytesPerSecond: pgmap?.write_bytes_sec ?? 0,
        readOpsPerSecond: pgmap?.read_op_per_sec ?? 0,
        writeOpsPerSecond: pgmap?.write_op_per_sec ?? 0,
      },
      recovery: recovering
        ? {
            degradedObjects: pgmap?.degraded_objects ?? 0,
            misplacedObjects: pgmap?.misplaced_objects ?? 0,
            unfoundObjects: pgmap?.unfound_objects ?? 0,
          }
        : undefined,
    };
  });

function severityRank(severity: string): number {
  return severity === 'HEALTH_ERR' ? 2 : severity === 'HEALTH_WARN' ? 1 : 0;
}

const taskObject = z.object({
  upid: z.string(),
  node: z.string(),
  type: z.string(),
  id: wireText.optional(),
  user: z.string(),
  tokenid: z.string().optional(),
  starttime: wireNumber,
  endtime: optionalNumber,
  status: z.string().optional(),
});

function toTask(raw: z.output<typeof taskObject>): Task {
  const running = raw.endtime === undefined || raw.status === undefined || raw.status === 'RUNNING';
  return {
    upid: raw.upid,
    node: raw.node,
    type: raw.type,
    id: raw.id ?? '',
    user: raw.user,
    tokenId: raw.tokenid,
    startedAt: new Date(raw.starttime * 1000),
    endedAt: raw.endtime === undefined ? undefined : new Date(raw.endtime * 1000),
    durationSeconds: raw.endtime === undefined ? undefined : raw.endtime - raw.starttime,
    status: raw.status,
    running,
    failed: !running && isTaskFailed(raw.status),
    warnings: taskWarnings(raw.status),
  };
}

function newestFirst(a: Task, b: Task): number {
  return b.startedAt.getTime() - a.startedAt.getTime() || a.upid.localeCompare(b.upid);
}

export const clusterTasksSchema = z
  .array(taskObject)
  .transform((tasks) => tasks.map(toTask).sort(newestFirst));

/** `/nodes/{node}/tasks` carries `total` beside `data`, so this one parses the whole body. */
export const taskPageSchema = z.object({ data: z.array(taskObject), total: optionalNumber }).transform(
  (raw): TaskPage => ({
    tasks: raw.data.map(toTask).sort(newestFirst),
    total: raw.total ?? raw.data.length,
  }),
);
