import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-error.js';

/** Checks `Authorization: Bearer <key>` against the configured keys. */
export interface BearerAuth {
  /** True when no keys are configured (loopback only) or the header carries one of them. */
  check(header: string | null): boolean;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Builds the bearer check for `HAIA_API_KEYS`. Keys are compared as SHA-256 digests with
 * `timingSafeEqual`, against every key, so neither the length nor the position of a match leaks.
 */
export function createBearerAuth(keys: readonly string[]): BearerAuth {
  const digests = keys.map(digest);
  if (digests.length === 0) return { check: () => true };
  return {
    check(header) {
      if (!header) return false;
      const match = /^Bearer\s+(.+)$/i.exec(header.trim());
      if (!match?.[1]) return false;
      const candidate = digest(match[1].trim());
      let found = false;
      for (const key of digests) found = timingSafeEqual(candidate, key) || found;
      return found;
    },
  };
}

/** The 401 a request without a valid key gets (the key itself is never echoed). */
export function unauthorized(header: string | null): ApiError {
  return new ApiError({
    status: 401,
    message: header
      ? 'Incorrect API key provided. Send one of the keys in HAIA_API_KEYS as `Authorization: Bearer <key>`.'
      : 'Missing API key. Send one of the keys in HAIA_API_KEYS as `Authorization: Bearer <key>`.',
    code: 'invalid_api_key',
  });
}
