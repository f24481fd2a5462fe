import { afterEach, describe, expect, it } from 'vitest';
import { createMcpToolsets, type McpToolsets, parseMcpConfig } from '../src/index.js';
import { FIXTURE_SERVER, memoryLogger, NODE, PARENT_ENV, toolContext, waitForServer } from './helpers.js';

let mcp: McpToolsets | undefined;
afterEach(async () => {
  await mcp?.close();
  mcp = undefined;
});

const MiB = 1024 * 1024;

async function startFixture() {
  const logger = memoryLogger();
  mcp = await createMcpToolsets(
    parseMcpConfig(JSON.stringify({ mcpServers: { fx: { command: NODE, args: [FIXTURE_SERVER] } } })),
    { logger, env: PARENT_ENV, shutdownGraceMs: 200, reconnect: { initialDelayMs: 20, factor: 1 } },
  );
  const tools = [...((await mcp.toolsets[0]?.listTools()) ?? [])];
  const tool = (name: string) => {
    const found = tools.find((item) => item.name === `fx__${name}`);
    if (!found) throw new Error(`no tool fx__${name}`);
    return found;
  };
  return { mcp, logger, tool };
}

describe('a stdio message over the 10 MiB limit', () => {
  it('fails that one call with its size, the limit and how to ask for less; the connection stays up', async () => {
    const { mcp, tool } = await startFixture();
    const before = mcp.status()[0];
    const runLogger = memoryLogger();
    const output = await tool('big').execute({ bytes: 11 * MiB }, toolContext(undefined, runLogger));
    expect(output).toEqual({ isError: true, content: expect.stringContaining('The result of fx__big was') });
    const content = (output as { content: string }).content;
    expect(content).toMatch(/\(11\.0 MiB\), over the limit of 10485760 bytes \(10\.0 MiB\)/);
    expect(content).toMatch(/stays connected/);
    expect(content).toMatch(/asking for less/);
    expect(runLogger.entries.find((entry) => entry.message === 'mcp tool call')?.fields).toMatchObject({
      outcome: 'too-large',
      limitBytes: 10 * MiB,
    });
    // The same process, never down: later calls, small and just under the limit, still work.
    expect(mcp.status()[0]).toMatchObject({ state: 'ready', pid: before?.pid, reconnectAttempts: 0 });
    expect(await tool('echo').execute({ text: 'after' }, toolContext())).toBe('after');
    expect(String(await tool('big').execute({ bytes: 9 * MiB }, toolContext()))).toHaveLength(9 * MiB);
  });

  it('that does not show which request it answers restarts the connection and says why', async () => {
    const { mcp, logger, tool } = await startFixture();
    const firstPid = mcp.status()[0]?.pid;
    const down = waitForServer(mcp, 'fx', (status) => status.state === 'down');
    const output = await tool('write_raw_line').execute({ bytes: 11 * MiB }, toolContext());
    expect(output).toMatchObject({ isError: true, content: expect.stringContaining('"fx"') });
    expect((await down).lastError).toMatch(
      /a message of 11534336 bytes \(11\.0 MiB\), over the limit of 10485760 bytes \(10\.0 MiB\), that does not show which request/,
    );
    const ready = await waitForServer(mcp, 'fx', (status) => status.state === 'ready');
    expect(ready.pid).not.toBe(firstPid);
    expect(await tool('echo').execute({ text: 'back' }, toolContext())).toBe('back');
    expect(logger.entries.some((entry) => entry.message === 'mcp message too large')).toBe(true);
  });
});
