import { type ChildProcess, spawn } from 'node:child_process';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from './logger.js';

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
  /** Largest message accepted from the child, in bytes. Default 10 MB. */
  maxMessageBytes?: number;
  /** Text replaced by `***` in logged stderr lines (the entry's secrets). */
  redact?: (text: string) => string;
}

const MAX_STDERR_LINE = 2000;
const isWindows = process.platform === 'win32';

/**
 * MCP over a child's stdin/stdout, like the SDK's `StdioClientTransport` but: the child gets exactly
 * `env` (the SDK also copies LOGNAME, SHELL, TERM and USER), stderr goes line by line to the logger,
 * the child leads its own process group so that `close()` also ends what it started (`npx` → `node`,
 * `sh -c …`), and shutdown is: end stdin, wait, SIGTERM, wait, SIGKILL, with unref'd timers.
 *
 * Set `onmessage`/`onclose`/`onerror` before `start()`, as with every MCP transport.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #options: StdioTransportOptions;
  readonly #readBuffer: ReadBuffer;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #hasExited = false;
  #closed = false;

  constructor(options: StdioTransportOptions) {
    this.#options = options;
    this.#readBuffer = new ReadBuffer({ maxBufferSize: options.maxMessageBytes ?? 10 * 1024 * 1024 });
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
      this.#exited = new Promise((exitResolve) => {
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
          this.#hasExited = true;
          reject(error);
        } else this.onerror?.(error);
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => {
        try {
          this.#readBuffer.append(chunk);
          for (;;) {
            let message: JSONRPCMessage | null;
            try {
              message = this.#readBuffer.readMessage();
            } catch (error) {
              this.onerror?.(error as Error);
              continue;
            }
            if (message === null) break;
            this.onmessage?.(message);
          }
        } catch (error) {
          // The buffer cap was exceeded: the stream can no longer be trusted.
          this.onerror?.(error as Error);
          void this.close();
        }
      });
      this.#pipeStderr(child);
    });
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
    this.#readBuffer.clear();
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
