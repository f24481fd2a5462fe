import type { AppConfig } from '@haia/config';
import { type Logger, pino } from 'pino';

/** The app's root logger: JSON lines, or pino-pretty for a person at a terminal. */
export function createLogger(app: Pick<AppConfig, 'logLevel' | 'logFormat'>): Logger {
  return pino({
    level: app.logLevel,
    base: { service: 'haia-api' },
    ...(app.logFormat === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
  });
}
