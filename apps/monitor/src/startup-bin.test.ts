import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBins, startTelegramFake, type TelegramFake, waitUntil } from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * Start-up and signals of the built `haia-monitor` bin (`cd apps/monitor && pnpm build` first), with
 * chosen environments and a scratch working directory.
 */
const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOKEN = '9:SECRET-startup-token';
const STACK_FRAME = /\n\s+at /;
const bins = startBins();
let cwd: string;
let telegram: TelegramFake;
let cluster: { server: Server; sockets: Set<Socket>; url: string };

/** A "cluster" that accepts connections and never answers: every check hangs. */
async function startHungCluster() {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, sockets, url: `https://127.0.0.1:${port}` };
}

beforeEach(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'haia-monitor-startup-'));
  telegram = await startTelegramFake({ token: TOKEN, chats: ['5'] });
  cluster = await startHungCluster();
});
afterEach(async () => {
  bins.killAll();
  for (const socket of cluster.sockets) socket.destroy();
  await Promise.all([telegram.close(), new Promise((resolve) => cluster.server.close(resolve))]);
  rmSync(cwd, { recursive: true, force: true });
});

function run(env: Record<string, string>) {
  return bins.start(bin, {
    cwd,
    env: {
      PROXMOX_URL: cluster.url,
      PROXMOX_TOKEN_ID: 'haia@pve!monitor',
      PROXMOX_TOKEN_SECRET: 'hunter2-secret',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_CHAT_ID: '5',
      TELEGRAM_API_URL: telegram.url,
      HAIA_MONITOR_PORT: '0',
      HAIA_DATA_DIR: join(cwd, 'data'),
      ...env,
    },
  });
}

/** Waits up to a minute: the bin starts a PGlite, slow on a busy machine. */
const until = (condition: () => boolean, what: string) => waitUntil(condition, what, 60_000);

describe('haia-monitor start-up', () => {
  it('says the port is taken, without a stack trace, and checks nothing', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as { port: number };
      const app = run({ HAIA_MONITOR_PORT: String(port) });
      expect(await app.exited).toBe(1);
      expect(app.output()).toContain(`haia-monitor cannot listen: address already in use 127.0.0.1:${port}`);
      expect(app.output()).toContain('set HAIA_MONITOR_PORT to a free port');
      expect(app.output()).not.toMatch(STACK_FRAME);
      expect(app.output()).not.toContain('monitor scheduled');
      expect(cluster.sockets.size).toBe(0);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 90_000);

  it('stops with the store error, not a stack trace, when the embedded database cannot open', async () => {
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'data', 'monitor-db'), 'not a folder');
    const app = run({});
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain('could not open');
    expect(app.output()).not.toMatch(STACK_FRAME);
    expect(app.output()).not.toContain('hunter2');
  }, 60_000);

  it('lists every bad value and half-given setting at once', async () => {
    const app = run({ HAIA_MONITOR_PORT: 'x', PROXMOX_URL: '', NTFY_TOKEN: 'tk_hunter2' });
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain('HAIA_MONITOR_PORT="x"');
    expect(app.output()).toContain('PROXMOX_URL is not set');
    expect(app.output()).toContain('NTFY_URL is not set');
    expect(app.output()).not.toContain('hunter2');
  });
});

describe('haia-monitor signals', () => {
  it('stops cleanly on SIGINT: exit 0 after the store is closed', async () => {
    const app = run({});
    await until(() => app.output().includes('haia-monitor running'), 'the start line');
    app.child.kill('SIGINT');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('"msg":"stopped"');
  }, 90_000);

  it('exits at once on a second signal while a hung check keeps the shutdown waiting', async () => {
    const app = run({});
    await until(() => app.output().includes('haia-monitor running'), 'the start line');
    await until(() => cluster.sockets.size > 0, 'a check in flight');
    app.child.kill('SIGTERM');
    await until(() => app.output().includes('"msg":"stopping"'), 'the stopping line');
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(143);
    expect(app.output()).toContain('second signal while stopping: exiting at once');
    expect(telegram.messages).toHaveLength(0);
  }, 90_000);
});
