import type { AppConfig } from '@haia/config';
import { type Logger, pino } from 'pino';
import { requestIdMixin } from './request-context.js';

/**
 * The app's root logger: JSON lines, or pino-pretty for a person at a terminal. Every line written
 * while a request is answered (by the agent, the model, a tool) carries its `requestId`. JSON lines
 * go to stdout asynchronously (sonic-boom coalesces the lines written while a write is in flight),
 * so logging costs no blocking write per line under load; {@link flushLogger} drains it before exit.
 */
export function createLogger(app: Pick<AppConfig, 'logLevel' | 'logFormat'>): Logger {
  const options = { level: app.logLevel, base: { service: 'haia-api' }, mixin: requestIdMixin };
  if (app.logFormat === 'pretty') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(options, pino.destination({ dest: 1, sync: false, minLength: 0 }));
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
