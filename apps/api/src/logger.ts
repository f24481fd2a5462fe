import { writeSync } from 'node:fs';
import type { AppConfig } from '@haia/config';
import { type Logger, pino } from 'pino';

/** Log lines gathered before a write to stdout (JSON format). */
const LOG_BUFFER_BYTES = 4096;
/** Longest a JSON log line waits in the buffer. */
const LOG_FLUSH_INTERVAL_MS = 100;
/**
 * Most log output held while stdout is not being read (a stalled pipe or collector): lines past
 * it are dropped rather than kept in memory without bound.
 */
export const LOG_BACKLOG_MAX_BYTES = 16 * 1024 * 1024;
/** Least time between two "lines dropped" notices on stderr. */
const DROP_NOTICE_INTERVAL_MS = 60_000;

/** Where {@link createLogger} writes, for tests; the defaults are stdout and stderr. */
export interface LoggerOutput {
  /** A file descriptor or path for the JSON lines (default 1, stdout). */
  dest?: number | string;
  /** The backlog limit (default {@link LOG_BACKLOG_MAX_BYTES}). */
  maxBacklogBytes?: number;
  /** Told how many lines were dropped since the last notice (default: one line on stderr). */
  onDropped?: (lines: number) => void;
  /** Clock in ms for spacing the notices (default `Date.now`). */
  now?: () => number;
}

function noticeOnStderr(lines: number): void {
  try {
    writeSync(
      2,
      `haia-api: standard output is not being read; ${lines} log line(s) dropped so far. Check the process that collects HAIA's logs.\n`,
    );
  } catch {
    // stderr is gone too: nothing more to do.
  }
}

/**
 * The app's root logger: JSON lines, or pino-pretty for a person at a terminal. A chat request gets
 * a child bound to its `requestId`, passed explicitly to the agent run, the model calls and the
 * tools (no AsyncLocalStorage: its promise hooks cost more than the rest of a request). JSON lines
 * go to stdout asynchronously and buffered: written once 4 KiB have gathered or every 100 ms,
 * whichever comes first, so a busy server makes a few `write(2)` calls a second instead of one or
 * two per request; {@link flushLogger} drains it (pino also flushes on process exit). When nothing
 * reads stdout, at most 16 MiB wait; later lines are dropped and counted on stderr (once a minute).
 */
export function createLogger(
  app: Pick<AppConfig, 'logLevel' | 'logFormat'>,
  output: LoggerOutput = {},
): Logger {
  const options = { level: app.logLevel, base: { service: 'haia-api' } };
  if (app.logFormat === 'pretty') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  const destination = pino.destination({
    dest: output.dest ?? 1,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
    maxLength: output.maxBacklogBytes ?? LOG_BACKLOG_MAX_BYTES,
  });
  const onDropped = output.onDropped ?? noticeOnStderr;
  const now = output.now ?? Date.now;
  let dropped = 0;
  let noticedAt = Number.NEGATIVE_INFINITY;
  // pino writes one line per write, so one drop is one line.
  destination.on('drop', () => {
    dropped++;
    if (now() - noticedAt < DROP_NOTICE_INTERVAL_MS) return;
    noticedAt = now();
    onDropped(dropped);
  });
  return pino(options, destination);
}

/** Writes out every buffered line; call before `process.exit`. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
