#!/usr/bin/env node
// Overhead of apps/api (HAIA) over its upstream, measured with the shared harness in ../shared/bench
// (referenced in place, nothing copied into this repo): the same load direct to the harness's mock
// OpenAI upstream, through the bare pass-through proxy (the practical limit for a Node gateway), and
// through HAIA with the agent on and persistence on PostgreSQL, all against the same mock in one run.
//
//   node bench/api-overhead.bench.mjs [--quick] [--repeat 3] [--duration 4] [--warmup 0.5]
//        [--concurrency 1,10,100] [--scenarios stream-d0,stream-d10,json-d0] [--no-passthrough] [--keep]
//        [--api-main path/to/main.js] [--label haia]
//
// Needs: apps/api built (`pnpm bench` builds first), PostgreSQL at $HAIA_BENCH_DATABASE_URL, else
// $HAIA_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test (a fresh database
// haia_bench_<pid> is created there and dropped at the end), network access once for the harness's
// undici (installed by npm into ~/.cache/haia-bench when ../shared/bench has no node_modules).
// Writes JSON + Markdown per target to $BENCH_RESULTS_DIR (default <tmp>/haia-bench-results) and
// prints the comparison table: HAIA's added TTFT p50/p99, its req/s ratio to direct and to the
// pass-through's, RSS and CPU per request, idle RSS and start-to-ready time. --api-main benchmarks
// another build of apps/api (for a before/after in one session, e.g. the previous commit's src built
// into a scratch folder inside apps/api so it resolves the same dependencies); --label names it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  createDatabase,
  haiaEnvironment,
  harnessFolder,
  jsonLine,
  listeningUrl,
  printUsage,
  repoRoot,
  rssMiB,
  start,
  stop,
  waitForReady,
} from './api-bench-support.mjs';

const defaultApiMain = join(repoRoot, 'apps/api/dist/main.js');
const mockPort = Number(process.env.MOCK_PORT ?? 18080);
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(tmpdir(), 'haia-bench-results');

function parseArgs(argv) {
  const options = {
    repeat: 3,
    duration: 4,
    // The harness's own default: each cell's load runs this long before it is measured.
    warmup: 0.5,
    concurrency: '1,10,100',
    scenarios: 'stream-d0,stream-d10,json-d0',
    passthrough: true,
    keep: false,
    apiMain: defaultApiMain,
    label: 'haia',
  };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    const value = () => argv[++index];
    if (argument === '--quick') Object.assign(options, { repeat: 1, duration: 2, concurrency: '1,10' });
    else if (argument === '--repeat') options.repeat = Number(value());
    else if (argument === '--duration') options.duration = Number(value());
    else if (argument === '--warmup') options.warmup = Number(value());
    else if (argument === '--concurrency') options.concurrency = value();
    else if (argument === '--scenarios') options.scenarios = value();
    else if (argument === '--no-passthrough') options.passthrough = false;
    else if (argument === '--keep') options.keep = true;
    else if (argument === '--api-main') options.apiMain = resolve(value());
    else if (argument === '--label') options.label = value();
    else if (argument === '-h' || argument === '--help') options.help = true;
    else throw new Error(`unknown argument ${argument} (see --help)`);
  }
  return options;
}

const log = (text) => process.stderr.write(`[api-overhead] ${text}\n`);

/** Runs the shared harness against `target` and resolves with its JSON result. */
function runHarness(harness, target, pid, label, options) {
  const out = join(resultsDir, `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const args = [
    join(harness, 'bench.mjs'),
    '--target',
    target,
    '--pid',
    String(pid),
    '--label',
    label,
    '--mock-url',
    `http://127.0.0.1:${mockPort}`,
    '--repeat',
    String(options.repeat),
    '--duration',
    String(options.duration),
    '--warmup',
    String(options.warmup),
    '--concurrency',
    options.concurrency,
    '--scenarios',
    options.scenarios,
    '--out',
    out,
  ];
  log(`running the harness against ${label} (${target})`);
  // Not execFileSync: this process must keep draining HAIA's stdout while the load runs. Blocked, it
  // left HAIA's log lines to pile up in HAIA's memory (its RSS grew by ~150 MiB over a full run).
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the harness exited with ${code}`));
      else resolvePromise(JSON.parse(readFileSync(out, 'utf8')));
    });
  });
}

function relativeToRepo(path) {
  return path.startsWith(`${repoRoot}/`) ? path.slice(repoRoot.length + 1) : path;
}

function round(value, digits = 2) {
  return value === null || value === undefined || Number.isNaN(value)
    ? '-'
    : String(Math.round(value * 10 ** digits) / 10 ** digits);
}

function report(haia, passthrough, extra) {
  const baseline = new Map(
    (passthrough?.aggregate ?? []).map((cell) => [`${cell.scenario}/${cell.concurrency}`, cell]),
  );
  const lines = [
    '| scenario | C | HAIA added TTFT p50 / p99 ms | pass-through added p50 / p99 ms | HAIA req/s ÷ direct | pass-through ÷ direct | HAIA ÷ pass-through | HAIA RSS max MiB | HAIA CPU ms/req |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const cell of haia.aggregate) {
    const base = baseline.get(`${cell.scenario}/${cell.concurrency}`);
    const relative = base?.rpsRatioMed ? cell.rpsRatioMed / base.rpsRatioMed : null;
    lines.push(
      `| ${cell.scenario} | ${cell.concurrency} | ${round(cell.addedTtftP50Med)} / ${round(cell.addedTtftP99Med)} | ${base ? `${round(base.addedTtftP50Med)} / ${round(base.addedTtftP99Med)}` : '-'} | ${round(cell.rpsRatioMed)} | ${base ? round(base.rpsRatioMed) : '-'} | ${round(relative)} | ${round(cell.targetRssMaxMiB, 1)} | ${round(cell.targetCpuMsPerReqMed)} |`,
    );
  }
  return [
    `## HAIA api overhead (agent on, persistence on PostgreSQL), ${new Date().toISOString()}`,
    '',
    `Build: ${relativeToRepo(extra.apiMain)}.`,
    '',
    `node ${process.version}; ${haia.meta.cpus} CPUs; load ${haia.meta.loadavg.map((value) => value.toFixed(2)).join(' ')} at start; ` +
      `${haia.meta.options.repeat} repeat(s) of ${haia.meta.options.duration} s per cell after ${haia.meta.options.warmup} s of warm-up load; medians over repeats.`,
    '',
    ...lines,
    '',
    `HAIA idle RSS ${extra.idleRssMiB} MiB (after start, before load); start to ready ${extra.startToReadyMs} ms on PostgreSQL; RSS at the end ${round(haia.meta.targetRssEndMiB, 1)} MiB.`,
    '',
  ].join('\n');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    printUsage(import.meta.url);
    return;
  }
  const apiMain = options.apiMain;
  if (!existsSync(apiMain))
    throw new Error(`${apiMain} is missing: build first (pnpm bench does, or pnpm build)`);
  mkdirSync(resultsDir, { recursive: true });
  const harness = harnessFolder();
  const databaseBase =
    process.env.HAIA_BENCH_DATABASE_URL ??
    process.env.HAIA_TEST_DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/test';
  const database = await createDatabase(databaseBase);
  const processes = [];
  try {
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

    let passthroughResult;
    if (options.passthrough) {
      const passthrough = await start(
        process.execPath,
        [join(harness, 'passthrough.mjs'), '--port', '8788', '--upstream', `http://127.0.0.1:${mockPort}/v1`],
        { env: process.env, name: 'pass-through', ready: (line) => jsonLine(line)?.passthrough },
      );
      processes.push(passthrough.child);
      passthroughResult = await runHarness(
        harness,
        passthrough.value,
        passthrough.child.pid,
        'passthrough',
        options,
      );
      await stop(passthrough.child);
    }

    const startedAt = performance.now();
    const haia = await start(process.execPath, [apiMain], {
      name: 'haia-api',
      env: haiaEnvironment(`http://127.0.0.1:${mockPort}`, database.url),
      ready: listeningUrl,
    });
    processes.push(haia.child);
    // Drain HAIA's log lines so a full pipe never blocks it (their cost is part of what is measured).
    haia.child.stdout.resume();
    await waitForReady(haia.value);
    const startToReadyMs = Math.round(performance.now() - startedAt);
    const idleRssMiB = rssMiB(haia.child.pid);
    const haiaResult = await runHarness(harness, `${haia.value}/v1`, haia.child.pid, options.label, options);
    const markdown = report(haiaResult, passthroughResult, { idleRssMiB, startToReadyMs, apiMain });
    const out = join(resultsDir, `api-overhead-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
    writeFileSync(out, markdown);
    process.stdout.write(`${markdown}\nresults: ${out}\n`);
  } finally {
    for (const child of processes.reverse()) await stop(child);
    if (!options.keep)
      await database.drop().catch((error) => log(`could not drop the bench database: ${error.message}`));
  }
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
