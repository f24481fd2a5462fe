import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, type Store } from '@haia/store';

/** A store for one test, and how to remove it. */
export interface TestStore {
  /** The open store (a new one after {@link TestStore.reopen}). */
  store: Store;
  /** The PostgreSQL URL and schema when on a server (a second instance can open the same). */
  server: { url: string; schema: string } | undefined;
  /**
   * Closes the store and opens a new one on the same data, as a restarted monitor does. Needs a
   * PostgreSQL test store or a PGlite one on disk (`openTestStore({ backend: 'pglite' })`).
   */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

/** Where a test store lives. */
export type TestBackend = 'pglite' | 'postgres';

/** The backends this run can test on: PGlite always, PostgreSQL when HAIA_TEST_DATABASE_URL is set. */
export function testBackends(): TestBackend[] {
  return process.env.HAIA_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/**
 * Opens a fresh store: by default a schema of its own on HAIA_TEST_DATABASE_URL when it is set (fast,
 * and what CI uses), otherwise an in-memory PGlite. `backend: 'pglite'` is a PGlite in a temporary
 * directory (it can be reopened), `backend: 'postgres'` needs HAIA_TEST_DATABASE_URL.
 */
export async function openTestStore(options: { backend?: TestBackend } = {}): Promise<TestStore> {
  const url = process.env.HAIA_TEST_DATABASE_URL;
  const backend = options.backend ?? (url ? 'postgres' : undefined);
  if (backend === 'postgres') {
    if (!url) throw new Error('a PostgreSQL test store needs HAIA_TEST_DATABASE_URL (postgres://…)');
    return openPostgresTestStore(url);
  }
  if (backend === 'pglite') return openPgliteTestStore();
  const store = await createStore({ dataDir: 'memory://' });
  return {
    store,
    server: undefined,
    reopen: () =>
      Promise.reject(
        new Error("an in-memory PGlite cannot be reopened: use openTestStore({ backend: 'pglite' })"),
      ),
    cleanup: () => store.close(),
  };
}

async function openPgliteTestStore(): Promise<TestStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'haia-monitor-'));
  const testStore: TestStore = {
    store: await createStore({ dataDir }),
    server: undefined,
    async reopen() {
      // One PGlite per directory at a time, like one monitor process.
      await testStore.store.close();
      testStore.store = await createStore({ dataDir });
      return testStore.store;
    },
    async cleanup() {
      await testStore.store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return testStore;
}

async function openPostgresTestStore(url: string): Promise<TestStore> {
  const schema = `haia_monitor_test_${randomBytes(4).toString('hex')}`;
  const open = () => createStore({ url, schema, pool: { max: 3 } });
  const testStore: TestStore = {
    store: await open(),
    server: { url, schema },
    async reopen() {
      await testStore.store.close();
      testStore.store = await open();
      return testStore.store;
    },
    async cleanup() {
      await testStore.store.close();
      const { default: postgres } = await import('postgres');
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    },
  };
  return testStore;
}
