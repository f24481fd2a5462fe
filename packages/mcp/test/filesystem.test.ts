// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are mcp_config.json text with ${VAR} references
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requiresApproval } from '@haia/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpToolsets, type McpToolsets, parseMcpConfig } from '../src/index.js';
import { FILESYSTEM_BIN, NODE, PARENT_ENV, processAlive, toolContext } from './helpers.js';

let folder: string;
let mcp: McpToolsets;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'haia-mcp-fs-'));
  await writeFile(join(folder, 'notes.txt'), 'homelab notes');
  const config = parseMcpConfig(
    JSON.stringify({
      mcpServers: { filesystem: { command: NODE, args: [FILESYSTEM_BIN, '${DATA}'], timeoutMs: 10_000 } },
    }),
    { env: { DATA: folder } },
  );
  mcp = await createMcpToolsets(config, { env: PARENT_ENV, shutdownGraceMs: 500 });
});

afterAll(async () => {
  const pid = mcp.status()[0]?.pid;
  await mcp.close();
  if (pid !== undefined) expect(processAlive(pid)).toBe(false);
  await rm(folder, { recursive: true, force: true });
});

async function tool(name: string) {
  const found = (await mcp.toolsets[0]?.listTools())?.find((item) => item.name === `filesystem__${name}`);
  if (!found) throw new Error(`no ${name}`);
  return found;
}

describe('server-filesystem over stdio', () => {
  it('reads files in the allowed folder', async () => {
    expect(mcp.status()[0]?.state).toBe('ready');
    const read = await tool('read_text_file');
    expect(read.annotations.readOnly).toBe(true);
    expect(requiresApproval(read, { path: join(folder, 'notes.txt') })).toBe(false);
    expect(await read.execute({ path: join(folder, 'notes.txt') }, toolContext())).toBe('homelab notes');
  });

  it('marks write_file destructive, needing approval, and it writes once run', async () => {
    const write = await tool('write_file');
    expect(write.annotations).toMatchObject({ destructive: true, readOnly: false });
    expect(requiresApproval(write, { path: 'x', content: 'y' })).toBe(true);
    const target = join(folder, 'new.txt');
    const output = await write.execute({ path: target, content: 'written by haia' }, toolContext());
    expect(String(output)).toMatch(/Successfully wrote/);
    expect(await readFile(target, 'utf8')).toBe('written by haia');
  });

  it('returns a readable error for a path outside the folder', async () => {
    const read = await tool('read_text_file');
    const output = await read.execute({ path: '/etc/hostname' }, toolContext());
    expect(output).toMatchObject({
      isError: true,
      content: expect.stringMatching(/denied|outside|not allowed/i),
    });
  });
});
