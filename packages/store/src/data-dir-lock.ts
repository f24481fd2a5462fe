import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { StoreError } from './store-error.js';

/** The lock on an embedded database's folder, held while the store is open. */
export interface DataDirLock {
  /** Lets another process open the folder (idempotent). */
  release(): Promise<void>;
}

/** Longest Unix socket path every platform takes (Linux allows 107 bytes, macOS 103). */
const MAX_SOCKET_PATH_BYTES = 100;

/** How long a check for a live holder waits for the socket to answer. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Where the lock of `dataDir` listens: a Unix socket beside the folder (`<dataDir>.lock.sock`, not
 * inside it: PGlite creates a new database only in an empty folder), in the temporary folder when
 * that path is too long for a socket, and a named pipe on Windows.
 */
export function lockSocketPath(dataDir: string): string {
  const absolute = resolve(dataDir);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 16);
  if (process.platform === 'win32') return `\\\\?\\pipe\\haia-pglite-${hash}`;
  const beside = `${absolute}.lock.sock`;
  return Buffer.byteLength(beside) <= MAX_SOCKET_PATH_BYTES
    ? beside
    : resolve(tmpdir(), `haia-pglite-${hash}.sock`);
}

/**
 * Takes the lock on an embedded database's folder, or fails with `StoreError('unavailable')` when
 * another live process holds it: PGlite serves one process, and two writing one folder corrupt it.
 * The lock is a socket the holder listens on, so it dies with its process however that ends (a
 * crash or `kill -9` leaves only a socket file nobody answers on, which the next start replaces):
 * no stale lock, and no PID that a container restart or another process could have taken over.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = lockSocketPath(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const server = await listen(path);
      // The lock never keeps the process alive on its own.
      server.unref();
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await new Promise<void>((done) => server.close(() => done()));
          if (process.platform !== 'win32') await unlink(path).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      if (await answers(path)) throw inUse(dataDir);
      // The socket of a process that died: nobody answers on it any more.
      await unlink(path).catch(() => {});
    }
  }
  throw inUse(dataDir);
}

function listen(path: string): Promise<Server> {
  return new Promise((done, fail) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', fail);
    server.listen(path, () => {
      server.off('error', fail);
      done(server);
    });
  });
}

/** True when a live process listens on `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection(path);
    const finish = (live: boolean) => {
      socket.destroy();
      done(live);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => finish(true));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function inUse(dataDir: string): StoreError {
  return new StoreError({
    code: 'unavailable',
    message: `The embedded database (PGlite) in ${dataDir} is already open in another process (another haia-api or haia-monitor with the same HAIA_DATA_DIR?): PGlite serves one process, and two would corrupt it. Stop the other process, give this one a HAIA_DATA_DIR of its own, or set DATABASE_URL to a PostgreSQL server to run several processes on one database`,
  });
}
