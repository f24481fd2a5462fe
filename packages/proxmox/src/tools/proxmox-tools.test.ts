import { type AgentEvent, createAgent, requiresApproval } from '@haia/agent';
import { MockLanguageModel } from '@haia/llm/test';
import { hangUp, json, type ProxmoxFake } from '@haia/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxmoxClient, type ProxmoxClient } from '../proxmox-client.js';
import { memoryLogger, startCluster } from '../test-support.js';
import { createProxmoxToolset, PROXMOX_TOOL_NAMES } from './index.js';

let fake: ProxmoxFake;
let client: ProxmoxClient;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ fake, client, stop } = await startCluster());
});
afterAll(() => stop());

/** Runs one tool call through a real agent with a scripted model; returns the tool result event. */
async function callTool(
  toolName: string,
  input: Record<string, unknown>,
  on: ProxmoxClient = client,
  logger?: ReturnType<typeof memoryLogger>['logger'],
): Promise<{ output: string; isError: boolean }> {
  const model = new MockLanguageModel({
    results: [{ toolCalls: [{ toolCallId: 'call-1', toolName, input }] }, { text: 'Done.' }],
  });
  const agent = createAgent({ model, toolsets: [createProxmoxToolset(on)] });
  const events: AgentEvent[] = [];
  const messages = [{ role: 'user' as const, content: 'Check the cluster' }];
  for await (const event of agent.run({ messages, ...(logger ? { logger } : {}) })) {
    events.push(event);
  }
  const result = events.find((event) => event.type === 'tool-result');
  if (result?.type !== 'tool-result') throw new Error(`no tool result: ${JSON.stringify(events)}`);
  return { output: String(result.output), isError: result.isError };
}

describe('createProxmoxToolset', () => {
  it('is the proxmox toolset with the seven tool names, every one read-only', async () => {
    const toolset = createProxmoxToolset(client);
    expect(toolset.name).toBe('proxmox');
    const tools = await toolset.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([...PROXMOX_TOOL_NAMES]);
    expect(PROXMOX_TOOL_NAMES).toEqual([
      'list_vms',
      'get_vm_status',
      'get_cluster_resources',
      'get_node_status',
      'get_storage',
      'get_ceph_status',
      'list_tasks',
    ]);
    for (const tool of tools) {
      expect(tool.annotations.readOnly).toBe(true);
      expect(requiresApproval(tool, {})).toBe(false);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.description.length).toBeGreaterThan(20);
    }
  });
});

describe('the tools through @haia/agent (MockLanguageModel, fake cluster)', () => {
  it('list_vms lists every guest with status, CPU, memory, uptime and tags', async () => {
    const { output, isError } = await callTool('list_vms', {});
    expect(isError).toBe(false);
    const lines = output.split('\n');
    expect(lines[0]).toBe('5 guests (4 running, 1 stopped):');
    expect(lines[1]).toBe(
      '- 100 homeassistant [VM] on pve1: running, CPU 2.1% of 2 vCPU, memory 2.5 GiB of 4 GiB (63%), up 14d 6h, tags automation,prod',
    );
    expect(output).toContain('- 102 win11-test [VM] on pve2: stopped (4 vCPU, 8 GiB memory)');
    expect(output).toContain('- 201 jellyfin [CT] on pve2: running');
    expect(output.length).toBeLessThan(1200);
  });

  it('list_vms filters by node, status and type', async () => {
    expect((await callTool('list_vms', { node: 'pve2' })).output.split('\n')).toHaveLength(3);
    const stopped = await callTool('list_vms', { status: 'stopped' });
    expect(stopped.output).toContain('1 guest matching status=stopped (1 stopped):');
    expect(stopped.output).toContain('102 win11-test');
    const containers = await callTool('list_vms', { type: 'lxc', node: 'pve1' });
    expect(containers.output.split('\n').slice(1)).toEqual([
      '- 200 pihole [CT] on pve1: running, CPU 0.3% of 1 vCPU, memory 94 MiB of 512 MiB (18%), up 14d 6h, tags dns',
    ]);
    const none = await callTool('list_vms', { node: 'pve9' });
    expect(none.output).toContain('No guests match node=pve9');
    // Proxmox lists a paused VM as running: the model is told where paused shows instead of "none".
    const paused = await callTool('list_vms', { status: 'paused' });
    expect(paused.output).toContain('get_vm_status');
    expect(paused.output).not.toContain('No guests match');
  });

  it('list_vms rejects a bad filter through the agent as an error result', async () => {
    const bad = await callTool('list_vms', { type: 'docker' });
    expect(bad.isError).toBe(true);
  });

  it('get_vm_status finds the guest on its node and shows why it is down', async () => {
    const { output, isError } = await callTool('get_vm_status', { vmid: 102 });
    expect(isError).toBe(false);
    expect(output).toContain('VM 102 win11-test on pve2: stopped');
    expect(output).toContain('Configured: 4 vCPU, 8 GiB memory, 80 GiB disk');
    expect(output).toContain('guest agent enabled');
    expect(output).toContain('Recent tasks for 102:');
    expect(output).toContain(
      'qmstart 102 by root@pam: FAILED: start failed: QEMU exited with code 1, took 4s',
    );
    const running = await callTool('get_vm_status', { vmid: 201 });
    expect(running.output).toContain('Container 201 jellyfin on pve2: running');
    expect(running.output).toContain('Memory: 700 MiB of 2 GiB (34%); swap 12 MiB of 512 MiB (2.3%)');
  });

  it('get_vm_status of an unknown id is an error result naming the known ids', async () => {
    const { output, isError } = await callTool('get_vm_status', { vmid: 999 });
    expect(isError).toBe(true);
    expect(output).toContain('No VM or container 999');
    expect(output).toContain('100, 101, 102, 200, 201');
  });

  it('get_cluster_resources gives quorum, nodes and totals', async () => {
    const { output } = await callTool('get_cluster_resources', {});
    const lines = output.split('\n');
    expect(lines[0]).toBe('Cluster homelab: quorate, 2 of 2 nodes online');
    expect(lines[2]).toBe(
      '- pve1: online, CPU 7.3% of 12 threads, memory 20.4 GiB of 62.6 GiB (33%), root disk 13.6 GiB of 93.9 GiB (14%), up 14d 6h',
    );
    expect(output).toContain('Totals (online nodes): CPU 28 threads');
    expect(output).toContain('across 5 storages (shared ones counted once)');
    expect(output).toContain('Guests: 5 (4 running, 1 not running): 3 VMs, 2 containers');
  });

  it('get_cluster_resources still answers when the token cannot read the quorum', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.denyPermission('/cluster/status', '/, Sys.Audit');
      const { output, isError } = await callTool('get_cluster_resources', {}, cluster.client);
      expect(isError).toBe(false);
      expect(output).toContain('Quorum: unknown');
      expect(output).toContain('PVEAuditor');
      expect(output).toContain('- pve2: online');
    } finally {
      await cluster.stop();
    }
  });

  it('get_node_status shows one node, or all of them', async () => {
    const one = await callTool('get_node_status', { node: 'pve1' });
    expect(one.output.split('\n')).toEqual([
      'pve1 (online): up 14d 6h, PVE 9.1.4, kernel 6.14.11-4-pve',
      'CPU: 7.3% of 12 threads (12th Gen Intel(R) Core(TM) i5-12500T; 1 socket(s), 6 cores, 4400 MHz), load 0.42 0.51 0.47, IO wait 0.1%',
      'Memory: 20.4 GiB of 62.6 GiB (33%), 42.2 GiB available; swap 0 B of 8 GiB (0%)',
      'Root disk: 13.6 GiB of 93.9 GiB (14%), 75.6 GiB free',
    ]);
    const all = await callTool('get_node_status', {});
    expect(all.output).toContain('pve1 (online)');
    expect(all.output).toContain('pve2 (online)');
  });

  it('get_node_status of an offline node is an error result that says so', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.setNodeOffline('pve2');
      const { output, isError } = await callTool('get_node_status', { node: 'pve2' }, cluster.client);
      expect(isError).toBe(true);
      expect(output).toContain('Node pve2 is unreachable (595 No route to host)');
      const all = await callTool('get_node_status', {}, cluster.client);
      expect(all.isError).toBe(false);
      expect(all.output).toContain('pve2: offline');
    } finally {
      await cluster.stop();
    }
  });

  it('get_vm_status of a guest whose node is offline says so and shows what the cluster list knows', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.setNodeOffline('pve2');
      const { output, isError } = await callTool('get_vm_status', { vmid: 102 }, cluster.client);
      expect(isError).toBe(true);
      expect(output).toContain('No live status for 102: Node pve2 is unreachable (595 No route to host)');
      expect(output).toContain('- 102 win11-test [VM] on pve2');
    } finally {
      await cluster.stop();
    }
  });

  it('list_vms and get_vm_status of guests whose node has been offline for a while: no made-up 0 vCPU, 0 B', async () => {
    const cluster = await startCluster();
    try {
      // Over 5 minutes offline, pmxcfs has dropped the node's RRD data: its guests keep only id, node,
      // type, status unknown and the tags of their config.
      cluster.fake.setNodeOffline('pve2', true, { dataExpired: true });
      const { output, isError } = await callTool('list_vms', {}, cluster.client);
      expect(isError).toBe(false);
      expect(output).toContain('5 guests (3 running, 2 unknown):');
      expect(output).toContain(
        '- 102 VM 102 [VM] on pve2: unknown (no current data: node pve2 is offline)\n',
      );
      expect(output).toContain(
        '- 201 CT201 [CT] on pve2: unknown (no current data: node pve2 is offline, tags media)',
      );
      expect(output).not.toContain('0 vCPU');
      expect(output).not.toContain('0 B memory');
      const status = await callTool('get_vm_status', { vmid: 201 }, cluster.client);
      expect(status.isError).toBe(true);
      expect(status.output).toContain(
        '- 201 CT201 [CT] on pve2: unknown (no current data: node pve2 is offline, tags media)',
      );
    } finally {
      await cluster.stop();
    }
  });

  it('list_vms counts templates apart, shows the HA state and reads space-separated tags', async () => {
    const guests = [
      {
        id: 'qemu/100',
        vmid: 100,
        node: 'pve1',
        type: 'qemu',
        status: 'running',
        name: 'web',
        maxcpu: 2,
        cpu: 0.5,
        maxmem: 2147483648,
        mem: 1073741824,
        uptime: 3600,
        hastate: 'started',
      },
      {
        id: 'lxc/106',
        vmid: 106,
        node: 'pve1',
        type: 'lxc',
        status: 'stopped',
        name: 'dns',
        maxcpu: 1,
        maxmem: 536870912,
        uptime: 0,
        hastate: 'error',
      },
      {
        id: 'qemu/9000',
        vmid: 9000,
        node: 'pve1',
        type: 'qemu',
        status: 'stopped',
        template: 1,
        name: 'debian-tpl',
        maxcpu: 2,
        maxmem: 2147483648,
        uptime: 0,
        tags: 'tpl prod',
      },
      {
        id: 'node/pve1',
        node: 'pve1',
        type: 'node',
        status: 'online',
        maxcpu: 8,
        cpu: 0.1,
        maxmem: 8589934592,
        mem: 4294967296,
        uptime: 100,
      },
    ];
    fake.server.enqueue(json({ data: guests }), { path: /\/cluster\/resources/ });
    const { output } = await callTool('list_vms', {});
    expect(output.split('\n')).toEqual([
      '3 guests (1 running, 1 stopped, 1 template):',
      '- 100 web [VM] on pve1: running, CPU 50% of 2 vCPU, memory 1 GiB of 2 GiB (50%), up 1h 0m, HA started',
      '- 106 dns [CT] on pve1: stopped (1 vCPU, 512 MiB memory, HA error)',
      '- 9000 debian-tpl [VM, template] on pve1: stopped (2 vCPU, 2 GiB memory, tags tpl,prod)',
    ]);
    fake.server.enqueue(json({ data: guests }), { path: /\/cluster\/resources/ });
    const overview = await callTool('get_cluster_resources', {});
    expect(overview.output).toContain('Guests: 3 (1 running, 1 not running, 1 template):');
  });

  it('get_vm_status of an unknown id on a big cluster names a bounded list of ids', async () => {
    const guests = Array.from({ length: 400 }, (_, index) => ({
      id: `lxc/${1000 + index}`,
      vmid: 1000 + index,
      node: 'pve1',
      type: 'lxc',
      status: 'running',
      name: `ct-${index}`,
    }));
    fake.server.enqueue(json({ data: guests }), { path: /\/cluster\/resources/ });
    const { output, isError } = await callTool('get_vm_status', { vmid: 5 });
    expect(isError).toBe(true);
    expect(output).toContain('(ids: 1000, 1001,');
    expect(output).toContain('1029 and 370 more)');
    expect(output.length).toBeLessThan(400);
  });

  it('get_storage shows shared storage once, local storage per node, or one node', async () => {
    const { output } = await callTool('get_storage', {});
    expect(output.split('\n')).toEqual([
      'Storage:',
      '- ceph-pool (rbd, shared): 91 GiB of 1.77 TiB (5%); content images,rootdir',
      '- local (dir, on pve1): 13.6 GiB of 93.9 GiB (14%); content backup,iso,vztmpl',
      '- local (dir, on pve2): 10.5 GiB of 93.9 GiB (11%); content backup,iso,vztmpl',
      '- local-lvm (lvmthin, on pve1): 36 GiB of 324 GiB (11%); content images,rootdir',
      '- local-lvm (lvmthin, on pve2): 24 GiB of 324 GiB (7.4%); content images,rootdir',
    ]);
    const node = await callTool('get_storage', { node: 'pve2' });
    expect(node.output).toContain('Storage on pve2:');
    expect(node.output).toContain('- ceph-pool (rbd, shared): 91 GiB of 1.77 TiB (5%)');
  });

  it('get_storage shows a shared storage from a node that sees it when another node is offline', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.setNodeOffline('pve1');
      const { output, isError } = await callTool('get_storage', {}, cluster.client);
      expect(isError).toBe(false);
      expect(output.split('\n')).toEqual([
        'Storage:',
        '- ceph-pool (rbd, shared): 91 GiB of 1.77 TiB (5%); content images,rootdir',
        '- local (dir, on pve1): unknown; content backup,iso,vztmpl',
        '- local (dir, on pve2): 10.5 GiB of 93.9 GiB (11%); content backup,iso,vztmpl',
        '- local-lvm (lvmthin, on pve1): unknown; content images,rootdir',
        '- local-lvm (lvmthin, on pve2): 24 GiB of 324 GiB (7.4%); content images,rootdir',
      ]);
    } finally {
      await cluster.stop();
    }
  });

  it('get_cluster_resources does not report 0% CPU and 0s uptime for nodes the token may not audit', async () => {
    // What /cluster/resources gives a token without Sys.Audit on /nodes/{node}: the nodes are listed
    // online, with their usage (and sizes) left out (pve-manager API2Tools extract_node_stats).
    fake.server.enqueue(
      json({
        data: [
          { id: 'node/pve1', node: 'pve1', type: 'node', status: 'online', level: '' },
          { id: 'node/pve2', node: 'pve2', type: 'node', status: 'online', level: '' },
        ],
      }),
      { path: /\/cluster\/resources/ },
    );
    const { output, isError } = await callTool('get_cluster_resources', {});
    expect(isError).toBe(false);
    expect(output).toContain(
      '- pve1: online, no usage figures (the API token lacks Sys.Audit on /nodes/pve1; give the token and its user the PVEAuditor role on /)',
    );
    expect(output).toContain('Totals (online nodes, 2 without figures left out): CPU and memory unknown;');
    expect(output).not.toContain('up 0s');
    expect(output).not.toContain('CPU 0%');
  });

  it('get_ceph_status gives health with its checks and details', async () => {
    const { output } = await callTool('get_ceph_status', {});
    expect(output.split('\n').slice(0, 4)).toEqual([
      'Ceph health: HEALTH_WARN',
      'Checks:',
      '- RECENT_CRASH (HEALTH_WARN): 1 daemons have recently crashed',
      '  - osd.3 crashed on host pve2 at 2026-05-11T23:41:07.512345Z',
    ]);
    expect(output).toContain('OSDs: 4 total, 4 up, 4 in');
    expect(output).toContain('Placement groups: 33 (33 active+clean)');
    expect(output).toContain('Usage: 186 GiB of 3.64 TiB (5%) raw');
  });

  it('get_ceph_status follows changes and says when Ceph is not installed', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.setCephHealth('HEALTH_OK');
      expect((await callTool('get_ceph_status', {}, cluster.client)).output).toMatch(
        /^Ceph health: HEALTH_OK\nMonitors/,
      );
      cluster.fake.setCephInstalled(false);
      const missing = await callTool('get_ceph_status', {}, cluster.client);
      expect(missing).toEqual({
        output: 'Ceph is not installed on this cluster, so there is no Ceph health to report.',
        isError: false,
      });
    } finally {
      await cluster.stop();
    }
  });

  it('list_tasks shows recent tasks with outcomes, or failed ones only', async () => {
    const recent = await callTool('list_tasks', { limit: 3 });
    expect(recent.output.split('\n')).toEqual([
      'Recent tasks in the cluster, newest first (3 of 12):',
      '- 2026-05-12 09:56 UTC pve1 vncproxy 101 by root@pam: RUNNING',
      '- 2026-05-12 09:30 UTC pve1 vncproxy 100 by root@pam: OK, took 5m 12s',
      '- 2026-05-12 08:00 UTC pve2 qmstart 102 by root@pam: FAILED: start failed: QEMU exited with code 1, took 4s',
    ]);
    const failed = await callTool('list_tasks', { failedOnly: true });
    expect(failed.output.split('\n')).toEqual([
      'Failed tasks in the cluster, newest first (2 of 2):',
      '- 2026-05-12 08:00 UTC pve2 qmstart 102 by root@pam: FAILED: start failed: QEMU exited with code 1, took 4s',
      "- 2026-05-12 04:40 UTC pve1 aptupdate by root@pam: FAILED: command 'apt-get update' failed: exit code 100, took 14s",
    ]);
    const node = await callTool('list_tasks', { node: 'pve2', failedOnly: true });
    expect(node.output).toContain('Failed tasks on pve2, newest first (1 of 1):');
    const warnings = await callTool('list_tasks', { node: 'pve2' });
    expect(warnings.output).toContain('vzdump by root@pam: WARNINGS: 1');
    // A page of a node's history says how many tasks the history holds, not just the page's size.
    const page = await callTool('list_tasks', { node: 'pve1', limit: 2 });
    expect(page.output.split('\n')[0]).toBe('Recent tasks on pve1, newest first (2 of 7):');
    const none = await callTool('list_tasks', { vmid: 200, failedOnly: true });
    expect(none.output).toBe('No failed tasks in the cluster for 200.');
  });

  it('a full turn: the model asks why VM 102 is down and reads the failed start', async () => {
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 'c1', toolName: 'get_vm_status', input: { vmid: 102 } }] },
        { text: 'VM 102 is stopped: its last start failed (QEMU exited with code 1).' },
      ],
    });
    const agent = createAgent({ model, toolsets: [createProxmoxToolset(client)] });
    const result = await agent.generate({ messages: [{ role: 'user', content: 'Why is VM 102 down?' }] });
    expect(result.text).toBe('VM 102 is stopped: its last start failed (QEMU exited with code 1).');
    expect(model.calls[0]?.tools?.map((tool) => tool.name)).toEqual([...PROXMOX_TOOL_NAMES]);
    const toolMessage = model.calls[1]?.messages.find((message) => message.role === 'tool');
    expect(JSON.stringify(toolMessage)).toContain('start failed: QEMU exited with code 1');
    expect(fake.server.requests.every((request) => request.method === 'GET')).toBe(true);
  });
});

describe("the tools' Proxmox calls log through the run's logger (ToolContext.logger)", () => {
  it("each call's proxmox request line carries the run's bindings and component: 'proxmox'", async () => {
    const own = memoryLogger();
    const run = memoryLogger();
    const logged = createProxmoxClient({
      url: fake.url,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
      ca: (await import('@haia/testkit')).testCertificates().ca,
      logger: own.logger,
    });
    try {
      const { isError } = await callTool(
        'get_vm_status',
        { vmid: 102 },
        logged,
        run.logger.child({ requestId: 'request-7' }),
      );
      expect(isError).toBe(false);
      const requests = run.lines.filter((line) => line.message === 'proxmox request');
      expect(requests.map((line) => (line.object as { path: string }).path)).toEqual([
        '/cluster/resources',
        '/nodes/pve2/qemu/102/status/current',
        '/nodes/pve2/tasks',
      ]);
      for (const line of requests) {
        expect(line).toMatchObject({
          level: 'debug',
          object: { requestId: 'request-7', tool: 'get_vm_status', component: 'proxmox', status: 200 },
        });
      }
      expect(own.lines.filter((line) => line.message === 'proxmox request')).toEqual([]);
      expect(JSON.stringify(run.lines)).not.toContain(fake.tokenSecret);
    } finally {
      await logged.close();
    }
  });

  it("a call that fails warns on the run's logger too", async () => {
    const run = memoryLogger();
    fake.server.enqueue(hangUp());
    const { isError } = await callTool('list_vms', {}, client, run.logger.child({ requestId: 'request-8' }));
    expect(isError).toBe(true);
    const warnings = run.lines.filter((line) => line.level === 'warn' && 'path' in line.object);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.object).toMatchObject({
      requestId: 'request-8',
      tool: 'list_vms',
      component: 'proxmox',
      path: '/cluster/resources',
      code: 'network',
    });
  });
});
