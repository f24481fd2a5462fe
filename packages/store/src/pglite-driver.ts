import type { Driver, Queryable } from './driver.js';

/** Opens (or creates) an embedded PGlite database in `dataDir` (`memory://` for an in-memory one). */
export async function createPgliteDriver(dataDir: string, schema?: string): Promise<Driver> {
  const { PGlite } = await import('@electric-sql/pglite');
  const database = await PGlite.create(dataDir);
  // One connection: the search path set here holds for every later query.
  if (schema) await database.exec(`set search_path to "${schema}"`);
  type Transaction = Parameters<Parameters<typeof database.transaction>[0]>[0];
  const wrap = (client: Pick<Transaction, 'query' | 'exec'>): Queryable => ({
    async query<Row>(text: string, params: readonly unknown[] = []) {
      const result = await client.query<Row>(text, params as unknown[]);
      return result.rows;
    },
    async exec(text: string) {
      await client.exec(text);
    },
  });
  const base = wrap(database);
  let closed = false;
  return {
    backend: 'pglite',
    target: dataDir,
    query: base.query,
    exec: base.exec,
    transaction<T>(work: (transaction: Queryable) => Promise<T>): Promise<T> {
      return database.transaction((transaction) => work(wrap(transaction)));
    },
    /** PGlite is one connection in this process: it never drops, so listening never stops. */
    async listen(channel, handlers) {
      const unlisten = await database.listen(channel, (payload) => handlers.onNotify(payload));
      handlers.onListening(true);
      let stopped = false;
      return async () => {
        if (stopped || closed) return;
        stopped = true;
        await unlisten();
        handlers.onListening(false);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await database.close();
    },
  };
}
