/** What went wrong talking to Proxmox VE, in categories a caller can act on. */
export type ProxmoxErrorCode =
  | 'auth'
  | 'permission'
  | 'not-found'
  | 'node-offline'
  | 'timeout'
  | 'network'
  | 'tls'
  | 'bad-response';

/** Fields of a {@link ProxmoxError}. */
export interface ProxmoxErrorOptions {
  code: ProxmoxErrorCode;
  message: string;
  /** HTTP status, when Proxmox answered (595/596 are pveproxy's pseudo-statuses for an unreachable node). */
  status?: number;
  /** The reason phrase of the status line: where Proxmox puts its error text. */
  reason?: string;
  /** The API path asked for, below `/api2/json` and without the query string. */
  path?: string;
  /** Per-parameter messages of a 400 `Parameter verification failed.`. */
  errors?: Record<string, string>;
  cause?: unknown;
}

const MARKER = Symbol.for('haia.proxmox.error');

/**
 * The one error `@haia/proxmox` throws. `message` says what happened and what to do about it; it never
 * contains the API token secret.
 */
export class ProxmoxError extends Error {
  override readonly name = 'ProxmoxError';
  readonly code: ProxmoxErrorCode;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly path: string | undefined;
  readonly errors: Record<string, string> | undefined;
  readonly [MARKER] = true;

  constructor(options: ProxmoxErrorOptions) {
    super(options.message, { cause: options.cause });
    this.code = options.code;
    this.status = options.status;
    this.reason = options.reason;
    this.path = options.path;
    this.errors = options.errors;
  }

  /** True for a `ProxmoxError`, also one from another copy of this package. */
  static isInstance(error: unknown): error is ProxmoxError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}
