/**
 * A stdio server's answer too large to read: the stdio transport drops it and answers the request in
 * its place with a JSON-RPC error carrying {@link MessageTooLargeData}, so that one oversized tool
 * result fails that one call while the connection stays up.
 */

/** The JSON-RPC error code of that stand-in answer (in the range JSON-RPC leaves to implementations). */
export const MESSAGE_TOO_LARGE_CODE = -32099;

/** The `data` of that stand-in error. */
export interface MessageTooLargeData {
  reason: 'message-too-large';
  /** Size of the dropped message. */
  bytes: number;
  /** The largest message accepted. */
  limitBytes: number;
  /** The request it answered, such as `tools/call`. */
  method?: string | undefined;
}

/** True for the `data` of the stand-in error (and not for a server's own error that reuses the code). */
export function isMessageTooLarge(data: unknown): data is MessageTooLargeData {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { reason?: unknown }).reason === 'message-too-large' &&
    typeof (data as { bytes?: unknown }).bytes === 'number' &&
    typeof (data as { limitBytes?: unknown }).limitBytes === 'number'
  );
}

/** `11534336 bytes (11.0 MiB)`. */
export function formatBytes(bytes: number): string {
  return `${bytes} bytes (${(bytes / (1024 * 1024)).toFixed(1)} MiB)`;
}

const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
/** `{"jsonrpc":"2.0","id":7,…` or `{"id":7,…`: the id first (Python, Go and Rust SDKs). */
const ID_FIRST = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}`);
/** `…,"jsonrpc":"2.0","id":7}`: the id last (the TypeScript SDK). */
const ID_LAST = new RegExp(String.raw`"id"\s*:\s*${ID}\s*\}\s*$`);
/** A request or notification from the server rather than an answer. */
const METHOD_FIRST = new RegExp(
  String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?(?:"id"\s*:\s*${ID}\s*,\s*)?"method"\s*:`,
);

/** What the first and last bytes of a dropped message show it to be. */
export type DroppedMessageKind =
  /** An answer to the request with this id. */
  | { kind: 'answer'; id: string | number }
  /** A request or notification of the server's. */
  | { kind: 'server-message' }
  /** They do not say. */
  | { kind: 'unknown' };

/** Tells from a dropped message's first and last bytes what it was (an answer: to which request). */
export function classifyDroppedMessage(head: string, tail: string): DroppedMessageKind {
  if (METHOD_FIRST.test(head)) return { kind: 'server-message' };
  const match = ID_FIRST.exec(head) ?? ID_LAST.exec(tail);
  if (!match?.[1]) return { kind: 'unknown' };
  try {
    const id: unknown = JSON.parse(match[1]);
    return typeof id === 'string' || typeof id === 'number' ? { kind: 'answer', id } : { kind: 'unknown' };
  } catch {
    return { kind: 'unknown' };
  }
}

/** What the stand-in error says: the size, the limit, and what to do about it. */
export function messageTooLargeText(data: MessageTooLargeData): string {
  return (
    `The MCP server's answer${data.method ? ` to ${data.method}` : ''} was ${formatBytes(data.bytes)}, ` +
    `over the limit of ${formatBytes(data.limitBytes)} for one message; it was dropped and the server ` +
    'stays connected. Ask for less: narrower arguments (a filter, a smaller range, a page or a limit), ' +
    'or a tool that returns a summary.'
  );
}
