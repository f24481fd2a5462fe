import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, flushLogger } from './logger.js';

const app = { logLevel: 'info', logFormat: 'json' } as const;
const folders: string[] = [];

function folder(): string {
  const path = mkdtempSync(join(tmpdir(), 'haia-logger-'));
  folders.push(path);
  return path;
}

afterEach(() => {
  for (const path of folders.splice(0)) rmSync(path, { recursive: true, force: true });
});

describe('createLogger', () => {
  it('writes JSON lines with the service name', async () => {
    const file = join(folder(), 'out.log');
    const logger = createLogger(app, { dest: file });
    logger.child({ requestId: 'r-1' }).info({ route: '/health' }, 'request');
    await flushLogger(logger);
    const [line] = readFileSync(file, 'utf8').trim().split('\n');
    expect(JSON.parse(line ?? '')).toMatchObject({
      service: 'haia-api',
      requestId: 'r-1',
      route: '/health',
      msg: 'request',
    });
  });

  it('keeps a bounded backlog when nothing reads its output, and says how many lines it dropped', async () => {
    // A named pipe with a reader that never reads: the kernel's pipe buffer fills, then the
    // logger's own backlog, then lines are dropped.
    const fifo = join(folder(), 'stalled');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const notices: number[] = [];
    let clock = 0;
    const logger = createLogger(app, {
      dest: fifo,
      maxBacklogBytes: 256 * 1024,
      onDropped: (lines) => notices.push(lines),
      now: () => clock,
    });
    try {
      // Wait for the logger to open the pipe.
      await new Promise<void>((resolve) => setTimeout(resolve, 50));
      const text = 'x'.repeat(1000);
      for (let index = 0; index < 2000; index++) {
        logger.info({ index, text }, 'line');
        if (index % 100 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // About 2 MB were logged into 64 KiB of pipe and 256 KiB of backlog: most lines were dropped,
      // with one notice (the next would wait a minute).
      expect(notices).toHaveLength(1);
      clock += 60_000;
      logger.info({ text }, 'one more');
      expect(notices).toHaveLength(2);
      expect(notices[1]).toBeGreaterThan(1000);
      expect(notices[1]).toBeLessThan(2001);
    } finally {
      const stream = (logger as unknown as Record<symbol, NodeJS.WritableStream & { destroy(): void }>)[
        pino.symbols.streamSym
      ];
      stream?.on('error', () => {});
      stream?.destroy();
      closeSync(reader);
    }
  });
});
