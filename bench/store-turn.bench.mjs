#!/usr/bin/env node
// @haia/store: one chat turn as the API does it, on both backends. A client resends the whole
// visible history of a 200-message conversation; the store resolves it (prefix match), loads the
// stored path (with hidden tool messages) and appends the new user message and the answer.
// 10 conversations run concurrently, then one alone. Prints turns per second, p50/p99 ms per turn,
// and the CPU per turn of Node and (when it is local) of the PostgreSQL server. Target on
// PostgreSQL: p50 < 5 ms with 10 conversations at once (each a turn every 50 ms); the back-to-back
// row shows the throughput limit, where a turn queues behind the other nine.
// A regenerate row has the API benchmark's shape: 10 clients resend the same [system, user] history
// of ONE conversation back to back, so every turn resolves to the same user message and appends one
// more assistant sibling under it (thousands of siblings, all appends queueing on one conversation).
// PostgreSQL comes from HAIA_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and
// runs in its own schema, dropped at the end; PGlite runs in a temporary directory, removed at the end.
// BENCH_STORE=/path/to/dist/index.js runs another build of the package (a before/after in one session).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';

const { createStore } = process.env.BENCH_STORE
  ? await import(pathToFileURL(process.env.BENCH_STORE).href)
  : await import('@haia/store');

const CONVERSATIONS = 10;
// Paced variant: each conversation sends a turn this often (10 x 1 / 50 ms = 200 turns/s offered).
const PACED_MS = 50;
const HISTORY = 200;
const TURNS_PER_CONVERSATION = 30;
// Regenerate row: turns per client (bounded by TIME_LIMIT_MS like the others).
const REGENERATE_TURNS = 400;
const WARMUP_TURNS = 3;
const TIME_LIMIT_MS = 15_000;
const url = process.env.HAIA_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** The stored form of a 200-message conversation: each turn has a hidden tool call and result. */
function storedHistory(conversation) {
  const messages = [];
  for (let turn = 0; messages.length < HISTORY; turn++) {
    messages.push({
      role: 'user',
      content: `Conversation ${conversation}, question ${turn}: how is node pve${turn % 7}?`,
    });
    if (turn % 4 === 0) {
      messages.push({
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          {
            type: 'tool-call',
            toolCallId: `c${turn}`,
            toolName: 'proxmox_node_status',
            input: { node: `pve${turn % 7}` },
          },
        ],
        model: 'ollama:qwen3',
      });
      messages.push({
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: `c${turn}`,
            toolName: 'proxmox_node_status',
            output: { status: 'online', cpu: 0.12 },
          },
        ],
      });
    }
    messages.push({
      role: 'assistant',
      content: [
        {
          type: 'text',
          text: `Node pve${turn % 7} is online, CPU at 12 %. Anything else about turn ${turn}?`,
        },
      ],
      model: 'ollama:qwen3',
      usage: { inputTokens: 1200, outputTokens: 40 },
    });
  }
  return messages.slice(0, HISTORY);
}

/** What a client resends: user messages and one assistant text per turn, no tool messages. */
function visibleHistory(stored) {
  const visible = [];
  for (const message of stored) {
    if (message.role === 'tool') continue;
    const text =
      typeof message.content === 'string'
        ? message.content
        : message.content
            .filter((part) => part.type === 'text')
            .map((part) => part.text)
            .join('');
    const last = visible.at(-1);
    if (message.role === 'assistant' && last?.role === 'assistant') last.content += `\n\n${text}`;
    else visible.push({ role: message.role, content: text });
  }
  return visible;
}

function percentile(sorted, fraction) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

/**
 * Starts a measurement's wall clock and CPU counters (this process's, and the server's when
 * `cpuOfServer` can read it); `finish(durations)` gives the row: turns, p50, p99, CPU per turn, turns/s.
 */
async function startClock(cpuOfServer) {
  const serverBefore = await cpuOfServer();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  return {
    started,
    async finish(durations) {
      const wall = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const serverAfter = await cpuOfServer();
      durations.sort((a, b) => a - b);
      return {
        turns: durations.length,
        p50: percentile(durations, 0.5),
        p99: percentile(durations, 0.99),
        cpu: (cpu.user + cpu.system) / 1000 / durations.length,
        serverCpu:
          serverBefore === undefined || serverAfter === undefined
            ? Number.NaN
            : ((serverAfter - serverBefore) * 1000) / durations.length,
        perSecond: (durations.length / wall) * 1000,
      };
    },
  };
}

/**
 * CPU seconds the PostgreSQL server processes with these pids have used, from /proc (the server is
 * local in the usual setup); undefined when they cannot be read (a remote server, another OS).
 */
async function serverCpuSeconds(admin, applicationName) {
  try {
    const rows = await admin`select pid from pg_stat_activity where application_name = ${applicationName}`;
    if (rows.length === 0) return undefined;
    let ticks = 0;
    for (const { pid } of rows) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** One turn of conversation `conversation`: resolve the resent history, append question and answer. */
async function turn(store, conversation, index, number) {
  const question = { role: 'user', content: `Follow-up ${number} in conversation ${index}` };
  const resolved = await store.resolveConversation({
    userId: conversation.userId,
    messages: [{ role: 'system', content: 'You are HAIA.' }, ...conversation.visible, question],
  });
  if (resolved.parentId !== conversation.leaf || resolved.newMessages.length !== 1) {
    throw new Error(`turn ${number} of conversation ${index} did not continue the stored path`);
  }
  if (resolved.path.length < HISTORY) throw new Error('the stored path was not loaded');
  const answer = {
    role: 'assistant',
    content: [{ type: 'text', text: `Answer ${number}.` }],
    model: 'ollama:qwen3',
  };
  const appended = await store.appendMessages(resolved.conversation.id, resolved.parentId, [
    ...resolved.newMessages,
    answer,
  ]);
  conversation.visible.push(question, { role: 'assistant', content: `Answer ${number}.` });
  conversation.leaf = appended.at(-1).id;
}

/**
 * `concurrency` conversations, each running its turns back to back (a closed loop: a new turn
 * starts when the previous one ends), or with `pacedMs` one turn every `pacedMs` each (staggered,
 * like people chatting at the same time). Warm-up turns run first, all of them, and are not
 * counted; the clock and the CPU counters start after them. Bounded by TIME_LIMIT_MS.
 */
async function measure(store, concurrency, cpuOfServer, pacedMs = 0) {
  const conversations = [];
  for (let index = 0; index < concurrency; index++) {
    const userId = `bench-${concurrency}-${pacedMs}-${index}`;
    const stored = storedHistory(index);
    const resolved = await store.resolveConversation({ userId, messages: [stored[0]] });
    const messages = await store.appendMessages(resolved.conversation.id, null, stored);
    conversations.push({ userId, visible: visibleHistory(stored), leaf: messages.at(-1).id });
  }
  await Promise.all(
    conversations.map(async (conversation, index) => {
      for (let number = 0; number < WARMUP_TURNS; number++) await turn(store, conversation, index, number);
    }),
  );
  const durations = [];
  const clock = await startClock(cpuOfServer);
  const deadline = clock.started + TIME_LIMIT_MS;
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  await Promise.all(
    conversations.map(async (conversation, index) => {
      if (pacedMs) await pause((index * pacedMs) / concurrency);
      for (
        let number = WARMUP_TURNS;
        number < WARMUP_TURNS + TURNS_PER_CONVERSATION && performance.now() < deadline;
        number++
      ) {
        const begin = performance.now();
        await turn(store, conversation, index, number);
        const took = performance.now() - begin;
        durations.push(took);
        if (pacedMs) await pause(pacedMs - took);
      }
    }),
  );
  return clock.finish(durations);
}

/**
 * The API benchmark's shape: `clients` clients resend the same two-message history [system, user]
 * of one conversation, back to back. Each turn resolves to the stored user message (nothing new,
 * a branch) and appends one assistant answer under it: a regenerate, so the user message gains
 * another sibling every turn and every append waits for the same conversation row.
 */
async function measureRegenerate(store, clients, cpuOfServer) {
  const history = [
    { role: 'system', content: 'You are HAIA.' },
    { role: 'user', content: `Regenerate this answer (${randomBytes(4).toString('hex')}).` },
  ];
  const first = await store.resolveConversation({ messages: history });
  const [question] = await store.appendMessages(first.conversation.id, null, first.newMessages);
  const answer = {
    role: 'assistant',
    content: [{ type: 'text', text: 'Here it is.' }],
    model: 'ollama:qwen3',
  };
  const regenerate = async () => {
    const resolved = await store.resolveConversation({ messages: history });
    if (resolved.parentId !== question.id || resolved.newMessages.length !== 0) {
      throw new Error('a regenerate did not resolve to the stored user message');
    }
    await store.appendMessages(resolved.conversation.id, resolved.parentId, [answer]);
  };
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let number = 0; number < WARMUP_TURNS; number++) await regenerate();
    }),
  );
  const durations = [];
  const clock = await startClock(cpuOfServer);
  const deadline = clock.started + TIME_LIMIT_MS;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let number = 0; number < REGENERATE_TURNS && performance.now() < deadline; number++) {
        const begin = performance.now();
        await regenerate();
        durations.push(performance.now() - begin);
      }
    }),
  );
  return clock.finish(durations);
}

// `node store-turn.bench.mjs postgres` (or `pglite`) runs one backend only; a second argument
// `regenerate` runs only the regenerate rows.
const only = process.argv[2];
const regenerateOnly = process.argv[3] === 'regenerate';
const rows = [];
let failed = false;

const schema = `haia_bench_${randomBytes(4).toString('hex')}`;
const admin = postgres(url, { max: 1, onnotice: () => {} });
try {
  if (only && only !== 'postgres') throw new Error('skipped');
  const applicationName = `haia-bench-${schema}`;
  const store = await createStore({ url, schema, applicationName, pool: { max: CONVERSATIONS } });
  const cpuOfServer = () => serverCpuSeconds(admin, applicationName);
  try {
    const regenerate = await measureRegenerate(store, CONVERSATIONS, cpuOfServer);
    rows.push({
      backend: `PostgreSQL, regenerate: ${CONVERSATIONS} clients on one conversation, back to back`,
      ...regenerate,
      target: 'reported',
      pass: true,
    });
    if (regenerateOnly) throw new Error('skipped');
    const result = await measure(store, CONVERSATIONS, cpuOfServer);
    rows.push({
      backend: `PostgreSQL, ${CONVERSATIONS} at once, back to back (saturation)`,
      ...result,
      target: 'reported',
      pass: true,
    });
    const paced = await measure(store, CONVERSATIONS, cpuOfServer, PACED_MS);
    rows.push({
      backend: `PostgreSQL, ${CONVERSATIONS} conversations at once, each a turn every ${PACED_MS} ms`,
      ...paced,
      target: 'p50 < 5 ms',
      pass: paced.p50 < 5,
    });
    const single = await measure(store, 1, cpuOfServer);
    rows.push({ backend: 'PostgreSQL, 1 at a time', ...single, target: 'reported', pass: true });
  } finally {
    await store.close();
  }
} catch (error) {
  failed = failed || !(error instanceof Error && error.message === 'skipped');
  if (!(error instanceof Error && error.message === 'skipped')) {
    rows.push({ backend: 'PostgreSQL', error: error instanceof Error ? error.message : String(error) });
  }
} finally {
  await admin.unsafe(`drop schema if exists "${schema}" cascade`).catch(() => {});
  await admin.end({ timeout: 5 });
}

const dataDir = await mkdtemp(join(tmpdir(), 'haia-bench-store-'));
try {
  if (only && only !== 'pglite') throw new Error('skipped');
  const store = await createStore({ dataDir });
  try {
    const regenerate = await measureRegenerate(store, CONVERSATIONS, async () => undefined);
    rows.push({
      backend: `PGlite, regenerate: ${CONVERSATIONS} clients on one conversation`,
      ...regenerate,
      target: 'reported',
      pass: true,
    });
    if (regenerateOnly) throw new Error('skipped');
    const result = await measure(store, CONVERSATIONS, async () => undefined);
    rows.push({ backend: `PGlite, ${CONVERSATIONS} at once`, ...result, target: 'reported', pass: true });
    const single = await measure(store, 1, async () => undefined);
    rows.push({ backend: 'PGlite, 1 at a time', ...single, target: 'reported', pass: true });
  } finally {
    await store.close();
  }
} catch (error) {
  failed = failed || !(error instanceof Error && error.message === 'skipped');
  if (!(error instanceof Error && error.message === 'skipped')) {
    rows.push({
      backend: 'PGlite (embedded)',
      error: error instanceof Error ? error.message : String(error),
    });
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

const format = (value) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');
process.stdout.write(
  `Resolve + load a ${HISTORY}-message conversation and append a turn (${TURNS_PER_CONVERSATION} turns per conversation, ${WARMUP_TURNS} warm-up turns not counted).\n\n`,
);
process.stdout.write(
  `Machine: ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)} at the end (latency under load includes waiting for a CPU).\n\n`,
);
process.stdout.write(
  '| backend | turns | turns/s | p50 ms/turn | p99 ms/turn | Node CPU ms/turn | server CPU ms/turn | target | result |\n|---|---:|---:|---:|---:|---:|---:|---|---|\n',
);
for (const row of rows) {
  if (row.error) process.stdout.write(`| ${row.backend} | - | - | - | - | - | - | - | ${row.error} |\n`);
  else {
    process.stdout.write(
      `| ${row.backend} | ${row.turns} | ${row.perSecond.toFixed(0)} | ${format(row.p50)} | ${format(row.p99)} | ${format(row.cpu)} | ${format(row.serverCpu)} | ${row.target} | ${row.pass ? 'ok' : 'over target'} |\n`,
    );
  }
}
process.stdout.write(
  `\nIn the back-to-back row each of the ${CONVERSATIONS} conversations starts its next turn as soon as the previous one ends (a closed loop at the machine's limit), so a turn waits for the other ${CONVERSATIONS - 1}: p50 is about ${CONVERSATIONS} / (turns/s), and turns/s is bounded by the Node CPU per turn (one thread) and by Node + server CPU over the machine's cores. Server CPU is read from /proc for the store's connections (n/a for a remote server and for PGlite, which runs inside Node).\n`,
);
process.exit(failed ? 1 : 0);
