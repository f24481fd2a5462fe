// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are mcp_config.json text with ${VAR} references
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMcpConfig, parseMcpConfig } from './load-mcp-config.js';
import { McpError } from './mcp-error.js';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'haia-mcp-config-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

function problemsOf(text: string, env: Record<string, string> = {}) {
  try {
    parseMcpConfig(text, { env });
  } catch (error) {
    if (McpError.isInstance(error)) return error;
  }
  throw new Error('expected an McpError');
}

describe('loadMcpConfig', () => {
  it('reads the Claude Desktop / Cursor / VS Code format, inferring and normalising "type"', async () => {
    const path = join(folder, 'mcp_config.json');
    await writeFile(
      path,
      JSON.stringify({
        mcpServers: {
          filesystem: {
            command: 'npx',
            args: ['-y', '@modelcontextprotocol/server-filesystem', '${HOME_DIR}'],
          },
          docker: {
            type: 'stdio',
            command: 'docker',
            args: ['run', '-i', '--rm', 'mcp/time'],
            cwd: '/srv',
            timeoutMs: 5000,
          },
          remote: { url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } },
          legacy: { url: 'https://old.example.com/sse' },
          vscode: { type: 'streamable-http', url: 'http://127.0.0.1:9000/mcp', disabled: true },
          tools: { command: 'x', allowTools: ['read_*'], denyTools: ['read_secret'], autoApprove: ['write'] },
        },
        someOtherAppSetting: true,
      }),
    );
    const config = await loadMcpConfig(path, { env: { HOME_DIR: '/home/me', TOKEN: 'abc123' } });
    expect(config.mcpServers.filesystem).toEqual({
      type: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/me'],
      env: {},
      disabled: false,
      autoApprove: false,
    });
    expect(config.mcpServers.docker).toMatchObject({ type: 'stdio', cwd: '/srv', timeoutMs: 5000 });
    expect(config.mcpServers.remote).toEqual({
      type: 'http',
      url: 'https://mcp.example.com/mcp',
      headers: { Authorization: 'Bearer abc123' },
      disabled: false,
      autoApprove: false,
    });
    expect(config.mcpServers.legacy?.type).toBe('sse');
    expect(config.mcpServers.vscode).toMatchObject({ type: 'http', disabled: true });
    expect(config.mcpServers.tools).toMatchObject({
      allowTools: ['read_*'],
      denyTools: ['read_secret'],
      autoApprove: ['write'],
    });
  });

  it('treats a missing optional file as no servers, and a missing explicit file as an error', async () => {
    const path = join(folder, 'nope.json');
    expect(await loadMcpConfig(path, { optional: true })).toEqual({ mcpServers: {} });
    const error = await loadMcpConfig(path).catch((caught: unknown) => caught);
    expect(McpError.isInstance(error) && error.code).toBe('config-not-found');
    expect((error as Error).message).toContain(path);
  });

  it('reports a folder as unreadable', async () => {
    const error = await loadMcpConfig(folder).catch((caught: unknown) => caught);
    expect(McpError.isInstance(error) && error.code).toBe('config-unreadable');
  });

  it('reads the repository mcp_config.example.json', async () => {
    const example = fileURLToPath(new URL('../../../mcp_config.example.json', import.meta.url));
    const config = await loadMcpConfig(example, { env: { HOMEASSISTANT_TOKEN: 'token' } });
    expect(Object.keys(config.mcpServers)).toEqual(['filesystem', 'docker', 'homeassistant']);
    expect(config.mcpServers.filesystem).toMatchObject({ type: 'stdio', command: 'npx' });
    expect(config.mcpServers.docker).toMatchObject({
      type: 'stdio',
      command: 'uvx',
      env: { DOCKER_HOST: 'unix:///var/run/docker.sock' },
    });
    expect(config.mcpServers.homeassistant).toMatchObject({
      type: 'http',
      url: 'http://homeassistant.local:8123/api/mcp',
      headers: { Authorization: 'Bearer token' },
      disabled: true,
    });
  });

  it('accepts an empty object and a BOM', () => {
    expect(parseMcpConfig('\uFEFF{}')).toEqual({ mcpServers: {} });
  });

  it("reads VS Code's mcp.json, whose map is called servers", () => {
    const config = parseMcpConfig(
      JSON.stringify({ servers: { fs: { type: 'stdio', command: 'npx', args: ['x'] } } }),
    );
    expect(Object.keys(config.mcpServers)).toEqual(['fs']);
    expect(config.mcpServers.fs).toMatchObject({ type: 'stdio', command: 'npx', args: ['x'] });
  });

  it('does not ask for the variables of a disabled entry', () => {
    const config = parseMcpConfig(
      JSON.stringify({
        mcpServers: {
          gh: { command: 'x', env: { T: '${GITHUB_TOKEN}' }, args: ['${GITHUB_TOKEN}'], disabled: true },
          on: { command: 'y' },
        },
      }),
    );
    expect(config.mcpServers.gh).toMatchObject({ disabled: true });
    // The same entry enabled still needs it.
    const error = problemsOf(
      JSON.stringify({ mcpServers: { gh: { command: 'x', env: { T: '${GITHUB_TOKEN}' } } } }),
    );
    expect(error.problems.map((problem) => problem.path)).toEqual(['mcpServers.gh.env.T']);
  });
});

describe('parseMcpConfig errors', () => {
  it('lists every problem with its JSON path in one McpError', () => {
    const error = problemsOf(
      JSON.stringify({
        mcpServers: {
          typo: { comand: 'x' },
          badType: { type: 'websocket', url: 'ws://x' },
          ftp: { url: 'ftp://example.com' },
          args: { command: 'x', args: [1], timeoutMs: 5 },
          extra: { command: 'x', autoApprov: true },
          number: 3,
          'my server': { url: 'http://x', headers: { A: '${MISSING}' } },
        },
      }),
    );
    expect(error.code).toBe('config-invalid');
    expect(error.problems.map((problem) => problem.path)).toEqual([
      'mcpServers.args.args[0]',
      'mcpServers.args.timeoutMs',
      'mcpServers.badType.type',
      'mcpServers.extra',
      'mcpServers.ftp.url',
      'mcpServers.number',
      'mcpServers.typo.type',
      'mcpServers["my server"].headers.A',
    ]);
    expect(error.message).toMatch(/^MCP config has 8 problems:\n {2}- /);
    expect(error.message).toContain('mcpServers.args.timeoutMs: is in milliseconds');
    expect(error.message).toContain('mcpServers.extra: Unrecognized key: "autoApprov"');
    expect(error.message).toContain('uses ${MISSING} but MISSING is not set');
    expect(error.message).toContain('needs "command" (a local stdio server) or "url"');
  });

  it('never puts expanded values (secrets) into the error', () => {
    const error = problemsOf(
      JSON.stringify({
        mcpServers: {
          remote: { url: 'http://x', headers: { Authorization: 'Bearer ${TOKEN}' }, timeoutMs: 'soon' },
        },
      }),
      { TOKEN: 'super-secret-token' },
    );
    expect(error.problems).toHaveLength(1);
    expect(error.message).not.toContain('super-secret-token');
    expect(JSON.stringify(error.problems)).not.toContain('super-secret-token');
  });

  it('gives line and column for invalid JSON', () => {
    const error = problemsOf('{\n  "mcpServers": {\n    "a": { "command": "x", }\n  }\n}');
    expect(error.code).toBe('config-invalid-json');
    expect(error.message).toMatch(/^MCP config is not valid JSON at line 3, column 28:/);
  });

  it('rejects a top level that is not an object', () => {
    expect(problemsOf('[]').problems).toEqual([
      { path: '(root)', message: expect.stringContaining('expected object') },
    ]);
    expect(problemsOf('{"mcpServers": []}').problems[0]?.path).toBe('mcpServers');
  });
});
