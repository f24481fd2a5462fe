// What the api benchmarks share: the shared harness folder (../shared/bench, or a cached copy with
// its undici), child processes started and stopped, a scratch PostgreSQL database, and the
// environment HAIA runs with against the harness's mock upstream.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's root folder. */
export const repoRoot = resolve(here, '..');
const sharedHarness = resolve(repoRoot, '../shared/bench');

const log = (text) => process.stderr.write(`[api-bench] ${text}\n`);

/** The harness folder to run from: ../shared/bench itself when it has undici, else a cached copy. */
export function harnessFolder() {
  if (!existsSync(sharedHarness)) {
    throw new Error(
      `the shared harness is not at ${sharedHarness} (expected ../shared/bench next to the repo)`,
    );
  }
  if (existsSync(join(sharedHarness, 'node_modules/undici'))) return sharedHarness;
  // Like run.sh does for a read-only shared folder: a copy in a cache folder, never in this repo.
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'haia-bench');
  mkdirSync(cache, { recursive: true });
  for (const name of readdirSync(sharedHarness)) {
    if (/\.(mjs|lua)$/.test(name) || name === 'package.json' || name === 'package-lock.json') {
      copyFileSync(join(sharedHarness, name), join(cache, name));
    }
  }
  if (!existsSync(join(cache, 'node_modules/undici'))) {
    log(`installing the harness's undici into ${cache}`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: cache,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  return cache;
}

/** Spawns a process and resolves once a stdout line satisfies `ready`. */
export function start(command, args, { env, ready, name }) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (part) => {
    errors += part;
  });
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    const onData = (part) => {
      buffer += part;
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const value = ready(line);
        if (value) {
          child.stdout.off('data', onData);
          child.stdout.resume();
          child.removeAllListeners('exit');
          resolvePromise({ child, value });
          return;
        }
        newline = buffer.indexOf('\n');
      }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${name} exited early (${code}): ${errors.slice(-2000)}`)));
  });
}

export function stop(child) {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    child.once('exit', resolvePromise);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 35_000).unref();
  });
}

export function jsonLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** postgres.js from apps/api's dependencies (this folder has none of its own). */
async function loadPostgres() {
  const require = createRequire(join(repoRoot, 'apps/api/package.json'));
  const entry = require.resolve('postgres');
  return (await import(pathToFileURL(entry).href)).default;
}

/** A fresh database `name` (default haia_bench_<pid>) on the server of `baseUrl`, with its URL and `drop()`. */
export async function createDatabase(baseUrl, name = `haia_bench_${process.pid}`) {
  const postgres = await loadPostgres();
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name}`);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const again = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    },
  };
}

export async function waitForReady(url) {
  for (let attempt = 0; attempt < 600; attempt++) {
    try {
      const response = await fetch(`${url}/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 10));
  }
  throw new Error(`${url}/ready never answered 200`);
}

export function rssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Math.round((kib / 1024) * 10) / 10;
  } catch {
    return null;
  }
}

/** The environment of a HAIA bench process: the mock as its OpenAI-compatible upstream, `databaseUrl`. */
export function haiaEnvironment(mockUrl, databaseUrl) {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    HOST: '127.0.0.1',
    PORT: '0',
    HAIA_MODEL: 'openai-compatible:mock',
    OPENAI_BASE_URL: `${mockUrl}/v1`,
    OPENAI_API_KEY: 'sk-bench',
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    LOG_FORMAT: 'json',
  };
}

/** The `haia-api listening` line's URL, for {@link start}'s `ready`. */
export function listeningUrl(line) {
  const entry = jsonLine(line);
  return entry?.msg === 'haia-api listening' ? entry.url : undefined;
}

/** Prints the comment block at the top of the script at `scriptUrl` (its usage), without the `//`. */
export function printUsage(scriptUrl) {
  const lines = readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').slice(1);
  const usage = lines.slice(
    0,
    lines.findIndex((line) => !line.startsWith('//')),
  );
  process.stdout.write(`${usage.map((line) => line.replace(/^\/\/ ?/, '')).join('\n')}\n`);
}
