import { ConfigError, loadConfig } from '@haia/config';
import { migrate } from '@haia/store';
import { createLogger, flushLogger } from './logger.js';
import { openStore } from './runtime.js';

/** `pnpm db:migrate`: applies the store's pending migrations to the configured database and exits. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ env: process.env, cwd: process.cwd(), isTTY: process.stdout.isTTY });
  } catch (error) {
    if (ConfigError.isInstance(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
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
