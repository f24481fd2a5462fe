import { rootCertificates } from 'node:tls';
import ky, { type KyInstance } from 'ky';
import { Agent } from 'undici';
import type { z } from 'zod';
import { proxmoxBaseUrl } from './base-url.js';
import { errorForFailure, errorForRedirect, errorForStatus, errorForTimeout } from './http-errors.js';
import { childLogger, noopProxmoxLogger, type ProxmoxLogger } from './logger.js';
import { ProxmoxError, type ProxmoxErrorCode } from './proxmox-error.js';
import {
  cephStatusSchema,
  clusterResourcesSchema,
  clusterStatusSchema,
  clusterTasksSchema,
  guestListSchema,
  guestStatusSchema,
  nodeStatusSchema,
  nodeStorageSchema,
  nodesSchema,
  taskPageSchema,
  versionSchema,
} from './schemas.js';
import type {
  CephStatus,
  ClusterResources,
  ClusterStatus,
  Guest,
  GuestStatus,
  GuestType,
  NodeResource,
  NodeStatus,
  NodeStorage,
  ProxmoxVersion,
  Task,
  TaskPage,
} from './types.js';

/** Options of {@link createProxmoxClient}. */
export interface ProxmoxClientOptions {
  /**
   * `https://host:8006` (a trailing `/api2/json` is accepted too), or the URL of a reverse proxy with its
   * path prefix, such as `https://proxy.lan/pve`.
   */
  url: string;
  /** `user@realm!tokenname`, such as `haia@pve!monitor`. */
  tokenId: string;
  /** The token's secret (a UUID). Never logged, never in an error. */
  tokenSecret: string;
  /** Check the server certificate (default true). `false` skips the check and logs a warning once. */
  verifyTls?: boolean;
  /** PEM text of the CA to trust beside the public ones: the cluster's `/etc/pve/pve-root-ca.pem`. */
  ca?: string;
  /**
   * Time limit per request in ms, the whole answer included (default 10 000; Proxmox delays every 401
   * by about 3 s).
   */
  timeoutMs?: number;
  /** A fetch to use instead of the global one (it receives an undici `dispatcher` for TLS settings). */
  fetch?: typeof globalThis.fetch;
  logger?: ProxmoxLogger;
  /** The clock of {@link ProxmoxClient.status} (default `() => new Date()`). */
  now?: () => Date;
}

/** What the client last saw of the cluster, without asking it again. */
export interface ProxmoxClientStatus {
  url: string;
  /** `unknown` before the first call; `ok` when the last call got an answer; `failing` otherwise. */
  state: 'unknown' | 'ok' | 'failing';
  /** When Proxmox last answered with the token accepted (any status but 401). */
  lastReachedAt: Date | undefined;
  /** The last failure to reach the cluster or to be let in: auth, network, tls or timeout. */
  lastError: { code: ProxmoxErrorCode; message: string; at: Date } | undefined;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  /**
   * This call's logger instead of the client's, such as a tool's `ToolContext.logger` (bound to the
   * request): the call's `proxmox request` line and its failure warning are written through
   * `logger.child({ component: 'proxmox' })`.
   */
  logger?: ProxmoxLogger;
}

/** Filters of {@link ProxmoxClient.nodeTasks}. */
export interface NodeTasksOptions extends CallOptions {
  /** Leave out `OK` tasks (Proxmox keeps `WARNINGS: n` ones in). */
  errors?: boolean;
  /** Only tasks started at or after this time. */
  since?: Date;
  until?: Date;
  /** At most this many (Proxmox's default is 50). */
  limit?: number;
  start?: number;
  vmid?: number;
  typeFilter?: string;
  /** `archive` (default, finished tasks), `active` or `all`. */
  source?: 'archive' | 'active' | 'all';
}

/** Failed tasks across the online nodes, and the nodes that could not be asked. */
export interface FailedTasks {
  tasks: Task[];
  /** Offline nodes (and those Proxmox could not reach, 595/596). */
  unreachableNodes: string[];
  /** Online nodes whose task list failed (a timeout, a 500): the others' tasks are still here. */
  failedNodes: Array<{ node: string; message: string }>;
}

/**
 * A read-only Proxmox VE API client. Every method is a GET; there is no way to send anything else.
 * Methods throw {@link ProxmoxError}, or the caller's abort reason when `signal` aborts.
 */
export interface ProxmoxClient {
  /** The cluster's API base without `/api2/json`: `https://pve1:8006`, or with a proxy's path prefix. */
  readonly url: string;
  /** `GET /version`: also a cheap reachability and token check. */
  version(options?: CallOptions): Promise<ProxmoxVersion>;
  /** `GET /cluster/status`: quorum and node membership (needs Sys.Audit on /). */
  clusterStatus(options?: CallOptions): Promise<ClusterStatus>;
  /** `GET /cluster/resources`: every guest, node and storage in one call; `type` narrows it. */
  clusterResources(options?: CallOptions & { type?: 'vm' | 'node' | 'storage' }): Promise<ClusterResources>;
  /** `GET /nodes`. */
  nodes(options?: CallOptions): Promise<NodeResource[]>;
  /** `GET /nodes/{node}/status`. */
  nodeStatus(node: string, options?: CallOptions): Promise<NodeStatus>;
  /** `GET /nodes/{node}/qemu` (`type: 'qemu'`) or `/lxc`; both, merged, when `type` is left out. */
  nodeGuests(node: string, options?: CallOptions & { type?: GuestType }): Promise<Guest[]>;
  /** `GET /nodes/{node}/qemu|lxc/{vmid}/status/current`. */
  guestStatus(
    guest: { node: string; vmid: number; type: GuestType },
    options?: CallOptions,
  ): Promise<GuestStatus>;
  /** `GET /nodes/{node}/storage`. */
  nodeStorage(node: string, options?: CallOptions): Promise<NodeStorage[]>;
  /**
   * `GET /cluster/ceph/status` (or `/nodes/{node}/ceph/status`): health with its checks. Throws a
   * `not-found` error when Ceph is not installed.
   */
  cephStatus(options?: CallOptions & { node?: string }): Promise<CephStatus>;
  /** `GET /nodes/{node}/tasks`: the task history of one node, newest first. */
  nodeTasks(node: string, options?: NodeTasksOptions): Promise<TaskPage>;
  /** `GET /cluster/tasks`: running tasks and about 25 recent finished ones per node, newest first. */
  clusterTasks(options?: CallOptions): Promise<Task[]>;
  /** Failed tasks (not `OK`, not `WARNINGS: n`) of every online node, newest first. */
  failedTasks(options?: CallOptions & { since?: Date; limitPerNode?: number }): Promise<FailedTasks>;
  /** What the client last saw of the cluster (for a readiness page); makes no request. */
  status(): ProxmoxClientStatus;
  /** Closes the client's connections. */
  close(): Promise<void>;
}

const CONNECTION_CODES: ReadonlySet<ProxmoxErrorCode> = new Set(['auth', 'network', 'tls', 'timeout']);

const DEFAULT_TIMEOUT_MS = 10_000;

function segment(value: string | number): string {
  return encodeURIComponent(String(value));
}

/**
 * Creates a read-only client for a Proxmox VE cluster authenticated with an API token.
 *
 * @example
 * const proxmox = createProxmoxClient({
 *   url: 'https://pve1:8006',
 *   tokenId: 'haia@pve!monitor',
 *   tokenSecret: process.env.PROXMOX_TOKEN_SECRET!,
 *   ca: readFileSync('pve-root-ca.pem', 'utf8'),
 * });
 * const { guests } = await proxmox.clusterResources({ type: 'vm' });
 */
export function createProxmoxClient(options: ProxmoxClientOptions): ProxmoxClient {
  const baseUrl = proxmoxBaseUrl(options.url);
  const logger = childLogger(options.logger ?? noopProxmoxLogger, { component: 'proxmox' });
  const verifyTls = options.verifyTls ?? true;
  if (!verifyTls) {
    logger.warn(
      { url: baseUrl },
      'PROXMOX_VERIFY_TLS=false: the Proxmox certificate is not checked; set PROXMOX_CA_FILE to the cluster CA instead',
    );
  }
  if (sendsTokenInTheClear(baseUrl)) {
    logger.warn(
      { url: baseUrl },
      'PROXMOX_URL is http:// to another host: the API token crosses the network unencrypted; Proxmox serves https on port 8006 (https://<node>:8006 with PROXMOX_CA_FILE)',
    );
  }
  const dispatcher =
    baseUrl.startsWith('https:') && (options.ca || !verifyTls)
      ? new Agent({
          connect: {
            rejectUnauthorized: verifyTls,
            ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
          },
        })
      : undefined;
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let lastReachedAt: Date | undefined;
  let lastError: ProxmoxClientStatus['lastError'];
  const noteFailure = (error: ProxmoxError) => {
    if (CONNECTION_CODES.has(error.code)) lastError = { code: error.code, message: error.message, at: now() };
  };
  const baseFetch = options.fetch ?? globalThis.fetch;
  const fetchWithDispatcher: typeof globalThis.fetch = dispatcher
    ? (input, init) => baseFetch(input, { ...init, dispatcher } as RequestInit)
    : baseFetch;
  const http: KyInstance = ky.create({
    prefixUrl: `${baseUrl}/api2/json/`,
    headers: {
      authorization: `PVEAPIToken=${options.tokenId}=${options.tokenSecret}`,
      accept: 'application/json',
    },
    timeout: false,
    retry: 0,
    throwHttpErrors: false,
    // Never follow a redirect: pveproxy sends plain http to https with a 301, and a followed one would
    // skip the CA and the token (dropped across origins) and end in a misleading TLS or 401 error.
    redirect: 'manual',
    fetch: fetchWithDispatcher,
  });

  /** The logger of one call's lines: the caller's, bound to the component, or the client's. */
  const lineLogger = (call: CallOptions): ProxmoxLogger =>
    call.logger === undefined ? logger : childLogger(call.logger, { component: 'proxmox' });

  /** The only way this client talks to Proxmox: a GET, unwrapped and validated. */
  async function get<Schema extends z.ZodType>(
    path: string,
    schema: Schema,
    call: CallOptions & { query?: Record<string, string | number>; whole?: boolean } = {},
  ): Promise<z.output<Schema>> {
    const started = Date.now();
    // One deadline for the whole answer, body included: a node that sends its headers and then stalls
    // must not hold the call (and the tool) until undici's own 300 s body timeout.
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
    const fail = (error: unknown): ProxmoxError => {
      if (call.signal?.aborted) throw call.signal.reason;
      const failure = deadline.aborted
        ? errorForTimeout({ origin: baseUrl, path, timeoutMs })
        : errorForFailure(error, { origin: baseUrl, path });
      noteFailure(failure);
      lineLogger(call).warn({ path, code: failure.code, durationMs: Date.now() - started }, failure.message);
      return failure;
    };
    let response: Response;
    try {
      response = await http.get(path.slice(1), {
        ...(call.query ? { searchParams: call.query } : {}),
        signal,
      });
    } catch (error) {
      throw fail(error);
    }
    let body: string;
    try {
      body = await response.text();
    } catch (error) {
      throw fail(error);
    }
    lineLogger(call).debug(
      { path, status: response.status, durationMs: Date.now() - started },
      'proxmox request',
    );
    if (response.status >= 300 && response.status < 400) {
      const failure = errorForRedirect({
        origin: baseUrl,
        path,
        status: response.status,
        location: response.headers.get('location'),
      });
      noteFailure(failure);
      throw failure;
    }
    if (response.status !== 401) lastReachedAt = now();
    if (!response.ok) {
      const failure = errorForStatus({
        status: response.status,
        reason: response.statusText,
        body,
        path,
        tokenId: options.tokenId,
      });
      noteFailure(failure);
      throw failure;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      throw new ProxmoxError({
        code: 'bad-response',
        status: response.status,
        path,
        cause: error,
        message: `Proxmox answered ${path} with something that is not JSON: is PROXMOX_URL the API (https://host:8006)?`,
      });
    }
    const payload = call.whole ? parsed : (parsed as { data?: unknown } | null)?.data;
    const result = schema.safeParse(payload);
    if (!result.success) {
      const first = result.error.issues[0];
      throw new ProxmoxError({
        code: 'bad-response',
        status: response.status,
        path,
        cause: result.error,
        message: `Proxmox answered ${path} with an unexpected shape (${first ? `${first.path.join('.') || 'data'}: ${first.message}` : 'invalid'}).`,
      });
    }
    return result.data;
  }

  const client: ProxmoxClient = {
    url: baseUrl,
    version: (call = {}) => get('/version', versionSchema, call),
    clusterStatus: (call = {}) => get('/cluster/status', clusterStatusSchema, call),
    clusterResources: ({ type, ...call } = {}) =>
      get('/cluster/resources', clusterResourcesSchema, { ...call, ...(type ? { query: { type } } : {}) }),
    nodes: (call = {}) => get('/nodes', nodesSchema, call),
    nodeStatus: (node, call = {}) => get(`/nodes/${segment(node)}/status`, nodeStatusSchema(node), call),
    async nodeGuests(node, { type, ...call } = {}) {
      const types: GuestType[] = type ? [type] : ['qemu', 'lxc'];
      const lists = await Promise.all(
        types.map((kind) => get(`/nodes/${segment(node)}/${kind}`, guestListSchema(kind, node), call)),
      );
      return lists.flat().sort((a, b) => a.vmid - b.vmid);
    },
    guestStatus: (guest, call = {}) =>
      get(
        `/nodes/${segment(guest.node)}/${guest.type}/${segment(guest.vmid)}/status/current`,
        guestStatusSchema(guest.type, guest.node),
        call,
      ),
    nodeStorage: (node, call = {}) => get(`/nodes/${segment(node)}/storage`, nodeStorageSchema(node), call),
    cephStatus: ({ node, ...call } = {}) =>
      get(node ? `/nodes/${segment(node)}/ceph/status` : '/cluster/ceph/status', cephStatusSchema, call),
    nodeTasks(node, { signal, logger: callLogger, ...filters } = {}) {
      const query: Record<string, string | number> = {};
      if (filters.errors) query.errors = 1;
      if (filters.since) query.since = Math.floor(filters.since.getTime() / 1000);
      if (filters.until) query.until = Math.floor(filters.until.getTime() / 1000);
      if (filters.limit !== undefined) query.limit = filters.limit;
      if (filters.start !== undefined) query.start = filters.start;
      if (filters.vmid !== undefined) query.vmid = filters.vmid;
      if (filters.typeFilter) query.typefilter = filters.typeFilter;
      if (filters.source) query.source = filters.source;
      return get(`/nodes/${segment(node)}/tasks`, taskPageSchema, {
        ...(signal ? { signal } : {}),
        ...(callLogger ? { logger: callLogger } : {}),
        query,
        whole: true,
      });
    },
    clusterTasks: (call = {}) => get('/cluster/tasks', clusterTasksSchema, call),
    async failedTasks({ since, limitPerNode, ...call } = {}) {
      const { nodes } = await client.clusterResources({ ...call, type: 'node' });
      const unreachableNodes = nodes.filter((node) => !node.online).map((node) => node.node);
      const failedNodes: FailedTasks['failedNodes'] = [];
      let firstFailure: unknown;
      const pages = await Promise.all(
        nodes
          .filter((node) => node.online)
          .map(async (node) => {
            try {
              return await client.nodeTasks(node.node, {
                ...call,
                errors: true,
                ...(since ? { since } : {}),
                ...(limitPerNode ? { limit: limitPerNode } : {}),
              });
            } catch (error) {
              if (ProxmoxError.isInstance(error) && error.code === 'node-offline') {
                unreachableNodes.push(node.node);
                return { tasks: [], total: 0 };
              }
              // One node's trouble does not hide the others' tasks.
              if (!ProxmoxError.isInstance(error)) throw error;
              firstFailure ??= error;
              failedNodes.push({ node: node.node, message: error.message });
              return undefined;
            }
          }),
      );
      // Every node failed: the API itself is in trouble, not one node.
      if (firstFailure !== undefined && pages.every((page) => page === undefined)) throw firstFailure;
      const tasks = pages
        .flatMap((page) => page?.tasks ?? [])
        .filter((task) => task.failed)
        .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
      failedNodes.sort((a, b) => a.node.localeCompare(b.node));
      return { tasks, unreachableNodes: unreachableNodes.sort(), failedNodes };
    },
    status() {
      const state =
        lastReachedAt === undefined && lastError === undefined
          ? 'unknown'
          : lastReachedAt !== undefined && (lastError === undefined || lastReachedAt >= lastError.at)
            ? 'ok'
            : 'failing';
      return { url: baseUrl, state, lastReachedAt, lastError };
    },
    async close() {
      await dispatcher?.close();
    },
  };
  return Object.freeze(client);
}

/**
 * Whether `baseUrl` is plain http to a host other than this one (a reverse proxy or SSH tunnel on
 * loopback is fine): every request then carries the API token unencrypted.
 */
function sendsTokenInTheClear(baseUrl: string): boolean {
  const { protocol, hostname } = new URL(baseUrl);
  if (protocol !== 'http:') return false;
  return !(hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname));
}
