#!/usr/bin/env node
// Two builds of apps/api side by side, for a before/after on a noisy shared machine: both run at once,
// each on its own PostgreSQL database, against one of the shared harness's mock upstreams, and each
// round loads both at the same moment (the harness's closed-loop client, C workers each), so a busy
// neighbour or a slower minute slows both alike. Reports each build's CPU per request (user + sys
// from /proc, over the round) and req/s, and the ratios of the second to the first, round by round,
// with medians. Not a *.bench.mjs: `pnpm bench` does not run it (it needs the two builds to compare).
//
//   node bench/api-ab.mjs before=path/to/main.js after=apps/api/dist/main.js
//        [--rounds 12] [--seconds 3] [--concurrency 10] [--stream] [--delay-ms 0] [--warmup 6]
//        [--alternate] [--env <label>:NAME=value]...
//
// Loaded at once, the two builds share the machine's CPU, so the comparison is of CPU: a change that
// only shortens waits hardly shows. --alternate loads them one after the other in each round (the
// order swapped every round), each with the machine to itself: compare their req/s then.
// --env sets a variable for one build's process, to compare settings of one build
// (`a=apps/api/dist/main.js b=apps/api/dist/main.js --env b:DATABASE_POOL_MAX=1`).
//
// The before build is usually a `git worktree` of the previous commit, installed and built there.
// Needs PostgreSQL at $HAIA_BENCH_DATABASE_URL, else $HAIA_TEST_DATABASE_URL, else
// postgres://postgres@127.0.0.1:5432/test (one database per build, dropped at the end).
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createDatabase,
  haiaEnvironment,
  harnessFolder,
  jsonLine,
  listeningUrl,
  printUsage,
  start,
  stop,
  waitForReady,
} from './api-bench-support.mjs';

const mockPort = Number(process.env.MOCK_PORT ?? 18090);
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(tmpdir(), 'haia-bench-results');

function parseArgs(argv) {
  const options = {
    builds: [],
    rounds: 12,
    seconds: 3,
    concurrency: 10,
    stream: false,
    delayMs: 0,
    warmup: 6,
    alternate: false,
    env: {},
  };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    const value = () => Number(argv[++index]);
    if (argument === '--rounds') options.rounds = value();
    else if (argument === '--seconds') options.seconds = value();
    else if (argument === '--concurrency') options.concurrency = value();
    else if (argument === '--delay-ms') options.delayMs = value();
    else if (argument === '--warmup') options.warmup = value();
    else if (argument === '--stream') options.stream = true;
    else if (argument === '--alternate') options.alternate = true;
    else if (argument === '--env') {
      const setting = /^([\w.-]+):([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(argv[++index] ?? '');
      if (!setting) throw new Error('--env takes <label>:NAME=value, e.g. after:DATABASE_POOL_MAX=1');
      const [, label, name, text] = setting;
      if (name === 'LOG_LEVEL' && !['trace', 'debug', 'info'].includes(text)) {
        // The start waits for the info line `haia-api listening`, which a higher level drops.
        throw new Error('--env LOG_LEVEL must be trace, debug or info: the start waits for an info line');
      }
      options.env[label] = { ...options.env[label], [name]: text };
    } else if (argument === '-h' || argument === '--help') options.help = true;
    else if (/^[\w.-]+=/.test(argument)) {
      const split = argument.indexOf('=');
      options.builds.push({ label: argument.slice(0, split), main: resolve(argument.slice(split + 1)) });
    } else throw new Error(`unknown argument ${argument} (see --help)`);
  }
  if (!options.help && options.builds.length !== 2) {
    throw new Error('give two builds, as label=path/to/apps/api/dist/main.js (see --help)');
  }
  for (const label of Object.keys(options.env)) {
    if (!options.builds.some((build) => build.label === label)) {
      throw new Error(`--env names ${label}, which is not one of the builds' labels`);
    }
  }
  return options;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    printUsage(import.meta.url);
    return;
  }
  const harness = harnessFolder();
  const { runLoad } = await import(pathToFileURL(join(harness, 'load.mjs')).href);
  const databaseBase =
    process.env.HAIA_BENCH_DATABASE_URL ??
    process.env.HAIA_TEST_DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/test';
  const processes = [];
  const databases = [];
  try {
    const mockUrl = `http://127.0.0.1:${mockPort}`;
    const mock = await start(
      process.execPath,
      [join(harness, 'mock-upstream.mjs'), '--port', String(mockPort)],
      {
        env: process.env,
        name: 'mock upstream',
        ready: (line) => jsonLine(line)?.mock,
      },
    );
    processes.push(mock.child);
    await fetch(`${mockUrl}/_mock/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delayMs: options.delayMs, chunks: 50 }),
    });
    for (const build of options.builds) {
      const database = await createDatabase(databaseBase, `haia_ab_${process.pid}_${databases.length}`);
      databases.push(database);
      const haia = await start(process.execPath, [build.main], {
        name: `haia-api (${build.label})`,
        env: { ...haiaEnvironment(mockUrl, database.url), ...options.env[build.label] },
        ready: listeningUrl,
      });
      processes.push(haia.child);
      await waitForReady(haia.value);
      Object.assign(build, { url: `${haia.value}/v1`, pid: haia.child.pid, cpu: [], rps: [] });
    }
    const load = (build, duration, pid) =>
      runLoad({
        url: build.url,
        concurrency: options.concurrency,
        duration,
        warmup: 0.2,
        stream: options.stream,
        pid,
      });
    // The JIT first: a fresh process's first seconds cost several times its steady state.
    await Promise.all(options.builds.map((build) => load(build, options.warmup)));
    for (let round = 1; round <= options.rounds; round++) {
      let results;
      if (options.alternate) {
        // Swapped every round, so neither build always goes first.
        const order = round % 2 === 1 ? [0, 1] : [1, 0];
        results = [];
        for (const index of order) {
          const build = options.builds[index];
          results[index] = await load(build, options.seconds, build.pid);
        }
      } else {
        results = await Promise.all(options.builds.map((build) => load(build, options.seconds, build.pid)));
      }
      options.builds.forEach((build, index) => {
        const result = results[index];
        build.cpu.push(result.target.cpuMs / result.ok);
        build.rps.push(result.rps);
      });
      process.stderr.write(
        `[api-ab] round ${round}: ${options.builds.map((build) => `${build.label} ${build.cpu.at(-1).toFixed(3)} ms, ${build.rps.at(-1)} req/s`).join('; ')}\n`,
      );
    }
    const [first, second] = options.builds;
    const ratios = second.cpu.map((cpu, index) => cpu / first.cpu[index]);
    const rpsRatios = second.rps.map((rps, index) => rps / first.rps[index]);
    const scenario = `${options.stream ? 'stream' : 'json'}, upstream delay ${options.delayMs} ms, C = ${options.concurrency} each`;
    const markdown = [
      `## apps/api A/B, ${new Date().toISOString()}`,
      '',
      `${scenario}; ${options.rounds} rounds of ${options.seconds} s with both builds loaded ${options.alternate ? 'one after the other' : 'at once'}${Object.keys(options.env).length > 0 ? ` (environment: ${JSON.stringify(options.env)})` : ''}, after ${options.warmup} s of warm-up.`,
      '',
      '| build | CPU ms per request, median [min..max] | req/s, median |',
      '|---|--:|--:|',
      ...options.builds.map(
        (build) =>
          `| ${build.label} (${build.main}) | ${median(build.cpu).toFixed(3)} [${Math.min(...build.cpu).toFixed(3)}..${Math.max(...build.cpu).toFixed(3)}] | ${median(build.rps)} |`,
      ),
      '',
      `${second.label} ÷ ${first.label}, CPU per request, round by round: median **${median(ratios).toFixed(3)}** [${ratios.map((ratio) => ratio.toFixed(2)).join(' ')}]`,
      '',
      `${second.label} ÷ ${first.label}, req/s, round by round: median **${median(rpsRatios).toFixed(3)}** [${rpsRatios.map((ratio) => ratio.toFixed(2)).join(' ')}]`,
      '',
    ].join('\n');
    mkdirSync(resultsDir, { recursive: true });
    const out = join(resultsDir, `api-ab-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
    writeFileSync(out, markdown);
    process.stdout.write(`${markdown}\nresults: ${out}\n`);
  } finally {
    for (const child of processes.reverse()) await stop(child);
    for (const database of databases) {
      await database
        .drop()
        .catch((error) => process.stderr.write(`could not drop ${database.url}: ${error.message}\n`));
    }
  }
}

await main();
