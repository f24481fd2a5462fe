import type { ServerResponse } from 'node:http';
import { type FakeServer, type RecordedRequest, startFakeServer } from '../fake-server.js';
import type { Reply } from '../replies.js';
import { PROXMOX_FIXTURE_NOW, proxmoxFixtures, type WireObject } from './fixtures.js';

/** Options of {@link startProxmoxFake}. */
export interface ProxmoxFakeOptions {
  /** The token id the fake accepts (default `haia@pve!monitor`). */
  tokenId?: string;
  /** The token secret the fake accepts (default a fixed UUID, {@link PROXMOX_FAKE_TOKEN_SECRET}). */
  tokenSecret?: string;
  /** Serve https with the testkit certificate (default true), like pveproxy on 8006. */
  tls?: boolean;
  /** Delay of every 401 in ms; real Proxmox waits about 3 s (default 0, so tests stay fast). */
  authDelayMs?: number;
}

/** A Ceph health check as `ceph health detail` reports it. */
export interface FakeCephCheck {
  severity: 'HEALTH_WARN' | 'HEALTH_ERR';
  summary: { message: string; count?: number };
  detail?: Array<{ message: string }>;
  muted?: boolean;
}

/** A task to add with {@link ProxmoxFake.addTask}. */
export interface FakeTask {
  node: string;
  /** `qmstart`, `vzdump`, `aptupdate`... */
  type: string;
  /** Usually the vmid; empty for node tasks. */
  id?: string | number;
  user?: string;
  /** `OK`, `WARNINGS: n`, an error text (a failed task), or undefined for a running task. */
  status?: string;
  /** Epoch seconds (default: the fixtures' reference time). */
  startTime?: number;
  durationSeconds?: number;
}

/** A running fake Proxmox VE API (a 2-node cluster with Ceph) whose state a test can change. */
export interface ProxmoxFake extends AsyncDisposable {
  /** `https://127.0.0.1:<port>`: what a client takes as `PROXMOX_URL`. */
  url: string;
  tokenId: string;
  tokenSecret: string;
  /** The underlying fake server: `requests`, `enqueue`, `activeRequests()`. */
  server: FakeServer;
  /** Stops a guest: status `stopped`, usage 0, no pid, like Proxmox reports a stopped guest. */
  stopGuest(vmid: number): void;
  /** Starts a guest stopped with {@link stopGuest} again: it reports what it reported before. */
  startGuest(vmid: number): void;
  /** Sets how many bytes a storage uses, on every node that has a storage of that name. */
  setStorageUsage(storage: string, usedBytes: number): void;
  /**
   * Sets a storage's `status` in `/cluster/resources` (`available`, or `unknown` for an NFS or iSCSI
   * target that is gone), on one node or on every node that has it.
   */
  setStorageStatus(storage: string, status: string, node?: string): void;
  /** Sets the Ceph health and its checks (a map from check code, such as `OSD_DOWN`). */
  setCephHealth(
    status: 'HEALTH_OK' | 'HEALTH_WARN' | 'HEALTH_ERR',
    checks?: Record<string, FakeCephCheck>,
  ): void;
  /** `false`: the Ceph endpoints answer 500 `binary not installed`, as on a cluster without Ceph. */
  setCephInstalled(installed: boolean): void;
  /**
   * Takes a node offline (or back): requests proxied to it answer 595 (`status: 596` for a TLS
   * failure) with an empty body, and the cluster views show it offline and the cluster without quorum.
   * With `dataExpired` the node has been gone for over 5 minutes, so pmxcfs has dropped its RRD data:
   * `/cluster/resources` lists its guests with only `id`, `vmid`, `node`, `type`, `status: unknown`
   * and what comes from their config or HA (`tags`, `lock`, `pool`, `hastate`; no `name`, no sizes),
   * the node without `maxcpu`/`maxmem`/`maxdisk`/`level`, and its storage without `disk`/`maxdisk`.
   */
  setNodeOffline(
    node: string,
    offline?: boolean,
    options?: { status?: 595 | 596; reason?: string; dataExpired?: boolean },
  ): void;
  /** Adds a task to the node's history (and `/cluster/tasks`); returns its UPID. */
  addTask(task: FakeTask): string;
  /** Answers 403 `Permission check failed (<check>)` for paths matching `path` (below `/api2/json`). */
  denyPermission(path: string | RegExp, check: string): void;
  /** Closes the server and its connections. */
  close(): Promise<void>;
}

/** The secret the fake accepts by default. */
export const PROXMOX_FAKE_TOKEN_SECRET = '4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

const CONTENT_TYPE = 'application/json;charset=UTF-8';
const RESOURCE_TYPES = ['vm', 'storage', 'node', 'sdn'];
const PRESSURE_KEYS = [
  'pressurecpusome',
  'pressurecpufull',
  'pressureiosome',
  'pressureiofull',
  'pressurememorysome',
  'pressurememoryfull',
];
const RUNNING_ONLY_KEYS = [
  'pid',
  ...PRESSURE_KEYS,
  'diskread',
  'diskwrite',
  'balloon',
  'freemem',
  'ballooninfo',
  'blockstat',
  'nics',
  'proxmox-support',
  'running-machine',
  'running-qemu',
];
const ZEROED_KEYS = ['uptime', 'cpu', 'mem', 'memhost', 'netin', 'netout', 'diskread', 'diskwrite', 'swap'];

/** Writes a pveproxy-style answer: the message in the reason phrase, JSON (or nothing) as the body. */
function proxmoxReply(status: number, reason: string, body?: unknown): Reply {
  return (response: ServerResponse) => {
    const headers: Record<string, string> = { server: 'pve-api-daemon/3.0' };
    if (body === undefined) {
      response.writeHead(status, reason, { ...headers, 'content-length': '0' });
      response.end();
      return;
    }
    const text = JSON.stringify(body);
    response.writeHead(status, reason, {
      ...headers,
      'content-type': CONTENT_TYPE,
      'content-length': String(Buffer.byteLength(text)),
    });
    response.end(text);
  };
}

const ok = (data: unknown, extra: Record<string, unknown> = {}) =>
  proxmoxReply(200, 'OK', { data, ...extra });
const handlerError = (status: number, message: string, errors?: Record<string, string>) =>
  proxmoxReply(status, message, { data: null, ...(errors ? { errors } : {}), message: `${message}\n` });
const paramError = (errors: Record<string, string>) =>
  proxmoxReply(400, 'Parameter verification failed.', {
    data: null,
    errors,
    message: 'Parameter verification failed.\n',
  });

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(8, '0');
}

/**
 * Starts a fake Proxmox VE API on 127.0.0.1 (https with the testkit certificate) serving the shared
 * fixtures of the `homelab` cluster. It enforces the `PVEAPIToken` header like pveproxy (401 with an
 * empty body and the reason in the status line), answers only GET, and keeps state a test can change.
 *
 * @example
 * const fake = await startProxmoxFake();
 * const client = createProxmoxClient({ url: fake.url, tokenId: fake.tokenId, tokenSecret: fake.tokenSecret,
 *   ca: testCertificates().ca });
 * fake.stopGuest(100);
 * await fake.close();
 */
export async function startProxmoxFake(options: ProxmoxFakeOptions = {}): Promise<ProxmoxFake> {
  const tokenId = options.tokenId ?? 'haia@pve!monitor';
  const tokenSecret = options.tokenSecret ?? PROXMOX_FAKE_TOKEN_SECRET;
  const state = proxmoxFixtures();
  const nodeNames = Object.keys(state.nodeStatus);
  const offline = new Map<string, { status: number; reason: string; dataExpired: boolean }>();
  const denied: Array<{ path: string | RegExp; check: string }> = [];
  let cephInstalled = true;
  let taskCounter = 0;
  const stoppedGuests = new Map<number, Array<WireObject | undefined>>();

  const guestResource = (vmid: number) =>
    state.clusterResources.find(
      (entry) => (entry.type === 'qemu' || entry.type === 'lxc') && entry.vmid === vmid,
    );
  const guestList = (vmid: number) =>
    [...state.qemu, ...state.lxc].find((entry) => entry.vmid === vmid) as WireObject | undefined;

  function currentStatus(vmid: number, type: string): WireObject | undefined {
    const existing = state.current[vmid];
    if (existing) return existing;
    const listed = (type === 'qemu' ? state.qemu : state.lxc).find((entry) => entry.vmid === vmid);
    if (!listed) return undefined;
    const built: WireObject = {
      ...listed,
      ha: { managed: 0 },
      ...(type === 'qemu' ? { qmpstatus: listed.status, agent: 0 } : {}),
    };
    state.current[vmid] = built;
    return built;
  }

  function clusterResourcesView(type: string | null): WireObject[] {
    const view = state.clusterResources.map((entry) => {
      const node = String(entry.node ?? '');
      const down = offline.get(node);
      if (!down) return entry;
      if (down.dataExpired) return withoutRrdData(entry);
      if (entry.type === 'node') {
        const { uptime: _u, cpu: _c, mem: _m, disk: _d, ...rest } = entry;
        return { ...rest, status: 'offline' };
      }
      if (entry.type === 'qemu' || entry.type === 'lxc') {
        const { uptime: _u, cpu: _c, mem: _m, memhost: _h, ...rest } = entry;
        return { ...rest, status: 'unknown' };
      }
      if (entry.type === 'storage') return { ...entry, status: 'unknown' };
      return entry;
    });
    if (!type) return view;
    if (type === 'vm') return view.filter((entry) => entry.type === 'qemu' || entry.type === 'lxc');
    if (type === 'sdn') return view.filter((entry) => entry.type === 'sdn' || entry.type === 'network');
    return view.filter((entry) => entry.type === type);
  }

  /** A `/cluster/resources` entry as Proxmox builds it once the RRD data of its node has expired. */
  function withoutRrdData(entry: WireObject): WireObject {
    const keep = (keys: string[]) =>
      Object.fromEntries(Object.entries(entry).filter(([key]) => keys.includes(key))) as WireObject;
    if (entry.type === 'qemu' || entry.type === 'lxc') {
      return {
        ...keep(['id', 'vmid', 'node', 'type', 'tags', 'lock', 'pool', 'hastate']),
        status: 'unknown',
      };
    }
    if (entry.type === 'node') return { ...keep(['id', 'node', 'type']), status: 'offline' };
    if (entry.type === 'storage') {
      const { disk: _disk, maxdisk: _maxdisk, ...rest } = entry;
      return { ...rest, status: 'unknown' };
    }
    return entry;
  }

  function clusterStatusView(): WireObject[] {
    const online = state.clusterStatus.filter(
      (entry) => entry.type === 'node' && !offline.has(String(entry.name)),
    ).length;
    return state.clusterStatus.map((entry) => {
      if (entry.type === 'cluster') {
        return { ...entry, quorate: online > Number(entry.nodes ?? 0) / 2 ? 1 : 0 };
      }
      return offline.has(String(entry.name)) ? { ...entry, online: 0 } : entry;
    });
  }

  function nodesView(): WireObject[] {
    return state.nodes.map((entry) => {
      if (!offline.has(String(entry.node))) return entry;
      const { uptime: _u, cpu: _c, mem: _m, disk: _d, ...rest } = entry;
      return { ...rest, status: 'offline' };
    });
  }

  function nodeTasksView(node: string, query: URLSearchParams): Reply {
    let tasks = [...(state.nodeTasks[node] ?? [])];
    const source = query.get('source') ?? 'archive';
    if (source === 'active') tasks = [];
    if (source === 'active' || source === 'all') {
      const running = state.clusterTasks
        .filter((task) => task.node === node && task.status === undefined)
        .map(({ saved: _saved, ...task }) => ({ ...task, status: 'RUNNING' }));
      tasks = [...running, ...tasks];
    }
    if (query.get('errors') === '1') tasks = tasks.filter((task) => task.status !== 'OK');
    const since = query.get('since');
    if (since) tasks = tasks.filter((task) => Number(task.starttime) >= Number(since));
    const until = query.get('until');
    if (until) tasks = tasks.filter((task) => Number(task.starttime) <= Number(until));
    const vmid = query.get('vmid');
    if (vmid) tasks = tasks.filter((task) => task.id === vmid);
    const typeFilter = query.get('typefilter');
    if (typeFilter) tasks = tasks.filter((task) => task.type === typeFilter);
    tasks.sort((a, b) => Number(b.starttime) - Number(a.starttime));
    const start = Number(query.get('start') ?? 0);
    const limit = Number(query.get('limit') ?? 50);
    return ok(tasks.slice(start, start + limit), { total: tasks.length });
  }

  function checkParams(query: URLSearchParams, allowed: readonly string[]): Reply | undefined {
    const errors: Record<string, string> = {};
    for (const key of query.keys()) {
      if (!allowed.includes(key)) {
        errors[key] = 'property is not defined in schema and the schema does not allow additional properties';
      }
    }
    for (const key of ['limit', 'start', 'since', 'until', 'vmid', 'errors']) {
      const value = query.get(key);
      if (value !== null && allowed.includes(key) && !/^\d+$/.test(value)) {
        errors[key] = `type check ('integer') failed - got '${value}'`;
      }
    }
    return Object.keys(errors).length > 0 ? paramError(errors) : undefined;
  }

  function cephReply(): Reply {
    if (!cephInstalled) return handlerError(500, 'binary not installed: /usr/bin/ceph-mon');
    return ok(state.ceph);
  }

  function nodeRoute(node: string, rest: string, query: URLSearchParams): Reply | undefined {
    if (rest === '/status') return checkParams(query, []) ?? ok(state.nodeStatus[node]);
    if (rest === '/qemu' || rest === '/lxc') {
      const type = rest.slice(1);
      const list = (type === 'qemu' ? state.qemu : state.lxc).filter((entry) => guestNode(entry) === node);
      return checkParams(query, ['full']) ?? ok(list);
    }
    const guest = /^\/(qemu|lxc)\/([^/]+)\/status\/current$/.exec(rest);
    if (guest) {
      const [, type, vmidText] = guest as unknown as [string, 'qemu' | 'lxc', string];
      if (!/^\d+$/.test(vmidText))
        return paramError({ vmid: `type check ('integer') failed - got '${vmidText}'` });
      const vmid = Number(vmidText);
      const resource = guestResource(vmid);
      const current =
        resource && resource.type === type && resource.node === node && currentStatus(vmid, type);
      if (!current) {
        const file =
          type === 'qemu' ? `nodes/${node}/qemu-server/${vmid}.conf` : `nodes/${node}/lxc/${vmid}.conf`;
        return handlerError(500, `Configuration file '${file}' does not exist`);
      }
      return checkParams(query, []) ?? ok(current);
    }
    if (rest === '/storage') {
      return (
        checkParams(query, ['content', 'enabled', 'format', 'storage', 'target']) ??
        ok(state.nodeStorage[node] ?? [])
      );
    }
    if (rest === '/tasks') {
      return (
        checkParams(query, [
          'start',
          'limit',
          'since',
          'until',
          'errors',
          'statusfilter',
          'typefilter',
          'userfilter',
          'vmid',
          'source',
        ]) ?? nodeTasksView(node, query)
      );
    }
    if (rest === '/ceph/status') return cephReply();
    return undefined;
  }

  function guestNode(entry: WireObject): string | undefined {
    return guestResource(Number(entry.vmid))?.node as string | undefined;
  }

  function authorised(request: RecordedRequest): 'missing' | 'wrong' | 'ok' {
    const header = request.headers.authorization;
    const value = Array.isArray(header) ? header[0] : header;
    const match = value ? /^PVEAPIToken[= ](.+)$/.exec(value) : null;
    if (!match?.[1]) return 'missing';
    let token: string;
    try {
      token = decodeURIComponent(match[1]);
    } catch {
      return 'wrong';
    }
    const split = token.lastIndexOf('=');
    if (split === -1) return 'wrong';
    return token.slice(0, split) === tokenId && token.slice(split + 1) === tokenSecret ? 'ok' : 'wrong';
  }

  async function handle(request: RecordedRequest): Promise<Reply> {
    const auth = authorised(request);
    if (auth !== 'ok') {
      if (options.authDelayMs) await new Promise((resolve) => setTimeout(resolve, options.authDelayMs));
      return proxmoxReply(401, auth === 'missing' ? 'No ticket' : 'Authentication failed!');
    }
    const prefix = '/api2/json';
    const apiPath = request.path.startsWith(`${prefix}/`) ? request.path.slice(prefix.length) : request.path;
    const notImplemented = handlerError(501, `Method '${request.method} ${apiPath}' not implemented`);
    if (request.method !== 'GET' || !request.path.startsWith(`${prefix}/`)) return notImplemented;
    const deny = denied.find((rule) =>
      typeof rule.path === 'string' ? rule.path === apiPath : rule.path.test(apiPath),
    );
    if (deny) return handlerError(403, `Permission check failed (${deny.check})`);
    const query = request.query;
    switch (apiPath) {
      case '/version':
        return checkParams(query, []) ?? ok(state.version);
      case '/cluster/status':
        return checkParams(query, []) ?? ok(clusterStatusView());
      case '/cluster/resources': {
        const type = query.get('type');
        if (type !== null && !RESOURCE_TYPES.includes(type)) {
          return paramError({
            type: `value '${type}' does not have a value in the enumeration '${RESOURCE_TYPES.join(', ')}'`,
          });
        }
        return checkParams(query, ['type']) ?? ok(clusterResourcesView(type));
      }
      case '/cluster/tasks':
        return checkParams(query, []) ?? ok(state.clusterTasks);
      case '/cluster/ceph/status':
        return cephReply();
      case '/nodes':
        return checkParams(query, []) ?? ok(nodesView());
    }
    const nodeMatch = /^\/nodes\/([^/]+)(\/.*)$/.exec(apiPath);
    if (nodeMatch) {
      const [, node, rest] = nodeMatch as unknown as [string, string, string];
      if (!nodeNames.includes(node)) {
        return handlerError(
          500,
          `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`,
        );
      }
      const down = offline.get(node);
      const reply = nodeRoute(node, rest, query);
      if (reply && down) return proxmoxReply(down.status, down.reason);
      if (reply) return reply;
    }
    return notImplemented;
  }

  const server = await startFakeServer({ tls: options.tls ?? true });
  server.route('*', /.*/, handle);

  const fake: ProxmoxFake = {
    url: server.url,
    tokenId,
    tokenSecret,
    server,
    stopGuest(vmid) {
      const resource = guestResource(vmid);
      if (!resource) throw new Error(`the fake cluster has no guest ${vmid}`);
      const current = currentStatus(vmid, String(resource.type));
      const entries = [resource, guestList(vmid), current];
      if (!stoppedGuests.has(vmid))
        stoppedGuests.set(
          vmid,
          entries.map((entry) => (entry ? structuredClone(entry) : undefined)),
        );
      for (const entry of entries) {
        if (!entry) continue;
        entry.status = 'stopped';
        if ('qmpstatus' in entry) entry.qmpstatus = 'stopped';
        for (const key of ZEROED_KEYS) if (key in entry) entry[key] = 0;
        if (entry !== resource) for (const key of RUNNING_ONLY_KEYS) delete entry[key];
      }
    },
    startGuest(vmid) {
      const saved = stoppedGuests.get(vmid);
      if (!saved) throw new Error(`guest ${vmid} was not stopped with stopGuest`);
      stoppedGuests.delete(vmid);
      const resource = guestResource(vmid);
      const entries = [
        resource,
        guestList(vmid),
        resource ? currentStatus(vmid, String(resource.type)) : undefined,
      ];
      for (const [index, entry] of entries.entries()) {
        const before = saved[index];
        if (!entry || !before) continue;
        for (const key of Object.keys(entry)) delete entry[key];
        Object.assign(entry, before);
      }
    },
    setStorageStatus(storage, status, node) {
      let found = false;
      for (const entry of state.clusterResources) {
        if (entry.type !== 'storage' || entry.storage !== storage) continue;
        if (node !== undefined && entry.node !== node) continue;
        entry.status = status;
        found = true;
      }
      if (!found) throw new Error(`The fake cluster has no storage ${storage}${node ? ` on ${node}` : ''}`);
    },
    setStorageUsage(storage, usedBytes) {
      let found = false;
      for (const entry of state.clusterResources) {
        if (entry.type === 'storage' && entry.storage === storage) {
          entry.disk = usedBytes;
          found = true;
        }
      }
      for (const list of Object.values(state.nodeStorage)) {
        for (const entry of list) {
          if (entry.storage === storage) {
            entry.used = usedBytes;
            if (typeof entry.total === 'number') entry.avail = Math.max(0, entry.total - usedBytes);
          }
        }
      }
      if (!found) throw new Error(`the fake cluster has no storage ${storage}`);
    },
    setCephHealth(status, checks = {}) {
      state.ceph.health = { status, checks: structuredClone(checks), mutes: [] };
    },
    setCephInstalled(installed) {
      cephInstalled = installed;
    },
    setNodeOffline(node, isOffline = true, settings = {}) {
      if (!nodeNames.includes(node)) throw new Error(`the fake cluster has no node ${node}`);
      if (!isOffline) {
        offline.delete(node);
        return;
      }
      const status = settings.status ?? 595;
      offline.set(node, {
        status,
        reason:
          settings.reason ??
          (status === 596 ? 'tls_process_server_certificate: certificate verify failed' : 'No route to host'),
        dataExpired: settings.dataExpired ?? false,
      });
    },
    addTask(task) {
      if (!nodeNames.includes(task.node)) throw new Error(`the fake cluster has no node ${task.node}`);
      taskCounter++;
      const start = task.startTime ?? PROXMOX_FIXTURE_NOW - taskCounter;
      const pid = 900_000 + taskCounter;
      const pstart = 130_000_000 + taskCounter;
      const id = task.id === undefined ? '' : String(task.id);
      const user = task.user ?? 'root@pam';
      const upid = `UPID:${task.node}:${hex(pid)}:${hex(pstart)}:${hex(start)}:${task.type}:${id}:${user}:`;
      const entry: WireObject = {
        upid,
        node: task.node,
        pid,
        pstart,
        starttime: start,
        type: task.type,
        id,
        user,
      };
      if (task.status !== undefined) {
        entry.endtime = start + (task.durationSeconds ?? 1);
        entry.status = task.status;
        const history = state.nodeTasks[task.node] ?? [];
        state.nodeTasks[task.node] = history;
        history.unshift(entry);
      }
      state.clusterTasks.unshift({ ...entry, saved: task.status === undefined ? '0' : '1' });
      return upid;
    },
    denyPermission(path, check) {
      denied.push({ path, check });
    },
    close: () => server.close(),
    [Symbol.asyncDispose]: () => server.close(),
  };
  return fake;
}
