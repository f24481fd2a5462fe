import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OpenAIFake, PROXMOX_FAKE_TOKEN_SECRET, startOpenAIFake } from '@haia/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LooseJson, testDatabaseUrl } from './helpers.js';
import {
  closedPort,
  createTestDatabase,
  type SpawnedApi,
  spawnApi,
  startRuntimeServer,
  type TestDatabase,
  until,
} from './runtime-helpers.js';

const FILESYSTEM_BIN = fileURLToPath(
  new URL('../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js', import.meta.url),
);

let upstream: OpenAIFake;
let folder: string;
let database: TestDatabase | undefined;
const spawned: SpawnedApi[] = [];

beforeAll(async () => {
  upstream = await startOpenAIFake({ reply: { text: 'The API still answers.' } });
  // The bins start on PostgreSQL when there is one (well under a second); PGlite's first start is slow.
  if (testDatabaseUrl) database = await createTestDatabase(testDatabaseUrl, 'haia_api_toolsets');
});
afterAll(async () => {
  await upstream?.close();
  await database?.drop();
});

/** Where a spawned bin keeps its conversations. */
function storeEnv(): Record<string, string> {
  return database ? { DATABASE_URL: database.url } : { HAIA_DATA_DIR: join(folder, 'data') };
}
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'haia-api-toolsets-'));
});
afterEach(async () => {
  for (const app of spawned.splice(0)) {
    if (app.child.exitCode === null) {
      app.child.kill('SIGKILL');
      await app.exited;
    }
  }
  rmSync(folder, { recursive: true, force: true });
});

/** Process ids and command lines of every process on the machine. */
function processTable(): Array<{ pid: number; args: string }> {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [pid, ...args] = line.split(/\s+/);
      return { pid: Number(pid), args: args.join(' ') };
    });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function chat(url: string) {
  const client = new OpenAI({ apiKey: 'none', baseURL: `${url}/v1`, maxRetries: 0 });
  return client.chat.completions.create({
    model: 'haia',
    messages: [{ role: 'user', content: 'list my VMs' }],
  });
}

describe('a Proxmox cluster that is down at start', () => {
  it('the built bin starts anyway, /ready reports proxmox down (200 overall), and a chat works', async () => {
    const proxmoxUrl = `https://127.0.0.1:${await closedPort()}`;
    const app = spawnApi(
      {
        PORT: '0',
        ...storeEnv(),
        HAIA_MODEL: 'openai-compatible:fake-model',
        OPENAI_BASE_URL: upstream.baseURL,
        PROXMOX_URL: proxmoxUrl,
        PROXMOX_TOKEN_ID: 'root@pam!haia',
        PROXMOX_TOKEN_SECRET: PROXMOX_FAKE_TOKEN_SECRET,
      },
      folder,
    );
    spawned.push(app);
    const url = await app.listening();
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as LooseJson;
    expect(body.status).toBe('ready');
    expect(body.checks.database.ok).toBe(true);
    expect(body.checks.proxmox).toMatchObject({ ok: false });
    expect(String(body.checks.proxmox.url)).toContain('127.0.0.1');
    expect(body.checks.proxmox.error).toEqual(expect.any(String));
    expect(JSON.stringify(body)).not.toContain(PROXMOX_FAKE_TOKEN_SECRET);

    const before = upstream.requests.length;
    const completion = await chat(url);
    expect(completion.choices[0]?.message.content).toBe('The API still answers.');
    expect(upstream.requests.length).toBe(before + 1);
    expect(app.output()).not.toContain(PROXMOX_FAKE_TOKEN_SECRET);
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  }, 45_000);

  it('in-process: the runtime built with the Proxmox source serves chats while /ready says proxmox is down', async () => {
    const target = await startRuntimeServer(
      {
        HAIA_MODEL: 'openai-compatible:fake-model',
        OPENAI_BASE_URL: upstream.baseURL,
        PROXMOX_URL: `https://127.0.0.1:${await closedPort()}`,
        PROXMOX_TOKEN_ID: 'root@pam!haia',
        PROXMOX_TOKEN_SECRET: PROXMOX_FAKE_TOKEN_SECRET,
      },
      { withSources: true },
    );
    try {
      const body = (await (await fetch(`${target.url}/ready`)).json()) as LooseJson;
      expect(body.status).toBe('ready');
      expect(body.checks.proxmox.ok).toBe(false);
      const completion = await chat(target.url);
      expect(completion.choices[0]?.message.content).toBe('The API still answers.');
    } finally {
      await target.close();
    }
  });
});

describe('MCP servers are children of the api', () => {
  it('the built bin with an mcp_config.json starts server-filesystem; after SIGTERM no child remains', async () => {
    const shared = join(folder, 'shared-files');
    execFileSync('mkdir', ['-p', shared]);
    writeFileSync(join(shared, 'notes.txt'), 'backup at 02:00');
    writeFileSync(
      join(folder, 'mcp_config.json'),
      JSON.stringify({ mcpServers: { files: { command: 'node', args: [FILESYSTEM_BIN, shared] } } }),
    );
    const app = spawnApi(
      {
        PORT: '0',
        ...storeEnv(),
        HAIA_MODEL: 'openai-compatible:fake-model',
        OPENAI_BASE_URL: upstream.baseURL,
      },
      folder,
    );
    spawned.push(app);
    const url = await app.listening();
    let mcp: LooseJson;
    await until(async () => {
      mcp = ((await (await fetch(`${url}/ready`)).json()) as LooseJson).checks.mcp;
      return mcp?.ok === true;
    }, 'the MCP server to be ready');
    const server = mcp.servers.find((entry: LooseJson) => entry.name === 'files');
    expect(server).toMatchObject({ state: 'ready' });
    const pid = server.pid as number;
    expect(pid).toEqual(expect.any(Number));
    expect(isAlive(pid)).toBe(true);
    const byArgument = processTable().filter((entry) => entry.args.includes(shared));
    expect(byArgument.map((entry) => entry.pid)).toContain(pid);

    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('"msg":"stopped"');
    expect(isAlive(pid)).toBe(false);
    expect(processTable().filter((entry) => entry.args.includes(shared))).toEqual([]);
  }, 45_000);
});
