import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger, McpServerStatus, McpToolsets } from '../src/index.js';

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** Entry scripts of the real servers, run with `node` (never npx). */
export const EVERYTHING_BIN = here('../node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const FILESYSTEM_BIN = here('../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const FIXTURE_SERVER = here('./fixtures/fixture-server.mjs');
export const SILENT_SERVER = here('./fixtures/silent-server.mjs');
/** A server whose tools/list hands out cursors without end. */
export const ENDLESS_PAGES_SERVER = here('./fixtures/endless-pages-server.mjs');
/** A server with resources only: no tools capability. */
export const RESOURCES_ONLY_SERVER = here('./fixtures/resources-only-server.mjs');
export const NODE = process.execPath;

/** The parent environment tests hand to `createMcpToolsets`, with a secret that must not reach children. */
export const PARENT_ENV = { ...process.env, OPENAI_API_KEY: 'sk-parent-secret-must-not-leak' };

/** One recorded log line. */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string | undefined;
  fields: Record<string, unknown>;
}

/** A pino-shaped logger that keeps every line in memory (and hands each to `onEntry`, when given). */
export function memoryLogger(onEntry?: (entry: LogEntry) => void): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: LogEntry['level']) => (object: object, message?: string) => {
      const entry: LogEntry = { level, message, fields: { ...bindings, ...object } };
      entries.push(entry);
      onEntry?.(entry);
    };
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), { entries });
}

/** Resolves when `predicate` holds for the status of server `name` (checked now and on every change). */
export function waitForServer(
  mcp: McpToolsets,
  name: string,
  predicate: (status: McpServerStatus) => boolean,
): Promise<McpServerStatus> {
  return new Promise((resolve) => {
    const check = (all: McpServerStatus[]) => {
      const status = all.find((item) => item.name === name);
      if (status && predicate(status)) {
        unsubscribe();
        resolve(status);
        return true;
      }
      return false;
    };
    const unsubscribe = mcp.subscribe(check);
    check(mcp.status());
  });
}

/** True while a process with this id exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** server-everything over streamable HTTP (`streamableHttp`) or legacy SSE (`sse`) on `port`. */
export interface HttpServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startEverythingHttp(
  port: number,
  mode: 'streamableHttp' | 'sse' = 'streamableHttp',
): Promise<HttpServer> {
  const child = spawn(NODE, [EVERYTHING_BIN, mode], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      output += chunk;
      if (/listening on port|running on port/i.test(output)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server-everything ${mode} exited (${code}): ${output}`)));
  });
  child.stderr?.resume();
  return {
    url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** An HTTP front door on 127.0.0.1 that checks the bearer token before passing requests on. */
export interface AuthGate {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  stop(): Promise<void>;
}

/**
 * A reverse proxy in front of `upstream` (an MCP server's origin) that wants `Authorization: Bearer
 * <token>`, as the one in front of a real remote server does: no or another token gets 401 with
 * `WWW-Authenticate`, `forbiddenToken` gets 403 (both echo the token they got, as careless servers do),
 * `token` is passed through.
 */
export async function startAuthGate(
  upstream: string,
  tokens: { token: string; forbiddenToken: string },
): Promise<AuthGate> {
  const target = new URL(upstream);
  const server = createHttpServer((request, response) => {
    const authorization = request.headers.authorization;
    if (authorization !== `Bearer ${tokens.token}`) {
      const status = authorization === `Bearer ${tokens.forbiddenToken}` ? 403 : 401;
      response.writeHead(status, {
        'content-type': 'application/json',
        ...(status === 401 ? { 'www-authenticate': 'Bearer realm="mcp", error="invalid_token"' } : {}),
      });
      // Careless servers echo what they were sent; the client must mask it.
      const presented = authorization?.replace(/^Bearer /, '');
      response.end(
        JSON.stringify({ error: status === 401 ? 'invalid_token' : 'insufficient_scope', presented }),
      );
      return;
    }
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: request.url,
        method: request.method,
        headers: { ...request.headers, host: target.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A tool context for calling `execute` directly, as the agent would. */
export function toolContext(signal: AbortSignal = new AbortController().signal, logger?: Logger) {
  return {
    deps: undefined,
    signal,
    logger: logger ?? memoryLogger(),
    toolCallId: 'call_1',
  };
}
