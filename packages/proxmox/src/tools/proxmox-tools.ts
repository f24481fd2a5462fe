import { defineTool, type Tool, type ToolOutput } from '@haia/agent';
import { z } from 'zod';
import type { FailedTasks, ProxmoxClient } from '../proxmox-client.js';
import { ProxmoxError } from '../proxmox-error.js';
import type { CephStatus, Guest, GuestStatus, NodeResource, NodeStatus, Task } from '../types.js';
import { formatBytes, formatDuration, formatPercent, formatTime, formatUsage } from './format.js';

/** Most lines a list tool returns, so a big cluster does not flood the model's context. */
const MAX_LINES = 60;

function guestKind(type: Guest['type']): string {
  return type === 'qemu' ? 'VM' : 'CT';
}

/** Runs a tool body and turns a failure into an error result the model can read. */
async function safely(run: () => Promise<ToolOutput>): Promise<ToolOutput> {
  try {
    return await run();
  } catch (error) {
    if (ProxmoxError.isInstance(error)) return { isError: true, content: error.message };
    if (error instanceof Error && error.name === 'AbortError') throw error;
    return {
      isError: true,
      content: `The Proxmox call failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

function capped(lines: string[], hint: string): string[] {
  if (lines.length <= MAX_LINES) return lines;
  return [...lines.slice(0, MAX_LINES), `... and ${lines.length - MAX_LINES} more; ${hint}`];
}

/**
 * One guest of the cluster list. A guest whose node has been offline for a while has no figures left
 * (Proxmox drops a node's usage data after 5 minutes), so only what is known is shown, never `0 vCPU`.
 */
function guestLine(guest: Guest, offlineNodes: ReadonlySet<string> = new Set()): string {
  const head = `- ${guest.vmid} ${guest.name} [${guestKind(guest.type)}${guest.template ? ', template' : ''}] on ${guest.node}: ${guest.status}`;
  const extras = [
    guest.tags.length > 0 ? `tags ${guest.tags.join(',')}` : '',
    guest.lock ? `locked (${guest.lock})` : '',
    guest.haState ? `HA ${guest.haState}` : '',
  ].filter(Boolean);
  if (guest.status === 'running') {
    const usage = `CPU ${formatPercent(guest.cpuFraction)} of ${guest.cpuCount} vCPU, memory ${formatUsage(guest.memoryBytes, guest.maxMemoryBytes)}, up ${formatDuration(guest.uptimeSeconds)}`;
    return [`${head}, ${usage}`, ...extras].join(', ');
  }
  const known = [
    guest.status === 'unknown'
      ? offlineNodes.has(guest.node)
        ? `no current data: node ${guest.node} is offline`
        : 'no current data yet'
      : '',
    guest.cpuCount > 0 ? `${guest.cpuCount} vCPU` : '',
    guest.maxMemoryBytes > 0 ? `${formatBytes(guest.maxMemoryBytes)} memory` : '',
    ...extras,
  ].filter(Boolean);
  return known.length > 0 ? `${head} (${known.join(', ')})` : head;
}

/** `4 running, 1 stopped, 2 templates`: templates apart, since they never run. */
function guestCounts(guests: Guest[]): string {
  const counts = new Map<string, number>();
  for (const guest of guests) {
    const key = guest.template ? 'template' : guest.status;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .map(([key, count]) => `${count} ${key === 'template' ? `template${count === 1 ? '' : 's'}` : key}`)
    .join(', ');
}

/** Most ids an error result lists, so an unknown id on a big cluster does not flood the context. */
const MAX_IDS = 30;

function idList(guests: Guest[]): string {
  const ids = guests.map((guest) => guest.vmid);
  if (ids.length === 0) return 'none visible';
  const shown = ids.slice(0, MAX_IDS).join(', ');
  return ids.length > MAX_IDS ? `${shown} and ${ids.length - MAX_IDS} more` : shown;
}

function taskLine(task: Task, withNode = true): string {
  const subject = task.id ? ` ${task.id}` : '';
  const where = withNode ? ` ${task.node}` : '';
  const outcome = task.running
    ? 'RUNNING'
    : task.failed
      ? `FAILED: ${task.status}`
      : task.warnings > 0
        ? `${task.status}`
        : 'OK';
  const took = task.durationSeconds === undefined ? '' : `, took ${formatDuration(task.durationSeconds)}`;
  return `- ${formatTime(task.startedAt)}${where} ${task.type}${subject} by ${task.user}${task.tokenId ? `!${task.tokenId}` : ''}: ${outcome}${took}`;
}

/** Proxmox leaves a node's usage out when the token may not audit it (Sys.Audit on /nodes/{node}). */
function hasFigures(node: NodeResource): boolean {
  return node.cpuFraction !== undefined || node.uptimeSeconds !== undefined;
}

function nodeResourceLine(node: NodeResource): string {
  if (!node.online) return `- ${node.node}: ${node.status}`;
  if (!hasFigures(node)) {
    return `- ${node.node}: online, no usage figures (the API token lacks Sys.Audit on /nodes/${node.node}; give the token and its user the PVEAuditor role on /)`;
  }
  const parts = [
    `CPU ${formatPercent(node.cpuFraction ?? 0)} of ${node.cpuCount ?? '?'} threads`,
    `memory ${formatUsage(node.memoryBytes ?? 0, node.maxMemoryBytes ?? 0)}`,
    `root disk ${formatUsage(node.diskBytes ?? 0, node.maxDiskBytes ?? 0)}`,
    `up ${formatDuration(node.uptimeSeconds ?? 0)}`,
  ];
  return `- ${node.node}: online, ${parts.join(', ')}`;
}

function nodeStatusText(status: NodeStatus): string {
  const version = status.pveVersion?.split('/')[1];
  const cpu = status.cpu;
  const lines = [
    `${status.node} (online): up ${formatDuration(status.uptimeSeconds)}${version ? `, PVE ${version}` : ''}${status.kernelRelease ? `, kernel ${status.kernelRelease}` : ''}`,
    `CPU: ${formatPercent(status.cpuFraction)} of ${cpu.cpus} threads (${cpu.model}; ${cpu.sockets} socket(s), ${cpu.cores} cores${cpu.mhz ? `, ${Math.round(cpu.mhz)} MHz` : ''}), load ${status.loadAverage.join(' ') || 'n/a'}${status.ioWaitFraction === undefined ? '' : `, IO wait ${formatPercent(status.ioWaitFraction)}`}`,
    `Memory: ${formatUsage(status.memory.usedBytes, status.memory.totalBytes)}${status.memory.availableBytes === undefined ? '' : `, ${formatBytes(status.memory.availableBytes)} available`}${status.swap ? `; swap ${formatUsage(status.swap.usedBytes, status.swap.totalBytes)}` : ''}`,
    `Root disk: ${formatUsage(status.rootfs.usedBytes, status.rootfs.totalBytes)}, ${formatBytes(status.rootfs.availableBytes)} free`,
  ];
  return lines.join('\n');
}

function guestStatusText(status: GuestStatus): string {
  const kind = status.type === 'qemu' ? 'VM' : 'Container';
  const lines = [
    `${kind} ${status.vmid} ${status.name} on ${status.node}: ${status.status}${status.qmpStatus && status.qmpStatus !== status.status ? ` (QEMU: ${status.qmpStatus})` : ''}${status.template ? ', template' : ''}${status.lock ? `, locked (${status.lock})` : ''}`,
  ];
  if (status.status === 'running') {
    lines.push(
      `Uptime: ${formatDuration(status.uptimeSeconds)}`,
      `CPU: ${formatPercent(status.cpuFraction)} of ${status.cpuCount} vCPU`,
      `Memory: ${formatUsage(status.memoryBytes, status.maxMemoryBytes)}${status.freeMemoryBytes === undefined ? '' : `, guest reports ${formatBytes(status.freeMemoryBytes)} free`}${status.maxSwapBytes ? `; swap ${formatUsage(status.swapBytes ?? 0, status.maxSwapBytes)}` : ''}`,
      `Disk: ${status.type === 'lxc' ? formatUsage(status.diskBytes, status.maxDiskBytes) : `${formatBytes(status.maxDiskBytes)} allocated`}; read ${formatBytes(status.diskReadBytes)}, written ${formatBytes(status.diskWriteBytes)} since start`,
      `Network: ${formatBytes(status.netInBytes)} in, ${formatBytes(status.netOutBytes)} out since start`,
    );
    const pressure = status.pressure;
    if (pressure) {
      lines.push(
        `Pressure (some, % of time stalled): CPU ${pressure.cpuSome ?? 0}, IO ${pressure.ioSome ?? 0}, memory ${pressure.memorySome ?? 0}`,
      );
    }
  } else {
    lines.push(
      `Configured: ${status.cpuCount} vCPU, ${formatBytes(status.maxMemoryBytes)} memory, ${formatBytes(status.maxDiskBytes)} disk`,
    );
  }
  const ha = status.ha.managed ? `HA managed (${status.ha.state ?? 'unknown state'})` : 'not HA managed';
  const agent = status.agent === undefined ? '' : `; guest agent ${status.agent ? 'enabled' : 'disabled'}`;
  lines.push(`${ha}${agent}; tags ${status.tags.length > 0 ? status.tags.join(',') : 'none'}`);
  return lines.join('\n');
}

function cephText(ceph: CephStatus): string {
  const lines = [`Ceph health: ${ceph.health}`];
  if (ceph.checks.length > 0) {
    lines.push('Checks:');
    for (const check of ceph.checks) {
      lines.push(`- ${check.code} (${check.severity}${check.muted ? ', muted' : ''}): ${check.summary}`);
      for (const detail of check.details.slice(0, 5)) lines.push(`  - ${detail}`);
      if (check.details.length > 5) lines.push(`  - ... and ${check.details.length - 5} more`);
    }
  }
  const standbys = ceph.managers.standbys.length > 0 ? `, standby ${ceph.managers.standbys.join(', ')}` : '';
  lines.push(
    `Monitors: ${ceph.monitors.quorum.length}${ceph.monitors.count === undefined ? '' : ` of ${ceph.monitors.count}`} in quorum (${ceph.monitors.quorum.join(', ') || 'none'}); manager ${ceph.managers.active ?? 'none'} active${standbys}`,
    `OSDs: ${ceph.osds.total} total, ${ceph.osds.up} up, ${ceph.osds.in} in`,
    `Placement groups: ${ceph.placementGroups.total} (${ceph.placementGroups.byState.map((entry) => `${entry.count} ${entry.state}`).join(', ') || 'none'})`,
    `Usage: ${formatUsage(ceph.usage.usedBytes, ceph.usage.totalBytes)} raw, ${formatBytes(ceph.usage.availableBytes)} available`,
    `I/O: read ${formatBytes(ceph.io.readBytesPerSecond)}/s, write ${formatBytes(ceph.io.writeBytesPerSecond)}/s, ${ceph.io.readOpsPerSecond} read op/s, ${ceph.io.writeOpsPerSecond} write op/s`,
  );
  if (ceph.recovery) {
    lines.push(
      `Recovery: ${ceph.recovery.degradedObjects} degraded, ${ceph.recovery.misplacedObjects} misplaced, ${ceph.recovery.unfoundObjects} unfound objects`,
    );
  }
  return lines.join('\n');
}

/**
 * The seven read-only Proxmox tools (`list_vms`, `get_vm_status`, `get_cluster_resources`,
 * `get_node_status`, `get_storage`, `get_ceph_status`, `list_tasks`) over one client. Results are short
 * text with units; a failing call returns `{ isError: true, content }` saying what went wrong. Each tool's
 * Proxmox calls log through its `ToolContext.logger`, so their lines carry the run's bindings.
 */
// biome-ignore lint/suspicious/noExplicitAny: tools with different inputs in one list, as Toolset holds them
export function createProxmoxTools(client: ProxmoxClient): Tool<unknown, any>[] {
  const readOnly = { readOnly: true } as const;

  const listVms = defineTool({
    name: 'list_vms',
    description:
      'List the VMs and containers of the Proxmox cluster: id, name, type, node, status, CPU, memory, uptime, tags. Optional filters by node, status and type.',
    input: z.object({
      node: z.string().min(1).optional().describe('Only guests on this node, such as pve1'),
      status: z
        .string()
        .min(1)
        .optional()
        .describe(
          'Only guests with this status: running or stopped (a paused VM is listed as running; get_vm_status tells paused)',
        ),
      type: z.enum(['qemu', 'lxc']).optional().describe('qemu for virtual machines, lxc for containers'),
    }),
    annotations: { ...readOnly, title: 'List VMs and containers' },
    execute: (input, { signal, logger }) =>
      safely(async () => {
        // All resources in the one call, so a guest whose node is offline can say so.
        const { guests, nodes } = await client.clusterResources({ signal, logger });
        const offlineNodes = new Set(nodes.filter((node) => !node.online).map((node) => node.node));
        const matching = guests.filter(
          (guest) =>
            (!input.node || guest.node === input.node) &&
            (!input.status || guest.status === input.status.toLowerCase()) &&
            (!input.type || guest.type === input.type),
        );
        if (guests.length === 0) {
          return 'No VMs or containers are visible: the cluster has none, or the API token lacks VM.Audit (give the token and its user the PVEAuditor role on /).';
        }
        const filters = Object.entries(input)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => `${key}=${value}`)
          .join(', ');
        if (matching.length === 0 && input.status?.toLowerCase() === 'paused') {
          return "The cluster list shows a paused VM as running (only get_vm_status reads QEMU's own state, paused): list the running guests, then check one with get_vm_status.";
        }
        if (matching.length === 0) {
          return `No guests match ${filters}. The cluster has ${guests.length} guests on nodes ${[...new Set(guests.map((guest) => guest.node))].join(', ')}.`;
        }
        const header = `${matching.length} guest${matching.length === 1 ? '' : 's'}${filters ? ` matching ${filters}` : ''} (${guestCounts(matching)}):`;
        const lines = matching.map((guest) => guestLine(guest, offlineNodes));
        return [header, ...capped(lines, 'filter by node, status or type')].join('\n');
      }),
  });

  const getVmStatus = defineTool({
    name: 'get_vm_status',
    description:
      'Live status of one VM or container by its numeric id (vmid), on whichever node holds it, with its recent tasks (such as a failed start).',
    input: z.object({ vmid: z.number().int().positive().describe('The guest id, such as 102') }),
    annotations: { ...readOnly, title: 'VM or container status' },
    execute: ({ vmid }, { signal, logger }) =>
      safely(async () => {
        const { guests } = await client.clusterResources({ type: 'vm', signal, logger });
        const guest = guests.find((candidate) => candidate.vmid === vmid);
        if (!guest) {
          return {
            isError: true,
            content: `No VM or container ${vmid} on this cluster (ids: ${idList(guests)}). If it exists, the token may lack VM.Audit on it.`,
          };
        }
        let status: Awaited<ReturnType<typeof client.guestStatus>>;
        try {
          status = await client.guestStatus({ node: guest.node, vmid, type: guest.type }, { signal, logger });
        } catch (error) {
          if (!ProxmoxError.isInstance(error) || error.code !== 'node-offline') throw error;
          // What the cluster still knows of the guest, and why there is no live status.
          return {
            isError: true,
            content: `No live status for ${vmid}: ${error.message} What the cluster list last knew:\n${guestLine(guest, new Set([guest.node]))}`,
          };
        }
        const lines = [guestStatusText(status)];
        try {
          const { tasks } = await client.nodeTasks(guest.node, { vmid, limit: 5, signal, logger });
          if (tasks.length > 0) {
            lines.push(`Recent tasks for ${vmid}:`, ...tasks.map((task) => taskLine(task, false)));
          }
        } catch {
          // Tasks are extra context; the status above stands on its own.
        }
        return lines.join('\n');
      }),
  });

  const getClusterResources = defineTool({
    name: 'get_cluster_resources',
    description:
      'Overview of the Proxmox cluster: quorum, each node with CPU, memory, disk and uptime, totals of CPU, memory and storage, and guest counts.',
    input: z.object({}),
    annotations: { ...readOnly, title: 'Cluster overview' },
    execute: (_input, { signal, logger }) =>
      safely(async () => {
        const [resources, cluster] = await Promise.all([
          client.clusterResources({ signal, logger }),
          client
            .clusterStatus({ signal, logger })
            .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
        ]);
        const online = resources.nodes.filter((node) => node.online);
        const lines: string[] = [];
        if (cluster instanceof Error) {
          lines.push(`Quorum: unknown (${cluster.message})`);
        } else {
          const name = cluster.clustered
            ? `Cluster ${cluster.name ?? '(unnamed)'}`
            : 'Single node (no cluster)';
          lines.push(
            `${name}: ${cluster.quorate ? 'quorate' : 'NOT quorate'}, ${cluster.nodes.filter((node) => node.online).length} of ${cluster.nodeCount} nodes online`,
          );
        }
        lines.push('Nodes:', ...resources.nodes.map(nodeResourceLine));
        const measured = online.filter(hasFigures);
        const cores = measured.reduce((sum, node) => sum + (node.cpuCount ?? 0), 0);
        const busy = measured.reduce((sum, node) => sum + (node.cpuFraction ?? 0) * (node.cpuCount ?? 0), 0);
        const memoryUsed = measured.reduce((sum, node) => sum + (node.memoryBytes ?? 0), 0);
        const memoryTotal = measured.reduce((sum, node) => sum + (node.maxMemoryBytes ?? 0), 0);
        const counted = new Set<string>();
        let storageUsed = 0;
        let storageTotal = 0;
        for (const storage of resources.storage) {
          if (storage.status !== 'available') continue;
          const key = storage.shared ? storage.storage : `${storage.storage}@${storage.node}`;
          if (counted.has(key)) continue;
          counted.add(key);
          storageUsed += storage.usedBytes;
          storageTotal += storage.totalBytes;
        }
        lines.push(
          `Totals (online nodes${measured.length < online.length ? `, ${online.length - measured.length} without figures left out` : ''}): ${measured.length === 0 ? 'CPU and memory unknown' : `CPU ${cores} threads, ${formatPercent(cores > 0 ? busy / cores : 0)} used; memory ${formatUsage(memoryUsed, memoryTotal)}`}; storage ${formatUsage(storageUsed, storageTotal)} across ${counted.size} storages (shared ones counted once)`,
        );
        const running = resources.guests.filter((guest) => guest.status === 'running').length;
        const templates = resources.guests.filter((guest) => guest.template).length;
        const vms = resources.guests.filter((guest) => guest.type === 'qemu').length;
        lines.push(
          `Guests: ${resources.guests.length} (${running} running, ${resources.guests.length - running - templates} not running${templates > 0 ? `, ${templates} template${templates === 1 ? '' : 's'}` : ''}): ${vms} VMs, ${resources.guests.length - vms} containers`,
        );
        return lines.join('\n');
      }),
  });

  const getNodeStatus = defineTool({
    name: 'get_node_status',
    description:
      'Detailed status of a Proxmox node (all nodes when none is given): uptime, version, CPU and load, memory, swap and root disk.',
    input: z.object({ node: z.string().min(1).optional().describe('The node name, such as pve1') }),
    annotations: { ...readOnly, title: 'Node status' },
    execute: ({ node }, { signal, logger }) =>
      safely(async () => {
        if (node) return nodeStatusText(await client.nodeStatus(node, { signal, logger }));
        const { nodes } = await client.clusterResources({ type: 'node', signal, logger });
        const parts = await Promise.all(
          nodes.map(async (entry) => {
            if (!entry.online) return `${entry.node}: ${entry.status}`;
            try {
              return nodeStatusText(await client.nodeStatus(entry.node, { signal, logger }));
            } catch (error) {
              if (!ProxmoxError.isInstance(error)) throw error;
              return `${entry.node}: ${error.message}`;
            }
          }),
        );
        return parts.join('\n\n');
      }),
  });

  const getStorage = defineTool({
    name: 'get_storage',
    description:
      'Storage of the Proxmox cluster (or of one node): type, shared or local, used and total space, content types.',
    input: z.object({
      node: z.string().min(1).optional().describe('Only the storage as seen from this node'),
    }),
    annotations: { ...readOnly, title: 'Storage' },
    execute: ({ node }, { signal, logger }) =>
      safely(async () => {
        if (node) {
          const list = await client.nodeStorage(node, { signal, logger });
          if (list.length === 0) return `No storage visible on ${node} (the token may lack Datastore.Audit).`;
          return [
            `Storage on ${node}:`,
            ...list.map(
              (storage) =>
                `- ${storage.storage} (${storage.type}${storage.shared ? ', shared' : ''}): ${storage.active ? formatUsage(storage.usedBytes, storage.totalBytes) : 'INACTIVE'}${storage.enabled ? '' : ', disabled'}; content ${storage.content.join(',') || 'none'}`,
            ),
          ].join('\n');
        }
        const { storage } = await client.clusterResources({ type: 'storage', signal, logger });
        if (storage.length === 0) return 'No storage visible (the token may lack Datastore.Audit).';
        const lines: string[] = [];
        const seenShared = new Set<string>();
        for (const listed of storage) {
          if (listed.shared) {
            if (seenShared.has(listed.storage)) continue;
            seenShared.add(listed.storage);
          }
          // A shared storage is listed once per node; an offline node's entry says `unknown`, so take
          // the entry of a node that sees it.
          const entry = listed.shared
            ? (storage.find(
                (candidate) =>
                  candidate.shared &&
                  candidate.storage === listed.storage &&
                  candidate.status === 'available',
              ) ?? listed)
            : listed;
          const where = entry.shared ? 'shared' : `on ${entry.node}`;
          const usage =
            entry.status === 'available' ? formatUsage(entry.usedBytes, entry.totalBytes) : entry.status;
          lines.push(
            `- ${entry.storage} (${entry.pluginType}, ${where}): ${usage}; content ${entry.content.join(',') || 'none'}`,
          );
        }
        return ['Storage:', ...capped(lines, 'ask for one node')].join('\n');
      }),
  });

  const getCephStatus = defineTool({
    name: 'get_ceph_status',
    description:
      'Ceph health of the Proxmox cluster with every health check and its details, monitors, OSDs, placement groups, usage and I/O.',
    input: z.object({}),
    annotations: { ...readOnly, title: 'Ceph status' },
    execute: (_input, { signal, logger }) =>
      safely(async () => {
        try {
          return cephText(await client.cephStatus({ signal, logger }));
        } catch (error) {
          if (ProxmoxError.isInstance(error) && error.code === 'not-found' && /ceph/i.test(error.message)) {
            return 'Ceph is not installed on this cluster, so there is no Ceph health to report.';
          }
          throw error;
        }
      }),
  });

  const listTasks = defineTool({
    name: 'list_tasks',
    description:
      'Recent Proxmox tasks (starts, backups, updates...), newest first, with their outcome. failedOnly lists only failed ones (anything but OK or WARNINGS).',
    input: z.object({
      node: z.string().min(1).optional().describe('Only tasks of this node'),
      failedOnly: z.boolean().optional().describe('Only failed tasks'),
      vmid: z.number().int().positive().optional().describe('Only tasks about this guest id'),
      limit: z.number().int().min(1).max(50).optional().describe('At most this many tasks (default 15)'),
    }),
    annotations: { ...readOnly, title: 'Recent tasks' },
    execute: (input, { signal, logger }) =>
      safely(async () => {
        const limit = input.limit ?? 15;
        let tasks: Task[];
        // How many tasks Proxmox holds for the filters, beyond the page asked for (one node's history).
        let historyTotal: number | undefined;
        let unreachable: string[] = [];
        let unread: FailedTasks['failedNodes'] = [];
        if (input.node) {
          const page = await client.nodeTasks(input.node, {
            signal,
            logger,
            limit: input.failedOnly ? 50 : limit,
            ...(input.failedOnly ? { errors: true } : {}),
            ...(input.vmid ? { vmid: input.vmid } : {}),
          });
          tasks = page.tasks;
          if (!input.failedOnly) historyTotal = page.total;
        } else if (input.failedOnly) {
          const failed = await client.failedTasks({ signal, logger });
          tasks = failed.tasks;
          unreachable = failed.unreachableNodes;
          unread = failed.failedNodes;
        } else {
          tasks = await client.clusterTasks({ signal, logger });
        }
        if (input.failedOnly) tasks = tasks.filter((task) => task.failed);
        if (input.vmid) tasks = tasks.filter((task) => task.id === String(input.vmid));
        const shown = tasks.slice(0, limit);
        const scope = [
          input.node ? `on ${input.node}` : 'in the cluster',
          input.vmid ? `for ${input.vmid}` : '',
        ]
          .filter(Boolean)
          .join(' ');
        const note =
          (unreachable.length > 0 ? `\n(Not asked, offline: ${unreachable.join(', ')})` : '') +
          unread
            .map((failure) => `\n(Could not read the tasks of ${failure.node}: ${failure.message})`)
            .join('');
        if (shown.length === 0) {
          return `No ${input.failedOnly ? 'failed ' : ''}tasks ${scope}.${note}`;
        }
        const header = `${input.failedOnly ? 'Failed' : 'Recent'} tasks ${scope}, newest first (${shown.length} of ${Math.max(historyTotal ?? 0, tasks.length)}):`;
        return `${[header, ...shown.map((task) => taskLine(task, !input.node))].join('\n')}${note}`;
      }),
  });

  return [listVms, getVmStatus, getClusterResources, getNodeStatus, getStorage, getCephStatus, listTasks];
}
