import { bindLogger, type Toolset } from '@haia/agent';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { McpConfig } from './config-schema.js';
import { type Logger, noopLogger } from './logger.js';
import { McpError } from './mcp-error.js';
import { type McpServerStatus, type ReconnectOptions, ServerConnection } from './server-connection.js';
import { ToolNameRegistry } from './tool-names.js';

/** Options of {@link createMcpToolsets}. */
export interface CreateMcpToolsetsOptions {
  /** pino-compatible; each line carries `server`. Silent without one. */
  logger?: Logger;
  /** Sent to every server in `initialize`. Default `{ name: 'haia', version: '0.1.0' }`. */
  clientInfo?: { name: string; version: string };
  /** Time for a server to start and finish the MCP handshake (and list its tools). Default 30000. */
  connectTimeoutMs?: number;
  /** Time limit of a tool call when the entry has no `timeoutMs`. Default 60000. */
  defaultTimeoutMs?: number;
  /**
   * The app's environment: stdio children get its `PATH` and `HOME` and nothing else from it (pass
   * `process.env`; without it a child gets only its entry's `env`, and `command` is looked up in
   * the system's default path).
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Backoff after a failed connect or a lost connection; `false` never reconnects. Default 1 s, ×2, at most 60 s. */
  reconnect?: ReconnectOptions | false;
  /** How often a ready server is pinged to notice a dropped remote; 0 turns it off. Default 30000. */
  pingIntervalMs?: number;
  /** Shutdown of a stdio child: wait this long after closing stdin, and again after SIGTERM. Default 2000. */
  shutdownGraceMs?: number;
  /** fetch for the HTTP and SSE transports. Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Clock for call durations. Default `Date.now`. */
  now?: () => number;
}

/** The connected servers, one toolset each; from {@link createMcpToolsets}. */
export interface McpToolsets {
  /** One toolset per enabled server, named by its key; its tools are empty while the server is not ready. */
  readonly toolsets: readonly Toolset<unknown>[];
  /** Each configured server's state (disabled ones too), in config order, for `/ready`. */
  status(): McpServerStatus[];
  /** Calls `listener` with the new status whenever a server's state or tool list changes. */
  subscribe(listener: (status: McpServerStatus[]) => void): () => void;
  /** Stops reconnecting and shuts every server down, stdio children included. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Connects every enabled server of `config` in parallel and resolves once each one is ready or down
 * (bounded by `connectTimeoutMs`). A server that fails is logged, reported `down` in `status()` and
 * retried with backoff; it never stops the others, and this function never rejects because of it.
 *
 * @example
 * const mcp = await createMcpToolsets(await loadMcpConfig('./mcp_config.json', { env: process.env, optional: true }), {
 *   logger,
 *   env: process.env,
 * });
 * const agent = createAgent({ model, toolsets: [...mcp.toolsets] });
 * // on shutdown:
 * await mcp.close();
 */
export async function createMcpToolsets(
  config: McpConfig,
  options: CreateMcpToolsetsOptions = {},
): Promise<McpToolsets> {
  const logger = bindLogger(options.logger ?? noopLogger, { component: 'mcp' });
  const connections: ServerConnection[] = [];
  const registry = new ToolNameRegistry({
    // The entry earlier in the file keeps a contested name, whichever server connected first.
    serverOrder: Object.keys(config.mcpServers),
    onCollision: ({ name, kept, renamed }) =>
      logger.warn(
        {
          server: renamed.server,
          tool: renamed.tool,
          toolName: renamed.name,
          wantedName: name,
          keptByServer: kept.server,
          keptByTool: kept.tool,
        },
        'mcp tool name collision',
      ),
    onRenamed: (server) => connections.find((connection) => connection.name === server)?.renameTools(),
  });
  const listeners = new Set<(status: McpServerStatus[]) => void>();
  let closed = false;
  const reconnect =
    options.reconnect === false
      ? false
      : {
          initialDelayMs: options.reconnect?.initialDelayMs ?? 1000,
          maxDelayMs: options.reconnect?.maxDelayMs ?? 60_000,
          factor: options.reconnect?.factor ?? 2,
        };
  const status = () => connections.map((connection) => connection.status());
  const notify = () => {
    if (listeners.size === 0) return;
    const current = status();
    for (const listener of listeners) listener(current);
  };
  for (const [name, server] of Object.entries(config.mcpServers)) {
    connections.push(
      new ServerConnection({
        name,
        config: server,
        registry,
        logger,
        clientInfo: options.clientInfo ?? { name: 'haia', version: '0.1.0' },
        connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
        defaultTimeoutMs: options.defaultTimeoutMs ?? 60_000,
        reconnect,
        pingIntervalMs: options.pingIntervalMs ?? 30_000,
        shutdownGraceMs: options.shutdownGraceMs ?? 2000,
        inheritedEnv: options.env ?? {},
        fetch: options.fetch,
        now: options.now ?? Date.now,
        onChange: notify,
      }),
    );
  }
  await Promise.all(connections.map((connection) => connection.start()));
  const toolsets = connections
    .filter((connection) => connection.state !== 'disabled')
    .map((connection): Toolset<unknown> => ({ name: connection.name, listTools: () => connection.tools }));
  const ready = connections.filter((connection) => connection.state === 'ready').length;
  logger.info({ servers: connections.length, ready }, 'mcp servers started');
  return {
    toolsets,
    status,
    subscribe(listener) {
      if (closed) throw new McpError({ code: 'closed', message: 'The MCP toolsets are closed' });
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(connections.map((connection) => connection.close()));
      listeners.clear();
    },
  };
}
