import { bindLogger, type Tool, type ToolContext, type ToolOutput } from '@haia/agent';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  ErrorCode,
  type Tool as McpTool,
  McpError as ProtocolError,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { argSecretsOf } from './arg-secrets.js';
import type { McpServerConfig } from './config-schema.js';
import { httpAuthFailureText } from './http-failure-text.js';
import type { Logger } from './logger.js';
import { type McpCallResult, mapToolResult } from './map-tool-result.js';
import { McpError } from './mcp-error.js';
import { formatBytes, isMessageTooLarge, MESSAGE_TOO_LARGE_CODE } from './message-too-large.js';
import { isSecretName, secretsToMask } from './secret-values.js';
import type { ToolNameRegistry } from './tool-names.js';

/** Where a server stands, as `/ready` reports it. */
export type McpServerState = 'connecting' | 'ready' | 'down' | 'disabled';

/** One server's state for `/ready`. */
export interface McpServerStatus {
  /** The server's key in `mcp_config.json`. */
  name: string;
  transport: 'stdio' | 'http' | 'sse';
  state: McpServerState;
  /** Tools offered to the model now (after `allowTools`/`denyTools`); 0 unless `ready`. */
  toolCount: number;
  /** The last connection or protocol error, secrets masked. */
  lastError?: string;
  /** The child's process id (stdio, while running). */
  pid?: number;
  /** Failed connection attempts since the last success. */
  reconnectAttempts: number;
}

/** Backoff between reconnect attempts: `initialDelayMs * factor^attempt`, at most `maxDelayMs`. */
export interface ReconnectOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
}

/** Everything one connection needs; built by `createMcpToolsets`. */
export interface ServerConnectionOptions {
  name: string;
  config: McpServerConfig;
  registry: ToolNameRegistry;
  logger: Logger;
  clientInfo: { name: string; version: string };
  connectTimeoutMs: number;
  defaultTimeoutMs: number;
  reconnect: Required<ReconnectOptions> | false;
  pingIntervalMs: number;
  shutdownGraceMs: number;
  inheritedEnv: Readonly<Record<string, string | undefined>>;
  fetch?: FetchLike | undefined;
  now: () => number;
  onChange: () => void;
}

type McpArguments = Record<string, unknown>;

/** The environment variables a stdio child inherits from the app, besides its own `env`. */
export const INHERITED_ENV_VARIABLES = ['PATH', 'HOME'] as const;

/** How much of a server's own error text follows the explanation of an HTTP 401 or 403. */
const MAX_DETAIL_LENGTH = 300;

/** A connection that stayed up this long resets the reconnect backoff when it drops. */
const STABLE_CONNECTION_MS = 30_000;

function toPattern(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** One MCP server: its client, its tools, its reconnects. Internal to `createMcpToolsets`. */
export class ServerConnection {
  readonly name: string;
  readonly #options: ServerConnectionOptions;
  readonly #logger: Logger;
  readonly #allow: RegExp[] | undefined;
  readonly #deny: RegExp[];
  readonly #secrets: string[];
  #state: McpServerState = 'connecting';
  #lastError: string | undefined;
  #tools: Tool<unknown, McpArguments>[] = [];
  /** The server's tools this connection offers (after the filters), as last listed. */
  #offered: McpTool[] = [];
  #client: Client | undefined;
  #transport: Transport | undefined;
  #generation = 0;
  #attempts = 0;
  /** Backoff exponent: like `#attempts`, but only reset once a connection stayed up a while. */
  #backoffLevel = 0;
  #readySince = 0;
  /** Shutdowns of dropped clients still in progress; `close()` waits for them (no orphans). */
  readonly #pendingCloses = new Set<Promise<void>>();
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #closing = false;
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;

  constructor(options: ServerConnectionOptions) {
    this.name = options.name;
    this.#options = options;
    this.#logger = options.logger.child({ server: options.name });
    this.#allow = options.config.allowTools?.map(toPattern);
    this.#deny = (options.config.denyTools ?? []).map(toPattern);
    const config = options.config;
    const values: string[] = [];
    // Values whose place says they are secrets: masked from a shorter length (a short password too).
    const named: string[] = [];
    if (config.type === 'stdio') {
      for (const [key, value] of Object.entries(config.env)) (isSecretName(key) ? named : values).push(value);
      values.push(...argSecretsOf(config));
    } else {
      // A server that echoes a refused token echoes it without its scheme: mask "abc" of "Bearer abc" too.
      for (const value of Object.values(config.headers))
        named.push(value, value.replace(/^[A-Za-z-]+ +/, ''));
      const url = new URL(config.url);
      if (url.password) named.push(url.password);
      for (const value of url.searchParams.values()) values.push(value);
    }
    this.#secrets = secretsToMask(values, named);
    if (config.disabled) this.#state = 'disabled';
  }

  /** Masks every header, environment and `${VAR}`-in-args value of this entry that can be a secret in `text`. */
  redact = (text: string): string => {
    let result = text;
    for (const secret of this.#secrets) result = result.split(secret).join('***');
    return result;
  };

  get state(): McpServerState {
    return this.#state;
  }

  /** The tools the model may see now: none unless the server is ready. */
  get tools(): readonly Tool<unknown, McpArguments>[] {
    return this.#state === 'ready' ? this.#tools : [];
  }

  status(): McpServerStatus {
    const pid = (this.#transport as { pid?: number | undefined } | undefined)?.pid;
    return {
      name: this.name,
      transport: this.#options.config.type,
      state: this.#state,
      toolCount: this.tools.length,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
      ...(pid === undefined || this.#state === 'down' ? {} : { pid }),
      reconnectAttempts: this.#attempts,
    };
  }

  /** Connects once; on failure the server is `down` and reconnects with backoff. Never throws. */
  async start(): Promise<void> {
    if (this.#options.config.disabled) {
      this.#logger.info({ state: 'disabled' }, 'mcp server disabled');
      return;
    }
    await this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closing) return;
    const generation = ++this.#generation;
    this.#setState('connecting');
    const started = this.#options.now();
    let transport: Transport | undefined;
    let client: Client | undefined;
    try {
      transport = await this.#createTransport();
      if (generation !== this.#generation || this.#closing) return;
      client = new Client(this.#options.clientInfo, { capabilities: {} });
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        if (generation !== this.#generation) return;
        this.#logger.info({}, 'mcp tools list changed');
        await this.refreshTools().catch((error) =>
          this.#logger.warn({ error: this.redact(errorText(error)) }, 'mcp tools refresh failed'),
        );
      });
      client.onerror = (error) => {
        if (generation === this.#generation)
          this.#logger.debug({ error: this.redact(errorText(error)) }, 'mcp transport error');
      };
      client.onclose = () => {
        if (generation !== this.#generation || this.#closing) return;
        // The stdio transport says why when it closed the connection itself.
        const reason = (transport as { closeReason?: string | undefined } | undefined)?.closeReason;
        this.#lost(new Error(reason ?? 'the connection closed (the server exited or hung up)'));
      };
      this.#client = client;
      this.#transport = transport;
      const timeoutMs = this.#options.connectTimeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new McpError({
                code: 'connect-timeout',
                server: this.name,
                message: `MCP server "${this.name}" did not finish connecting within ${timeoutMs} ms`,
              }),
            ),
          timeoutMs,
        );
      });
      try {
        await Promise.race([client.connect(transport, { timeout: timeoutMs }), timeout]);
      } finally {
        clearTimeout(timer);
      }
      await this.#refreshNow(client);
      if (generation !== this.#generation || this.#closing) return;
      this.#attempts = 0;
      this.#readySince = this.#options.now();
      this.#lastError = undefined;
      this.#setState('ready');
      this.#startPing(client, generation);
      const serverVersion = client.getServerVersion();
      this.#logger.info(
        {
          durationMs: this.#options.now() - started,
          tools: this.#tools.length,
          serverName: serverVersion?.name,
          serverVersion: serverVersion?.version,
        },
        'mcp server connected',
      );
    } catch (error) {
      if (generation !== this.#generation || this.#closing) {
        await client?.close().catch(() => {});
        return;
      }
      const failure = McpError.isInstance(error)
        ? error
        : new McpError({
            code: 'connect-failed',
            server: this.name,
            message: `MCP server "${this.name}" could not be connected: ${this.#failureText(error)}`,
            cause: error,
          });
      this.#lastError = this.redact(failure.message);
      this.#client = undefined;
      this.#setState('down');
      this.#logger.warn({ error: this.#lastError, attempt: this.#attempts + 1 }, 'mcp server connect failed');
      this.#closeInBackground(client ?? transport);
      this.#scheduleReconnect();
    }
  }

  async #createTransport(): Promise<Transport> {
    const config = this.#options.config;
    if (config.type === 'stdio') {
      // Loaded on first use, so that the package's root entry never imports node:child_process.
      const { StdioTransport } = await import('./stdio-transport.js');
      const env: Record<string, string> = {};
      for (const key of INHERITED_ENV_VARIABLES) {
        const value = this.#options.inheritedEnv[key];
        if (value !== undefined) env[key] = value;
      }
      Object.assign(env, config.env);
      return new StdioTransport({
        command: config.command,
        args: config.args,
        env,
        cwd: config.cwd,
        logger: this.#logger,
        shutdownGraceMs: this.#options.shutdownGraceMs,
        redact: this.redact,
      });
    }
    const url = new URL(config.url);
    const requestInit: RequestInit = { headers: config.headers };
    const fetchOption = this.#options.fetch ? { fetch: this.#options.fetch } : {};
    if (config.type === 'sse') return new SSEClientTransport(url, { requestInit, ...fetchOption });
    return new StreamableHTTPClientTransport(url, { requestInit, ...fetchOption });
  }

  /** Re-reads the server's tool list (coalescing overlapping calls). */
  async refreshTools(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      try {
        do {
          this.#refreshAgain = false;
          await this.#refreshNow(client);
        } while (this.#refreshAgain);
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async #refreshNow(client: Client): Promise<void> {
    const listed: McpTool[] = [];
    let cursor: string | undefined;
    // A server with only resources or prompts has no tools to list (tools/list is "method not found").
    if (client.getServerCapabilities()?.tools) {
      // One limit for the whole listing, every page included: a server that hands out cursors without
      // end (or stalls between pages) cannot hold up the connect or a list_changed refresh for ever.
      const timeoutMs = this.#options.connectTimeoutMs;
      const deadline = performance.now() + timeoutMs;
      let pages = 0;
      const tooSlow = (cause?: unknown) =>
        new McpError({
          code: 'connect-timeout',
          server: this.name,
          message: `MCP server "${this.name}" did not finish listing its tools within ${timeoutMs} ms (${pages} pages, ${listed.length} tools so far); check that the server ends its tools/list pages, or raise connectTimeoutMs`,
          cause,
        });
      do {
        const remaining = Math.ceil(deadline - performance.now());
        if (remaining <= 0) throw tooSlow();
        let page: Awaited<ReturnType<Client['listTools']>>;
        try {
          page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: remaining });
        } catch (error) {
          if (error instanceof ProtocolError && error.code === ErrorCode.RequestTimeout) throw tooSlow(error);
          throw error;
        }
        pages += 1;
        listed.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
    }
    if (client !== this.#client) return;
    const offered = listed.filter(
      (tool) =>
        (!this.#allow || this.#allow.some((pattern) => pattern.test(tool.name))) &&
        !this.#deny.some((pattern) => pattern.test(tool.name)) &&
        // Tools that only run as MCP tasks (experimental) cannot be called with tools/call.
        tool.execution?.taskSupport !== 'required',
    );
    this.#options.registry.release(this.name, new Set(offered.map((tool) => tool.name)));
    this.#offered = offered;
    this.#tools = offered.map((tool) => this.#toAgentTool(tool));
    this.#logger.debug(
      { tools: this.#tools.map((tool) => tool.name), hidden: listed.length - offered.length },
      'mcp tools listed',
    );
    this.#options.onChange();
  }

  /** Rebuilds the tools with their current public names, after a server earlier in the config took one. */
  renameTools(): void {
    this.#tools = this.#offered.map((tool) => this.#toAgentTool(tool));
    this.#options.onChange();
  }

  #toAgentTool(tool: McpTool): Tool<unknown, McpArguments> {
    const publicName = this.#options.registry.assign(this.name, tool.name);
    const hints = tool.annotations ?? {};
    const annotations: Tool['annotations'] = {};
    const title = tool.title ?? hints.title;
    if (title !== undefined) annotations.title = title;
    if (hints.readOnlyHint !== undefined) annotations.readOnly = hints.readOnlyHint;
    if (hints.destructiveHint !== undefined) annotations.destructive = hints.destructiveHint;
    const autoApprove = this.#options.config.autoApprove;
    const approved = autoApprove === true || (Array.isArray(autoApprove) && autoApprove.includes(tool.name));
    const needsApproval = !approved && hints.destructiveHint === true && hints.readOnlyHint !== true;
    return {
      name: publicName,
      description: tool.description ?? title ?? `${tool.name} (MCP server ${this.name})`,
      inputSchema: tool.inputSchema as Record<string, unknown>,
      annotations,
      needsApproval,
      parseInput(input) {
        if (input === undefined || input === null) return { success: true, data: {} };
        if (typeof input === 'object' && !Array.isArray(input))
          return { success: true, data: input as McpArguments };
        return { success: false, error: 'expected a JSON object with the tool arguments' };
      },
      execute: (input, context) => this.#call(tool.name, publicName, input, context),
    };
  }

  async #call(
    tool: string,
    publicName: string,
    input: McpArguments,
    context: ToolContext<unknown>,
  ): Promise<ToolOutput> {
    const started = this.#options.now();
    const timeoutMs = this.#options.config.timeoutMs ?? this.#options.defaultTimeoutMs;
    // The run's logger (bound to the request in HAIA), so the line carries its requestId. Bound, not
    // a pino child: `component: 'mcp'` replaces the run's `agent` instead of following it.
    const logger = bindLogger(context.logger, { component: 'mcp', server: this.name });
    const log = (outcome: string, extra: Record<string, unknown> = {}) => {
      const fields = {
        server: this.name,
        tool,
        toolName: publicName,
        toolCallId: context.toolCallId,
        durationMs: this.#options.now() - started,
        outcome,
        ...extra,
      };
      if (outcome === 'ok') logger.info(fields, 'mcp tool call');
      else logger.warn(fields, 'mcp tool call');
    };
    const client = this.#client;
    if (this.#state !== 'ready' || !client) {
      log('not-connected');
      return {
        isError: true,
        content: `The MCP server "${this.name}" is ${this.#state === 'connecting' ? 'still connecting' : 'not connected'}${this.#lastError ? ` (${this.#lastError})` : ''}; the tool ${publicName} cannot run now. Try again later or do without it.`,
      };
    }
    try {
      const result = (await client.callTool({ name: tool, arguments: input }, CallToolResultSchema, {
        signal: context.signal,
        timeout: timeoutMs,
      })) as McpCallResult;
      const output = mapToolResult(result);
      log(result.isError ? 'tool-error' : 'ok');
      return output;
    } catch (error) {
      if (context.signal.aborted) {
        log('aborted');
        throw context.signal.reason ?? error;
      }
      if (error instanceof ProtocolError && error.code === ErrorCode.RequestTimeout) {
        log('timeout');
        return {
          isError: true,
          content: `The tool ${publicName} timed out after ${timeoutMs} ms without an answer from the MCP server "${this.name}".`,
        };
      }
      if (
        error instanceof ProtocolError &&
        error.code === MESSAGE_TOO_LARGE_CODE &&
        isMessageTooLarge(error.data)
      ) {
        const { bytes, limitBytes } = error.data;
        log('too-large', { bytes, limitBytes });
        return {
          isError: true,
          content:
            `The result of ${publicName} was ${formatBytes(bytes)}, over the limit of ${formatBytes(limitBytes)} ` +
            `for one message from the MCP server "${this.name}", so it was dropped (the server stays connected). ` +
            'Call the tool again asking for less: narrower arguments (a filter, a smaller range, a page or a limit), ' +
            'or use a tool that returns a summary.',
        };
      }
      if (error instanceof ProtocolError && error.code !== ErrorCode.ConnectionClosed) {
        const message = this.redact(error.message);
        log('protocol-error', { error: message });
        return {
          isError: true,
          content: `The MCP server "${this.name}" rejected the call to ${tool}: ${message}`,
        };
      }
      const message = this.#failureText(error);
      log('connection-error', { error: message });
      this.#lost(error);
      return {
        isError: true,
        content: `The MCP server "${this.name}" could not be reached (${message}); it is reconnecting. Try again later or do without ${publicName}.`,
      };
    }
  }

  /** A connection failure in words, secrets masked; for a remote's 401 or 403, what to check in the entry. */
  #failureText(error: unknown): string {
    const config = this.#options.config;
    // Masked before it is cut, so that no part of a secret survives the cut.
    const text = this.redact(connectFailureText(error));
    const auth =
      config.type === 'stdio'
        ? undefined
        : httpAuthFailureText(error, Object.keys(config.headers).length > 0);
    if (auth === undefined) return text;
    return `${auth} (${text.length > MAX_DETAIL_LENGTH ? `${text.slice(0, MAX_DETAIL_LENGTH)}…` : text})`;
  }

  #startPing(client: Client, generation: number): void {
    if (this.#options.pingIntervalMs <= 0) return;
    this.#pingTimer = setInterval(() => {
      if (generation !== this.#generation || this.#state !== 'ready') return;
      client.ping({ timeout: Math.min(this.#options.connectTimeoutMs, 10_000) }).catch((error: unknown) => {
        if (generation === this.#generation && !this.#closing) this.#lost(error);
      });
    }, this.#options.pingIntervalMs);
    this.#pingTimer.unref?.();
  }

  /** The connection broke: mark the server down, drop the client, reconnect later. */
  #lost(error: unknown): void {
    if (this.#closing || this.#state !== 'ready') return;
    const client = this.#client;
    this.#generation += 1;
    this.#client = undefined;
    clearInterval(this.#pingTimer);
    this.#lastError = this.#failureText(error);
    this.#setState('down');
    this.#logger.warn({ error: this.#lastError }, 'mcp server connection lost');
    if (this.#options.now() - this.#readySince >= STABLE_CONNECTION_MS) this.#backoffLevel = 0;
    this.#closeInBackground(client);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const reconnect = this.#options.reconnect;
    if (this.#closing || reconnect === false) return;
    const delay = Math.min(
      reconnect.maxDelayMs,
      reconnect.initialDelayMs * reconnect.factor ** this.#backoffLevel,
    );
    this.#attempts += 1;
    this.#backoffLevel += 1;
    this.#logger.info(
      { delayMs: Math.round(delay), attempt: this.#attempts },
      'mcp server reconnect scheduled',
    );
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#connect();
    }, delay);
    this.#reconnectTimer.unref?.();
  }

  /** Shuts a dropped client or transport down without holding up the caller; tracked for `close()`. */
  #closeInBackground(closable: { close(): Promise<void> } | undefined): void {
    if (!closable) return;
    const closing: Promise<void> = closable
      .close()
      .catch(() => {})
      .finally(() => this.#pendingCloses.delete(closing));
    this.#pendingCloses.add(closing);
  }

  #setState(state: McpServerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#options.onChange();
  }

  /** Stops reconnecting and shuts the server down (a stdio child: stdin, SIGTERM, SIGKILL). */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#generation += 1;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#pingTimer);
    const client = this.#client;
    const transport = this.#transport;
    this.#client = undefined;
    if (this.#state !== 'disabled') {
      if (this.#lastError === undefined) this.#lastError = 'closed';
      this.#setState('down');
    }
    if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
      await Promise.race([
        transport.terminateSession().catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
    }
    await (client ? client.close() : transport?.close())?.catch(() => {});
    await Promise.all(this.#pendingCloses);
    this.#logger.info({}, 'mcp server closed');
  }
}

/** Why a connect failed, in words: a write to a child that already exited (EPIPE) means it closed. */
function connectFailureText(error: unknown): string {
  const text = errorText(error);
  if ((error as { code?: unknown } | undefined)?.code === 'EPIPE') {
    return `the server process closed its input, it exited during start-up (${text}); its stderr is in the log`;
  }
  return text;
}
