import { existsSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from './create-store.js';
import { postgresTarget } from './postgres-url.js';
import { describePostgresUrl } from './store-error.js';

describe('postgresTarget', () => {
  it('reads a Unix socket folder from a percent-encoded host or a host parameter', () => {
    expect(postgresTarget('postgres://haia@%2Fvar%2Frun%2Fpostgresql:5433/haia')).toEqual({
      url: 'postgres://haia@%2Fvar%2Frun%2Fpostgresql:5433/haia',
      socketFolder: '/var/run/postgresql',
      oneServer: true,
    });
    expect(postgresTarget('postgres://haia@localhost/haia?host=/run/postgresql&sslmode=disable')).toEqual({
      url: 'postgres://haia@localhost/haia?sslmode=disable',
      socketFolder: '/run/postgresql',
      oneServer: true,
    });
    expect(describePostgresUrl('postgres://haia:secret@%2Fvar%2Frun%2Fpostgresql/haia')).toBe(
      '/var/run/postgresql:5432/haia',
    );
  });

  it('leaves a TCP URL, a host parameter that is no folder and several hosts as they are', () => {
    for (const url of ['postgres://haia:pw@db.lan:5432/haia', 'postgres://haia@localhost/haia?host=db.lan']) {
      expect(postgresTarget(url)).toEqual({ url, oneServer: true });
    }
    const several = 'postgres://haia@h1:5432,h2:5432/haia';
    expect(postgresTarget(several)).toEqual({ url: several, oneServer: false });
  });
});

const testUrl = process.env.HAIA_TEST_DATABASE_URL;
/** The server's socket folder, when the test server runs on this machine and has one. */
async function localSocketFolder(url: string): Promise<string | undefined> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<
      { folders: string }[]
    >`select current_setting('unix_socket_directories') as folders`;
    const port = Number(new URL(url).port || 5432);
    return row?.folders
      .split(',')
      .map((folder) => folder.trim())
      .find((folder) => folder.startsWith('/') && existsSync(join(folder, `.s.PGSQL.${port}`)));
  } finally {
    await sql.end();
  }
}
const folder = testUrl ? await localSocketFolder(testUrl) : undefined;
const reason = testUrl
  ? 'skipped: the test server has no Unix socket on this machine'
  : 'skipped: HAIA_TEST_DATABASE_URL is not set';
if (!folder) console.warn(`@haia/store: the Unix socket test is ${reason}`);

// It needs the test server's socket on this machine; without it the console and the name say why.
describe.skipIf(!folder)(`a store on the server's Unix socket (${folder ?? reason})`, () => {
  const schema = `haia_store_socket_${process.pid}`;
  afterAll(async () => {
    if (!testUrl) return;
    const admin = postgres(testUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });

  it('connects through either libpq form, and names the folder in its errors', async () => {
    const base = new URL(testUrl as string);
    const user = decodeURIComponent(base.username || 'postgres');
    const database = base.pathname.slice(1);
    const port = base.port || '5432';
    for (const url of [
      `postgres://${user}@${encodeURIComponent(folder as string)}:${port}/${database}`,
      `postgres://${user}@localhost:${port}/${database}?host=${folder}`,
    ]) {
      const store = await createStore({ url, schema });
      try {
        await store.ping();
        const resolved = await store.resolveConversation({
          userId: 'socket',
          messages: [{ role: 'user', content: 'Hi' }],
        });
        expect(resolved.created).toBe(true);
      } finally {
        await store.close();
      }
    }
    const missing = await createStore({
      url: `postgres://${user}@${encodeURIComponent('/nonexistent-folder')}:${port}/${database}`,
      schema,
      pool: { connectTimeoutMs: 2000 },
    }).catch((error: Error) => error);
    expect(missing).toBeInstanceOf(Error);
    expect((missing as Error).message).toContain(`/nonexistent-folder:${port}/${database}`);
  });
});
