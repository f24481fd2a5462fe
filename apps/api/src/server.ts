import { node } from '@elysiajs/node';
import type { HaiaConfig } from '@haia/config';
import { Elysia } from 'elysia';
import type { Logger } from 'pino';

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  config: HaiaConfig;
  logger: Logger;
}

/** HAIA's HTTP server: the Elysia app plus start and stop. */
export interface ApiServer {
  /** The Elysia app; `app.handle(new Request(...))` answers in-process without a port. */
  app: { handle(request: Request): Promise<Response> };
  /** Starts listening on `HOST:PORT`; resolves with the URL (the real port when `PORT` was 0). */
  listen(): Promise<string>;
  /** Stops accepting connections and closes open ones. */
  stop(): Promise<void>;
}

/** The srvx server that @elysiajs/node hands to the listen callback. */
interface NodeServerHandle {
  raw: { ready(): Promise<unknown>; close(closeAll?: boolean): Promise<void>; url?: string };
}

/** Builds HAIA's HTTP server (routes, error envelope) without listening. */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const { config } = options;
  const app = new Elysia({ adapter: node() }).get('/health', () => ({ status: 'ok' }));
  let handle: NodeServerHandle | undefined;
  return {
    app,
    async listen() {
      const listening = new Promise<NodeServerHandle>((resolve) => {
        // reusePort off: a second HAIA on the same port must fail, not share it silently.
        // gracefulShutdown off: HAIA handles SIGINT/SIGTERM itself.
        const listenOptions = {
          hostname: config.app.host,
          port: config.app.port,
          reusePort: false,
          gracefulShutdown: false,
        };
        app.listen(listenOptions as { hostname: string; port: number }, (server) =>
          resolve(server as unknown as NodeServerHandle),
        );
      });
      handle = await listening;
      await handle.raw.ready();
      return (handle.raw.url ?? `http://${config.app.host}:${config.app.port}`).replace(/\/$/, '');
    },
    async stop() {
      await handle?.raw.close(true);
      handle = undefined;
    },
  };
}
