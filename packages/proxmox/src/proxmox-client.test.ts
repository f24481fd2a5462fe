import type { ProxmoxFake, Reply } from '@haia/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxmoxClient } from './proxmox-client.js';
import { startCluster } from './test-support.js';

/** A backup that failed on pve1, inside the fixtures' task window. */
const FAILED_BACKUP = { node: 'pve1', type: 'vzdump', id: 101, status: 'job errors', startTime: 1778579000 };

let fake: ProxmoxFake;
let client: ProxmoxClient;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ fake, client, stop } = await startCluster());
});
afterAll(() => stop());

describe('createProxmoxClient: operations against the fake cluster', () => {
  it('sends the token header on /api2/json and unwraps { data } (version)', async () => {
    fake.server.reset();
    expect(await client.version()).toEqual({ version: '9.1.4', release: '9.1', repoId: '5ac30304265fbd8e' });
    const request = fake.server.requests[0]!;
    expect(request.method).toBe('GET');
    expect(request.path).toBe('/api2/json/version');
    expect(request.headers.authorization).toBe(`PVEAPIToken=${fake.tokenId}=${fake.tokenSecret}`);
    expect(client.url).toBe(fake.url);
  });

  it('reads cluster status: quorum as a boolean, nodes sorted', async () => {
    const status = await client.clusterStatus();
    expect(status).toMatchObject({
      clustered: true,
      name: 'homelab',
      quorate: true,
      nodeCount: 2,
      configVersion: 4,
    });
    expect(status.nodes).toEqual([
      { name: 'pve1', nodeId: 1, ip: '192.168.1.11', online: true, local: true, level: '' },
      { name: 'pve2', nodeId: 2, ip: '192.168.1.12', online: true, local: false, level: '' },
    ]);
  });

  it('reads cluster resources split into guests (qemu and lxc), nodes and storage, normalised', async () => {
    const resources = await client.clusterResources();
    expect(resources.guests.map((guest) => [guest.vmid, guest.type, guest.node, guest.status])).toEqual([
      [100, 'qemu', 'pve1', 'running'],
      [101, 'qemu', 'pve1', 'running'],
      [102, 'qemu', 'pve2', 'stopped'],
      [200, 'lxc', 'pve1', 'running'],
      [201, 'lxc', 'pve2', 'running'],
    ]);
    expect(resources.guests[0]).toEqual({
      vmid: 100,
      type: 'qemu',
      name: 'homeassistant',
      node: 'pve1',
      status: 'running',
      template: false,
      uptimeSeconds: 1234499,
      cpuFraction: 0.0213,
      cpuCount: 2,
      memoryBytes: 2684354560,
      maxMemoryBytes: 4294967296,
      diskBytes: 0,
      maxDiskBytes: 34359738368,
      netInBytes: 5368709120,
      netOutBytes: 1288490188,
      diskReadBytes: 2147483648,
      diskWriteBytes: 9663676416,
      tags: ['automation', 'prod'],
      lock: undefined,
      pool: undefined,
      haState: undefined,
    });
    expect(resources.guests[2]?.tags).toEqual([]);
    expect(resources.nodes.map((node) => [node.node, node.online, node.cpuCount])).toEqual([
      ['pve1', true, 12],
      ['pve2', true, 16],
    ]);
    expect(resources.storage).toHaveLength(6);
    expect(resources.storage[0]).toEqual({
      storage: 'ceph-pool',
      node: 'pve1',
      pluginType: 'rbd',
      status: 'available',
      shared: true,
      content: ['images', 'rootdir'],
      usedBytes: 97710505984,
      totalBytes: 1943803518976,
    });
  });

  it('passes the type filter to Proxmox', async () => {
    fake.server.reset();
    const vms = await client.clusterResources({ type: 'vm' });
    expect(fake.server.requests[0]?.query.get('type')).toBe('vm');
    expect(vms.guests).toHaveLength(5);
    expect(vms.nodes).toEqual([]);
    const storage = await client.clusterResources({ type: 'storage' });
    expect(storage.guests).toEqual([]);
    expect(storage.storage).toHaveLength(6);
  });

  it('reads /nodes', async () => {
    const nodes = await client.nodes();
    expect(nodes.map((node) => [node.node, node.status, node.maxMemoryBytes])).toEqual([
      ['pve1', 'online', 67186003968],
      ['pve2', 'online', 33463357440],
    ]);
  });

  it('reads node status with string numbers turned into numbers', async () => {
    const status = await client.nodeStatus('pve1');
    expect(status.loadAverage).toEqual([0.42, 0.51, 0.47]);
    expect(status.cpu).toEqual({
      model: '12th Gen Intel(R) Core(TM) i5-12500T',
      cpus: 12,
      cores: 6,
      sockets: 1,
      mhz: 4400,
      hvm: true,
    });
    expect(status.memory).toEqual({
      totalBytes: 67186003968,
      usedBytes: 21856296960,
      freeBytes: 28418453504,
      availableBytes: 45329707008,
    });
    expect(status.rootfs.availableBytes).toBe(81226193920);
    expect(status).toMatchObject({
      node: 'pve1',
      uptimeSeconds: 1234567,
      pveVersion: 'pve-manager/9.1.4/5ac30304265fbd8e',
      kernelRelease: '6.14.11-4-pve',
      bootMode: 'efi',
    });
  });

  it('lists the guests of a node, qemu and lxc, with LXC pressure strings parsed', async () => {
    const guests = await client.nodeGuests('pve2');
    expect(guests.map((guest) => [guest.vmid, guest.type, guest.status])).toEqual([
      [102, 'qemu', 'stopped'],
      [201, 'lxc', 'running'],
    ]);
    expect((await client.nodeGuests('pve1', { type: 'lxc' })).map((guest) => guest.vmid)).toEqual([200]);
    const container = await client.guestStatus({ node: 'pve2', vmid: 201, type: 'lxc' });
    expect(container.pressure).toEqual({
      cpuSome: 0.87,
      cpuFull: 0.52,
      ioSome: 0.31,
      ioFull: 0.27,
      memorySome: 0,
      memoryFull: 0,
    });
    expect(container).toMatchObject({
      qmpStatus: 'running',
      pid: 1733,
      swapBytes: 12582912,
      maxSwapBytes: 536870912,
    });
  });

  it('reads a running VM and a stopped one, whose missing fields get defaults', async () => {
    const running = await client.guestStatus({ node: 'pve1', vmid: 100, type: 'qemu' });
    expect(running).toMatchObject({
      status: 'running',
      qmpStatus: 'running',
      pid: 1873,
      agent: true,
      ha: { managed: false },
      freeMemoryBytes: 1210612736,
      runningQemu: '10.0.2',
      uptimeSeconds: 1234499,
    });
    const stopped = await client.guestStatus({ node: 'pve2', vmid: 102, type: 'qemu' });
    expect(stopped).toMatchObject({
      status: 'stopped',
      qmpStatus: 'stopped',
      pid: undefined,
      pressure: undefined,
      uptimeSeconds: 0,
      diskReadBytes: 0,
      memoryBytes: 0,
      maxMemoryBytes: 8589934592,
      tags: [],
    });
  });

  it('reads the storage of a node with flags as booleans', async () => {
    const storage = await client.nodeStorage('pve1');
    expect(storage.map((entry) => entry.storage)).toEqual(['ceph-pool', 'local', 'local-lvm']);
    expect(storage[1]).toEqual({
      storage: 'local',
      node: 'pve1',
      type: 'dir',
      content: ['backup', 'iso', 'vztmpl'],
      shared: false,
      active: true,
      enabled: true,
      totalBytes: 100861726720,
      usedBytes: 14592446464,
      availableBytes: 81226193920,
      usedFraction: 0.1446777379144992,
    });
  });

  it('reads Ceph status with the health detail checks, cluster-wide and per node', async () => {
    const ceph = await client.cephStatus();
    expect(ceph.health).toBe('HEALTH_WARN');
    expect(ceph.checks).toEqual([
      {
        code: 'RECENT_CRASH',
        severity: 'HEALTH_WARN',
        summary: '1 daemons have recently crashed',
        count: 1,
        details: ['osd.3 crashed on host pve2 at 2026-05-11T23:41:07.512345Z'],
        muted: false,
      },
    ]);
    expect(ceph.osds).toEqual({ total: 4, up: 4, in: 4 });
    expect(ceph.placementGroups).toEqual({ total: 33, byState: [{ state: 'active+clean', count: 33 }] });
    expect(ceph.monitors).toEqual({ quorum: ['pve1', 'pve2'], count: 2 });
    expect(ceph.managers).toEqual({ active: 'pve1', standbys: ['pve2'] });
    expect(ceph.usage.totalBytes).toBe(4000819544064);
    expect(ceph.recovery).toBeUndefined();
    fake.server.reset();
    expect((await client.cephStatus({ node: 'pve2' })).health).toBe('HEALTH_WARN');
    expect(fake.server.requests[0]?.path).toBe('/api2/json/nodes/pve2/ceph/status');
  });

  it('reads node tasks with their total, and recognises failed ones', async () => {
    const page = await client.nodeTasks('pve2');
    expect(page.total).toBe(4);
    const [start, backup] = page.tasks;
    expect(start).toMatchObject({
      type: 'qmstart',
      id: '102',
      status: 'start failed: QEMU exited with code 1',
      failed: true,
      running: false,
      durationSeconds: 4,
      startedAt: new Date(1778572800 * 1000),
    });
    expect(backup).toMatchObject({ type: 'vzdump', status: 'WARNINGS: 1', failed: false, warnings: 1 });
    expect(page.tasks.filter((task) => task.failed)).toHaveLength(1);
  });

  it('sends the task filters as Proxmox parameters', async () => {
    fake.server.reset();
    const page = await client.nodeTasks('pve2', {
      errors: true,
      since: new Date(1778553000 * 1000),
      limit: 10,
      vmid: 102,
    });
    expect(Object.fromEntries(fake.server.requests[0]!.query)).toEqual({
      errors: '1',
      since: '1778553000',
      limit: '10',
      vmid: '102',
    });
    expect(page.tasks.map((task) => task.upid)).toEqual([
      'UPID:pve2:000BC483:05D80DFD:6A02DE00:qmstart:102:root@pam:',
    ]);
  });

  it('reads cluster tasks, newest first, with the running one recognised', async () => {
    const tasks = await client.clusterTasks();
    expect(tasks).toHaveLength(12);
    expect(tasks[0]).toMatchObject({
      type: 'vncproxy',
      id: '101',
      running: true,
      failed: false,
      status: undefined,
    });
    expect(tasks.filter((task) => task.failed).map((task) => task.type)).toEqual(['qmstart', 'aptupdate']);
  });

  it('collects failed tasks of every online node', async () => {
    const failed = await client.failedTasks();
    expect(failed.unreachableNodes).toEqual([]);
    expect(failed.tasks.map((task) => [task.node, task.type, task.status])).toEqual([
      ['pve2', 'qmstart', 'start failed: QEMU exited with code 1'],
      ['pve1', 'aptupdate', "command 'apt-get update' failed: exit code 100"],
    ]);
  });
});

describe('createProxmoxClient: state changes of the fake show through', () => {
  it('sees a stopped guest, Ceph health changes and an added failed task', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.stopGuest(100);
      const guest = await cluster.client.guestStatus({ node: 'pve1', vmid: 100, type: 'qemu' });
      expect(guest).toMatchObject({
        status: 'stopped',
        qmpStatus: 'stopped',
        pid: undefined,
        uptimeSeconds: 0,
      });
      const { guests } = await cluster.client.clusterResources({ type: 'vm' });
      expect(guests.find((entry) => entry.vmid === 100)?.status).toBe('stopped');

      cluster.fake.setCephHealth('HEALTH_ERR', {
        OSD_DOWN: {
          severity: 'HEALTH_WARN',
          summary: { message: '1 osds down', count: 1 },
          detail: [{ message: 'osd.2 is down' }],
        },
        PG_AVAILABILITY: {
          severity: 'HEALTH_ERR',
          summary: { message: 'Reduced data availability: 3 pgs inactive' },
        },
      });
      const ceph = await cluster.client.cephStatus();
      expect(ceph.health).toBe('HEALTH_ERR');
      expect(ceph.checks.map((check) => check.code)).toEqual(['PG_AVAILABILITY', 'OSD_DOWN']);

      cluster.fake.addTask(FAILED_BACKUP);
      const failed = await cluster.client.failedTasks({ since: new Date(1778570000 * 1000) });
      expect(failed.tasks.map((task) => [task.type, task.id, task.status])).toEqual([
        ['vzdump', '101', 'job errors'],
        ['qmstart', '102', 'start failed: QEMU exited with code 1'],
      ]);
    } finally {
      await cluster.stop();
    }
  });

  it("keeps the other nodes' failed tasks when one node's task list fails, and throws when all do", async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.addTask(FAILED_BACKUP);
      const broken: Reply = (response) => {
        response.writeHead(500, 'Internal Server Error', {
          'content-type': 'application/json;charset=UTF-8',
        });
        response.end('{"data":null,"message":"pvestatd is not running\\n"}');
      };
      cluster.fake.server.enqueue(broken, { path: /\/nodes\/pve2\/tasks/ });
      const failed = await cluster.client.failedTasks({ since: new Date(1778570000 * 1000) });
      expect(failed.tasks.map((task) => [task.node, task.type])).toContainEqual(['pve1', 'vzdump']);
      expect(failed.tasks.every((task) => task.node === 'pve1')).toBe(true);
      expect(failed.failedNodes).toEqual([{ node: 'pve2', message: expect.stringContaining('500') }]);
      expect(failed.unreachableNodes).toEqual([]);
      cluster.fake.server.enqueue(broken, { path: /\/nodes\/pve1\/tasks/ });
      cluster.fake.server.enqueue(broken, { path: /\/nodes\/pve2\/tasks/ });
      await expect(cluster.client.failedTasks()).rejects.toMatchObject({ name: 'ProxmoxError' });
    } finally {
      await cluster.stop();
    }
  });

  it('sees an offline node: offline in the resources, no quorum, failedTasks skips it', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.setNodeOffline('pve2');
      const { nodes, guests } = await cluster.client.clusterResources();
      expect(nodes.find((node) => node.node === 'pve2')).toMatchObject({
        online: false,
        status: 'offline',
        cpuFraction: undefined,
        memoryBytes: undefined,
        maxMemoryBytes: 33463357440,
      });
      expect(guests.find((guest) => guest.vmid === 201)?.status).toBe('unknown');
      const status = await cluster.client.clusterStatus();
      expect(status.quorate).toBe(false);
      expect(status.nodes.find((node) => node.name === 'pve2')?.online).toBe(false);
      const failed = await cluster.client.failedTasks();
      expect(failed.unreachableNodes).toEqual(['pve2']);
      expect(failed.failedNodes).toEqual([]);
      expect(failed.tasks.map((task) => task.node)).toEqual(['pve1']);
    } finally {
      await cluster.stop();
    }
  });
});

describe('createProxmoxClient: read-only by construction', () => {
  it('exposes only read operations and no generic request method', () => {
    expect(Object.keys(client).sort()).toEqual(
      [
        'url',
        'version',
        'clusterStatus',
        'clusterResources',
        'nodes',
        'nodeStatus',
        'nodeGuests',
        'guestStatus',
        'nodeStorage',
        'cephStatus',
        'nodeTasks',
        'clusterTasks',
        'failedTasks',
        'status',
        'close',
      ].sort(),
    );
    for (const name of ['request', 'get', 'post', 'put', 'delete', 'fetch', 'http']) {
      expect(name in client).toBe(false);
    }
    expect(Object.isFrozen(client)).toBe(true);
  });

  it('sends nothing but GET for every operation', async () => {
    fake.server.reset();
    await client.version();
    await client.clusterStatus();
    await client.clusterResources();
    await client.nodes();
    await client.nodeStatus('pve1');
    await client.nodeGuests('pve1');
    await client.guestStatus({ node: 'pve1', vmid: 200, type: 'lxc' });
    await client.nodeStorage('pve2');
    await client.cephStatus();
    await client.nodeTasks('pve1');
    await client.clusterTasks();
    await client.failedTasks();
    expect(fake.server.requests.length).toBeGreaterThanOrEqual(14);
    expect(new Set(fake.server.requests.map((request) => request.method))).toEqual(new Set(['GET']));
    expect(fake.server.requests.every((request) => request.body === '')).toBe(true);
  });

  it('encodes path segments, so a node name cannot reach another endpoint', async () => {
    fake.server.reset();
    await expect(client.nodeStatus('pve1/qemu/100/status/stop?x=')).rejects.toMatchObject({
      code: 'not-found',
    });
    expect(fake.server.requests[0]?.path).toBe(
      '/api2/json/nodes/pve1%2Fqemu%2F100%2Fstatus%2Fstop%3Fx%3D/status',
    );
  });
});
