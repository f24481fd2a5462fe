import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCertificates } from '../tls.js';
import { PROXMOX_FIXTURE_NOW } from './fixtures.js';
import { PROXMOX_FAKE_TOKEN_SECRET, type ProxmoxFake, startProxmoxFake } from './proxmox-fake.js';

interface RawResponse {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: raw wire bodies of many shapes, checked by the assertions
  json(): { data: any; total?: number; message?: string; errors?: Record<string, string> };
}

let fake: ProxmoxFake;
const token = () => `PVEAPIToken=${fake.tokenId}=${fake.tokenSecret}`;

/** A raw https request (node:https, the testkit CA), so the status line itself can be checked. */
function call(method: string, path: string, authorization: string | null = token()): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, fake.url);
    const outgoing = request(
      url,
      { method, ca: testCertificates().ca, headers: authorization ? { authorization } : {} },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            reason: response.statusMessage ?? '',
            headers: response.headers,
            body,
            json: () => JSON.parse(body),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

beforeAll(async () => {
  fake = await startProxmoxFake();
});
afterAll(() => fake.close());

describe('startProxmoxFake: the wire like pveproxy', () => {
  it('serves https with the fixtures, the exact content type and the { data } envelope', async () => {
    expect(fake.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(fake.tokenSecret).toBe(PROXMOX_FAKE_TOKEN_SECRET);
    const response = await call('GET', '/api2/json/version');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(response.headers.server).toBe('pve-api-daemon/3.0');
    expect(response.json().data).toEqual({ version: '9.1.4', release: '9.1', repoid: '5ac30304265fbd8e' });
  });

  it('answers 401 with an empty body and the reason in the status line', async () => {
    const none = await call('GET', '/api2/json/nodes', null);
    expect([none.status, none.reason, none.body, none.headers['content-type']]).toEqual([
      401,
      'No ticket',
      '',
      undefined,
    ]);
    const wrong = await call('GET', '/api2/json/nodes', `PVEAPIToken=${fake.tokenId}=wrong`);
    expect([wrong.status, wrong.reason, wrong.body]).toEqual([401, 'Authentication failed!', '']);
    const spaced = await call('GET', '/api2/json/version', `PVEAPIToken ${fake.tokenId}=${fake.tokenSecret}`);
    expect(spaced.status).toBe(200);
  });

  it('rejects anything but GET with 501, after the auth check', async () => {
    const post = await call('POST', '/api2/json/nodes/pve1/qemu/100/status/start');
    expect(post.status).toBe(501);
    expect(post.reason).toBe("Method 'POST /nodes/pve1/qemu/100/status/start' not implemented");
    expect(post.json()).toEqual({
      data: null,
      message: "Method 'POST /nodes/pve1/qemu/100/status/start' not implemented\n",
    });
    for (const method of ['PUT', 'DELETE'])
      expect((await call(method, '/api2/json/version')).status).toBe(501);
    expect((await call('DELETE', '/api2/json/version', null)).status).toBe(401);
  });

  it('answers handler errors like Proxmox: 400 parameters, 500 missing guest, 501 unknown path', async () => {
    const badType = await call('GET', '/api2/json/cluster/resources?type=vms');
    expect(badType.status).toBe(400);
    expect(badType.reason).toBe('Parameter verification failed.');
    expect(badType.json().errors).toEqual({
      type: "value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'",
    });
    const unknownParam = await call('GET', '/api2/json/nodes?foo=1');
    expect(unknownParam.json().errors?.foo).toContain('property is not defined in schema');
    const missing = await call('GET', '/api2/json/nodes/pve1/qemu/999/status/current');
    expect([missing.status, missing.reason]).toEqual([
      500,
      "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist",
    ]);
    const wrongNode = await call('GET', '/api2/json/nodes/pve1/lxc/201/status/current');
    expect(wrongNode.reason).toBe("Configuration file 'nodes/pve1/lxc/201.conf' does not exist");
    const unknown = await call('GET', '/api2/json/nodes/pve1/nonexistent');
    expect([unknown.status, unknown.reason]).toEqual([
      501,
      "Method 'GET /nodes/pve1/nonexistent' not implemented",
    ]);
  });

  it('filters cluster resources by type and node tasks by errors, vmid, start and limit with total', async () => {
    const vms = (await call('GET', '/api2/json/cluster/resources?type=vm')).json().data as Array<{
      type: string;
    }>;
    expect(new Set(vms.map((entry) => entry.type))).toEqual(new Set(['qemu', 'lxc']));
    const errors = (await call('GET', '/api2/json/nodes/pve2/tasks?errors=1')).json();
    expect(errors.total).toBe(2);
    expect(errors.data.map((task: { status: string }) => task.status)).toEqual([
      'start failed: QEMU exited with code 1',
      'WARNINGS: 1',
    ]);
    const page = (await call('GET', '/api2/json/nodes/pve1/tasks?start=1&limit=2')).json();
    expect(page.data).toHaveLength(2);
    expect(page.total).toBeGreaterThan(2);
    const byVm = (await call('GET', '/api2/json/nodes/pve2/tasks?vmid=102')).json();
    expect(byVm.data.map((task: { type: string }) => task.type)).toEqual(['qmstart']);
  });
});

describe('startProxmoxFake: state a test can change', () => {
  it('stops a guest everywhere Proxmox shows it', async () => {
    const local = await startProxmoxFake();
    const previous = fake;
    fake = local;
    try {
      local.stopGuest(101);
      const current = (await call('GET', '/api2/json/nodes/pve1/qemu/101/status/current')).json().data;
      expect(current).toMatchObject({ status: 'stopped', qmpstatus: 'stopped', uptime: 0, cpu: 0 });
      expect(current).not.toHaveProperty('pid');
      expect(current).not.toHaveProperty('pressurecpusome');
      const listed = (await call('GET', '/api2/json/nodes/pve1/qemu')).json().data;
      expect(listed.find((guest: { vmid: number }) => guest.vmid === 101)).toMatchObject({
        status: 'stopped',
      });
      const resources = (await call('GET', '/api2/json/cluster/resources?type=vm')).json().data;
      expect(resources.find((guest: { vmid: number }) => guest.vmid === 101)).toMatchObject({
        status: 'stopped',
        mem: 0,
      });
      expect(() => local.stopGuest(555)).toThrow('no guest 555');
    } finally {
      fake = previous;
      await local.close();
    }
  });

  it('starts a stopped guest again and changes storage usage', async () => {
    const local = await startProxmoxFake();
    const previous = fake;
    fake = local;
    try {
      const before = (await call('GET', '/api2/json/nodes/pve1/qemu/101/status/current')).json().data;
      local.stopGuest(101);
      local.startGuest(101);
      expect((await call('GET', '/api2/json/nodes/pve1/qemu/101/status/current')).json().data).toEqual(
        before,
      );
      const resources = (await call('GET', '/api2/json/cluster/resources?type=vm')).json().data;
      expect(resources.find((guest: { vmid: number }) => guest.vmid === 101)).toMatchObject({
        status: 'running',
      });
      expect(() => local.startGuest(100)).toThrow('was not stopped');
      local.setStorageUsage('local-lvm', 340_000_000_000);
      const storage = (await call('GET', '/api2/json/cluster/resources?type=storage')).json().data;
      expect(
        storage
          .filter((entry: { storage: string }) => entry.storage === 'local-lvm')
          .map((entry: { disk: number }) => entry.disk),
      ).toEqual([340_000_000_000, 340_000_000_000]);
      expect(() => local.setStorageUsage('nope', 1)).toThrow('no storage nope');
    } finally {
      fake = previous;
      await local.close();
    }
  });

  it('takes a node offline: 595 with an empty body, offline in the cluster views, no quorum', async () => {
    const local = await startProxmoxFake();
    const previous = fake;
    fake = local;
    try {
      local.setNodeOffline('pve2');
      const proxied = await call('GET', '/api2/json/nodes/pve2/status');
      expect([proxied.status, proxied.reason, proxied.body]).toEqual([595, 'No route to host', '']);
      const status = (await call('GET', '/api2/json/cluster/status')).json().data;
      expect(status.find((entry: { type: string }) => entry.type === 'cluster')?.quorate).toBe(0);
      expect(status.find((entry: { name: string }) => entry.name === 'pve2')?.online).toBe(0);
      const nodes = (await call('GET', '/api2/json/nodes')).json().data;
      expect(nodes.find((node: { node: string }) => node.node === 'pve2')).not.toHaveProperty('cpu');
      local.setNodeOffline('pve2', true, { status: 596 });
      expect((await call('GET', '/api2/json/nodes/pve2/tasks')).status).toBe(596);
      local.setNodeOffline('pve2', false);
      expect((await call('GET', '/api2/json/nodes/pve2/status')).status).toBe(200);
    } finally {
      fake = previous;
      await local.close();
    }
  });

  it('a node offline for over 5 minutes: its RRD data gone from /cluster/resources, as pmxcfs drops it', async () => {
    const local = await startProxmoxFake();
    const previous = fake;
    fake = local;
    try {
      local.setNodeOffline('pve2', true, { dataExpired: true });
      const resources: Array<Record<string, unknown>> = (
        await call('GET', '/api2/json/cluster/resources')
      ).json().data;
      const byId = (id: string) => resources.find((entry) => entry.id === id);
      expect(byId('qemu/102')).toEqual({
        id: 'qemu/102',
        vmid: 102,
        node: 'pve2',
        type: 'qemu',
        status: 'unknown',
      });
      expect(byId('lxc/201')).toEqual({
        id: 'lxc/201',
        vmid: 201,
        node: 'pve2',
        type: 'lxc',
        status: 'unknown',
        tags: 'media',
      });
      expect(byId('node/pve2')).toEqual({ id: 'node/pve2', node: 'pve2', type: 'node', status: 'offline' });
      expect(byId('storage/pve2/local')).toMatchObject({ status: 'unknown', plugintype: 'dir', shared: 0 });
      expect(byId('storage/pve2/local')).not.toHaveProperty('maxdisk');
      expect(byId('qemu/100')).toMatchObject({ name: 'homeassistant', status: 'running' });
    } finally {
      fake = previous;
      await local.close();
    }
  });

  it('changes Ceph health, removes Ceph, adds tasks and denies permissions', async () => {
    const local = await startProxmoxFake();
    const previous = fake;
    fake = local;
    try {
      local.setCephHealth('HEALTH_ERR', {
        OSD_DOWN: { severity: 'HEALTH_WARN', summary: { message: '1 osds down', count: 1 } },
      });
      const ceph = (await call('GET', '/api2/json/cluster/ceph/status')).json().data;
      expect(ceph.health).toEqual({
        status: 'HEALTH_ERR',
        checks: { OSD_DOWN: { severity: 'HEALTH_WARN', summary: { message: '1 osds down', count: 1 } } },
        mutes: [],
      });
      local.setCephInstalled(false);
      const noCeph = await call('GET', '/api2/json/nodes/pve1/ceph/status');
      expect([noCeph.status, noCeph.reason]).toEqual([500, 'binary not installed: /usr/bin/ceph-mon']);

      const upid = local.addTask({
        node: 'pve1',
        type: 'vzdump',
        id: 100,
        status: 'job errors',
        startTime: PROXMOX_FIXTURE_NOW,
      });
      expect(upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:6A02FA20:vzdump:100:root@pam:$/);
      const errors = (await call('GET', '/api2/json/nodes/pve1/tasks?errors=1')).json().data;
      expect(errors[0]).toMatchObject({
        upid,
        status: 'job errors',
        endtime: PROXMOX_FIXTURE_NOW + 1,
        id: '100',
      });
      const running = local.addTask({ node: 'pve2', type: 'qmigrate', id: 201 });
      const clusterTasks = (await call('GET', '/api2/json/cluster/tasks')).json().data;
      expect(clusterTasks[0]).toMatchObject({ upid: running, saved: '0' });
      expect(clusterTasks[0]).not.toHaveProperty('status');

      local.denyPermission(/^\/nodes\/[^/]+\/status$/, '/nodes/pve1, Sys.Audit');
      const denied = await call('GET', '/api2/json/nodes/pve1/status');
      expect([denied.status, denied.reason]).toEqual([
        403,
        'Permission check failed (/nodes/pve1, Sys.Audit)',
      ]);
      expect(denied.json()).toEqual({
        data: null,
        message: 'Permission check failed (/nodes/pve1, Sys.Audit)\n',
      });
    } finally {
      fake = previous;
      await local.close();
    }
  });
});
