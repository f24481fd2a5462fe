import { SECRET_VARIABLES } from './schema.js';

/** What a secret is shown as. */
export const MASK = '****';

/** Masks the password of a URL (`postgres://user:****@host/db`); other URLs are returned as they are. */
export function maskUrlPassword(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = MASK;
    return url.toString();
  } catch {
    return MASK;
  }
}

/**
 * The loggable form of a variable's value: secrets become `****` (a database URL keeps all but
 * its password; a webhook URL keeps only its origin).
 */
export function maskValue(variable: string, value: string): string {
  if (!SECRET_VARIABLES.has(variable)) return value;
  if (variable === 'DATABASE_URL') return maskUrlPassword(value);
  if (variable === 'DISCORD_WEBHOOK_URL') {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:' ? `${url.origin}/${MASK}` : MASK;
    } catch {
      return MASK;
    }
  }
  return MASK;
}
