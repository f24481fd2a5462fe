import { postgresTarget } from './postgres-url.js';

/** What went wrong, in categories a caller can act on. */
export type StoreErrorCode = 'unavailable' | 'not-found' | 'conflict' | 'invalid' | 'migration';

/** Fields of a {@link StoreError}. */
export interface StoreErrorOptions {
  code: StoreErrorCode;
  message: string;
  cause?: unknown;
}

const MARKER = Symbol.for('haia.store.error');

/**
 * The one error `@haia/store` throws. `message` says what happened and what to do; it never contains
 * the connection string's password.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  readonly [MARKER] = true;

  constructor(options: StoreErrorOptions) {
    super(options.message, { cause: options.cause });
    this.code = options.code;
  }

  /** True for a `StoreError`, also one from another copy of this package. */
  static isInstance(error: unknown): error is StoreError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}

/**
 * `host:port/database` of a PostgreSQL URL, without user or password (for messages and logs); the
 * host is the socket folder for a Unix socket.
 */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const host = postgresTarget(url).socketFolder ?? (parsed.hostname || 'localhost');
    const port = parsed.port || '5432';
    const database = parsed.pathname.replace(/^\//, '');
    return database ? `${host}:${port}/${database}` : `${host}:${port}`;
  } catch {
    return 'the configured address';
  }
}

/** PostgreSQL SQLSTATE classes and codes that mean the server is not usable right now. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '53000', '58000', '58030']);
/** Node and postgres.js error codes that mean the connection failed or broke. */
const UNAVAILABLE_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
]);

/** Reads `code` from a driver error (postgres.js puts SQLSTATE there, PGlite too). */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Removes anything that looks like a connection string's credentials from a driver message. */
export function redact(text: string): string {
  return text
    .replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, '$1***@')
    .replace(/password=\S+/gi, 'password=***');
}

/** Where the store's database is, for messages: set by the backend. */
export interface ErrorContext {
  backend: 'postgres' | 'pglite';
  /** `host:port/database` or the data directory. */
  target: string;
  /** What the store was doing (`resolveConversation`, `migrate`, …). */
  operation: string;
}

/**
 * Turns any driver error into a `StoreError` with a message that says what to do. `StoreError`s pass
 * through unchanged. This is the one place where driver errors are interpreted.
 */
export function toStoreError(
  error: unknown,
  context: ErrorContext,
  fallback: StoreErrorCode = 'unavailable',
): StoreError {
  if (StoreError.isInstance(error)) return error;
  const code = errorCode(error);
  const detail = redact(error instanceof Error ? error.message : String(error));
  if (context.backend === 'postgres') {
    if (
      (code !== undefined && (UNAVAILABLE_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code))) ||
      code?.startsWith('08')
    ) {
      return new StoreError({
        code: 'unavailable',
        message: `PostgreSQL is not reachable at ${context.target} (${detail}): check DATABASE_URL and that the server runs`,
        cause: error,
      });
    }
    if (code === '28P01' || code === '28000') {
      return new StoreError({
        code: 'unavailable',
        message: `PostgreSQL at ${context.target} refused the login (${detail}): check the user and password in DATABASE_URL`,
        cause: error,
      });
    }
    if (code === '3D000') {
      return new StoreError({
        code: 'unavailable',
        message: `PostgreSQL at ${context.target} has no such database (${detail}): create it or fix DATABASE_URL`,
        cause: error,
      });
    }
  } else if (/closed|not ready|aborted/i.test(detail)) {
    return new StoreError({
      code: 'unavailable',
      message: `The embedded database (PGlite) at ${context.target} is closed or failed to open (${detail}): check the data directory and that no other HAIA process uses it`,
      cause: error,
    });
  }
  // SQLSTATE class 22, data exception: the value itself is refused (a NUL character in a text
  // field, a malformed number), so retrying cannot help and the database is fine.
  if (code?.startsWith('22')) {
    return new StoreError({
      code: 'invalid',
      message: `${context.operation} was refused: the database cannot hold a value it was given (${detail}). A NUL character (\\u0000) in an id or name is the usual cause: remove it`,
      cause: error,
    });
  }
  if (code === '23505' || code === '40001' || code === '40P01' || code === '23503') {
    return new StoreError({
      code: 'conflict',
      message: `${context.operation} conflicted with another write (${detail}): retry it`,
      cause: error,
    });
  }
  return new StoreError({
    code: fallback,
    message: `${context.operation} failed on ${context.backend === 'postgres' ? 'PostgreSQL' : 'PGlite'} at ${context.target}: ${detail}`,
    cause: error,
  });
}
