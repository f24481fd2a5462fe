// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are mcp_config.json text with ${VAR} references
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpToolsets, type McpToolsets, parseMcpConfig } from '../src/index.js';
import {
  type AuthGate,
  freePort,
  type HttpServer,
  memoryLogger,
  startAuthGate,
  startEverythingHttp,
  toolContext,
  waitForServer,
} from './helpers.js';

let mcp: McpToolsets | undefined;
const servers: Array<HttpServer | AuthGate> = [];
afterEach(async () => {
  await mcp?.close();
  mcp = undefined;
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function start(port: number, mode: 'streamableHttp' | 'sse' = 'streamableHttp') {
  const server = await startEverythingHttp(port, mode);
  servers.push(server);
  return server;
}

describe('remote servers', () => {
  it('connects server-everything over streamable HTTP, sends the configured headers and calls tools', async () => {
    const port = await freePort();
    const server = await start(port);
    const seen: Headers[] = [];
    const recordingFetch = (input: string | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    const config = parseMcpConfig(
      JSON.stringify({
        mcpServers: {
          remote: { type: 'http', url: server.url, headers: { Authorization: 'Bearer ${TOKEN}' } },
        },
      }),
      { env: { TOKEN: 'remote-secret-token' } },
    );
    mcp = await createMcpToolsets(config, { fetch: recordingFetch });
    expect(mcp.status()[0]).toMatchObject({ name: 'remote', transport: 'http', state: 'ready' });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((headers) => headers.get('authorization') === 'Bearer remote-secret-token')).toBe(true);
    const tools = await mcp.toolsets[0]?.listTools();
    const echo = tools?.find((tool) => tool.name === 'remote__echo');
    expect(await echo?.execute({ message: 'over http' }, toolContext())).toBe('Echo: over http');
  });

  it('reports a remote that drops, and reconnects when it is back', async () => {
    const port = await freePort();
    let server = await start(port);
    const logger = memoryLogger();
    mcp = await createMcpToolsets(
      parseMcpConfig(JSON.stringify({ mcpServers: { remote: { url: server.url } } })),
      {
        logger,
        reconnect: { initialDelayMs: 25, factor: 1 },
        connectTimeoutMs: 3000,
      },
    );
    const echo = (await mcp.toolsets[0]?.listTools())?.find((tool) => tool.name === 'remote__echo');
    if (!echo) throw new Error('no echo');
    await server.stop();
    const failed = await echo.execute({ message: 'anyone?' }, toolContext());
    expect(failed).toMatchObject({ isError: true, content: expect.stringContaining('"remote"') });
    expect(mcp.status()[0]?.state).not.toBe('ready');
    await waitForServer(mcp, 'remote', (status) => status.reconnectAttempts >= 2);
    server = await start(port);
    await waitForServer(mcp, 'remote', (status) => status.state === 'ready');
    const again = (await mcp.toolsets[0]?.listTools())?.find((tool) => tool.name === 'remote__echo');
    expect(await again?.execute({ message: 'back' }, toolContext())).toBe('Echo: back');
  });

  it('notices a dropped remote by its ping, without any call', async () => {
    const port = await freePort();
    const server = await start(port);
    mcp = await createMcpToolsets(
      parseMcpConfig(JSON.stringify({ mcpServers: { remote: { url: server.url } } })),
      {
        pingIntervalMs: 20,
        reconnect: { initialDelayMs: 60_000 },
      },
    );
    expect(mcp.status()[0]?.state).toBe('ready');
    const down = waitForServer(mcp, 'remote', (status) => status.state === 'down');
    await server.stop();
    expect((await down).lastError).toBeTruthy();
    expect(await mcp.toolsets[0]?.listTools()).toEqual([]);
  });

  it('connects over the legacy SSE transport', async () => {
    const port = await freePort();
    const server = await start(port, 'sse');
    mcp = await createMcpToolsets(
      parseMcpConfig(JSON.stringify({ mcpServers: { legacy: { url: server.url } } })),
    );
    expect(mcp.status()[0]).toMatchObject({ transport: 'sse', state: 'ready' });
    const echo = (await mcp.toolsets[0]?.listTools())?.find((tool) => tool.name === 'legacy__echo');
    expect(await echo?.execute({ message: 'over sse' }, toolContext())).toBe('Echo: over sse');
  });

  it('keeps a refused remote down without stopping the rest, and masks its secrets', async () => {
    const port = await freePort();
    const server = await start(port);
    const deadPort = await freePort();
    mcp = await createMcpToolsets(
      parseMcpConfig(
        JSON.stringify({
          mcpServers: {
            dead: {
              url: `http://127.0.0.1:${deadPort}/mcp?key=query-secret-value`,
              headers: { 'X-Api-Key': 'header-secret-value' },
            },
            alive: { url: server.url },
          },
        }),
      ),
      { reconnect: false },
    );
    const [dead, alive] = mcp.status();
    expect(dead?.state).toBe('down');
    expect(alive?.state).toBe('ready');
    expect(dead?.lastError).toBeTruthy();
    expect(dead?.lastError).not.toContain('query-secret-value');
    expect(dead?.lastError).not.toContain('header-secret-value');
  });

  it('says a refused token is HTTP 401 or 403 and what to check in the entry, never the token', async () => {
    const upstream = await start(await freePort());
    const gate = await startAuthGate(new URL(upstream.url).origin, {
      token: 'good-token-0123456789',
      forbiddenToken: 'read-only-token-0123456789',
    });
    servers.push(gate);
    const logger = memoryLogger();
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    mcp = await createMcpToolsets(
      parseMcpConfig(
        JSON.stringify({
          mcpServers: {
            good: { url: `${gate.origin}/mcp`, headers: bearer('good-token-0123456789') },
            wrong: { url: `${gate.origin}/mcp`, headers: bearer('wrong-token-0123456789') },
            none: { url: `${gate.origin}/mcp` },
            forbidden: { url: `${gate.origin}/mcp`, headers: bearer('read-only-token-0123456789') },
            legacy: { type: 'sse', url: `${gate.origin}/sse`, headers: bearer('wrong-token-0123456789') },
          },
        }),
      ),
      { logger, reconnect: false, connectTimeoutMs: 5000 },
    );
    const byName = Object.fromEntries(mcp.status().map((status) => [status.name, status]));
    expect(byName.good?.state).toBe('ready');
    for (const name of ['wrong', 'legacy']) {
      expect(byName[name]).toMatchObject({ state: 'down' });
      expect(byName[name]?.lastError).toMatch(
        /HTTP 401 Unauthorized: it rejected the credentials this entry sends\. Check that the token in the entry's "headers"/,
      );
    }
    expect(byName.none?.lastError).toMatch(
      /HTTP 401 Unauthorized: .*this entry sends none\. Add them to the entry's "headers"/,
    );
    expect(byName.forbidden?.lastError).toMatch(
      /HTTP 403 Forbidden: .*has the permissions \(scopes\) it needs/,
    );
    const everything = JSON.stringify([mcp.status(), logger.entries]);
    for (const token of ['good-token-0123456789', 'wrong-token-0123456789', 'read-only-token-0123456789']) {
      expect(everything).not.toContain(token);
    }
    expect(
      logger.entries.some(
        (entry) =>
          entry.message === 'mcp server connect failed' && /HTTP 403/.test(String(entry.fields.error)),
      ),
    ).toBe(true);
  });
});
