import { deserializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** How much of the start and of the end of an oversized line is kept, to tell which request it answers. */
const KEPT_EDGE_BYTES = 1024;

/** What one line of a stdio server's output turned out to be. */
export type LineReaderEvent =
  /** A JSON-RPC message. */
  | { kind: 'message'; message: JSONRPCMessage }
  /** A line that is not a JSON-RPC message (bad JSON or the wrong shape). */
  | { kind: 'invalid'; error: Error }
  /** A line longer than the limit: dropped, only its size and its first and last bytes kept. */
  | { kind: 'oversized'; bytes: number; head: string; tail: string };

/**
 * Splits a stdio server's output into newline-delimited JSON-RPC messages, like the SDK's `ReadBuffer`,
 * except that a message larger than `maxMessageBytes` is dropped on its own (the reader skips to the
 * next newline and reports its size) instead of breaking the whole stream, and that a long message is
 * joined once instead of being copied on every chunk.
 */
export class JsonRpcLineReader {
  readonly #maxMessageBytes: number;
  #parts: Buffer[] = [];
  #bytes = 0;
  #oversized = false;
  #head: Buffer = Buffer.alloc(0);
  #tail: Buffer = Buffer.alloc(0);

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Feeds one chunk of output; returns every line it completed, in order. */
  push(chunk: Buffer): LineReaderEvent[] {
    const events: LineReaderEvent[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) break;
      this.#add(chunk.subarray(start, newline));
      const event = this.#endLine();
      if (event) events.push(event);
      start = newline + 1;
    }
    if (start < chunk.length) this.#add(chunk.subarray(start));
    return events;
  }

  /** Forgets a partial line (on close). */
  clear(): void {
    this.#reset();
  }

  #add(segment: Buffer): void {
    if (segment.length === 0) return;
    if (!this.#oversized && this.#bytes + segment.length > this.#maxMessageBytes) {
      const sofar = Buffer.concat([...this.#parts, segment]);
      this.#head = Buffer.from(sofar.subarray(0, KEPT_EDGE_BYTES));
      this.#tail = Buffer.from(sofar.subarray(Math.max(0, sofar.length - KEPT_EDGE_BYTES)));
      this.#parts = [];
      this.#oversized = true;
      this.#bytes += segment.length;
      return;
    }
    this.#bytes += segment.length;
    if (this.#oversized) {
      const joined = Buffer.concat([
        this.#tail,
        segment.subarray(Math.max(0, segment.length - KEPT_EDGE_BYTES)),
      ]);
      this.#tail = Buffer.from(joined.subarray(Math.max(0, joined.length - KEPT_EDGE_BYTES)));
    } else {
      this.#parts.push(segment);
    }
  }

  #endLine(): LineReaderEvent | undefined {
    if (this.#oversized) {
      const event: LineReaderEvent = {
        kind: 'oversized',
        bytes: this.#bytes,
        head: this.#head.toString('utf8'),
        tail: this.#tail.toString('utf8').replace(/\r$/, ''),
      };
      this.#reset();
      return event;
    }
    const line = Buffer.concat(this.#parts).toString('utf8').replace(/\r$/, '');
    this.#reset();
    if (line.trim() === '') return undefined;
    try {
      return { kind: 'message', message: deserializeMessage(line) };
    } catch (error) {
      return { kind: 'invalid', error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  #reset(): void {
    this.#parts = [];
    this.#bytes = 0;
    this.#oversized = false;
    this.#head = Buffer.alloc(0);
    this.#tail = Buffer.alloc(0);
  }
}
