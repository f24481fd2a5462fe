import { readFile } from 'node:fs/promises';
import type { Toolset } from '@haia/agent';
import type { HaiaConfig } from '@haia/config';
import type { McpToolsets } from '@haia/mcp';
import type { ProxmoxHealth } from '@haia/proxmox';
import type { Logger } from 'pino';
import type { ToolsetSource } from './runtime.js';

/** How long `/ready` reuses a Proxmox check, so a scraping monitor does not hammer the cluster. */
const PROXMOX_CHECK_TTL_MS = 10_000;

/**
 * The toolsets the configuration turns on: Proxmox when `PROXMOX_URL` is set, MCP servers from
 * `MCP_CONFIG` / `./mcp_config.json`. A cluster or server that is down never stops the API: its
 * state shows on `/ready` and its tools are missing until it answers. MCP servers connect in the
 * background, so a slow one never delays the start. Each package is imported only when it is
 * configured, so a plain chat server does not load the MCP SDK (memory, start time).
 */
export async function createToolsetSources(
  config: HaiaConfig,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<ToolsetSource[]> {
  const sources: ToolsetSource[] = [];
  if (config.proxmox) {
    const [{ checkProxmox, createProxmoxClient }, { createProxmoxToolset }] = await Promise.all([
      import('@haia/proxmox'),
      import('@haia/proxmox/tools'),
    ]);
    const { url, tokenId, tokenSecret, verifyTls, caFile } = config.proxmox;
    const ca = caFile ? await readFile(caFile, 'utf8') : undefined;
    const client = createProxmoxClient({
      url,
      tokenId,
      tokenSecret,
      verifyTls,
      ...(ca ? { ca } : {}),
      logger, // bound to `component: 'proxmox'` by the client (a child here would add a second one)
    });
    const toolset = createProxmoxToolset(client);
    let cached: { at: number; check: Promise<ProxmoxHealth> } | undefined;
    sources.push({
      name: 'proxmox',
      toolsets: () => [toolset],
      async status() {
        if (!cached || Date.now() - cached.at > PROXMOX_CHECK_TTL_MS) {
          cached = { at: Date.now(), check: checkProxmox(client, { signal: AbortSignal.timeout(5000) }) };
        }
        const health = await cached.check;
        return {
          ok: health.reachable,
          url: health.url,
          ...(health.version ? { version: health.version } : {}),
          ...(health.error ? { error: health.error.message } : {}),
        };
      },
    });
  }
  if (config.mcp.configPath) {
    const { createMcpToolsets, loadMcpConfig } = await import('@haia/mcp');
    const mcpConfig = await loadMcpConfig(config.mcp.configPath, { env, optional: !config.mcp.explicit });
    const names = Object.entries(mcpConfig.mcpServers)
      .filter(([, server]) => !server.disabled)
      .map(([name]) => name);
    if (names.length > 0) {
      let connected: McpToolsets | undefined;
      let closed = false;
      const connecting = createMcpToolsets(mcpConfig, {
        logger, // bound to `component: 'mcp'` by the toolsets
        env,
      }).then(async (toolsets) => {
        if (closed) await toolsets.close();
        else connected = toolsets;
        return toolsets;
      });
      connecting.catch((error: unknown) => logger.error({ err: error }, 'mcp servers could not start'));
      // One toolset per server, empty until the servers are connected.
      const toolsets: Toolset[] = names.map((name) => ({
        name,
        listTools: () => connected?.toolsets.find((toolset) => toolset.name === name)?.listTools() ?? [],
      }));
      sources.push({
        name: 'mcp',
        toolsets: () => toolsets,
        status() {
          if (!connected) return { ok: false, state: 'connecting', servers: names };
          const servers = connected.status();
          return {
            ok: servers.every((server) => server.state === 'ready' || server.state === 'disabled'),
            servers,
          };
        },
        async close() {
          closed = true;
          if (connected) return connected.close();
          // Still connecting: give the servers a moment, the `then` above closes them once connected.
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            connecting.then(
              () => undefined,
              () => undefined,
            ),
            new Promise((resolve) => {
              timer = setTimeout(resolve, 5000);
            }),
          ]);
          clearTimeout(timer);
        },
      });
    }
  }
  return sources;
}
