import { describe, expect, it } from 'vitest';
import { createMcpToolsets, parseMcpConfig } from '../src/index.js';
import { memoryLogger, PARENT_ENV } from './helpers.js';

describe('a stdio server whose command does not exist', () => {
  it('is down with ENOENT, and close() settles at once instead of waiting out the shutdown grace', async () => {
    const mcp = await createMcpToolsets(
      parseMcpConfig(JSON.stringify({ mcpServers: { gone: { command: 'haia-no-such-command-4f2a' } } })),
      {
        logger: memoryLogger(),
        env: PARENT_ENV,
        // Longer than the test's timeout: a close() that waits for a process that never ran fails the test.
        shutdownGraceMs: 10 * 60_000,
        reconnect: { initialDelayMs: 60_000 },
      },
    );
    expect(mcp.status()[0]).toMatchObject({
      name: 'gone',
      state: 'down',
      lastError: expect.stringMatching(/ENOENT/),
    });
    await mcp.close();
    expect(mcp.status()[0]?.state).not.toBe('ready');
  });
});
