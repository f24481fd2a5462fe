import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, type Store } from '@haia/store';
import postgres from 'postgres';

/** A store's data that can be opened more than once (a restart), and dropped at the end. */
export interface Backend {
  open(): Promise<Store>;
  drop(): Promise<void>;
}

/** PGlite in a fresh temporary folder. */
export function pgliteBackend(): Backend {
  const dataDir = mkdtempSync(join(tmpdir(), 'haia-api-pglite-'));
  return {
    open: () => createStore({ dataDir }),
    drop: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** A fresh schema on the PostgreSQL server at `url`; each `open()` gets a pool of `poolMax`. */
export function postgresBackend(url: string, poolMax = 2): Backend {
  const schema = `haia_api_reopen_${randomBytes(6).toString('hex')}`;
  return {
    open: () => createStore({ url, schema, pool: { max: poolMax } }),
    async drop() {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await sql.end();
      }
    },
  };
}
