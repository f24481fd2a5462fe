import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MonitorMetrics } from './metrics.js';

/** `/health` and `/metrics` of the monitor. */
export interface MonitorHttpServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `/health` (with whether this instance is the leader) and `/metrics` (Prometheus). */
export async function startMonitorHttpServer(options: {
  host: string;
  port: number;
  metrics: MonitorMetrics;
  isLeader: () => boolean;
}): Promise<MonitorHttpServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/health') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'ok', leader: options.isLeader() }));
      return;
    }
    if (request.method === 'GET' && path === '/metrics') {
      options.metrics.registry
        .metrics()
        .then((text) => {
          response.writeHead(200, { 'content-type': options.metrics.registry.contentType });
          response.end(text);
        })
        .catch((error: Error) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(error.message);
        });
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'not found: try /health or /metrics' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
