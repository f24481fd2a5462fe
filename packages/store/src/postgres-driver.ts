import type { Driver, ListenHandlers, Queryable } from './driver.js';
import { hangUpFailsSocket } from './hang-up-socket.js';
import { postgresTarget } from './postgres-url.js';
import { describePostgresUrl } from './store-error.js';

/** Connection pool settings for a PostgreSQL server. */
export interface PoolOptions {
  /** Most connections open at once. Default 10 (plus one of its own that listens for changes). */
  max?: number;
  /** Close a connection idle this long. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Give up connecting after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
}

/** Opens a postgres.js pool (lazily: the first query connects). */
export async function createPostgresDriver(
  url: string,
  pool: PoolOptions,
  schema: string | undefined,
  applicationName: string,
): Promise<Driver> {
  const { default: postgres } = await import('postgres');
  // A Unix socket folder named in the URL goes to postgres.js as its `host` option; with one server,
  // its connections get the socket that fails a hang-up.
  const { url: clientUrl, socketFolder, oneServer } = postgresTarget(url);
  const hostOption = socketFolder === undefined ? {} : { host: socketFolder };
  const socketOption = oneServer ? { socket: hangUpFailsSocket } : {};
  const sql = postgres(clientUrl, {
    ...socketOption,
    ...hostOption,
    max: pool.max ?? 10,
    idle_timeout: (pool.idleTimeoutMs ?? 30_000) / 1000,
    connect_timeout: (pool.connectTimeoutMs ?? 10_000) / 1000,
    onnotice: () => {},
    connection: {
      application_name: applicationName,
      // Every statement is prepared (named), and each is a few index lookups whatever its parameters:
      // plan it once per connection. With the default (auto), the server re-planned the resolve
      // statement on every execution (its generic plan's estimate looks worse than a custom plan),
      // about 0.4 ms of server CPU per turn (see the README's benchmark section).
      plan_cache_mode: 'force_generic_plan',
      ...(schema ? { search_path: schema } : {}),
    },
  });
  type Sql = typeof sql;
  const stopListeners = new Set<() => Promise<void>>();

  /**
   * A `LISTEN` on a client of its own (one connection that never idles out or ages out), which
   * listens again when its connection closes: at once, then every `retryMs` while that fails. One
   * attempt at a time, however often the connection reports closing. Returns at once: the handlers
   * hear when listening begins.
   */
  async function listen(channel: string, handlers: ListenHandlers): Promise<() => Promise<void>> {
    const retryMs = 1000;
    let stopped = false;
    let listening = false;
    let attempting = false;
    let retry: NodeJS.Timeout | undefined;
    // `onnotify` is an option postgres.js reads (its own `listen` uses it) but does not declare.
    const listenerOptions = {
      ...socketOption,
      ...hostOption,
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      connect_timeout: (pool.connectTimeoutMs ?? 10_000) / 1000,
      fetch_types: false,
      onnotice: () => {},
      onnotify(name: string, payload: string) {
        if (name === channel) handlers.onNotify(payload);
      },
      onclose() {
        if (listening) {
          listening = false;
          handlers.onListening(false);
        }
        start();
      },
      connection: { application_name: `${applicationName} listener` },
    };
    const client = postgres(clientUrl, listenerOptions as Parameters<typeof postgres>[1]);
    const quoted = `"${channel.replace(/"/g, '""')}"`;
    function start(): void {
      if (stopped || attempting || retry !== undefined) return;
      attempting = true;
      client.unsafe(`listen ${quoted}`).then(
        () => {
          attempting = false;
          if (stopped || listening) return;
          listening = true;
          handlers.onListening(true);
        },
        () => {
          attempting = false;
          if (stopped) return;
          retry = setTimeout(() => {
            retry = undefined;
            start();
          }, retryMs);
          retry.unref();
        },
      );
    }
    start();
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      stopListeners.delete(stop);
      clearTimeout(retry);
      await client.end({ timeout: 0 });
      if (listening) {
        listening = false;
        handlers.onListening(false);
      }
    };
    stopListeners.add(stop);
    return stop;
  }

  const wrap = (client: Pick<Sql, 'unsafe'>): Queryable => ({
    async query<Row>(text: string, params: readonly unknown[] = []) {
      const rows = await client.unsafe(text, params as never[], { prepare: true });
      return rows as unknown as Row[];
    },
    async exec(text: string) {
      await client.unsafe(text);
    },
  });
  const base = wrap(sql);
  return {
    backend: 'postgres',
    target: describePostgresUrl(url),
    query: base.query,
    exec: base.exec,
    async transaction<T>(work: (transaction: Queryable) => Promise<T>): Promise<T> {
      const result = await sql.begin((transaction) => work(wrap(transaction)));
      return result as T;
    },
    async reserve() {
      const reserved = await sql.reserve();
      const connection = wrap(reserved);
      return {
        ...connection,
        async release() {
          // Closing the session (not returning it to the pool) is what frees its advisory locks.
          await reserved.unsafe('select pg_advisory_unlock_all()').catch(() => {});
          reserved.release();
        },
      };
    },
    listen,
    async close() {
      await Promise.all([...stopListeners].map((stop) => stop()));
      await sql.end({ timeout: 5 });
    },
  };
}
