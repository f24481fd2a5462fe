import { type ChildProcess, spawn } from 'node:child_process';

/** A Node script started by {@link startBins}: its process, exit code and everything it printed. */
export interface BinProcess {
  child: ChildProcess;
  /** The exit code (null when killed by a signal), once its output has all been read. */
  exited: Promise<number | null>;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  /** The whole JSON lines printed so far (`LOG_FORMAT=json` logs). */
  lines(): Array<Record<string, unknown>>;
}

/** Options of {@link BinProcesses.start}. */
export interface BinOptions {
  cwd: string;
  /** The whole environment (none of the test's own), besides `PATH` and `LOG_FORMAT=json`. */
  env: Record<string, string>;
  args?: readonly string[];
}

/** Starts an app's built bin as users run it, and kills whatever is left of them in `killAll`. */
export interface BinProcesses {
  start(entry: string, options: BinOptions): BinProcess;
  /** SIGKILLs every started process still running (call in `afterEach`). */
  killAll(): void;
}

/** A tracker of bin processes for one test file. */
export function startBins(): BinProcesses {
  const children: ChildProcess[] = [];
  return {
    start(entry, options) {
      const child = spawn(process.execPath, [entry, ...(options.args ?? [])], {
        cwd: options.cwd,
        env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      // Each stream on its own too: a stderr write can arrive while a stdout line is half read.
      const streams = { stdout: '', stderr: '' };
      const collect = (name: keyof typeof streams) => (part: Buffer) => {
        output += part;
        streams[name] += part;
      };
      child.stdout?.on('data', collect('stdout'));
      child.stderr?.on('data', collect('stderr'));
      // 'close', not 'exit': 'exit' can come before the last of stdout and stderr has been read.
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      return {
        child,
        exited,
        output: () => output,
        lines: () =>
          // Whole lines only: a write can arrive in two pieces, the second not read yet.
          [streams.stdout, streams.stderr].flatMap((text) =>
            text
              .slice(0, text.lastIndexOf('\n') + 1)
              .split('\n')
              .filter((line) => line.startsWith('{'))
              .map((line) => JSON.parse(line) as Record<string, unknown>),
          ),
      };
    },
    killAll() {
      for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Polls `condition` every 25 ms until it holds, for up to `timeoutMs` (a bin starting PGlite on a
 * busy machine can take many seconds); throws naming `what` when it never does.
 */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 25) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}
