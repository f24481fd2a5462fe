import type { Logger } from './logger.js';

/**
 * A logger that writes through `base` with `bindings` added to each line: what
 * `base.child(bindings)` does, without making a pino child per call. A pino child is an object
 * whose prototype is its parent, so a child made for every request turns the request's logger
 * into a prototype each time (slow in V8, and it leaves the loggers' property reads megamorphic):
 * in a short chat turn that was about 2 % of the server's CPU. Lines are rare next to calls, so
 * merging the bindings into the line when one is written costs less. `child` binds more the same way.
 *
 * Each key is written once. Among this logger's bindings, a `child`'s and the line's own object
 * the most specific wins (the line's, then the latest `child`'s), as a pino child's would not: pino
 * writes a key its child binds and a line's key of the same name both. A key that `base` itself
 * binds (a pino child's, from its `bindings()`) is already in every line pino writes and cannot be
 * taken out, so it keeps `base`'s value and is left out of the merged line. Bind with `bindLogger`,
 * not `child`, the keys a later layer may set again (HAIA's `component`, `tool`, ...).
 */
export function bindLogger(base: Logger, bindings: Record<string, unknown>): Logger {
  // Read when the first line is written, not per call: most bound loggers never write one, and
  // pino parses its serialised child bindings for `bindings()`.
  let inherited: readonly string[] | undefined;
  let own = bindings;
  const merge = (object: object): object => {
    if (inherited === undefined) {
      inherited = Object.keys((base as { bindings?: () => object }).bindings?.() ?? {});
      if (inherited.some((key) => key in bindings)) {
        own = { ...bindings };
        for (const key of inherited) delete own[key];
      }
    }
    // Object.assign, not `{ ...bindings, ...object }`: V8 built that double spread as a new
    // dictionary-backed object of about 4.7 KB for a call record, against 0.4 KB this way.
    const merged: Record<string, unknown> =
      object instanceof Error ? Object.assign({}, own, { err: object }) : Object.assign({}, own, object);
    // Only a line that names a key of `base` pays for the delete.
    for (const key of inherited) if (key in merged) delete merged[key];
    return merged;
  };
  // A debug line is usually off: no merged copy for a line pino would drop.
  const levels = base as { isLevelEnabled?: (level: string) => boolean };
  return {
    debug: (object, message) => {
      if (levels.isLevelEnabled?.('debug') === false) return;
      base.debug(merge(object), message);
    },
    info: (object, message) => base.info(merge(object), message),
    warn: (object, message) => base.warn(merge(object), message),
    error: (object, message) => base.error(merge(object), message),
    child: (more) => bindLogger(base, { ...bindings, ...more }),
  };
}
