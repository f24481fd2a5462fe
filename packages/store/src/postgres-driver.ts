import type { Driver, Queryable } from './driver.js';
import { describePostgresUrl } from './store-error.js';

/** Connection pool settings for a PostgreSQL server. */
export interface PoolOptions {
  /** Most connections open at once. Default 10. */
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
  const sql = postgres(url, {
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
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
