/**
 * Parsers for the value types HAIA's environment uses: ports, durations, booleans, URLs, comma lists
 * and `provider:model` ids. Each returns the parsed value or throws a plain `Error` whose message says
 * what was expected; the schema turns that into a config problem.
 */

/** The providers `@haia/llm` can talk to. */
export const PROVIDERS = ['anthropic', 'openai', 'openai-compatible', 'gemini', 'ollama'] as const;

/** One of {@link PROVIDERS}. */
export type Provider = (typeof PROVIDERS)[number];

/** A parsed `provider:model` id. `id` is the original text, as `/v1/models` shows it. */
export interface ModelRef {
  id: string;
  provider: Provider;
  modelId: string;
}

/**
 * Parses `provider:model`. Only the first `:` separates: `ollama:llama3.1:8b` is the Ollama model
 * `llama3.1:8b`.
 */
export function parseModelRef(text: string): ModelRef {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const provider = colon === -1 ? '' : trimmed.slice(0, colon);
  const modelId = colon === -1 ? '' : trimmed.slice(colon + 1);
  if (!provider || !modelId) {
    throw new Error(
      `a model id as provider:model, for example ollama:llama3.2 or anthropic:claude-sonnet-4-5`,
    );
  }
  if (!(PROVIDERS as readonly string[]).includes(provider)) {
    throw new Error(`a provider among ${PROVIDERS.join(', ')} before the ":" (got "${provider}")`);
  }
  return { id: `${provider}:${modelId}`, provider: provider as Provider, modelId };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `500ms`, `30s`, `5m`, `1h`, `1d` (or `1h30m`) into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    total += Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length || total <= 0) {
    throw new Error('a duration with a unit, such as 30s, 5m, 1h or 1h30m');
  }
  return Math.round(total);
}

/** The longest wait a Node.js timer takes (2^31 - 1 ms, about 24.8 days), rounded down to whole days. */
const MAX_INTERVAL_MS = 24 * 86_400_000;

/** Parses a check interval: a duration ({@link parseDuration}) of at most 24 days, what a timer can wait. */
export function parseInterval(text: string): number {
  const milliseconds = parseDuration(text);
  if (milliseconds > MAX_INTERVAL_MS) {
    throw new Error('an interval of at most 24 days (the longest a timer can wait), such as 1h, 1d or 7d');
  }
  return milliseconds;
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Parses `true/false`, `1/0`, `yes/no`, `on/off` (any case). */
export function parseBoolean(text: string): boolean {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new Error('true or false');
}

/** Parses a TCP port, 0 to 65535 (0: any free port, for tests). */
export function parsePort(text: string): number {
  return parseInteger(text, { min: 0, max: 65_535 });
}

/** Parses a whole number within bounds. */
export function parseInteger(text: string, bounds: { min: number; max?: number }): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^-?\d+$/.test(trimmed) || value < bounds.min || value > max) {
    throw new Error(
      bounds.max === undefined
        ? `a whole number of at least ${bounds.min}`
        : `a whole number from ${bounds.min} to ${bounds.max}`,
    );
  }
  return value;
}

/** Parses an absolute URL whose protocol is one of `protocols`; returns it without a trailing slash. */
export function parseUrl(
  text: string,
  protocols: readonly string[] = ['http:', 'https:'],
  example = `${protocols[0]}//host:port`,
): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`a URL such as ${example}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new Error(`a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}, such as ${example}`);
  }
  return text.trim().replace(/\/+$/, '');
}

/**
 * Parses `OLLAMA_HOST` the way Ollama itself does, since users share the variable with their Ollama
 * server: a bare `host`, `host:port` or `0.0.0.0` means `http://` and port 11434; a URL with a scheme
 * keeps its own port (80 or 443 by default) and path. Returns the URL without a trailing slash.
 */
export function parseOllamaHost(text: string): string {
  const trimmed = text.trim();
  if (trimmed.includes('://')) return parseUrl(trimmed, ['http:', 'https:'], 'http://127.0.0.1:11434');
  const slash = trimmed.indexOf('/');
  const hostPort = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const hasPort = /^\[.*\]:\d+$/.test(hostPort) || /^[^:[\]]+:\d+$/.test(hostPort);
  const host = hasPort
    ? hostPort
    : hostPort.includes(':') && !hostPort.startsWith('[')
      ? `[${hostPort}]`
      : hostPort;
  return parseUrl(
    `http://${hasPort ? host : `${host}:11434`}${slash === -1 ? '' : trimmed.slice(slash)}`,
    ['http:', 'https:'],
    'http://127.0.0.1:11434',
  );
}

/** Splits a comma-separated list, trimming items and dropping empty ones. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** True for `localhost`, `127.0.0.0/8` and `::1`: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** A daily window in local time; `start` may be after `end` (the window crosses midnight). */
export interface QuietHours {
  /** Minutes after local midnight. */
  startMinute: number;
  endMinute: number;
}

/** Parses `22:00-07:00` (24-hour local times) into minutes after midnight. */
export function parseQuietHours(text: string): QuietHours {
  const match = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  const minute = (hours: string | undefined, minutes: string | undefined) =>
    Number(hours) * 60 + Number(minutes);
  if (
    !match ||
    Number(match[1]) > 23 ||
    Number(match[3]) > 23 ||
    Number(match[2]) > 59 ||
    Number(match[4]) > 59
  ) {
    throw new Error('a daily window as HH:MM-HH:MM in 24-hour local time, such as 22:00-07:00');
  }
  const startMinute = minute(match[1], match[2]);
  const endMinute = minute(match[3], match[4]);
  if (startMinute === endMinute) throw new Error('a window whose start and end differ, such as 22:00-07:00');
  return { startMinute, endMinute };
}
