import type { ProxmoxLogger } from '../logger.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/**
 * A JSON-lines logger on stderr for the MCP bin: stdout carries the MCP protocol over stdio, so
 * nothing else may be written there.
 */
export function createStderrLogger(
  level: string,
  write: (line: string) => void = (line) => process.stderr.write(line),
  bindings: Record<string, unknown> = {},
): ProxmoxLogger {
  const threshold = Math.max(0, LEVELS.indexOf(level as (typeof LEVELS)[number]));
  const log = (name: (typeof LEVELS)[number]) => (object: object, message?: string) => {
    if (LEVELS.indexOf(name) < threshold) return;
    write(
      `${JSON.stringify({ level: name, time: new Date().toISOString(), ...bindings, ...object, msg: message })}\n`,
    );
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => createStderrLogger(level, write, { ...bindings, ...more }),
  };
}
