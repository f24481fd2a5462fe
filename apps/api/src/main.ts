import { constants } from 'node:os';
import { describeStartError, readEnvironment, redactConfig } from '@haia/config';
import { limitHeapGrowth } from './heap-growth.js';
import { loadAppConfig } from './load-app-config.js';
import { createLogger, flushLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createRuntime } from './runtime.js';
import { createApiServer } from './server.js';
import { createToolsetSources } from './toolset-sources.js';

/** Starts apps/api: config (fail fast), store, model, agent, server, signal handling. */
async function main(): Promise<void> {
  // Before anything allocates much: a server's heap is mostly garbage between full collections.
  const heapFlag = limitHeapGrowth();
  const config = loadAppConfig();
  const logger = createLogger(config.app);
  logger.debug({ config: redactConfig(config), v8Flags: heapFlag }, 'configuration');
  // mcp_config.json expands ${VAR} from the same environment the config came from, .env included.
  const sources = await createToolsetSources(
    config,
    logger,
    readEnvironment({ env: process.env, cwd: process.cwd() }),
  );
  const runtime = await createRuntime(config, logger, { sources });
  const server = createApiServer({
    config,
    logger,
    store: runtime.store,
    model: runtime.model,
    extraModels: runtime.extraModels,
    runnerFor: runtime.runnerFor,
    readiness: runtime.readiness,
    metrics: createMetrics({ defaultMetrics: true }),
  });
  let url: string;
  try {
    url = await server.listen();
  } catch (error) {
    // Port taken or not allowed: close what is open (MCP servers, the store) before exiting.
    await runtime.close().catch(() => {});
    throw error;
  }
  // Before the start line: a supervisor that signals as soon as it reads it gets a graceful stop.
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal while running turns finish: the operator wants out now.
      logger.warn({ signal }, 'second signal while stopping: exiting at once, running turns are cut off');
      await flushLogger(logger);
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    try {
      await server.stop();
      await runtime.close();
    } catch (error) {
      logger.error({ err: error }, 'could not stop cleanly');
      await flushLogger(logger);
      process.exit(1);
    }
    logger.info('stopped');
    await flushLogger(logger);
    process.exit(0);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));

  logger.info(
    {
      url,
      model: config.model.model.id,
      database: config.store.databaseUrl ? 'postgres' : 'pglite',
      tools: sources.map((source) => source.name),
    },
    'haia-api listening',
  );
  // Out at once rather than on the next periodic flush: supervisors and scripts wait for this line.
  await flushLogger(logger);
}

main().catch((error: unknown) => {
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(
      `haia-api cannot listen: ${(error as Error).message.replace(/^listen EADDRINUSE: /, '')}. Stop the other process or set PORT to a free port.\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`haia-api failed to start: ${describeStartError(error)}\n`);
  process.exit(1);
});
