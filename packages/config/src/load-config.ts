import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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
  /**
   * Also check that `HAIA_DATA_DIR` can hold the embedded database when `DATABASE_URL` is unset (a
   * folder, or a path that can be made one, this user can write). Set by the apps that open it.
   */
  checkDataDir?: boolean;
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
  const failed = new Set<string>();
  // Variable by variable, so that the rules spanning variables still run on every one that parsed
  // and one message lists all the problems.
  const parsed = {} as Record<string, Record<string, unknown>>;
  for (const [group, schema] of Object.entries(CONFIG_SCHEMAS)) {
    const values: Record<string, unknown> = {};
    for (const [variable, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const result = field.safeParse(raw[variable]);
      if (result.success) {
        values[variable] = result.data;
        continue;
      }
      failed.add(variable);
      const value = raw[variable];
      for (const issue of result.error.issues) {
        problems.push({
          variable,
          value: value === undefined ? undefined : maskValue(variable, value),
          expected: issue.message,
        });
      }
    }
    parsed[group] = values;
  }
  problems.push(...crossCheck(parsed as Parsed, failed, raw, options));
  if (problems.length > 0) throw new ConfigError(problems);
  return buildConfig(parsed as Parsed, options);
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

/**
 * Rules that span variables, on the variables that parsed (`failed` names the others, already
 * reported): auth on public binding, keys of the providers in use, complete groups, files and
 * folders that must be there.
 */
function crossCheck(
  parsed: Parsed,
  failed: ReadonlySet<string>,
  raw: Record<string, string>,
  options: LoadConfigOptions,
): ConfigProblem[] {
  const { cwd } = options;
  const problems: ConfigProblem[] = [];
  const usable = (...variables: string[]) => variables.every((variable) => !failed.has(variable));
  const { app, store, proxmox, mcp } = parsed;
  if (usable('HOST', 'HAIA_API_KEYS') && !isLoopbackHost(app.HOST) && app.HAIA_API_KEYS.length === 0) {
    problems.push({
      variable: 'HAIA_API_KEYS',
      value: undefined,
      expected: `at least one key because HOST=${app.HOST} is reachable from other machines: set HAIA_API_KEYS=<a long random key> (for example from \`openssl rand -hex 32\`), or HOST=127.0.0.1`,
    });
  }
  if (app.HAIA_SYSTEM_PROMPT_FILE) {
    problems.push(...missingFile('HAIA_SYSTEM_PROMPT_FILE', raw, resolve(cwd, app.HAIA_SYSTEM_PROMPT_FILE)));
  }
  if (options.checkDataDir && usable('HAIA_DATA_DIR', 'DATABASE_URL') && !store.DATABASE_URL) {
    const fault = folderFault(resolve(cwd, app.HAIA_DATA_DIR));
    if (fault) {
      problems.push({
        variable: 'HAIA_DATA_DIR',
        value: raw.HAIA_DATA_DIR,
        expected: `a folder HAIA can create and write for its embedded database (${fault}): set HAIA_DATA_DIR to another folder, or DATABASE_URL to use a PostgreSQL server`,
      });
    }
  }
  problems.push(...modelProblems(parsed.model, raw));
  if (proxmox.PROXMOX_URL) {
    for (const variable of ['PROXMOX_TOKEN_ID', 'PROXMOX_TOKEN_SECRET'] as const) {
      if (!raw[variable]) {
        problems.push({
          variable,
          value: undefined,
          expected:
            'a value because PROXMOX_URL is set (create an API token with the PVEAuditor role in Proxmox)',
        });
      }
    }
    if (proxmox.PROXMOX_CA_FILE) {
      problems.push(...missingFile('PROXMOX_CA_FILE', raw, resolve(cwd, proxmox.PROXMOX_CA_FILE)));
    }
  } else if (usable('PROXMOX_URL')) {
    const given = ['PROXMOX_TOKEN_ID', 'PROXMOX_TOKEN_SECRET', 'PROXMOX_CA_FILE'].filter((name) => raw[name]);
    if (given.length > 0) {
      problems.push({
        variable: 'PROXMOX_URL',
        value: undefined,
        expected: `the cluster's URL, such as https://pve.example:8006, because ${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} set (or unset ${given.length === 1 ? 'it' : 'them'} to turn the Proxmox tools off)`,
      });
    }
  }
  if (mcp.MCP_CONFIG) problems.push(...missingFile('MCP_CONFIG', raw, resolve(cwd, mcp.MCP_CONFIG)));
  const telegramParts = [raw.TELEGRAM_BOT_TOKEN, raw.TELEGRAM_CHAT_ID].filter(Boolean).length;
  if (telegramParts === 1) {
    const missing = raw.TELEGRAM_BOT_TOKEN ? 'TELEGRAM_CHAT_ID' : 'TELEGRAM_BOT_TOKEN';
    problems.push({
      variable: missing,
      value: undefined,
      expected: 'a value: Telegram needs both TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID',
    });
  }
  if (raw.NTFY_TOKEN && !raw.NTFY_URL) {
    problems.push({
      variable: 'NTFY_URL',
      value: undefined,
      expected: 'the topic URL, such as https://ntfy.sh/your-topic, because NTFY_TOKEN is set',
    });
  }
  return problems;
}

/**
 * The provider keys and endpoints the models in use (`HAIA_MODEL`, `HAIA_FALLBACK_MODELS`) need; a
 * key or URL that is given but bad is reported as such, not as missing.
 */
function modelProblems(model: Parsed['model'], raw: Record<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const given: Record<Provider, boolean> = {
    anthropic: Boolean(raw.ANTHROPIC_API_KEY),
    openai: Boolean(raw.OPENAI_API_KEY),
    'openai-compatible': true,
    gemini: Boolean(raw.GEMINI_API_KEY || raw.GOOGLE_API_KEY),
    ollama: true,
  };
  const inUse = [model.HAIA_MODEL, ...(model.HAIA_FALLBACK_MODELS ?? [])].filter(
    (ref): ref is ModelRef => ref !== undefined,
  );
  const reported = new Set<string>();
  for (const ref of inUse) {
    const keyVariable = PROVIDER_KEY_VARIABLES[ref.provider];
    if (!keyVariable || given[ref.provider] || reported.has(keyVariable)) continue;
    reported.add(keyVariable);
    problems.push({
      variable: keyVariable,
      value: undefined,
      expected: `the ${ref.provider} API key because ${ref.id} is in use (HAIA_MODEL or HAIA_FALLBACK_MODELS)${keyVariable === 'GEMINI_API_KEY' ? '; GOOGLE_API_KEY also works' : ''}`,
    });
  }
  if (inUse.some((ref) => ref.provider === 'openai-compatible') && !raw.OPENAI_BASE_URL) {
    problems.push({
      variable: 'OPENAI_BASE_URL',
      value: undefined,
      expected:
        'the URL of your OpenAI-compatible server (for example http://127.0.0.1:1234/v1) for openai-compatible models',
    });
  }
  return problems;
}

/** A problem when the file a variable names is not there. */
function missingFile(variable: string, raw: Record<string, string>, path: string): ConfigProblem[] {
  if (existsSync(path) && statSync(path).isFile()) return [];
  return [
    {
      variable,
      value: raw[variable],
      expected: `an existing file (${path} ${existsSync(path) ? 'is not a file' : 'does not exist'})`,
    },
  ];
}

/**
 * Why `path` cannot serve as a data folder (it, or the nearest part of it that exists, is not a
 * writable folder), or undefined when it can.
 */
function folderFault(path: string): string | undefined {
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) return `${existing} is not a folder`;
  try {
    accessSync(existing, existing === path ? constants.R_OK | constants.W_OK : constants.W_OK);
  } catch {
    return `${existing} is not writable by this user`;
  }
  return undefined;
}
