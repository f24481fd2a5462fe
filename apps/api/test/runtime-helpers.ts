import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Store } from '@haia/store';
import OpenAI from 'openai';
import postgres from 'postgres';
import { createRuntime, type ModelTimeouts, type Runtime, type ToolsetSource } from '../src/runtime.js';
import { type ApiServer, createApiServer } from '../src/server.js';
import { createToolsetSources } from '../src/toolset-sources.js';
import { memoryLogger, testConfig, testStore } from './helpers.js';

/** The built bin (`pnpm turbo run build --filter=@haia/api...` first). */
export const apiBin = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** A server built the way main.ts builds it (config → toolset sources → runtime → server), listening. */
export interface RuntimeServer {
  runtime: Runtime;
  server: ApiServer;
  url: string;
  client: OpenAI;
  logs: ReturnType<typeof memoryLogger>;
  /** Stops the server, then closes the runtime (toolsets and store). */
  close(): Promise<void>;
}

/** Starts a {@link RuntimeServer} from an environment, on `store` (default: {@link testStore}). */
export async function startRuntimeServer(
  env: Record<string, string>,
  options: {
    store?: Store;
    sources?: ToolsetSource[];
    withSources?: boolean;
    modelTimeouts?: ModelTimeouts;
  } = {},
): Promise<RuntimeServer> {
  const logs = memoryLogger('warn');
  const config = testConfig(env);
  const sources =
    options.sources ??
    (options.withSources ? await createToolsetSources(config, logs.logger, { PATH: process.env.PATH }) : []);
  const runtime = await createRuntime(config, logs.logger, {
    sources,
    store: options.store ?? (await testStore()),
    ...(options.modelTimeouts ? { modelTimeouts: options.modelTimeouts } : {}),
  });
  const server = createApiServer({
    config,
    logger: logs.logger,
    store: runtime.store,
    model: runtime.model,
    extraModels: runtime.extraModels,
    runnerFor: runtime.runnerFor,
    readiness: runtime.readiness,
  });
  const url = await server.listen();
  return {
    runtime,
    server,
    url,
    logs,
    client: new OpenAI({ apiKey: 'none', baseURL: `${url}/v1`, maxRetries: 0 }),
    async close() {
      await server.stop();
      await runtime.close();
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Polls `condition` every 20 ms (up to `attempts` times, default 500: 10 s). */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  attempts = 500,
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A spawned built bin with its combined output and exit. */
export interface SpawnedApi {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  /** Resolves with the listening URL from the start line. */
  listening(): Promise<string>;
}

/** Spawns `dist/main.js` with only `PATH`, JSON logs and `env`, in `cwd`. */
export function spawnApi(env: Record<string, string>, cwd: string): SpawnedApi {
  const child = spawn(process.execPath, [apiBin], {
    cwd,
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (part) => {
    output += part;
  });
  child.stderr?.on('data', (part) => {
    output += part;
  });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
  return {
    child,
    exited,
    output: () => output,
    async listening() {
      let url: string | undefined;
      await until(
        () => {
          for (const line of output.split('\n')) {
            if (!line.includes('haia-api listening')) continue;
            url = (JSON.parse(line) as { url: string }).url;
            return true;
          }
          if (child.exitCode !== null) throw new Error(`haia-api exited early:\n${output}`);
          return false;
          // Up to 30 s: a first start on PGlite (no HAIA_TEST_DATABASE_URL) is slow on a loaded machine.
        },
        'the start line',
        1500,
      );
      return url as string;
    },
  };
}

/** A database of its own on the test PostgreSQL server, for spawned bins (they use its public schema). */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates a fresh database on `serverUrl` (HAIA_TEST_DATABASE_URL); `drop()` removes it, connections and all. */
export async function createTestDatabase(serverUrl: string, prefix = 'haia_api_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await sql.end();
      }
    },
  };
}
