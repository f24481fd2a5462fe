import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OpenAIFake, startBins, startOpenAIFake, waitUntil } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * Start-up of the built `haia-api` bin (`cd apps/api && pnpm build` first) as users run it: chosen
 * environments, a scratch working directory for `.env`, real signals.
 */
const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const bins = startBins();
let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'haia-api-startup-'));
});
afterEach(() => {
  bins.killAll();
  rmSync(cwd, { recursive: true, force: true });
});

function run(env: Record<string, string>) {
  const app = bins.start(bin, { cwd, env });
  const started = () => app.lines().find((line) => line.msg === 'haia-api listening');
  return { ...app, started };
}

/** Waits up to 60 s: PGlite's first start on a busy machine can take many seconds. */
const until = (condition: () => boolean, what: string) => waitUntil(condition, what, 60_000);

const STACK_FRAME = /\n\s+at /;

describe('haia-api start-up configuration', () => {
  it('reads .env from the working directory, and the real environment wins over it', async () => {
    writeFileSync(
      join(cwd, '.env'),
      'HAIA_MODEL=openai:gpt-from-file\nOPENAI_API_KEY=sk-file\nPORT=1\nHAIA_DATA_DIR=./from-file\n',
    );
    const app = run({ PORT: '0' });
    await until(() => app.started() !== undefined, 'the start line');
    expect(app.started()).toMatchObject({ model: 'openai:gpt-from-file', database: 'pglite' });
    expect(String(app.started()?.url)).not.toMatch(/:1$/);
    expect((await fetch(`${app.started()?.url as string}/health`)).status).toBe(200);
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  }, 90_000);

  it('lists every problem at once, the cross-variable ones too, with no stack trace and no secret', async () => {
    writeFileSync(join(cwd, 'taken'), '');
    const app = run({
      PORT: '70000',
      HOST: '0.0.0.0',
      HAIA_MODEL: 'mistral:large',
      HAIA_CORS_ORIGINS: 'https://chat.example.com/c/1',
      HAIA_DATA_DIR: 'taken',
      PROXMOX_TOKEN_SECRET: 'hunter2-proxmox',
      MCP_CONFIG: 'nowhere.json',
      OPENAI_API_KEY: 'sk hunter2',
    });
    expect(await app.exited).toBe(1);
    const output = app.output();
    for (const variable of [
      'PORT="70000"',
      'HAIA_CORS_ORIGINS="https://chat.example.com/c/1"',
      'HAIA_MODEL="mistral:large"',
      'OPENAI_API_KEY="****"',
      'HAIA_API_KEYS is not set',
      'HAIA_DATA_DIR="taken"',
      'PROXMOX_URL is not set',
      'MCP_CONFIG="nowhere.json"',
    ]) {
      expect(output).toContain(variable);
    }
    expect(output).toContain('8 problems');
    expect(output).not.toContain('hunter2');
    expect(output).not.toMatch(STACK_FRAME);
  });

  it('refuses a non-loopback HOST without HAIA_API_KEYS, saying how to fix it', async () => {
    const app = run({ HOST: '0.0.0.0', PORT: '0' });
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain('HOST=0.0.0.0 is reachable from other machines: set HAIA_API_KEYS=');
  });

  it('stops on an invalid mcp_config.json with its problem, not a stack trace', async () => {
    writeFileSync(join(cwd, 'mcp_config.json'), '{"mcpServers":{"files":{"comand":"npx"}}}');
    const app = run({ PORT: '0', HAIA_DATA_DIR: join(cwd, 'data') });
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain('mcp_config.json has 1 problem');
    expect(app.output()).toContain('mcpServers.files');
    expect(app.output()).not.toMatch(STACK_FRAME);
  });

  it('stops with the store error, not a stack trace, when the embedded database cannot open', async () => {
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'data', 'pglite'), 'not a folder');
    const app = run({ PORT: '0', HAIA_DATA_DIR: join(cwd, 'data') });
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain('could not open');
    expect(app.output()).not.toMatch(STACK_FRAME);
  }, 60_000);

  it('says the port is taken, not a stack trace', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as { port: number };
      const app = run({ PORT: String(port), HAIA_DATA_DIR: join(cwd, 'data') });
      expect(await app.exited).toBe(1);
      expect(app.output()).toContain(`haia-api cannot listen: address already in use 127.0.0.1:${port}`);
      expect(app.output()).toContain('set PORT to a free port');
      expect(app.output()).not.toMatch(STACK_FRAME);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);
});

describe('haia-api signals', () => {
  let upstream: OpenAIFake;
  beforeEach(async () => {
    upstream = await startOpenAIFake();
  });
  afterEach(async () => {
    await upstream.close();
  });

  it('stops cleanly on SIGINT: exit 0 after the store is closed', async () => {
    const app = run({ PORT: '0', HAIA_DATA_DIR: join(cwd, 'data') });
    await until(() => app.started() !== undefined, 'the start line');
    app.child.kill('SIGINT');
    expect(await app.exited).toBe(0);
    const messages = app.lines().map((line) => line.msg);
    expect(messages.slice(-2)).toEqual(['stopping', 'stopped']);
    // The folder is free again: a new process opens it.
    const again = run({ PORT: '0', HAIA_DATA_DIR: join(cwd, 'data') });
    await until(() => again.started() !== undefined, 'the second start line');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 120_000);

  it('exits at once on a second signal while a turn keeps the shutdown waiting', async () => {
    upstream.setReply({ hang: true });
    const app = run({
      PORT: '0',
      HAIA_DATA_DIR: join(cwd, 'data'),
      HAIA_MODEL: 'openai-compatible:stuck',
      OPENAI_BASE_URL: upstream.baseURL,
    });
    await until(() => app.started() !== undefined, 'the start line');
    const chat = fetch(`${app.started()?.url as string}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'haia', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    }).catch(() => undefined);
    await until(() => upstream.requests.length > 0, 'the upstream request');
    app.child.kill('SIGTERM');
    await until(() => app.output().includes('"msg":"stopping"'), 'the stopping line');
    app.child.kill('SIGTERM');
    // 128 + SIGTERM's number: killed by the signal, not a clean stop.
    expect(await app.exited).toBe(143);
    expect(app.output()).toContain('second signal while stopping: exiting at once');
    await chat;
  }, 120_000);
});
