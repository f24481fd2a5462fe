import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ProxmoxFake, startProxmoxFake, testCertificates } from '@haia/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXMOX_TOOL_NAMES } from '../tools/index.js';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
let outDir: string;
let bin: string;
let emptyDir: string;
let fake: ProxmoxFake;

beforeAll(async () => {
  // The bin bundled with the workspace packages from source, next to this package's node_modules so
  // its own dependencies (MCP SDK, ky, undici) resolve; the published bin imports them from dist.
  outDir = mkdtempSync(join(packageRoot, 'node_modules', '.mcp-test-'));
  await build({
    config: false,
    entry: { main: join(packageRoot, 'src/mcp/main.ts') },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    silent: true,
    noExternal: [/^@haia\//],
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    esbuildOptions(options) {
      options.conditions = ['@haia/source'];
    },
  });
  bin = join(outDir, 'main.js');
  emptyDir = mkdtempSync(join(outDir, 'cwd-'));
  fake = await startProxmoxFake();
}, 60_000);

afterAll(async () => {
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

function proxmoxEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    PROXMOX_URL: fake.url,
    PROXMOX_TOKEN_ID: fake.tokenId,
    PROXMOX_TOKEN_SECRET: fake.tokenSecret,
    PROXMOX_CA_FILE: testCertificates().caFile,
    LOG_LEVEL: 'warn',
  };
}

describe('haia-proxmox-mcp over stdio (MCP SDK client)', () => {
  it('lists the seven tools with readOnlyHint and calls list_vms against the fake', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin],
      env: proxmoxEnv(),
      cwd: emptyDir,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'proxmox-mcp-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect(client.getServerVersion()?.name).toBe('haia-proxmox');
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual([...PROXMOX_TOOL_NAMES]);
      for (const tool of tools) {
        expect(tool.annotations?.readOnlyHint).toBe(true);
        expect(tool.annotations?.destructiveHint).toBe(false);
        expect(tool.inputSchema.type).toBe('object');
      }
      expect(tools.find((tool) => tool.name === 'list_vms')?.inputSchema.properties).toHaveProperty('node');

      const result = await client.callTool({ name: 'list_vms', arguments: { node: 'pve2' } });
      expect(result.isError).toBeFalsy();
      const text = (result.content as Array<{ type: string; text: string }>)[0]?.text ?? '';
      expect(text).toContain('2 guests matching node=pve2 (1 stopped, 1 running):');
      expect(text).toContain('102 win11-test [VM] on pve2: stopped');

      const missing = await client.callTool({ name: 'get_vm_status', arguments: { vmid: 999 } });
      expect(missing.isError).toBe(true);
      const invalid = await client.callTool({ name: 'get_vm_status', arguments: { vmid: 'x' } });
      expect(invalid.isError).toBe(true);
      expect(fake.server.requests.every((request) => request.method === 'GET')).toBe(true);
    } finally {
      await client.close();
    }
    expect(transport.pid).toBeNull();
  });

  it('exits 1 with a clear message on stderr when a variable is missing', async () => {
    const run = promisify(execFile);
    const { PROXMOX_URL: _url, ...withoutUrl } = proxmoxEnv();
    const noUrl = await run(process.execPath, [bin], { env: withoutUrl, cwd: emptyDir }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(noUrl).toMatchObject({ code: 1 });
    expect((noUrl as { stderr: string }).stderr).toContain('PROXMOX_URL is not set');

    const { PROXMOX_TOKEN_SECRET: _secret, ...withoutSecret } = proxmoxEnv();
    const noSecret = await run(process.execPath, [bin], { env: withoutSecret, cwd: emptyDir }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(noSecret).toMatchObject({ code: 1 });
    expect((noSecret as { stderr: string }).stderr).toContain('PROXMOX_TOKEN_SECRET');
  });
});

describe('haia-proxmox-mcp --http (streamable HTTP)', () => {
  it('serves the same tools on 127.0.0.1 and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, '--http', '0'], {
      env: proxmoxEnv(),
      cwd: emptyDir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
      });
      const client = new Client({ name: 'proxmox-mcp-http-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      try {
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name)).toEqual([...PROXMOX_TOOL_NAMES]);
        expect(tools.every((tool) => tool.annotations?.readOnlyHint === true)).toBe(true);
        const ceph = await client.callTool({ name: 'get_ceph_status', arguments: {} });
        expect((ceph.content as Array<{ text: string }>)[0]?.text).toContain('Ceph health: HEALTH_WARN');
      } finally {
        await client.close();
      }
    } finally {
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    }
  });
});
