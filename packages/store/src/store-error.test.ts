import { createServer } from 'node:net';
import { describe, expect, test } from 'vitest';
import { createStore } from './create-store.js';
import { describePostgresUrl, redact, StoreError, toStoreError } from './store-error.js';

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('StoreError', () => {
  test('an unreachable server is "unavailable" with host, port and what to do, never the password', async () => {
    const port = await closedPort();
    const error = await createStore({
      url: `postgres://haia:s3cret-Passw0rd@127.0.0.1:${port}/haia`,
      pool: { connectTimeoutMs: 2000 },
    }).catch((caught: unknown) => caught);
    expect(StoreError.isInstance(error)).toBe(true);
    const storeError = error as StoreError;
    expect(storeError.code).toBe('unavailable');
    expect(storeError.message).toMatch(
      new RegExp(
        `^PostgreSQL is not reachable at 127\\.0\\.0\\.1:${port}/haia .*check DATABASE_URL and that the server runs$`,
      ),
    );
    expect(storeError.message).not.toContain('s3cret');
    expect(String(storeError.stack)).not.toContain('s3cret');
  });

  test('invalid options name the problem without echoing the URL', async () => {
    const error = (await createStore({ url: 'mysql://root:pw@db/x' }).catch(
      (caught: unknown) => caught,
    )) as StoreError;
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/url: must start with postgres:\/\//);
    expect(error.message).not.toContain('pw@');
  });

  test('driver messages lose credentials; addresses are described without them', () => {
    expect(redact('failed for postgres://admin:hunter2@db:5432/x and password=hunter2')).toBe(
      'failed for postgres://***@db:5432/x and password=***',
    );
    expect(describePostgresUrl('postgresql://admin:hunter2@db.lan:6543/haia?sslmode=require')).toBe(
      'db.lan:6543/haia',
    );
    expect(describePostgresUrl('not a url')).toBe('the configured address');
  });

  test('driver errors map to codes in one place', () => {
    const context = { backend: 'postgres', target: 'db:5432/haia', operation: 'appendMessages' } as const;
    const terminated = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    expect(toStoreError(terminated, context).code).toBe('unavailable');
    const unique = Object.assign(new Error('duplicate key value'), { code: '23505' });
    expect(toStoreError(unique, context)).toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/retry it/),
    });
    const login = Object.assign(new Error('password authentication failed'), { code: '28P01' });
    expect(toStoreError(login, context).message).toMatch(/check the user and password in DATABASE_URL/);
    const existing = new StoreError({ code: 'not-found', message: 'x' });
    expect(toStoreError(existing, context)).toBe(existing);
    expect(StoreError.isInstance({ [Symbol.for('haia.store.error')]: true })).toBe(true);
  });
});
