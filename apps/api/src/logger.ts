import type { AppConfig } from '@haia/config';
import { type Logger, pino } from 'pino';

/** Log lines gathered before a write to stdout (JSON format). */
const LOG_BUFFER_BYTES = 4096;
/** Longest a JSON log line waits in the buffer. */
const LOG_FLUSH_INTERVAL_MS = 100;

/**
 * The app's root logger: JSON lines, or pino-pretty for a person at a terminal. A chat request gets
 * a child bound to its `requestId`, passed explicitly to the agent run, the model calls and the
 * tools (no AsyncLocalStorage: its promise hooks cost more than the rest of a request). JSON lines
 * go to stdout asynchronously and buffered: written once 4 KiB have gathered or every 100 ms,
 * whichever comes first, so a busy server makes a few `write(2)` calls a second instead of one or
 * two per request; {@link flushLogger} drains it (pino also flushes on process exit).
 */
export function createLogger(app: Pick<AppConfig, 'logLevel' | 'logFormat'>): Logger {
  const options = { level: app.logLevel, base: { service: 'haia-api' } };
  if (app.logFormat === 'pretty') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(
    options,
    pino.destination({
      dest: 1,
      sync: false,
      minLength: LOG_BUFFER_BYTES,
      periodicFlush: LOG_FLUSH_INTERVAL_MS,
    }),
  );
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
