import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore } from '../create-store.js';
import type { Driver } from '../driver.js';
import { type Logger, noopLogger } from '../logger.js';
import { createPgliteDriver } from '../pglite-driver.js';
import { createPostgresDriver } from '../postgres-driver.js';
import { createSqlStore } from '../sql-store.js';
import type { Store } from '../types.js';
import { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './tcp-proxy.js';

/** Opens stores on fresh databases of one backend, for the shared suite. */
export interface StoreHarness {
  readonly backend: 'postgres' | 'pglite';
  /** Whether several stores may have one database open at once (PostgreSQL yes, PGlite no). */
  readonly sharedAccess: boolean;
  /** Opens a store on database `name`: fresh and empty the first time, the same data after. */
  open(name: string, options?: { migrate?: boolean; now?: () => Date; logger?: Logger }): Promise<Store>;
  /**
   * Opens a store on database `name` whose driver counts the statements it runs (the real driver,
   * with a counter), migrated; on PostgreSQL with an `application_name` of its own.
   */
  openCounted(
    name: string,
    options?: { dropNotifications?: boolean; now?: () => Date },
  ): Promise<CountedStore>;
  /** Runs SQL on database `name` beside the store (PGlite: only while no store has it open). */
  query(name: string, sql: string): Promise<Record<string, unknown>[]>;
  /**
   * PostgreSQL only: a transaction on database `name`, beside the store, that stays open until
   * `commit()`, for tests that need another writer to hold a lock.
   */
  begin?(name: string): Promise<HeldTransaction>;
  /** PostgreSQL only: a store that reaches the server through a proxy the test can stop and start. */
  openThroughProxy?(name: string): Promise<{ store: Store; proxy: TcpProxy; url: string }>;
  /** Drops every database this harness created. */
  cleanup(): Promise<void>;
}

/** A store of {@link StoreHarness.openCounted}. */
export interface CountedStore {
  store: Store;
  /** How many statements the store has run so far. */
  statements(): number;
  /** Its connections' `application_name` (PostgreSQL); its listener's is this plus ` listener`. */
  applicationName?: string;
}

/** `driver` with a counter of the statements run through it (not its transactions', nor probes). */
function counted(driver: Driver): { driver: Driver; statements: () => number } {
  let count = 0;
  return {
    driver: {
      ...driver,
      query(text, params) {
        // The change listener's probes are not statements about the data.
        if (!text.startsWith('select pg_notify(')) count++;
        return driver.query(text, params);
      },
    },
    statements: () => count,
  };
}

/** A migrated store on `driver` (the real one, with a statement counter), for {@link StoreHarness.openCounted}. */
async function countedStore(
  real: Driver,
  schema: string,
  now: () => Date = () => new Date(),
): Promise<CountedStore> {
  const { driver, statements } = counted(real);
  const store = createSqlStore({ driver, logger: noopLogger, now, schema });
  await store.migrate();
  return { store, statements };
}

/** An open transaction of {@link StoreHarness.begin}. */
export interface HeldTransaction {
  /** The server process id of the transaction's connection (for `pg_blocking_pids`). */
  readonly pid: number;
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  commit(): Promise<void>;
}

/**
 * A harness on PGlite. `main` is a temporary directory (real files, reopened by the restart test);
 * every other database is a schema of one shared in-memory PGlite, because starting PGlite costs
 * seconds and the migration tests need several fresh databases.
 */
export async function createPgliteHarness(): Promise<StoreHarness> {
  const root = await mkdtemp(join(tmpdir(), 'haia-store-test-'));
  const scratch = await createPgliteDriver('memory://');
  const schema = (name: string) => `scratch_${name.replace(/[^a-z0-9_]/g, '_')}`;
  return {
    backend: 'pglite',
    sharedAccess: false,
    async open(name, options = {}) {
      if (name === 'main') return createStore({ dataDir: join(root, name), ...options });
      await scratch.exec(`set search_path to "${schema(name)}"`);
      // The scratch database outlives its stores: closing one must not close the shared PGlite.
      const driver = { ...scratch, close: async () => {} };
      const store = createSqlStore({
        driver,
        logger: options.logger ?? noopLogger,
        now: options.now ?? (() => new Date()),
        schema: schema(name),
      });
      if (options.migrate !== false) await store.migrate();
      return store;
    },
    async openCounted(name, options = {}) {
      await scratch.exec(`set search_path to "${schema(name)}"`);
      return countedStore({ ...scratch, close: async () => {} }, schema(name), options.now);
    },
    async query(name, sql) {
      if (name === 'main') throw new Error('query() runs on the scratch databases only');
      const results = await scratch.transaction(async (transaction) => {
        await transaction.exec(`set local search_path to "${schema(name)}"`);
        return transaction.query<Record<string, unknown>>(sql);
      });
      return results;
    },
    async cleanup() {
      await scratch.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A harness on a PostgreSQL server: one schema per database name, dropped at cleanup. */
export async function createPostgresHarness(url: string): Promise<StoreHarness> {
  const { default: postgres } = await import('postgres');
  const admin = postgres(url, { max: 2, onnotice: () => {} });
  const run = randomBytes(4).toString('hex');
  const schemas = new Set<string>();
  const schema = (name: string) => {
    const value = `haia_store_test_${run}_${name.replace(/[^a-z0-9_]/g, '_')}`;
    schemas.add(value);
    return value;
  };
  const proxies: TcpProxy[] = [];
  /** A proxy to the server (stopped at cleanup) and the server's URL through it. */
  async function proxied(options: TcpProxyOptions = {}): Promise<{ proxy: TcpProxy; url: URL }> {
    const target = new URL(url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) }, options);
    proxies.push(proxy);
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(proxy.port);
    return { proxy, url: through };
  }
  return {
    backend: 'postgres',
    sharedAccess: true,
    open: (name, options = {}) => createStore({ url, schema: schema(name), pool: { max: 4 }, ...options }),
    async openCounted(name, options = {}) {
      const applicationName = `haia-counted-${run}-${randomBytes(3).toString('hex')}`;
      // Through a proxy that never passes a notification on, as a pooler in transaction mode.
      const through = options.dropNotifications
        ? (await proxied({ dropServerMessages: 'A' })).url.toString()
        : url;
      const real = await createPostgresDriver(through, { max: 4 }, schema(name), applicationName);
      return { ...(await countedStore(real, schema(name), options.now)), applicationName };
    },
    async query(name, sql) {
      return admin.begin(async (transaction) => {
        await transaction.unsafe(`set local search_path to "${schema(name)}"`);
        return [...(await transaction.unsafe(sql))] as Record<string, unknown>[];
      }) as Promise<Record<string, unknown>[]>;
    },
    async begin(name) {
      const reserved = await admin.reserve();
      await reserved.unsafe('begin');
      await reserved.unsafe(`set local search_path to "${schema(name)}"`);
      const [row] = await reserved.unsafe('select pg_backend_pid() as pid');
      return {
        pid: Number(row?.pid),
        async query(sql, params = []) {
          return [...(await reserved.unsafe(sql, params as never[]))] as Record<string, unknown>[];
        },
        async commit() {
          try {
            await reserved.unsafe('commit');
          } finally {
            reserved.release();
          }
        },
      };
    },
    async openThroughProxy(name) {
      const { proxy, url: through } = await proxied();
      // A password in the URL (ignored by trust auth) proves it never reaches an error message.
      through.password = 'hunter2-secret';
      if (!through.username) through.username = 'postgres';
      const store = await createStore({
        url: through.toString(),
        schema: schema(name),
        pool: { max: 2, connectTimeoutMs: 2000 },
      });
      return { store, proxy, url: through.toString() };
    },
    async cleanup() {
      for (const proxy of proxies) await proxy.stop();
      for (const value of schemas) await admin.unsafe(`drop schema if exists "${value}" cascade`);
      await admin.end({ timeout: 5 });
    },
  };
}
