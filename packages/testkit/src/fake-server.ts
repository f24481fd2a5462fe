import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Reply, ReplyContext } from './replies.js';
import { testCertificates } from './tls.js';

/** A request the fake received, with its whole body. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Parsed query string. */
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = unknown>(): T;
  /** When the request arrived (ms since epoch). */
  receivedAt: number;
}

/** Decides the reply to a request; return `undefined` to fall through to the next route. */
export type Handler = (request: RecordedRequest) => Reply | undefined | Promise<Reply | undefined>;

/** A route: a method (or `*`) and a path (exact string or RegExp). */
export interface Route {
  method: string;
  path: string | RegExp;
  handler: Handler;
}

/** Options of {@link startFakeServer}. */
export interface FakeServerOptions {
  /** Serve https with the testkit's self-signed certificate (or the given one). */
  tls?: boolean | { cert: string; key: string };
  /** Routes answered in order; the first whose handler returns a reply wins. */
  routes?: Route[];
}

/** A running fake service on 127.0.0.1. */
export interface FakeServer extends AsyncDisposable {
  /** `http(s)://127.0.0.1:port`. */
  url: string;
  port: number;
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Adds a route whose handler picks the reply per request (checked after earlier routes). */
  route(method: string, path: string | RegExp, handler: Handler): void;
  /** Adds a route that always answers with `reply`. */
  respond(method: string, path: string | RegExp, reply: Reply): void;
  /**
   * Scripts the next replies: each matching request takes the oldest queued reply before any route.
   * `match` narrows which requests take it (default: any).
   */
  enqueue(reply: Reply, match?: { method?: string; path?: string | RegExp }): void;
  /** TCP connections currently open, idle keep-alive ones included. */
  openConnections(): number;
  /**
   * Requests whose connection is still open and whose reply has not finished: 0 after a client
   * aborted means the client really closed its socket.
   */
  activeRequests(): number;
  /** Forgets recorded requests and queued replies. */
  reset(): void;
  /** Closes every connection at once and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

const notFound: Reply = (response) => {
  response.writeHead(404, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: { message: 'no route in the fake server' } }));
};

function matches(path: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? path === pattern : pattern.test(path);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Starts an HTTP (or https) server on 127.0.0.1 on a free port that records every request and
 * answers with scripted replies or routes.
 *
 * @example
 * const server = await startFakeServer();
 * server.route('GET', '/health', json({ ok: true }));
 * await fetch(`${server.url}/health`);
 * await server.close();
 */
export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const routes: Route[] = [...(options.routes ?? [])];
  const queue: Array<{ reply: Reply; method?: string; path?: string | RegExp }> = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  let active = 0;

  const listener = async (incoming: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(incoming);
    const url = new URL(incoming.url ?? '/', 'http://127.0.0.1');
    const recorded: RecordedRequest = {
      method: incoming.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: incoming.headers,
      body,
      json: <T>() => JSON.parse(body) as T,
      receivedAt: Date.now(),
    };
    requests.push(recorded);
    const gone = new AbortController();
    active++;
    response.on('close', () => {
      active--;
      gone.abort();
    });
    const signal = AbortSignal.any([gone.signal, closing.signal]);
    const context: ReplyContext = { signal, delay: (ms) => delay(ms, signal) };
    try {
      const reply = await pickReply(recorded);
      await reply(response, context);
    } catch (error) {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ error: { message: `fake server failed: ${(error as Error).message}` } }),
        );
      } else {
        response.destroy();
      }
    }
  };

  async function pickReply(request: RecordedRequest): Promise<Reply> {
    const queued = queue.findIndex(
      (item) =>
        (!item.method || item.method === request.method) && (!item.path || matches(request.path, item.path)),
    );
    if (queued !== -1) return (queue.splice(queued, 1)[0] as { reply: Reply }).reply;
    for (const route of routes) {
      if (route.method !== '*' && route.method !== request.method) continue;
      if (!matches(request.path, route.path)) continue;
      const reply = await route.handler(request);
      if (reply) return reply;
    }
    return notFound;
  }

  const tls = options.tls === true ? testCertificates() : options.tls || undefined;
  const server: Server = tls
    ? createHttpsServer(
        { cert: tls.cert, key: tls.key },
        (request, response) => void listener(request, response),
      )
    : createHttpServer((request, response) => void listener(request, response));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;

  const fake: FakeServer = {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    route(method, path, handler) {
      routes.push({ method, path, handler });
    },
    respond(method, path, reply) {
      routes.push({ method, path, handler: () => reply });
    },
    enqueue(reply, match = {}) {
      queue.push({ reply, ...match });
    },
    openConnections: () => sockets.size,
    activeRequests: () => active,
    reset() {
      requests.length = 0;
      queue.length = 0;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        const socketsClosed = [...sockets].map(
          (socket) =>
            new Promise<void>((done) => (socket.destroyed ? done() : socket.once('close', () => done()))),
        );
        for (const socket of sockets) socket.destroy();
        server.close(() => void Promise.all(socketsClosed).then(() => resolve()));
      });
      return closed;
    },
    [Symbol.asyncDispose]() {
      return fake.close();
    },
  };
  return fake;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
