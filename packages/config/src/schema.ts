import { z } from 'zod';
import {
  type ModelRef,
  parseBoolean,
  parseDuration,
  parseInteger,
  parseInterval,
  parseList,
  parseModelRef,
  parseOllamaHost,
  parsePort,
  parseQuietHours,
  parseUrl,
} from './values.js';

/**
 * The environment, one zod schema per group, keyed by the variable names of DESIGN.md section 6.
 * Each field takes the raw string (or undefined) and yields the typed, defaulted value; a value that
 * does not parse becomes an issue whose message says what is expected.
 */

type Parse<T> = (text: string) => T;

function variable<T>(description: string, parse: Parse<T>): z.ZodType<T | undefined, string | undefined>;
function variable<T>(
  description: string,
  parse: Parse<T>,
  fallback: string,
): z.ZodType<T, string | undefined>;
function variable<T>(description: string, parse: Parse<T>, fallback?: string) {
  return z
    .string()
    .optional()
    .transform((text, context) => {
      const input = text ?? fallback;
      if (input === undefined) return undefined;
      try {
        return parse(input);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    })
    .describe(description);
}

const text = (value: string) => value.trim();
/**
 * Why a credential cannot be sent in an HTTP header (or a URL path), or undefined when it can:
 * visible ASCII only. A secret pasted with a curly quote, a non-breaking space or a line break inside
 * would otherwise fail every request with an obscure `ByteString` error from the HTTP client.
 */
function credentialFault(value: string): string | undefined {
  const bad = /[^\x21-\x7e]/.exec(value);
  if (!bad) return undefined;
  const code = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return `character ${bad.index + 1} is U+${code} (copied with a typographic quote, a space or a line break?)`;
}
const credential = (value: string) => {
  const trimmed = value.trim();
  const fault = credentialFault(trimmed);
  if (fault) throw new Error(`a key or token of visible ASCII characters only; ${fault}`);
  return trimmed;
};
/** Comma-separated bearer keys, each sendable in an `Authorization` header. */
const credentialList = (value: string) => {
  const keys = parseList(value);
  const faults = keys.flatMap((key, index) => {
    const fault = credentialFault(key);
    return fault ? [`key ${index + 1}: ${fault}`] : [];
  });
  if (faults.length > 0) {
    throw new Error(
      `comma-separated keys of visible ASCII characters only (a client sends one as "Authorization: Bearer <key>"); ${faults.join('; ')}`,
    );
  }
  return keys;
};
const oneOf =
  <const T extends string>(choices: readonly T[]) =>
  (value: string): T => {
    const word = value.trim().toLowerCase();
    if ((choices as readonly string[]).includes(word)) return word as T;
    throw new Error(`one of ${choices.join(', ')}`);
  };
const modelList = (value: string): ModelRef[] => parseList(value).map(parseModelRef);
/**
 * CORS origins as a browser sends them in `Origin` (`https://host[:port]`: lower-case host, no
 * default port, no path), so that a configured `https://Chat.example.com/` still matches.
 */
const corsOrigins = (value: string): string[] => {
  const faults: string[] = [];
  const origins = parseList(value).map((item) => {
    if (item === '*') return item;
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      faults.push(`"${item}" is not a URL`);
      return item;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') faults.push(`"${item}" is not http(s)`);
    else if (url.pathname !== '/' || url.search || url.hash) faults.push(`"${item}" has a path`);
    else if (url.username || url.password) faults.push(`"${item}" has a user name`);
    return url.origin;
  });
  if (faults.length > 0) {
    throw new Error(
      `comma-separated origins as a browser sends them, such as https://chat.example.com or http://localhost:3000 (scheme, host and port only), or *; ${faults.join('; ')}`,
    );
  }
  return origins;
};
const host = (value: string) => {
  const trimmed = value.trim();
  if (!trimmed || /[\s/]/.test(trimmed))
    throw new Error('a host name or IP address such as 127.0.0.1 or 0.0.0.0');
  return trimmed;
};
const positive = (min: number, max?: number) => (value: string) =>
  parseInteger(value, max === undefined ? { min } : { min, max });
const optionalDuration = (value: string): number | undefined =>
  ['off', '0', 'never', 'false'].includes(value.trim().toLowerCase()) ? undefined : parseDuration(value);
const postgresUrl = (value: string) => parseUrl(value, ['postgres:', 'postgresql:']);

/** Log levels pino understands. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Where apps/api listens, who may call it, logging and the agent's limits. */
export const AppConfigSchema = z.object({
  HOST: variable('Address apps/api listens on', host, '127.0.0.1'),
  PORT: variable('Port apps/api listens on', parsePort, '8000'),
  HAIA_API_KEYS: variable('Comma-separated bearer keys clients must send', credentialList, ''),
  HAIA_CORS_ORIGINS: variable('Comma-separated CORS origins, or *', corsOrigins, ''),
  HAIA_DATA_DIR: variable('Folder for the embedded database and local state', text, './.haia'),
  HAIA_SYSTEM_PROMPT_FILE: variable('File whose text replaces the built-in system prompt', text),
  HAIA_MAX_STEPS: variable('Most model turns per chat turn', positive(1, 100), '8'),
  HAIA_TOOL_TIMEOUT_MS: variable('Time limit of one tool call, in ms', positive(1), '30000'),
  HAIA_CONTEXT_TOKENS: variable(
    'Token budget of the history sent to the model; older turns are dropped first',
    positive(1000),
    '32000',
  ),
  LOG_LEVEL: variable('Log level', oneOf(LOG_LEVELS), 'info'),
  LOG_FORMAT: variable('json, or pretty for people (default pretty on a TTY)', oneOf(['json', 'pretty'])),
});

/** Which model answers, its fallbacks, and the provider endpoints and keys. */
export const ModelConfigSchema = z.object({
  HAIA_MODEL: variable('provider:model that answers', parseModelRef, 'ollama:llama3.2'),
  HAIA_FALLBACK_MODELS: variable('provider:model list tried when the main model fails', modelList, ''),
  HAIA_MODELS: variable('Extra provider:model entries shown on /v1/models', modelList, ''),
  ANTHROPIC_API_KEY: variable('Anthropic API key', credential),
  OPENAI_API_KEY: variable('OpenAI (or OpenAI-compatible server) API key', credential),
  GEMINI_API_KEY: variable('Gemini API key', credential),
  GOOGLE_API_KEY: variable('Gemini API key (alternative name)', credential),
  ANTHROPIC_BASE_URL: variable('Anthropic endpoint', (value) => parseUrl(value)),
  OPENAI_BASE_URL: variable('OpenAI or OpenAI-compatible endpoint', (value) => parseUrl(value)),
  GEMINI_BASE_URL: variable('Gemini endpoint', (value) => parseUrl(value)),
  OLLAMA_HOST: variable(
    'Ollama endpoint (host, host:port or URL)',
    parseOllamaHost,
    'http://127.0.0.1:11434',
  ),
});

/** PostgreSQL server or embedded PGlite. */
export const StoreConfigSchema = z.object({
  DATABASE_URL: variable('postgres:// URL; unset means embedded PGlite', postgresUrl),
  DATABASE_POOL_MAX: variable('Most pooled connections', positive(1, 1000), '10'),
  DATABASE_CONNECT_TIMEOUT_MS: variable('Connect timeout in ms', positive(1), '10000'),
});

/** The Proxmox VE cluster the tools and the monitor read. */
export const ProxmoxConfigSchema = z.object({
  PROXMOX_URL: variable('https://pve.example:8006; unset turns the Proxmox tools off', (value) =>
    parseUrl(value, ['https:', 'http:']),
  ),
  PROXMOX_TOKEN_ID: variable('API token id, user@realm!tokenname', (value) => {
    const trimmed = value.trim();
    if (!/^[^@\s]+@[^!\s]+![^\s]+$/.test(trimmed)) throw new Error('a token id such as haia@pve!monitor');
    return trimmed;
  }),
  PROXMOX_TOKEN_SECRET: variable('API token secret', credential),
  PROXMOX_VERIFY_TLS: variable('Check the cluster TLS certificate', parseBoolean, 'true'),
  PROXMOX_CA_FILE: variable('CA certificate file for a self-signed cluster', text),
});

/** MCP servers file. */
export const McpConfigSchema = z.object({
  MCP_CONFIG: variable('Path to mcp_config.json (default ./mcp_config.json when it exists)', text),
});

/** Alert channels. */
export const NotifyConfigSchema = z.object({
  TELEGRAM_BOT_TOKEN: variable('Telegram bot token', credential),
  TELEGRAM_CHAT_ID: variable('Telegram chat id', text),
  TELEGRAM_API_URL: variable(
    'Telegram Bot API endpoint',
    (value) => parseUrl(value),
    'https://api.telegram.org',
  ),
  DISCORD_WEBHOOK_URL: variable('Discord webhook URL', (value) => parseUrl(value, ['https:', 'http:'])),
  NTFY_URL: variable('ntfy topic URL, https://ntfy.sh/topic', (value) => parseUrl(value)),
  NTFY_TOKEN: variable('ntfy access token', credential),
});

/** The monitoring daemon. */
export const MonitorConfigSchema = z.object({
  HAIA_MONITOR_VM_INTERVAL: variable('Guest, node and task check interval', parseInterval, '5m'),
  HAIA_MONITOR_CEPH_INTERVAL: variable('Ceph health check interval', parseInterval, '1h'),
  HAIA_MONITOR_STORAGE_INTERVAL: variable('Storage usage check interval', parseInterval, '15m'),
  HAIA_MONITOR_STORAGE_THRESHOLD: variable(
    'Storage usage in percent that raises an alert',
    positive(1, 100),
    '85',
  ),
  HAIA_MONITOR_FAILURE_THRESHOLD: variable(
    'Consecutive bad results before an alert fires',
    positive(1, 100),
    '2',
  ),
  HAIA_MONITOR_REMINDER_INTERVAL: variable(
    'Repeat a firing alert after this long; off for never',
    optionalDuration,
    '4h',
  ),
  HAIA_MONITOR_QUIET_HOURS: variable(
    'HH:MM-HH:MM local time when only critical alerts are sent',
    parseQuietHours,
  ),
  HAIA_MONITOR_AI_SUMMARY: variable('Add a short AI explanation to firing alerts', parseBoolean, 'false'),
  HAIA_MONITOR_PORT: variable("Port of the monitor's /health and /metrics", parsePort, '8001'),
});

/** Every group, in the order problems are reported. */
export const CONFIG_SCHEMAS = {
  app: AppConfigSchema,
  model: ModelConfigSchema,
  store: StoreConfigSchema,
  proxmox: ProxmoxConfigSchema,
  mcp: McpConfigSchema,
  notify: NotifyConfigSchema,
  monitor: MonitorConfigSchema,
} as const;

/** Variables whose values are secrets: masked in errors and in {@link redactConfig}'s output. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'HAIA_API_KEYS',
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'GEMINI_API_KEY',
  'GOOGLE_API_KEY',
  'PROXMOX_TOKEN_SECRET',
  'TELEGRAM_BOT_TOKEN',
  'DISCORD_WEBHOOK_URL',
  'NTFY_TOKEN',
  'DATABASE_URL',
]);

/** Every variable HAIA reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.values(CONFIG_SCHEMAS).flatMap((schema) =>
  Object.keys(schema.shape),
);
