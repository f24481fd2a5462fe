import type { ToolContext } from '@haia/agent';

/** The part of a pino logger `@haia/mcp` uses (the same shape `@haia/agent` and `@haia/llm` take). */
export type Logger = ToolContext<unknown>['logger'];

/** A logger that drops everything: the default, so the library is silent unless given one. */
export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger;
  },
};
