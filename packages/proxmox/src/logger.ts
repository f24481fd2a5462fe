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

/**
 * `logger.child(bindings)` less the keys `logger` already binds (a pino child's, from its
 * `bindings()`): pino writes a key once per binding of it, so a second `component` would follow the
 * first on every line. Such a key keeps the value `logger` gave it.
 */
export function childLogger<Bound extends { child(bindings: Record<string, unknown>): Bound }>(
  logger: Bound,
  bindings: Record<string, unknown>,
): Bound {
  const bound = (logger as { bindings?: () => object }).bindings?.();
  if (bound === undefined) return logger.child(bindings);
  const kept = Object.entries(bindings).filter(([key]) => !(key in bound));
  return kept.length === 0 ? logger : logger.child(Object.fromEntries(kept));
}
