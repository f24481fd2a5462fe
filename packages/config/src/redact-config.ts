import type { HaiaConfig } from './load-config.js';
import { MASK, maskUrlPassword } from './mask.js';

/** Field names whose values are secrets wherever they appear in the config. */
const SECRET_FIELDS = new Set(['apiKey', 'apiKeys', 'tokenSecret', 'botToken', 'token', 'webhookUrl']);

/**
 * A copy of `config` that is safe to log: every secret is masked (`****`), the database URL keeps all
 * but its password, and a list of keys shows only how many there are.
 */
export function redactConfig(config: HaiaConfig): unknown {
  return redact(config, '');
}

function redact(value: unknown, field: string): unknown {
  if (value === undefined || value === null) return value;
  if (SECRET_FIELDS.has(field)) {
    return Array.isArray(value) ? `${value.length} key${value.length === 1 ? '' : 's'}` : MASK;
  }
  if (field === 'databaseUrl' && typeof value === 'string') return maskUrlPassword(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, ''));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redact(inner, key)]));
  }
  return value;
}
