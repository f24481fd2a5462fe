import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HaiaConfig, loadConfig } from '@haia/config';
import type { LanguageModel } from '@haia/llm';
import { createStore, type Store } from '@haia/store';
import { pino } from 'pino';
import postgres from 'postgres';
import { type ApiServer, type ApiServerOptions, createApiServer } from '../src/server.js';

/** A real HaiaConfig from an environment, loaded in an empty temp folder. */
export function testConfig(env: Record<string, string> = {}): HaiaConfig {
  const cwd = mkdtempSync(join(tmpdir(), 'haia-api-config-'));
  try {
    return loadConfig({
      env: {
        HAIA_MODEL: 'openai-compatible:fake-model',
        OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
        ...env,
      },
      cwd,
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** A logger that keeps every line in memory, for assertions on logs. */
export function memoryLogger(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const logger = pino(
    { level },
    {
      write(chunk: string) {
        raw += chunk;
        lines.push(JSON.parse(chunk) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines, raw: () => raw };
}

/** The PostgreSQL server for tests, when there is one. */
export const testDatabaseUrl = process.env.HAIA_TEST_DATABASE_URL || undefined;

/** A store in a fresh PostgreSQL schema that `close()` drops. */
export async function postgresStore(url: string): Promise<Store & { schema: string }> {
  const schema = `haia_api_test_${randomBytes(6).toString('hex')}`;
  const store = await createStore({ url, schema, pool: { max: 4 } });
  const close = store.close.bind(store);
  return Object.assign(store, {
    schema,
    async close() {
      await close();
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await sql.end();
      }
    },
  });
}

/**
 * The store most tests use: PostgreSQL in its own schema when HAIA_TEST_DATABASE_URL is set (fast),
 * else an in-memory PGlite. The PGlite-specific suites always use PGlite.
 */
export function testStore(): Promise<Store> {
  return testDatabaseUrl ? postgresStore(testDatabaseUrl) : createStore({ dataDir: 'memory://' });
}

/** Builds a server around a model and store, without listening. */
export function buildServer(
  options: Partial<ApiServerOptions> & {
    model: LanguageModel;
    store: Store;
    env?: Record<string, string>;
    logs?: ReturnType<typeof memoryLogger>;
  },
): ApiServer & { logs: ReturnType<typeof memoryLogger> } {
  const { env, logs = memoryLogger(), ...rest } = options;
  const server = createApiServer({ config: testConfig(env), logger: logs.logger, ...rest });
  return Object.assign(server, { logs });
}

/** A JSON chat request. */
export function chatRequest(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request('http://localhost/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The `data:` payloads of an SSE body, in order (`[DONE]` kept as the string). */
export function sseData(text: string): unknown[] {
  const events: unknown[] = [];
  for (const block of text.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (!line.startsWith('data: ')) continue;
      const data = line.slice(6);
      events.push(data === '[DONE]' ? data : JSON.parse(data));
    }
  }
  return events;
}

/** Response JSON as tests read it: loosely, field by field. */
// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary response JSON and assert on it
export type LooseJson = any;
