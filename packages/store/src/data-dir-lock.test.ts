import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore } from './create-store.js';
import { lockSocketPath } from './data-dir-lock.js';
import { StoreError } from './store-error.js';

let folder: string;
let dataDir: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'haia-lock-'));
  dataDir = join(folder, 'pglite');
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Runs a plain node process that listens on the lock's socket, as another store would. */
function holder(path: string, { crash }: { crash: boolean }) {
  const script = `const server = require('node:net').createServer((s) => s.destroy());
server.listen(process.argv[1], () => {
  process.stdout.write('listening\\n');
  if (${crash}) process.kill(process.pid, 'SIGKILL');
});`;
  const child = spawn(process.execPath, ['-e', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const listening = new Promise<void>((done) => child.stdout.once('data', () => done()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return { child, listening, exited };
}

describe('one process per embedded database folder', () => {
  it('refuses a second store on an open folder, with what to do, and opens again once it closes', async () => {
    const first = await createStore({ dataDir });
    try {
      const second = createStore({ dataDir });
      await expect(second).rejects.toSatisfy(
        (error) => StoreError.isInstance(error) && (error as StoreError).code === 'unavailable',
      );
      await expect(second).rejects.toThrow(/already open in another process.*DATABASE_URL/s);
      // The first store is untouched by the refused one.
      const turn = await first.resolveConversation({ messages: [{ role: 'user', content: 'still here?' }] });
      expect(turn.created).toBe(true);
    } finally {
      await first.close();
    }
    const again = await createStore({ dataDir });
    expect((await again.listConversations()).conversations).toHaveLength(1);
    await again.close();
    expect(existsSync(lockSocketPath(dataDir))).toBe(false);
  });

  it('refuses while another live process holds the folder', async () => {
    const other = holder(lockSocketPath(dataDir), { crash: false });
    try {
      await other.listening;
      await expect(createStore({ dataDir })).rejects.toThrow(/already open in another process/);
    } finally {
      other.child.kill('SIGTERM');
      await other.exited;
    }
  });

  it('takes over the folder of a process that was killed (its socket file left behind)', async () => {
    const crashed = holder(lockSocketPath(dataDir), { crash: true });
    await crashed.exited;
    expect(existsSync(lockSocketPath(dataDir))).toBe(true);
    const store = await createStore({ dataDir });
    expect((await store.listConversations()).conversations).toEqual([]);
    await store.close();
  });

  it('keeps a lock path short enough for a socket, beside the folder when it fits', () => {
    const deep = join(folder, 'x'.repeat(120), 'pglite');
    expect(Buffer.byteLength(lockSocketPath(deep))).toBeLessThanOrEqual(100);
    expect(lockSocketPath(deep)).toBe(lockSocketPath(deep));
    expect(lockSocketPath(dataDir)).toBe(`${dataDir}.lock.sock`);
  });
});
