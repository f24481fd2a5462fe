import { migrate } from '@haia/store';
import { loadAppConfig } from './load-app-config.js';
import { createLogger, flushLogger } from './logger.js';
import { openStore } from './runtime.js';

/** `pnpm db:migrate`: applies the store's pending migrations to the configured database and exits. */
async function main(): Promise<void> {
  const config = loadAppConfig();
  const logger = createLogger(config.app);
  const store = await openStore(config, logger, { migrate: false });
  try {
    const result = await migrate(store);
    logger.info(
      { database: store.backend, applied: result.applied, version: result.version },
      result.applied.length > 0 ? 'migrations applied' : 'database schema is current',
    );
  } finally {
    await store.close();
  }
  await flushLogger(logger);
}

main().catch((error: unknown) => {
  process.stderr.write(`haia db:migrate failed: ${(error as Error).message}\n`);
  process.exit(1);
});
