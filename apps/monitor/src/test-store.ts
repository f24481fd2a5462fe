import { randomBytes } from 'node:crypto';
import { createStore, type Store } from '@haia/store';

/** A store for one test, and how to remove it. */
export interface TestStore {
  store: Store;
  /** The PostgreSQL URL and schema when on a server (a second instance can open the same). */
  server: { url: string; schema: string } | undefined;
  cleanup(): Promise<void>;
}

/**
 * Opens a fresh store: a schema of its own on HAIA_TEST_DATABASE_URL when it is set (fast, and what CI
 * uses), otherwise an in-memory PGlite.
 */
export async function openTestStore(): Promise<TestStore> {
  const url = process.env.HAIA_TEST_DATABASE_URL;
  if (!url) {
    const store = await createStore({ dataDir: 'memory://' });
    return { store, server: undefined, cleanup: () => store.close() };
  }
  const schema = `haia_monitor_test_${randomBytes(4).toString('hex')}`;
  const store = await createStore({ url, schema, pool: { max: 3 } });
  return {
    store,
    server: { url, schema },
    async cleanup() {
      await store.close();
      const { default: postgres } = await import('postgres');
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    },
  };
}
