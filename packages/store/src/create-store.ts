import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import type { Driver } from './driver.js';
import { childLogger, type Logger, noopLogger } from './logger.js';
import type { PoolOptions } from './postgres-driver.js';
import { createSqlStore } from './sql-store.js';
import { StoreError } from './store-error.js';
import type { MigrationResult, Store } from './types.js';

/** Options every backend takes. */
export interface CommonStoreOptions {
  /** A pino-compatible logger; the store is silent without one. */
  logger?: Logger;
  /** Apply pending migrations before returning the store. Default true. */
  migrate?: boolean;
  /** The clock for `createdAt`/`updatedAt` (milliseconds). Default `() => new Date()`. */
  now?: () => Date;
}

/** A PostgreSQL server through postgres.js. */
export interface PostgresStoreOptions extends CommonStoreOptions {
  /** `postgres://user:password@host:5432/database` (the password never appears in errors or logs). */
  url: string;
  pool?: PoolOptions;
  /** Shown as `application_name` in `pg_stat_activity`. Default `haia-store`. */
  applicationName?: string;
  /** Keep HAIA's tables in this schema (created when missing) instead of the user's default `search_path`. */
  schema?: string;
}

/** An embedded PGlite database in a directory. */
export interface PgliteStoreOptions extends CommonStoreOptions {
  /** A directory (created when missing) or `memory://` for an in-memory database. */
  dataDir: string;
  /** Keep HAIA's tables in this schema (created when missing) instead of `public`. */
  schema?: string;
}

/** Options of {@link createStore}: `url` for PostgreSQL, `dataDir` for embedded PGlite. */
export type CreateStoreOptions = PostgresStoreOptions | PgliteStoreOptions;

const common = {
  logger: z.custom<Logger>((value) => typeof value === 'object' && value !== null).optional(),
  migrate: z.boolean().optional(),
  now: z.custom<() => Date>((value) => typeof value === 'function').optional(),
};

const schemaName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier')
  .optional();

const postgresSchema = z.object({
  ...common,
  url: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://'),
  pool: z
    .object({
      max: z.number().int().min(1).max(1000).optional(),
      idleTimeoutMs: z.number().int().min(0).optional(),
      connectTimeoutMs: z.number().int().min(1).optional(),
    })
    .optional(),
  applicationName: z.string().min(1).max(63).optional(),
  schema: schemaName,
});

const pgliteSchema = z.object({ ...common, dataDir: z.string().min(1), schema: schemaName });

function invalidOptions(error: z.ZodError): StoreError {
  return new StoreError({
    code: 'unavailable',
    message: `The store options are not valid (${error.issues
      .map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`)
      .join('; ')}): pass { url } for PostgreSQL or { dataDir } for embedded PGlite`,
  });
}

/**
 * Opens the store: PostgreSQL when `url` is given, embedded PGlite when `dataDir` is, and applies
 * pending migrations unless `migrate: false`. Nothing connects before this is called.
 *
 * @example
 * const store = await createStore({ dataDir: './data/haia' });
 * const turn = await store.resolveConversation({ messages: [{ role: 'user', content: 'Hi' }] });
 */
export async function createStore(options: CreateStoreOptions): Promise<Store> {
  const logger = childLogger(options.logger ?? noopLogger, { component: 'store' });
  const now = options.now ?? (() => new Date());
  let driver: Driver;
  let schema: string | undefined;
  if ('url' in options) {
    const parsed = postgresSchema.safeParse(options);
    if (!parsed.success) throw invalidOptions(parsed.error);
    schema = parsed.data.schema;
    const { createPostgresDriver } = await import('./postgres-driver.js');
    driver = await createPostgresDriver(
      parsed.data.url,
      parsed.data.pool ?? {},
      schema,
      parsed.data.applicationName ?? 'haia-store',
    );
  } else {
    const parsed = pgliteSchema.safeParse(options);
    if (!parsed.success) throw invalidOptions(parsed.error);
    const { dataDir } = parsed.data;
    schema = parsed.data.schema;
    const { createPgliteDriver } = await import('./pglite-driver.js');
    const onDisk = !dataDir.includes('://');
    let lock: DataDirLock | undefined;
    try {
      if (onDisk) await mkdir(dataDir, { recursive: true });
      // One process per folder: a second one fails here instead of corrupting the first one's data.
      if (onDisk) lock = await lockDataDir(dataDir);
    } catch (error) {
      throw StoreError.isInstance(error) ? error : couldNotOpen(dataDir, error);
    }
    try {
      const opened = await createPgliteDriver(dataDir, schema);
      driver = lock
        ? {
            ...opened,
            async close() {
              await opened.close();
              await lock.release();
            },
          }
        : opened;
    } catch (error) {
      await lock?.release();
      throw couldNotOpen(dataDir, error);
    }
  }
  const store = createSqlStore({ driver, logger, now, schema });
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
  }
  logger.debug({ backend: driver.backend, target: driver.target }, 'store ready');
  return store;
}

function couldNotOpen(dataDir: string, cause: unknown): StoreError {
  return new StoreError({
    code: 'unavailable',
    message: `The embedded database (PGlite) could not open ${dataDir}: check that the directory is writable and that no other HAIA process uses it`,
    cause,
  });
}

/** Applies the pending migrations of a store (the same as `store.migrate()`), for a `db:migrate` CLI. */
export function migrate(store: Store): Promise<MigrationResult> {
  return store.migrate();
}
