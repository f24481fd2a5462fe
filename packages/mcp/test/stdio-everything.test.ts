// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are mcp_config.json text with ${VAR} references
import { requiresApproval, type Tool } from '@haia/agent';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpToolsets, type McpToolsets, parseMcpConfig } from '../src/index.js';
import { EVERYTHING_BIN, memoryLogger, NODE, PARENT_ENV, processAlive, toolContext } from './helpers.js';

let mcp: McpToolsets | undefined;
afterEach(async () => {
  await mcp?.close();
  mcp = undefined;
});

async function startEverything(extra: Record<string, unknown> = {}) {
  const logger = memoryLogger();
  const config = parseMcpConfig(
    JSON.stringify({
      mcpServers: {
        everything: {
          command: NODE,
          args: [EVERYTHING_BIN, 'stdio'],
          env: { GREETING: '${GREETING:-hello from config}' },
          ...extra,
        },
      },
    }),
    { env: {} },
  );
  mcp = await createMcpToolsets(config, { logger, env: PARENT_ENV, shutdownGraceMs: 500 });
  const toolset = mcp.toolsets[0];
  if (!toolset) throw new Error('no toolset');
  const tools = await toolset.listTools();
  const tool = (name: string): Tool<unknown, Record<string, unknown>> => {
    const found = tools.find((item) => item.name === `everything__${name}`);
    if (!found) throw new Error(`no tool ${name} in ${tools.map((item) => item.name).join(', ')}`);
    return found;
  };
  return { mcp, logger, tools, tool };
}

describe('server-everything over stdio', () => {
  it('offers its tools as one toolset with prefixed names, schemas and annotations, and calls them', async () => {
    const { mcp, tools, tool, logger } = await startEverything();
    expect(mcp.toolsets.map((toolset) => toolset.name)).toEqual(['everything']);
    const [status] = mcp.status();
    expect(status).toMatchObject({ name: 'everything', transport: 'stdio', state: 'ready' });
    expect(status?.toolCount).toBe(tools.length);
    expect(tools.length).toBeGreaterThan(5);
    for (const item of tools) expect(item.name).toMatch(/^everything__[A-Za-z0-9_-]+$/);
    const echo = tool('echo');
    expect(echo.inputSchema).toMatchObject({ type: 'object', properties: { message: { type: 'string' } } });
    expect(tool('get-env').annotations).toMatchObject({ readOnly: true, destructive: false });
    expect(requiresApproval(tool('get-env'), {})).toBe(false);
    expect(echo.parseInput({ message: 'hi' })).toEqual({ success: true, data: { message: 'hi' } });
    expect(echo.parseInput([1])).toMatchObject({ success: false });
    // The call's line goes through the run's logger (a request's, in HAIA), not the toolset's.
    const runLogger = memoryLogger();
    const output = await echo.execute(
      { message: 'hi there' },
      toolContext(undefined, runLogger.child({ requestId: 'req-7' })),
    );
    expect(output).toBe('Echo: hi there');
    expect(logger.entries.find((entry) => entry.message === 'mcp tool call')).toBeUndefined();
    const call = runLogger.entries.find((entry) => entry.message === 'mcp tool call');
    expect(call?.fields).toMatchObject({
      requestId: 'req-7',
      component: 'mcp',
      server: 'everything',
      tool: 'echo',
      outcome: 'ok',
    });
    expect(typeof call?.fields.durationMs).toBe('number');
  });

  it('gives the child only its own env plus PATH and HOME, never the parent secrets', async () => {
    const { tool } = await startEverything();
    const output = await tool('get-env').execute({}, toolContext());
    const env = JSON.parse(String(output)) as Record<string, string>;
    expect(env.GREETING).toBe('hello from config');
    expect(env.PATH).toBe(process.env.PATH);
    expect(env.HOME).toBe(process.env.HOME);
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(Object.keys(env).filter((key) => !['GREETING', 'PATH', 'HOME'].includes(key))).toEqual([]);
  });

  it('describes images instead of passing base64 to the model', async () => {
    const { tool } = await startEverything();
    const output = String(await tool('get-tiny-image').execute({}, toolContext()));
    expect(output).toMatch(/\[image image\/png, \d+ bytes\]/);
    expect(output).not.toMatch(/iVBORw0KGgo/);
  });

  it('turns a per-server timeout into an error result the model can read', async () => {
    const { tool } = await startEverything({ timeoutMs: 300 });
    const runLogger = memoryLogger();
    const output = await tool('trigger-long-running-operation').execute(
      { duration: 5, steps: 1 },
      toolContext(undefined, runLogger),
    );
    expect(output).toEqual({ isError: true, content: expect.stringContaining('timed out after 300 ms') });
    expect(
      runLogger.entries.some((entry) => entry.level === 'warn' && entry.fields.outcome === 'timeout'),
    ).toBe(true);
  });

  it('passes the run abort signal to the request and stays usable afterwards', async () => {
    const { tool, mcp } = await startEverything();
    const controller = new AbortController();
    const pending = tool('trigger-long-running-operation').execute(
      { duration: 5, steps: 1 },
      toolContext(controller.signal),
    );
    controller.abort(new Error('run aborted'));
    await expect(pending).rejects.toThrow('run aborted');
    expect(mcp.status()[0]?.state).toBe('ready');
    expect(await tool('echo').execute({ message: 'still here' }, toolContext())).toBe('Echo: still here');
  });

  it('shuts the child down on close, leaving no process behind', async () => {
    const { mcp } = await startEverything();
    const pid = mcp.status()[0]?.pid;
    expect(pid).toBeTypeOf('number');
    expect(processAlive(pid as number)).toBe(true);
    await mcp.close();
    expect(processAlive(pid as number)).toBe(false);
    expect(mcp.status()[0]?.state).toBe('down');
    expect(await mcp.toolsets[0]?.listTools()).toEqual([]);
  });
});
