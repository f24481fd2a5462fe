import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requiresApproval } from '@haia/agent';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMcpToolsets, type McpConfig, type McpToolsets, parseMcpConfig } from '../src/index.js';
import {
  ENDLESS_PAGES_SERVER,
  FIXTURE_SERVER,
  memoryLogger,
  NODE,
  PARENT_ENV,
  processAlive,
  RESOURCES_ONLY_SERVER,
  SILENT_SERVER,
  toolContext,
  waitForServer,
} from './helpers.js';

let mcp: McpToolsets | undefined;
afterEach(async () => {
  await mcp?.close();
  mcp = undefined;
});

const fixture = (...args: string[]) => ({ command: NODE, args: [FIXTURE_SERVER, ...args] });
const config = (mcpServers: Record<string, unknown>): McpConfig =>
  parseMcpConfig(JSON.stringify({ mcpServers }));

async function toolsOf(toolsets: McpToolsets, name: string) {
  const toolset = toolsets.toolsets.find((item) => item.name === name);
  return toolset ? [...(await toolset.listTools())] : [];
}

async function callTool(
  toolsets: McpToolsets,
  server: string,
  name: string,
  input: Record<string, unknown> = {},
) {
  const tool = (await toolsOf(toolsets, server)).find((item) => item.name === `${server}__${name}`);
  if (!tool) throw new Error(`no tool ${server}__${name}`);
  return tool.execute(input, toolContext());
}

describe('servers that fail, die and change', () => {
  it('keeps working servers up beside a missing command, a crashing one, a silent one and a disabled one', async () => {
    const logger = memoryLogger();
    mcp = await createMcpToolsets(
      config({
        good: fixture(),
        missing: { command: '/nonexistent/mcp-server', env: { TOKEN: 'secret-token-value' } },
        crashing: { command: NODE, args: ['-e', 'process.exit(3)'] },
        silent: { command: NODE, args: [SILENT_SERVER] },
        off: { ...fixture(), disabled: true },
      }),
      {
        logger,
        env: PARENT_ENV,
        connectTimeoutMs: 1500,
        shutdownGraceMs: 200,
        reconnect: { initialDelayMs: 60_000 },
      },
    );
    const states = Object.fromEntries(mcp.status().map((status) => [status.name, status.state]));
    expect(states).toEqual({
      good: 'ready',
      missing: 'down',
      crashing: 'down',
      silent: 'down',
      off: 'disabled',
    });
    expect(mcp.toolsets.map((toolset) => toolset.name)).toEqual(['good', 'missing', 'crashing', 'silent']);
    const byName = Object.fromEntries(mcp.status().map((status) => [status.name, status]));
    expect(byName.missing?.lastError).toMatch(/ENOENT/);
    expect(byName.silent?.lastError).toMatch(/within 1500 ms/);
    expect(byName.crashing?.lastError).toMatch(/closed/i);
    expect(await toolsOf(mcp, 'missing')).toEqual([]);
    expect(await callTool(mcp, 'good', 'echo', { text: 'fine' })).toBe('fine');
    expect(
      logger.entries.some(
        (entry) => entry.message === 'mcp server connect failed' && entry.fields.server === 'missing',
      ),
    ).toBe(true);
    expect(JSON.stringify(logger.entries)).not.toContain('secret-token-value');
    expect(JSON.stringify(mcp.status())).not.toContain('secret-token-value');
  });

  it('counts a server with resources only (no tools capability) as ready, with no tools', async () => {
    mcp = await createMcpToolsets(config({ notes: { command: NODE, args: [RESOURCES_ONLY_SERVER] } }), {
      logger: memoryLogger(),
      env: PARENT_ENV,
      shutdownGraceMs: 200,
      reconnect: { initialDelayMs: 60_000 },
    });
    expect(mcp.status()).toMatchObject([{ name: 'notes', state: 'ready' }]);
    expect(await toolsOf(mcp, 'notes')).toEqual([]);
  });

  it('reconnects a server killed mid-run, with a new process', async () => {
    const logger = memoryLogger();
    mcp = await createMcpToolsets(config({ victim: fixture() }), {
      logger,
      env: PARENT_ENV,
      reconnect: { initialDelayMs: 20, factor: 1 },
      shutdownGraceMs: 200,
    });
    const firstPid = mcp.status()[0]?.pid as number;
    expect(processAlive(firstPid)).toBe(true);
    const oldTools = await toolsOf(mcp, 'victim');
    const slow = oldTools.find((tool) => tool.name === 'victim__slow');
    const inFlight = slow?.execute({ ms: 30_000 }, toolContext());
    const down = waitForServer(mcp, 'victim', (status) => status.state === 'down');
    process.kill(firstPid, 'SIGKILL');
    expect((await down).lastError).toMatch(/closed/);
    expect(await inFlight).toMatchObject({ isError: true, content: expect.stringContaining('"victim"') });
    const echo = oldTools.find((tool) => tool.name === 'victim__echo');
    const whileDown = await echo?.execute({ text: 'x' }, toolContext());
    expect(whileDown).toMatchObject({
      isError: true,
      content: expect.stringMatching(/"victim" is (not connected|still connecting)/),
    });
    const ready = await waitForServer(mcp, 'victim', (status) => status.state === 'ready');
    expect(ready.pid).not.toBe(firstPid);
    expect(processAlive(firstPid)).toBe(false);
    expect(await callTool(mcp, 'victim', 'echo', { text: 'back' })).toBe('back');
    expect(logger.entries.some((entry) => entry.message === 'mcp server connection lost')).toBe(true);
  });

  it('picks up notifications/tools/list_changed', async () => {
    mcp = await createMcpToolsets(config({ growing: fixture() }), { env: PARENT_ENV, shutdownGraceMs: 200 });
    const before = mcp.status()[0]?.toolCount as number;
    const grown = waitForServer(mcp, 'growing', (status) => status.toolCount === before + 1);
    expect(await callTool(mcp, 'growing', 'add_tool')).toBe('added_1');
    await grown;
    expect(await callTool(mcp, 'growing', 'added_1')).toBe('I am added_1');
  });

  it('needs approval for destructive tools unless the entry auto-approves them', async () => {
    mcp = await createMcpToolsets(
      config({
        strict: fixture(),
        trusting: { ...fixture(), autoApprove: true },
        picky: { ...fixture(), autoApprove: ['delete_everything'] },
      }),
      { env: PARENT_ENV, shutdownGraceMs: 200 },
    );
    const find = async (server: string, tool: string) => {
      const found = (await toolsOf(mcp as McpToolsets, server)).find(
        (item) => item.name === `${server}__${tool}`,
      );
      if (!found) throw new Error('missing');
      return found;
    };
    const destructive = await find('strict', 'delete_everything');
    expect(destructive.annotations).toEqual({ destructive: true, readOnly: false });
    expect(destructive.needsApproval).toBe(true);
    expect(requiresApproval(destructive, {})).toBe(true);
    expect(requiresApproval(await find('strict', 'echo'), { text: 'a' })).toBe(false);
    expect(requiresApproval(await find('trusting', 'delete_everything'), {})).toBe(false);
    expect(requiresApproval(await find('picky', 'delete_everything'), {})).toBe(false);
  });

  it('filters tools with allowTools and denyTools', async () => {
    mcp = await createMcpToolsets(
      config({
        only: { ...fixture(), allowTools: ['echo', 's*'] },
        without: { ...fixture(), denyTools: ['delete_*', 'fail'] },
      }),
      { env: PARENT_ENV, shutdownGraceMs: 200 },
    );
    expect((await toolsOf(mcp, 'only')).map((tool) => tool.name).sort()).toEqual([
      'only__echo',
      'only__slow',
    ]);
    const without = (await toolsOf(mcp, 'without')).map((tool) => tool.name);
    expect(without).toContain('without__echo');
    expect(without).not.toContain('without__delete_everything');
    expect(without).not.toContain('without__fail');
  });

  it('makes names unique and at most 64 characters of [A-Za-z0-9_-]', async () => {
    const long = 'a_really_long_tool_name_that_goes_on_and_on_past_the_limit_of_sixty_four';
    mcp = await createMcpToolsets(
      config({
        'my.server': fixture(`--tools=${long},${long}_2,dots.in.name`),
        my_server: fixture('--tools=dots_in_name'),
      }),
      { env: PARENT_ENV, shutdownGraceMs: 200 },
    );
    const names = [...(await toolsOf(mcp, 'my.server')), ...(await toolsOf(mcp, 'my_server'))].map(
      (tool) => tool.name,
    );
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(new Set(names).size).toBe(names.length);
    const longOnes = names.filter((name) => name.startsWith('my_server__a_really'));
    expect(longOnes).toHaveLength(2);
    for (const name of longOnes) expect(name).toHaveLength(64);
    expect(names).toContain('my_server__dots_in_name');
    expect(names).toContain('my_server__echo');
    expect(names.filter((name) => name.startsWith('my_server__echo'))).toHaveLength(2);
    // Each name still reaches its own server's tool.
    const tools = [...(await toolsOf(mcp, 'my.server')), ...(await toolsOf(mcp, 'my_server'))];
    const dotted = tools.filter((tool) => tool.name.startsWith('my_server__dots_in_name'));
    const outputs = await Promise.all(dotted.map((tool) => tool.execute({}, toolContext())));
    expect(outputs.sort()).toEqual(['called dots.in.name', 'called dots_in_name']);
  });

  it('maps error results, mixed content and a rejected call to results the model can read', async () => {
    mcp = await createMcpToolsets(config({ fx: fixture() }), { env: PARENT_ENV, shutdownGraceMs: 200 });
    expect(await callTool(mcp, 'fx', 'fail')).toEqual({ isError: true, content: 'disk on fire' });
    expect(await callTool(mcp, 'fx', 'mixed')).toBe(
      'hello\n[image image/png, 10 bytes]\n[resource link: report <file:///tmp/report.txt> (text/plain)]\n[resource memo://1]\nmemo text',
    );
    const bad = await callTool(mcp, 'fx', 'echo', { text: 42 });
    expect(bad).toMatchObject({ isError: true });
  });

  it('kills a child that ignores stdin EOF and SIGTERM, and its grandchildren', async () => {
    mcp = await createMcpToolsets(config({ stubborn: fixture('--stubborn', '--grandchild') }), {
      env: PARENT_ENV,
      shutdownGraceMs: 150,
    });
    const ids = JSON.parse(String(await callTool(mcp, 'stubborn', 'pid'))) as {
      pid: number;
      grandchild: number;
    };
    expect(processAlive(ids.pid)).toBe(true);
    expect(processAlive(ids.grandchild)).toBe(true);
    await mcp.close();
    expect(processAlive(ids.pid)).toBe(false);
    expect(processAlive(ids.grandchild)).toBe(false);
  });

  it('masks the variables an entry puts into its args in the logs, as its env values', async () => {
    const logger = memoryLogger();
    const parsed = parseMcpConfig(
      JSON.stringify({
        mcpServers: {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp_config.json text with a ${VAR} reference
          gh: { command: NODE, args: [FIXTURE_SERVER, '--print-args', '--token', '${GH_TOKEN}'] },
        },
      }),
      { env: { GH_TOKEN: 'ghp_argsecret123456' } },
    );
    mcp = await createMcpToolsets(parsed, { logger, env: PARENT_ENV, shutdownGraceMs: 200 });
    const stderrLines = () =>
      logger.entries
        .filter((entry) => entry.message === 'mcp server stderr')
        .map((entry) => entry.fields.line);
    await vi.waitFor(() => expect(stderrLines()).toContain('args: --print-args --token ***'));
    await mcp.close();
    expect(JSON.stringify(logger.entries)).not.toContain('ghp_argsecret123456');
  });

  it('starts the child in its cwd and logs its stderr', async () => {
    const logger = memoryLogger();
    const cwd = realpathSync(tmpdir());
    mcp = await createMcpToolsets(config({ chatty: { ...fixture(), cwd } }), {
      logger,
      env: PARENT_ENV,
      shutdownGraceMs: 200,
    });
    expect(JSON.parse(String(await callTool(mcp, 'chatty', 'pid')))).toMatchObject({ cwd });
    await mcp.close();
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        message: 'mcp server stderr',
        fields: expect.objectContaining({ server: 'chatty', line: 'fixture server starting' }),
      }),
    );
  });

  it('gives a contested tool name to the entry earlier in the config even when it connects last, and warns', async () => {
    // "my.server" and "my_server" both offer pid as my_server__pid. The earlier entry only speaks MCP
    // once the later one has connected, so the later one holds the name first.
    const gateFolder = mkdtempSync(join(tmpdir(), 'haia-mcp-gate-'));
    const gate = join(gateFolder, 'open');
    try {
      const logger = memoryLogger((entry) => {
        if (entry.message === 'mcp server connected' && entry.fields.server === 'my_server')
          writeFileSync(gate, '');
      });
      mcp = await createMcpToolsets(
        config({ 'my.server': fixture(`--wait-for=${gate}`), my_server: fixture() }),
        {
          logger,
          env: PARENT_ENV,
          shutdownGraceMs: 200,
        },
      );
      const connected = logger.entries
        .filter((entry) => entry.message === 'mcp server connected')
        .map((entry) => entry.fields.server);
      expect(connected).toEqual(['my_server', 'my.server']);
      const [earlier, later] = mcp.status();
      const pidOf = async (server: string, name: string) => {
        const tool = (await toolsOf(mcp as McpToolsets, server)).find((item) => item.name === name);
        if (!tool) throw new Error(`no ${name} on ${server}`);
        return (JSON.parse(String(await tool.execute({}, toolContext()))) as { pid: number }).pid;
      };
      expect(await pidOf('my.server', 'my_server__pid')).toBe(earlier?.pid);
      const laterNames = (await toolsOf(mcp, 'my_server')).map((tool) => tool.name);
      expect(laterNames).not.toContain('my_server__pid');
      const renamed = laterNames.find((name) => /^my_server__pid_[0-9a-f]{6}$/.test(name)) as string;
      expect(await pidOf('my_server', renamed)).toBe(later?.pid);
      expect(logger.entries).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: 'mcp tool name collision',
          fields: expect.objectContaining({
            server: 'my_server',
            tool: 'pid',
            toolName: renamed,
            wantedName: 'my_server__pid',
            keptByServer: 'my.server',
            keptByTool: 'pid',
          }),
        }),
      );
    } finally {
      rmSync(gateFolder, { recursive: true, force: true });
    }
  });

  it('masks env values that can be secrets in stderr lines, not short common words', async () => {
    const logger = memoryLogger();
    const parsed = parseMcpConfig(
      JSON.stringify({
        mcpServers: {
          chatty: {
            command: NODE,
            args: [
              FIXTURE_SERVER,
              '--print-args',
              '--print-env=LOG_LEVEL,DEBUG,WORKERS,API_TOKEN',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp_config.json text with a ${VAR} reference
              '--verbose=${VERBOSE}',
            ],
            env: { LOG_LEVEL: 'info', DEBUG: 'true', WORKERS: '1', API_TOKEN: 'tok_env_secret_987' },
          },
        },
      }),
      { env: { VERBOSE: 'true' } },
    );
    mcp = await createMcpToolsets(parsed, { logger, env: PARENT_ENV, shutdownGraceMs: 200 });
    const lines = () =>
      logger.entries
        .filter((entry) => entry.message === 'mcp server stderr')
        .map((entry) => entry.fields.line);
    await vi.waitFor(() =>
      expect(lines()).toContain('env: LOG_LEVEL=info DEBUG=true WORKERS=1 API_TOKEN=***'),
    );
    await mcp.close();
    expect(lines()).toContain('fixture server starting');
    expect(lines().find((line) => String(line).startsWith('args:'))).toMatch(/--verbose=true$/);
    expect(JSON.stringify(logger.entries)).not.toContain('tok_env_secret_987');
  });

  it('bounds a whole tool listing: a server that pages without end is down, not hanging', async () => {
    mcp = await createMcpToolsets(config({ endless: { command: NODE, args: [ENDLESS_PAGES_SERVER] } }), {
      env: PARENT_ENV,
      connectTimeoutMs: 1000,
      shutdownGraceMs: 200,
      reconnect: { initialDelayMs: 60_000 },
    });
    const [status] = mcp.status();
    expect(status?.state).toBe('down');
    expect(status?.lastError).toMatch(/did not finish listing its tools within 1000 ms \(\d+ pages/);
    expect(await toolsOf(mcp, 'endless')).toEqual([]);
  });
});
