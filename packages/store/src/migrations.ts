import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Driver, Queryable } from './driver.js';
import { toNumber } from './driver.js';
import type { Logger } from './logger.js';
import { StoreError, toStoreError } from './store-error.js';
import type { MigrationResult } from './types.js';

/** One numbered SQL file from the package's `migrations/` folder. */
export interface Migration {
  /** The number in the file name (`0001_init.sql` -> 1). */
  id: number;
  /** The file name without `.sql`. */
  name: string;
  sql: string;
  /** sha256 of the file (line endings normalised). */
  checksum: string;
}

/** The package's `migrations/` folder: one level above both `src/` and `dist/`. */
const MIGRATIONS_DIRECTORY = new URL('../migrations/', import.meta.url);

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads the migrations shipped with the package, ordered by number. */
export async function loadMigrations(directory: URL | string = MIGRATIONS_DIRECTORY): Promise<Migration[]> {
  const names = (await readdir(directory)).filter((name) => FILE_NAME.test(name)).sort();
  const migrations: Migration[] = [];
  for (const file of names) {
    const match = FILE_NAME.exec(file);
    if (!match?.[1]) continue;
    const sql = (
      await readFile(new URL(file, directory.toString().endsWith('/') ? directory : `${directory}/`), 'utf8')
    ).replace(/\r\n/g, '\n');
    migrations.push({
      id: Number(match[1]),
      name: file.replace(/\.sql$/, ''),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}

interface AppliedRow {
  id: unknown;
  name: string;
  checksum: string;
}

async function lock(transaction: Queryable, schema: string | undefined): Promise<void> {
  // Transaction-scoped: released at commit or rollback, so a crashed run never leaves it held.
  await transaction.query('select pg_advisory_xact_lock(hashtext($1))', [`haia:migrations:${schema ?? ''}`]);
}

async function prepare(transaction: Queryable, schema: string | undefined): Promise<AppliedRow[]> {
  await lock(transaction, schema);
  if (schema) await transaction.exec(`create schema if not exists "${schema}"`);
  await transaction.exec(
    'create table if not exists haia_migrations (id integer primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())',
  );
  return transaction.query<AppliedRow>('select id, name, checksum from haia_migrations order by id');
}

function check(applied: readonly AppliedRow[], migrations: readonly Migration[]): void {
  const known = new Map(migrations.map((migration) => [migration.id, migration]));
  const newest = migrations.at(-1)?.id ?? 0;
  for (const row of applied) {
    const id = toNumber(row.id);
    const migration = known.get(id);
    if (migration === undefined) {
      throw new StoreError({
        code: 'migration',
        message: `The database schema is newer than this version of @haia/store: it has migration ${row.name} but this code knows migrations up to ${String(newest).padStart(4, '0')}. Upgrade HAIA, or point DATABASE_URL at the database this version created`,
      });
    }
    if (migration.checksum !== row.checksum) {
      throw new StoreError({
        code: 'migration',
        message: `Migration ${migration.name} was changed after it was applied (stored checksum ${row.checksum.slice(0, 12)}…, file ${migration.checksum.slice(0, 12)}…). Restore the original file; schema changes belong in a new numbered migration`,
      });
    }
  }
}

/**
 * Applies the pending migrations, each in its own transaction, under a PostgreSQL advisory lock so
 * several processes starting at once apply each migration exactly once. Throws
 * `StoreError('migration')` when the database has a newer schema or an applied migration changed.
 */
export async function runMigrations(
  driver: Driver,
  options: { schema?: string | undefined; logger: Logger; migrations?: Migration[] },
): Promise<MigrationResult> {
  const { schema, logger } = options;
  const context = { backend: driver.backend, target: driver.target, operation: 'migrate' } as const;
  const migrations = options.migrations ?? (await loadMigrations());
  const applied: string[] = [];
  try {
    const existing = await driver.transaction((transaction) => prepare(transaction, schema));
    check(existing, migrations);
    const done = new Set(existing.map((row) => toNumber(row.id)));
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      const ran = await driver.transaction(async (transaction) => {
        const current = await prepare(transaction, schema);
        check(current, migrations);
        if (current.some((row) => toNumber(row.id) === migration.id)) return false;
        try {
          await transaction.exec(migration.sql);
        } catch (error) {
          const mapped = toStoreError(error, context, 'migration');
          if (mapped.code !== 'migration') throw mapped;
          throw new StoreError({
            code: 'migration',
            message: `Migration ${migration.name} failed and was rolled back (${mapped.message}). Fix the database or the migration, then start again`,
            cause: error,
          });
        }
        await transaction.query('insert into haia_migrations (id, name, checksum) values ($1, $2, $3)', [
          migration.id,
          migration.name,
          migration.checksum,
        ]);
        return true;
      });
      if (ran) {
        applied.push(migration.name);
        logger.info({ migration: migration.name }, 'applied migration');
      }
    }
  } catch (error) {
    throw toStoreError(error, context, 'migration');
  }
  return { applied, version: migrations.at(-1)?.id ?? 0 };
}
