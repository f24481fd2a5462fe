import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { maskValue } from './mask.js';
import { CONFIG_SCHEMAS, type LOG_LEVELS } from './schema.js';
import { isLoopbackHost, type ModelRef, type Provider, type QuietHours } from './values.js';

/** Where apps/api listens, who may call it, logging and the agent's limits. */
export interface AppConfig {
  host: string;
  port: number;
  /** Bearer keys clients must send; empty means no auth (loopback only). */
  apiKeys: string[];
  /** Allowed CORS origins; `['*']` for any, empty for no CORS. */
  corsOrigins: string[];
  /** Absolute path of the folder for local state. */
  dataDir: string;
  systemPromptFile: string | undefined;
  maxSteps: number;
  toolTimeoutMs: number;
  /** Token budget of the history sent to the model (estimated); the oldest turns are dropped first. */
  contextTokens: number;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: 'json' | 'pretty';
}

/** Endpoint and key of one provider; undefined fields mean the vendor default. */
export interface ProviderSettings {
  apiKey: string | undefined;
  baseURL: string | undefined;
}

/** Which model answers, its fallbacks and every provider's settings. */
export interface ModelConfig {
  model: ModelRef;
  fallbackModels: ModelRef[];
  /** Extra models advertised on `/v1/models`. */
  models: ModelRef[];
  providers: Record<Provider, ProviderSettings>;
}

/** PostgreSQL server (`databaseUrl`) or embedded PGlite in `dataDir`. */
export interface StoreConfig {
  databaseUrl: string | undefined;
  poolMax: number;
  connectTimeoutMs: number;
  /** Folder of the embedded database, used when `databaseUrl` is not set. */
  dataDir: string;
}

/** The Proxmox cluster; `undefined` in {@link HaiaConfig} when `PROXMOX_URL` is not set. */
export interface ProxmoxConfig {
  url: string;
  tokenId: string;
  tokenSecret: string;
  verifyTls: boolean;
  caFile: string | undefined;
}

/** The MCP servers file. */
export interface McpConfig {
  /** Absolute path of the file, or undefined when there is none. */
  configPath: string | undefined;
  /** True when `MCP_CONFIG` named the file (then it must exist). */
  explicit: boolean;
}

/** Configured alert channels; a channel is present only when its variables are set. */
export interface NotifyConfig {
  telegram: { botToken: string; chatId: string; apiUrl: string } | undefined;
  discord: { webhookUrl: string } | undefined;
  ntfy: { url: string; token: string | undefined } | undefined;
}

/** The monitoring daemon's schedule, alert rules and port. */
export interface MonitorConfig {
  /** Guests, nodes and failed tasks. */
  vmIntervalMs: number;
  cephIntervalMs: number;
  storageIntervalMs: number;
  /** Storage usage (percent) at or above which an alert fires. */
  storageThresholdPercent: number;
  /** Consecutive bad results before `pending` becomes `firing`. */
  failureThreshold: number;
  /** Reminder interval for a firing alert; undefined: never remind. */
  reminderIntervalMs: number | undefined;
  /** Only critical alerts go out in this daily window; the rest wait for a digest at its end. */
  quietHours: QuietHours | undefined;
  aiSummary: boolean;
  port: number;
}

/** Everything HAIA's apps are configured with. */
export interface HaiaConfig {
  app: AppConfig;
  model: ModelConfig;
  store: StoreConfig;
  proxmox: ProxmoxConfig | undefined;
  mcp: McpConfig;
  notify: NotifyConfig;
  monitor: MonitorConfig;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The environment, usually `process.env`. It wins over `.env`. */
  env: Record<string, string | undefined>;
  /** Folder holding `.env` (read when present) and against which relative paths resolve. */
  cwd: string;
  /** Whether stdout is a terminal: the default `LOG_FORMAT` is `pretty` there. */
  isTTY?: boolean;
}

type Parsed = { [K in keyof typeof CONFIG_SCHEMAS]: z.output<(typeof CONFIG_SCHEMAS)[K]> };

const PROVIDER_KEY_VARIABLES: Record<Provider, string | undefined> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  'openai-compatible': undefined,
  gemini: 'GEMINI_API_KEY',
  ollama: undefined,
};

/**
 * Reads HAIA's configuration from `env` and `cwd/.env`, validates every variable and returns the
 * typed config. Throws one {@link ConfigError} listing every problem at once.
 *
 * @example
 * const config = loadConfig({ env: process.env, cwd: process.cwd() });
 */
export function loadConfig(options: LoadConfigOptions): HaiaConfig {
  const raw = readEnvironment(options);
  const problems: ConfigProblem[] = [];
  const parsed = {} as Record<string, unknown>;
  for (const [group, schema] of Object.entries(CONFIG_SCHEMAS)) {
    const result = schema.safeParse(raw);
    if (result.success) {
      parsed[group] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      const variable = String(issue.path[0] ?? group);
      const value = raw[variable];
      problems.push({
        variable,
        value: value === undefined ? undefined : maskValue(variable, value),
        expected: issue.message,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = buildConfig(parsed as Parsed, options);
  problems.push(...crossCheck(config, raw));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * The environment as HAIA sees it: `cwd/.env` under the real environment (which wins), empty values
 * dropped. Pass it where other configuration expands `${VAR}` (mcp_config.json) so that a secret kept
 * only in `.env` works there too.
 */
export function readEnvironment(options: Pick<LoadConfigOptions, 'env' | 'cwd'>): Record<string, string> {
  const dotenvPath = join(options.cwd, '.env');
  const fromFile = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath)) : {};
  const merged: Record<string, string> = {};
  for (const source of [fromFile, options.env]) {
    for (const [name, value] of Object.entries(source)) {
      if (value !== undefined && value.trim() !== '') merged[name] = value;
    }
  }
  return merged;
}

function buildConfig(parsed: Parsed, options: LoadConfigOptions): HaiaConfig {
  const { app, model, store, proxmox, mcp, notify, monitor } = parsed;
  const dataDir = resolve(options.cwd, app.HAIA_DATA_DIR);
  const defaultMcpPath = resolve(options.cwd, 'mcp_config.json');
  const openai = { apiKey: model.OPENAI_API_KEY, baseURL: model.OPENAI_BASE_URL };
  return {
    app: {
      host: app.HOST,
      port: app.PORT,
      apiKeys: app.HAIA_API_KEYS,
      corsOrigins: app.HAIA_CORS_ORIGINS,
      dataDir,
      systemPromptFile: app.HAIA_SYSTEM_PROMPT_FILE && resolve(options.cwd, app.HAIA_SYSTEM_PROMPT_FILE),
      maxSteps: app.HAIA_MAX_STEPS,
      toolTimeoutMs: app.HAIA_TOOL_TIMEOUT_MS,
      contextTokens: app.HAIA_CONTEXT_TOKENS,
      logLevel: app.LOG_LEVEL,
      logFormat: app.LOG_FORMAT ?? (options.isTTY ? 'pretty' : 'json'),
    },
    model: {
      model: model.HAIA_MODEL,
      fallbackModels: model.HAIA_FALLBACK_MODELS,
      models: model.HAIA_MODELS,
      providers: {
        anthropic: { apiKey: model.ANTHROPIC_API_KEY, baseURL: model.ANTHROPIC_BASE_URL },
        openai,
        'openai-compatible': openai,
        gemini: { apiKey: model.GEMINI_API_KEY ?? model.GOOGLE_API_KEY, baseURL: model.GEMINI_BASE_URL },
        ollama: { apiKey: undefined, baseURL: model.OLLAMA_HOST },
      },
    },
    store: {
      databaseUrl: store.DATABASE_URL,
      poolMax: store.DATABASE_POOL_MAX,
      connectTimeoutMs: store.DATABASE_CONNECT_TIMEOUT_MS,
      dataDir,
    },
    proxmox: proxmox.PROXMOX_URL
      ? {
          url: proxmox.PROXMOX_URL,
          tokenId: proxmox.PROXMOX_TOKEN_ID ?? '',
          tokenSecret: proxmox.PROXMOX_TOKEN_SECRET ?? '',
          verifyTls: proxmox.PROXMOX_VERIFY_TLS,
          caFile: proxmox.PROXMOX_CA_FILE && resolve(options.cwd, proxmox.PROXMOX_CA_FILE),
        }
      : undefined,
    mcp: mcp.MCP_CONFIG
      ? { configPath: resolve(options.cwd, mcp.MCP_CONFIG), explicit: true }
      : { configPath: existsSync(defaultMcpPath) ? defaultMcpPath : undefined, explicit: false },
    notify: {
      telegram:
        notify.TELEGRAM_BOT_TOKEN && notify.TELEGRAM_CHAT_ID
          ? {
              botToken: notify.TELEGRAM_BOT_TOKEN,
              chatId: notify.TELEGRAM_CHAT_ID,
              apiUrl: notify.TELEGRAM_API_URL,
            }
          : undefined,
      discord: notify.DISCORD_WEBHOOK_URL ? { webhookUrl: notify.DISCORD_WEBHOOK_URL } : undefined,
      ntfy: notify.NTFY_URL ? { url: notify.NTFY_URL, token: notify.NTFY_TOKEN } : undefined,
    },
    monitor: {
      vmIntervalMs: monitor.HAIA_MONITOR_VM_INTERVAL,
      cephIntervalMs: monitor.HAIA_MONITOR_CEPH_INTERVAL,
      storageIntervalMs: monitor.HAIA_MONITOR_STORAGE_INTERVAL,
      storageThresholdPercent: monitor.HAIA_MONITOR_STORAGE_THRESHOLD,
      failureThreshold: monitor.HAIA_MONITOR_FAILURE_THRESHOLD,
      reminderIntervalMs: monitor.HAIA_MONITOR_REMINDER_INTERVAL,
      quietHours: monitor.HAIA_MONITOR_QUIET_HOURS,
      aiSummary: monitor.HAIA_MONITOR_AI_SUMMARY,
      port: monitor.HAIA_MONITOR_PORT,
    },
  };
}

/** Rules that span variables: auth on public binding, keys of the providers in use, complete pairs. */
function crossCheck(config: HaiaConfig, raw: Record<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!isLoopbackHost(config.app.host) && config.app.apiKeys.length === 0) {
    problems.push({
      variable: 'HAIA_API_KEYS',
      value: undefined,
      expected: `at least one key because HOST=${config.app.host} is reachable from other machines: set HAIA_API_KEYS=<a long random key> (for example from \`openssl rand -hex 32\`), or HOST=127.0.0.1`,
    });
  }
  const inUse = [config.model.model, ...config.model.fallbackModels];
  const reported = new Set<string>();
  for (const ref of inUse) {
    const keyVariable = PROVIDER_KEY_VARIABLES[ref.provider];
    if (!keyVariable || config.model.providers[ref.provider].apiKey || reported.has(keyVariable)) continue;
    reported.add(keyVariable);
    problems.push({
      variable: keyVariable,
      value: undefined,
      expected: `the ${ref.provider} API key because ${ref.id} is in use (HAIA_MODEL or HAIA_FALLBACK_MODELS)${keyVariable === 'GEMINI_API_KEY' ? '; GOOGLE_API_KEY also works' : ''}`,
    });
  }
  if (inUse.some((ref) => ref.provider === 'openai-compatible') && !config.model.providers.openai.baseURL) {
    problems.push({
      variable: 'OPENAI_BASE_URL',
      value: undefined,
      expected:
        'the URL of your OpenAI-compatible server (for example http://127.0.0.1:1234/v1) for openai-compatible models',
    });
  }
  if (config.proxmox) {
    for (const [variable, present] of [
      ['PROXMOX_TOKEN_ID', config.proxmox.tokenId],
      ['PROXMOX_TOKEN_SECRET', config.proxmox.tokenSecret],
    ] as const) {
      if (!present) {
        problems.push({
          variable,
          value: undefined,
          expected:
            'a value because PROXMOX_URL is set (create an API token with the PVEAuditor role in Proxmox)',
        });
      }
    }
  }
  if (config.mcp.explicit && config.mcp.configPath && !existsSync(config.mcp.configPath)) {
    problems.push({
      variable: 'MCP_CONFIG',
      value: raw.MCP_CONFIG,
      expected: `an existing file (${config.mcp.configPath} does not exist)`,
    });
  }
  const telegramParts = [raw.TELEGRAM_BOT_TOKEN, raw.TELEGRAM_CHAT_ID].filter(Boolean).length;
  if (telegramParts === 1) {
    const missing = raw.TELEGRAM_BOT_TOKEN ? 'TELEGRAM_CHAT_ID' : 'TELEGRAM_BOT_TOKEN';
    problems.push({
      variable: missing,
      value: undefined,
      expected: 'a value: Telegram needs both TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID',
    });
  }
  return problems;
}
