import type { Logger } from '../logger.js';

/** One line a {@link recordingLogger} received: its level, message and fields with the bindings. */
export interface RecordedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string | undefined;
  fields: Record<string, unknown>;
}

/**
 * A logger that keeps its lines in memory, each with the bindings of the child that wrote it, and
 * counts the children made: for asserting which logger a store call wrote to, and that it wrote
 * nothing (made no child) when the call succeeded.
 */
export function recordingLogger(bindings: Record<string, unknown> = {}): {
  logger: Logger;
  lines: RecordedLine[];
  children: () => number;
} {
  const lines: RecordedLine[] = [];
  let children = 0;
  const make = (bound: Record<string, unknown>): Logger => {
    const log =
      (level: RecordedLine['level']) =>
      (object: object, message?: string): void => {
        lines.push({ level, message, fields: { ...bound, ...object } });
      };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child(more) {
        children++;
        return make({ ...bound, ...more });
      },
    };
  };
  return { logger: make(bindings), lines, children: () => children };
}
