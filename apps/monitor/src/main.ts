import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { ConfigError, describeStartError, type HaiaConfig, loadConfig, redactConfig } from '@haia/config';
import { createModel } from '@haia/llm';
import { createNotifiers } from '@haia/notify';
import { createProxmoxClient, type ProxmoxClient } from '@haia/proxmox';
import { createProxmoxToolset } from '@haia/proxmox/tools';
import { createStore } from '@haia/store';
import { type Logger, pino } from 'pino';
import { createAlertSummarizer } from './ai-summary.js';
import { startDaemon } from './daemon.js';
import { startMonitorHttpServer } from './http-server.js';
import { createMonitorMetrics } from './metrics.js';
import { createMonitor } from './monitor.js';
import { sendTestNotifications } from './test-notify.js';

const USAGE = `Usage: haia-monitor [--test-notify]

Watches the Proxmox cluster in PROXMOX_URL and alerts on every configured channel
(TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID, DISCORD_WEBHOOK_URL, NTFY_URL).

  --test-notify   send one test message to each configured channel and exit
  --help          show this help
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function readConfig(): HaiaConfig {
  try {
    return loadConfig({
      env: process.env,
      cwd: process.cwd(),
      isTTY: process.stdout.isTTY,
      checkDataDir: true,
    });
  } catch (error) {
    if (ConfigError.isInstance(error)) fail(error.message);
    throw error;
  }
}

/** The AI note under firing alerts: HAIA_MODEL with the read-only Proxmox tools. */
function createSummarizer(config: HaiaConfig, client: ProxmoxClient, logger: Logger) {
  const ref = config.model.model;
  const provider = config.model.providers[ref.provider];
  const model = createModel(ref.id, {
    ...(provider.apiKey ? { apiKey: provider.apiKey } : {}),
    ...(provider.baseURL ? { baseURL: provider.baseURL } : {}),
    logger,
  });
  logger.info({ model: ref.id }, 'firing alerts get an AI summary');
  return createAlertSummarizer({ model, toolsets: [createProxmoxToolset(client)], logger });
}

/** Starts the monitor daemon, or sends test notifications with `--test-notify`. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const unknown = args.filter((arg) => arg !== '--test-notify');
  if (unknown.length > 0) fail(`haia-monitor: unknown option ${unknown.join(' ')}\n\n${USAGE}`);
  const config = readConfig();
  const logger = pino({
    level: config.app.logLevel,
    base: { service: 'haia-monitor' },
    ...(config.app.logFormat === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { colorize: true } } }
      : {}),
  });
  logger.debug({ config: redactConfig(config) }, 'configuration');
  const notifiers = createNotifiers(config.notify, { logger });
  if (args.includes('--test-notify')) {
    if (notifiers.length === 0) {
      fail(
        'No notification channel is configured: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, DISCORD_WEBHOOK_URL, or NTFY_URL.',
      );
    }
    const results = await sendTestNotifications(notifiers);
    for (const result of results) {
      process.stdout.write(
        `${result.ok ? 'ok    ' : 'FAILED'} ${result.channel}${result.error ? `: ${result.error}` : ''}\n`,
      );
    }
    logger.flush();
    process.exit(results.every((result) => result.ok) ? 0 : 1);
  }

  if (!config.proxmox)
    fail(
      'haia-monitor needs a cluster to watch: set PROXMOX_URL, PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET (see .env.example).',
    );
  const metrics = createMonitorMetrics();
  if (notifiers.length === 0) logger.warn('no notification channel is configured: alerts are only logged');
  const client = createProxmoxClient({
    url: config.proxmox.url,
    tokenId: config.proxmox.tokenId,
    tokenSecret: config.proxmox.tokenSecret,
    verifyTls: config.proxmox.verifyTls,
    ...(config.proxmox.caFile ? { ca: readFileSync(config.proxmox.caFile, 'utf8') } : {}),
    logger,
  });
  const store = config.store.databaseUrl
    ? await createStore({
        url: config.store.databaseUrl,
        pool: { max: config.store.poolMax, connectTimeoutMs: config.store.connectTimeoutMs },
        logger,
      })
    : await createStore({ dataDir: `${config.store.dataDir}/monitor-db`, logger });
  const monitorStore = store.monitor;
  const summarize = config.monitor.aiSummary ? createSummarizer(config, client, logger) : undefined;
  const monitor = createMonitor({
    client,
    notifiers,
    store: monitorStore,
    rules: config.monitor,
    logger,
    metrics,
    ...(summarize ? { summarize } : {}),
  });
  // The port first: a monitor that cannot serve /health must not start checking and alerting.
  let daemon: ReturnType<typeof startDaemon> | undefined;
  const http = await startMonitorHttpServer({
    host: config.app.host,
    port: config.monitor.port,
    metrics,
    isLeader: () => daemon?.isLeader() ?? false,
  }).catch(async (error: NodeJS.ErrnoException) => {
    await store.close().catch(() => {});
    await client.close();
    if (error.code !== 'EADDRINUSE') throw error;
    return fail(
      `haia-monitor cannot listen: ${error.message.replace(/^listen EADDRINUSE: /, '')}. Stop the other process or set HAIA_MONITOR_PORT to a free port.`,
    );
  });
  daemon = startDaemon({ monitor, store: monitorStore, intervals: config.monitor, logger, metrics });
  const running = daemon;
  logger.info(
    { url: http.url, cluster: config.proxmox.url, channels: notifiers.map((notifier) => notifier.channel) },
    'haia-monitor running',
  );

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal while checks finish: the operator wants out now.
      logger.warn({ signal }, 'second signal while stopping: exiting at once, running checks are cut off');
      logger.flush();
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    try {
      await running.stop();
      await http.close();
      await monitorStore.close();
      await store.close();
      await client.close();
    } catch (error) {
      logger.error({ err: error }, 'could not stop cleanly');
      logger.flush();
      process.exit(1);
    }
    logger.info('stopped');
    logger.flush();
    process.exit(0);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  process.stderr.write(`haia-monitor failed: ${describeStartError(error)}\n`);
  process.exit(1);
});
