/** What went wrong, in categories a caller can act on. */
export type McpErrorCode =
  /** The config file does not exist (and was asked for explicitly). */
  | 'config-not-found'
  /** The config file could not be read (permissions, a folder, …). */
  | 'config-unreadable'
  /** The config file is not valid JSON. */
  | 'config-invalid-json'
  /** The config file is JSON but breaks the `mcpServers` format; `problems` lists each issue. */
  | 'config-invalid'
  /** A server could not be started or connected. */
  | 'connect-failed'
  /** A server did not finish the MCP handshake within the connect timeout. */
  | 'connect-timeout'
  /** The toolsets were closed. */
  | 'closed';

/** One problem in a config file, with the JSON path it was found at. */
export interface McpConfigProblem {
  /** JSON path such as `mcpServers.filesystem.args[1]`. */
  path: string;
  message: string;
}

/** Fields of an {@link McpError}. */
export interface McpErrorOptions {
  code: McpErrorCode;
  message: string;
  /** The MCP server the error is about, when there is one. */
  server?: string;
  /** Each problem of an invalid config, for `config-invalid` and `config-invalid-json`. */
  problems?: readonly McpConfigProblem[];
  cause?: unknown;
}

const MARKER = Symbol.for('haia.mcp.error');

/**
 * The one error `@haia/mcp` throws. `message` says what happened and what to do; it never contains a
 * header value, an environment value or any other secret from the config.
 */
export class McpError extends Error {
  override readonly name = 'McpError';
  readonly code: McpErrorCode;
  readonly server: string | undefined;
  readonly problems: readonly McpConfigProblem[];
  readonly [MARKER] = true;

  constructor(options: McpErrorOptions) {
    super(options.message, { cause: options.cause });
    this.code = options.code;
    this.server = options.server;
    this.problems = options.problems ?? [];
  }

  /** True for an `McpError`, also one from another copy of this package. */
  static isInstance(error: unknown): error is McpError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}
