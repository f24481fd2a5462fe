/** The part of a pino logger the client uses; pass pino itself or anything shaped like it. */
export interface ProxmoxLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  child(bindings: Record<string, unknown>): ProxmoxLogger;
}

/** A logger that drops everything: the default, so the client is silent unless given one. */
export const noopProxmoxLogger: ProxmoxLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopProxmoxLogger;
  },
};
