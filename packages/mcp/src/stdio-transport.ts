import { type ChildProcess, spawn } from 'node:child_process';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { JsonRpcLineReader } from './json-rpc-line-reader.js';
import type { Logger } from './logger.js';
import {
  classifyDroppedMessage,
  formatBytes,
  MESSAGE_TOO_LARGE_CODE,
  type MessageTooLargeData,
  messageTooLargeText,
} from './message-too-large.js';

/** Options of {@link StdioTransport}. */
export interface StdioTransportOptions {
  command: string;
  args: readonly string[];
  /** The child's complete environment: nothing else is inherited. */
  env: Record<string, string>;
  cwd?: string | undefined;
  /** Receives each line the child writes to stderr. */
  logger: Logger;
  /** How long to wait after closing stdin, and again after SIGTERM, before the next step. Default 2000. */
  shutdownGraceMs?: number;
  /**
   * Largest message accepted from the child, in bytes. Default 10 MiB. A larger answer to a request
   * fails that request alone (a JSON-RPC error with code `MESSAGE_TOO_LARGE_CODE`); the connection stays up.
   */
  maxMessageBytes?: number;
  /** Text replaced by `***` in logged stderr lines (the entry's secrets). */
  redact?: (text: string) => string;
}

const MAX_STDERR_LINE = 2000;
/** The SDK's own limit for one stdio message. */
const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
const isWindows = process.platform === 'win32';

/**
 * MCP over a child's stdin/stdout, like the SDK's `StdioClientTransport` but: the child gets exactly
 * `env` (the SDK also copies LOGNAME, SHELL, TERM and USER), stderr goes line by line to the logger,
 * the child leads its own process group so that `close()` also ends what it started (`npx` → `node`,
 * `sh -c …`), shutdown is: end stdin, wait, SIGTERM, wait, SIGKILL, with unref'd timers, and a message
 * over `maxMessageBytes` fails the one request it answered instead of closing the connection.
 *
 * Set `onmessage`/`onclose`/`onerror` before `start()`, as with every MCP transport.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #options: StdioTransportOptions;
  readonly #reader: JsonRpcLineReader;
  readonly #maxMessageBytes: number;
  /** Requests sent and not yet answered: JSON of the id → method. */
  readonly #pending = new Map<string, string>();
  #closeReason: string | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #hasExited = false;
  #closed = false;

  constructor(options: StdioTransportOptions) {
    this.#options = options;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#reader = new JsonRpcLineReader(this.#maxMessageBytes);
  }

  /** Why this transport closed the connection itself, when it did (otherwise the child went away). */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /** The child's process id once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    if (this.#child) throw new Error('StdioTransport already started');
    const options = this.#options;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(options.command, [...options.args], {
        env: options.env,
        cwd: options.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        detached: !isWindows,
        windowsHide: true,
      });
      this.#child = child;
      let spawned = false;
      let exited = () => {};
      this.#exited = new Promise((exitResolve) => {
        exited = exitResolve;
        child.once('exit', () => {
          this.#hasExited = true;
          exitResolve();
          if (spawned) this.#finish();
        });
      });
      child.once('spawn', () => {
        spawned = true;
        resolve();
      });
      child.on('error', (error) => {
        if (!spawned) {
          // It never ran (a command that does not exist): no 'exit' follows, so close() has nothing to wait for.
          this.#hasExited = true;
          exited();
          reject(error);
        } else this.onerror?.(error);
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => {
        if (this.#closed) return;
        for (const event of this.#reader.push(chunk)) {
          if (this.#closed) return; // closed over an oversized message: nothing after it is read
          if (event.kind === 'invalid') this.onerror?.(event.error);
          else if (event.kind === 'oversized') this.#dropOversized(event.bytes, event.head, event.tail);
          else {
            this.#noteAnswer(event.message);
            this.onmessage?.(event.message);
          }
        }
      });
      this.#pipeStderr(child);
    });
  }

  /** Remembers our requests until answered or cancelled, to fail the right one if its answer is too large. */
  #notePending(message: JSONRPCMessage): void {
    if (!('method' in message)) return;
    if ('id' in message) this.#pending.set(JSON.stringify(message.id), message.method);
    else if (message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
      if (requestId !== undefined) this.#pending.delete(JSON.stringify(requestId));
    }
  }

  #noteAnswer(message: JSONRPCMessage): void {
    if ('id' in message && !('method' in message)) this.#pending.delete(JSON.stringify(message.id));
  }

  /**
   * A message over the limit was skipped. An answer to one of our waiting requests becomes a JSON-RPC
   * error for that request alone; a server request or notification, or a late answer, is dropped; a
   * message that does not show what it is closes the connection (the caller reconnects), reason kept.
   */
  #dropOversized(bytes: number, head: string, tail: string): void {
    const dropped = classifyDroppedMessage(head, tail);
    const fields = { bytes, limitBytes: this.#maxMessageBytes };
    if (dropped.kind === 'answer') {
      const key = JSON.stringify(dropped.id);
      const method = this.#pending.get(key);
      this.#options.logger.warn({ ...fields, method }, 'mcp message too large');
      if (method === undefined) return; // the request already gave up (timed out or cancelled)
      this.#pending.delete(key);
      const data: MessageTooLargeData = { reason: 'message-too-large', ...fields, method };
      const error = { code: MESSAGE_TOO_LARGE_CODE, message: messageTooLargeText(data), data };
      this.onmessage?.({ jsonrpc: '2.0', id: dropped.id, error });
      return;
    }
    if (dropped.kind === 'server-message') {
      this.#options.logger.warn(fields, 'mcp message too large');
      return;
    }
    this.#closeReason =
      `the server sent a message of ${formatBytes(bytes)}, over the limit of ${formatBytes(this.#maxMessageBytes)}, ` +
      'that does not show which request it answers, so the connection was closed to start afresh';
    this.#options.logger.warn(fields, 'mcp message too large');
    this.onerror?.(new Error(this.#closeReason));
    void this.close();
  }

  #pipeStderr(child: ChildProcess): void {
    let pending = '';
    const redact = this.#options.redact ?? ((text: string) => text);
    const emit = (line: string) => {
      if (line.trim() === '') return;
      const cut = line.length > MAX_STDERR_LINE ? `${line.slice(0, MAX_STDERR_LINE)}…` : line;
      this.#options.logger.info({ stream: 'stderr', line: redact(cut) }, 'mcp server stderr');
    };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      if (pending.length > MAX_STDERR_LINE) {
        emit(pending);
        pending = '';
      }
      for (const line of lines) emit(line);
    });
    child.stderr?.on('end', () => {
      emit(pending);
      pending = '';
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (!stdin || this.#hasExited || this.#closed)
      throw new Error('Not connected: the MCP server process is not running');
    this.#notePending(message);
    await new Promise<void>((resolve, reject) => {
      const ok = stdin.write(serializeMessage(message), (error) => (error ? reject(error) : undefined));
      if (ok) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /** Ends stdin, waits, SIGTERM, waits, SIGKILL: to the child and everything in its process group. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child || this.#closed) {
      this.#closed = true;
      return;
    }
    this.#closed = true;
    const grace = this.#options.shutdownGraceMs ?? 2000;
    try {
      child.stdin?.end();
    } catch {
      // already closed
    }
    await this.#waitForExit(grace);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (this.#hasExited && !groupAlive(child.pid)) break;
      sendSignal(child, signal);
      await this.#waitForExit(grace, true);
    }
    this.#reader.clear();
    this.#pending.clear();
    this.#finish();
  }

  /** Waits up to `ms` for the child to exit (and, with `group`, for its whole process group). */
  async #waitForExit(ms: number, group = false): Promise<void> {
    const child = this.#child;
    const deadline = Date.now() + ms;
    await Promise.race([this.#exited, delay(ms)]);
    if (!group || !child) return;
    while (groupAlive(child.pid) && Date.now() < deadline) await delay(10);
  }

  #finished = false;
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.onclose?.();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** True while any process of the child's group is alive (POSIX); on Windows, while the child is. */
function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(isWindows ? pid : -pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sendSignal(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (!isWindows && child.pid !== undefined) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // gone
    }
  }
}
