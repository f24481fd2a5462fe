import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { ConfigError, isLoopbackHost, loadConfig } from '@haia/config';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { checkProxmox } from '../check-proxmox.js';
import { createProxmoxClient } from '../proxmox-client.js';
import { createProxmoxMcpServer } from './proxmox-mcp-server.js';
import { createStderrLogger } from './stderr-logger.js';

const USAGE = `Usage: haia-proxmox-mcp [--http PORT] [--host HOST]

Serves HAIA's read-only Proxmox VE tools over MCP: stdio by default, streamable HTTP at
http://HOST:PORT/mcp with --http (HOST defaults to 127.0.0.1).

Environment (or .env in the working directory):
  PROXMOX_URL           https://pve.example:8006
  PROXMOX_TOKEN_ID      user@realm!tokenname (a token with the PVEAuditor role)
  PROXMOX_TOKEN_SECRET  the token's secret
  PROXMOX_VERIFY_TLS    true (default) or false to skip the certificate check
  PROXMOX_CA_FILE       the cluster CA (/etc/pve/pve-root-ca.pem) for a self-signed cluster
`;

function fail(message: string): never {
  process.stderr.write(`haia-proxmox-mcp: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let args: { http?: string; host?: string; help?: boolean };
  try {
    args = parseArgs({
      options: { http: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ env: process.env, cwd: process.cwd(), isTTY: false });
  } catch (error) {
    if (ConfigError.isInstance(error)) fail(error.message);
    throw error;
  }
  const proxmox = config.proxmox;
  if (!proxmox) {
    fail(
      'PROXMOX_URL is not set. Set PROXMOX_URL=https://your-pve:8006, PROXMOX_TOKEN_ID=user@realm!tokenname and PROXMOX_TOKEN_SECRET (an API token with the PVEAuditor role).',
    );
  }
  let ca: string | undefined;
  if (proxmox.caFile) {
    try {
      ca = readFileSync(proxmox.caFile, 'utf8');
    } catch (error) {
      fail(`PROXMOX_CA_FILE=${proxmox.caFile} cannot be read: ${(error as Error).message}`);
    }
  }
  const logger = createStderrLogger(config.app.logLevel).child({ name: 'haia-proxmox-mcp' });
  const client = createProxmoxClient({
    url: proxmox.url,
    tokenId: proxmox.tokenId,
    tokenSecret: proxmox.tokenSecret,
    verifyTls: proxmox.verifyTls,
    ...(ca ? { ca } : {}),
    logger,
  });
  void checkProxmox(client).then((health) => {
    if (health.reachable) logger.info({ url: health.url, version: health.version }, 'Proxmox reachable');
    else logger.warn({ url: health.url, code: health.error?.code }, health.error?.message);
  });

  const closers: Array<() => Promise<void>> = [() => client.close()];
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    void Promise.allSettled(closers.map((close) => close())).then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  if (args.http === undefined) {
    const server = createProxmoxMcpServer(client, { logger });
    closers.unshift(() => server.close());
    process.stdin.on('end', shutdown);
    await server.connect(new StdioServerTransport());
    return;
  }

  const port = Number(args.http);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    fail(`--http needs a port number, got ${args.http}`);
  const host = args.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  if (!loopback) {
    logger.warn(
      { host },
      'the MCP server has no authentication: anyone who can reach this address can read the cluster state',
    );
  }
  let allowedHosts: string[] = [];
  const http = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/mcp') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the MCP endpoint is /mcp\n');
      return;
    }
    if (request.method !== 'POST') {
      response.writeHead(405, { 'content-type': 'application/json', allow: 'POST' }).end(
        JSON.stringify({
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Method not allowed (stateless server: POST only)' },
          id: null,
        }),
      );
      return;
    }
    const server = createProxmoxMcpServer(client, { logger });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      ...(loopback ? { enableDnsRebindingProtection: true, allowedHosts } : {}),
    });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    void server
      .connect(transport)
      .then(() => transport.handleRequest(request, response))
      .catch((error: unknown) => {
        logger.error({ error: (error as Error).message }, 'MCP request failed');
        if (!response.headersSent) response.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  const bound = (http.address() as AddressInfo).port;
  allowedHosts = [`127.0.0.1:${bound}`, `localhost:${bound}`, `[::1]:${bound}`, `${host}:${bound}`];
  closers.unshift(
    () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  );
  logger.info({ url: `http://${host}:${bound}/mcp` }, 'MCP server listening');
  process.stderr.write(`haia-proxmox-mcp listening on http://${host}:${bound}/mcp\n`);
}

main().catch((error: unknown) => fail((error as Error).stack ?? String(error)));
