/**
 * The one seam between the store's SQL and the two drivers (postgres.js, PGlite). Both run the same
 * SQL text with `$1`-style parameters; the differences in what they return are smoothed here.
 */

/** Something that runs SQL: the driver itself or an open transaction. */
export interface Queryable {
  /** Runs one statement with `$1`-style parameters and returns its rows. */
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

/** A connection taken out of the pool; `release()` gives it back (and ends its session locks). */
export interface ReservedConnection extends Queryable {
  release(): Promise<void>;
}

/** What a {@link Driver.listen} listener is told. */
export interface ListenHandlers {
  /** A notification on the channel, with its payload. */
  onNotify(payload: string): void;
  /**
   * Listening began (true) or stopped (false: its connection closed; notifications sent until it
   * listens again are missed). A dropped listener listens again by itself.
   */
  onListening(listening: boolean): void;
}

/** A connection (pool) to one database. */
export interface Driver extends Queryable {
  readonly backend: 'postgres' | 'pglite';
  /** `host:port/database` or the data directory: safe to show (no password). */
  readonly target: string;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (transaction: Queryable) => Promise<T>): Promise<T>;
  /**
   * A connection of its own, kept out of the pool until released (for session-level advisory locks);
   * undefined on PGlite, which is one connection in one process.
   */
  reserve?(): Promise<ReservedConnection>;
  /**
   * Listens on a `LISTEN` channel until the returned function is called (or the driver closes),
   * on a connection of its own, and listens again after that connection drops.
   */
  listen(channel: string, handlers: ListenHandlers): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** A bigint column as a number (postgres.js returns int8 as a string, PGlite as a number). */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return Number(value);
  throw new TypeError(`expected a number, got ${typeof value}`);
}

/** A timestamptz column as a Date (both drivers return Dates; strings are accepted to be safe). */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') return new Date(value);
  throw new TypeError(`expected a timestamp, got ${typeof value}`);
}

/** A jsonb column as a value (both drivers parse jsonb; a string that is JSON text is parsed). */
export function toJson(value: unknown): unknown {
  return value;
}

/**
 * `\u0000` and `\ud800`-`\udfff` escapes in JSON text (not an escaped backslash followed by such
 * letters). `JSON.stringify` escapes a surrogate only when it is unpaired, so every surrogate escape
 * in its output is a lone one.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/**
 * JSON text from `JSON.stringify` made storable as jsonb, which cannot hold the NUL character (a
 * pasted binary snippet can bring one in a message) nor an unpaired surrogate (half of an emoji cut
 * by a client): each is stored as U+FFFD (the replacement character) rather than refusing the whole
 * message. The prefix hashes agree: they hash UTF-8, where an unpaired surrogate is U+FFFD already.
 */
export function storableJson(text: string): string {
  return text.includes('\\u') ? text.replace(UNSTORABLE_ESCAPE, '$1\\ufffd') : text;
}

/** An unpaired surrogate (matched as UTF-16 code units, so no `u` flag). */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text for a column that also goes into JSON (a message's model), with each unpaired surrogate as
 * U+FFFD, as {@link storableJson} and a text parameter store it. (A NUL character is refused
 * there, as in any text column.)
 */
export function storableText(text: string): string {
  return text.replace(UNPAIRED_SURROGATE, '\ufffd');
}

/**
 * A value as a jsonb parameter: always passed as JSON text (see {@link storableJson}) and cast in
 * SQL with `$n::text::jsonb`.
 */
export function jsonParameter(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return storableJson(JSON.stringify(value));
}
