/** The part of a pino logger `@haia/notify` uses. */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/** Drops everything: the default. */
export const noopLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
