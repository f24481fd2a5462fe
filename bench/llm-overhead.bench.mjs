#!/usr/bin/env node
// What @haia/llm adds over calling the openai SDK directly, against the same OpenAI fake on
// 127.0.0.1 in the same run: per call (a one-chunk answer) and per streamed chunk (200 chunks).
// Uses the BUILT packages: run `npx tsup` in packages/llm and packages/testkit first (pnpm bench does).
// Bounded: a fixed number of rounds, each a fixed number of calls; loopback only.
import { createModel } from '@haia/llm';
import { startOpenAIFake } from '@haia/testkit';
import OpenAI from 'openai';

const KEY = 'sk-bench-key-000000000000';
const CHUNKS = 200;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CALLS_PER_ROUND = Number(process.env.BENCH_CALLS ?? 100);
const STREAMS_PER_ROUND = Number(process.env.BENCH_STREAMS ?? 20);
const messages = [{ role: 'user', content: 'hi' }];

const fake = await startOpenAIFake({ apiKeys: [KEY] });
const short = { text: ['ok'], usage: { promptTokens: 3, completionTokens: 1 } };
const long = {
  text: Array.from({ length: CHUNKS }, (_, index) => `t${index} `),
  usage: { promptTokens: 3, completionTokens: CHUNKS },
};

const client = new OpenAI({ apiKey: KEY, baseURL: fake.baseURL, maxRetries: 0 });
const model = createModel('openai:gpt-4o-mini', { apiKey: KEY, baseURL: fake.baseURL, env: {} });

async function direct() {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

async function wrapped() {
  let text = '';
  for await (const event of model.stream({ messages })) if (event.type === 'text-delta') text += event.text;
  return text;
}

/** Runs `count` calls; returns wall ms and CPU µs (user + system) per call. */
async function measure(call, script, count) {
  fake.setReply(script);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let index = 0; index < count; index++) await call();
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { wallMs: wall / count, cpuUs: (cpu.user + cpu.system) / count };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// Warm up both paths (JIT, keep-alive sockets, lazy SDK import).
await measure(direct, short, 20);
await measure(wrapped, short, 20);
await measure(direct, long, 3);
await measure(wrapped, long, 3);

const results = { directCall: [], wrappedCall: [], directStream: [], wrappedStream: [] };
// Small blocks, alternating sides and order, so that drift on a shared machine hits both sides alike.
const BLOCK = 10;
for (let round = 0; round < ROUNDS; round++) {
  const sums = { directCall: zero(), wrappedCall: zero(), directStream: zero(), wrappedStream: zero() };
  for (let block = 0; block < CALLS_PER_ROUND / BLOCK; block++) {
    const order = block % 2 === 0 ? ['direct', 'wrapped'] : ['wrapped', 'direct'];
    for (const side of order)
      add(sums[`${side}Call`], await measure(side === 'direct' ? direct : wrapped, short, BLOCK));
  }
  for (let block = 0; block < STREAMS_PER_ROUND / 2; block++) {
    const order = block % 2 === 0 ? ['direct', 'wrapped'] : ['wrapped', 'direct'];
    for (const side of order)
      add(sums[`${side}Stream`], await measure(side === 'direct' ? direct : wrapped, long, 2));
  }
  for (const [name, sum] of Object.entries(sums))
    results[name].push({ wallMs: sum.wallMs / sum.blocks, cpuUs: sum.cpuUs / sum.blocks });
}
function zero() {
  return { wallMs: 0, cpuUs: 0, blocks: 0 };
}
function add(sum, value) {
  sum.wallMs += value.wallMs;
  sum.cpuUs += value.cpuUs;
  sum.blocks++;
}
await fake.close();

const pick = (list, field) => median(list.map((item) => item[field]));
const callDirect = pick(results.directCall, 'wallMs');
const callWrapped = pick(results.wrappedCall, 'wallMs');
const callCpuDirect = pick(results.directCall, 'cpuUs');
const callCpuWrapped = pick(results.wrappedCall, 'cpuUs');
const chunkCpuDirect = pick(results.directStream, 'cpuUs') / CHUNKS;
const chunkCpuWrapped = pick(results.wrappedStream, 'cpuUs') / CHUNKS;
const streamDirect = pick(results.directStream, 'wallMs');
const streamWrapped = pick(results.wrappedStream, 'wallMs');

const fmt = (value, digits = 3) => value.toFixed(digits);
const ratio = (a, b) => `${fmt(a / b, 3)}x`;
const rows = [
  [
    'wall time per call (1 chunk)',
    `${fmt(callDirect)} ms`,
    `${fmt(callWrapped)} ms`,
    `${fmt(callWrapped - callDirect)} ms`,
    ratio(callWrapped, callDirect),
    `< 1 ms extra: ${callWrapped - callDirect < 1 ? 'yes' : 'NO'}`,
  ],
  [
    'CPU per call (1 chunk)',
    `${fmt(callCpuDirect, 1)} µs`,
    `${fmt(callCpuWrapped, 1)} µs`,
    `${fmt(callCpuWrapped - callCpuDirect, 1)} µs`,
    ratio(callCpuWrapped, callCpuDirect),
    '',
  ],
  [
    `wall time per stream (${CHUNKS} chunks)`,
    `${fmt(streamDirect)} ms`,
    `${fmt(streamWrapped)} ms`,
    `${fmt(streamWrapped - streamDirect)} ms`,
    ratio(streamWrapped, streamDirect),
    '',
  ],
  [
    'CPU per streamed chunk',
    `${fmt(chunkCpuDirect, 2)} µs`,
    `${fmt(chunkCpuWrapped, 2)} µs`,
    `${fmt(chunkCpuWrapped - chunkCpuDirect, 2)} µs`,
    ratio(chunkCpuWrapped, chunkCpuDirect),
    `< 5% extra: ${chunkCpuWrapped / chunkCpuDirect < 1.05 ? 'yes' : 'NO'}`,
  ],
];
const lines = [
  '| measure | openai SDK direct | @haia/llm createModel | extra | ratio | target |',
  '| --- | ---: | ---: | ---: | ---: | --- |',
  ...rows.map((row) => `| ${row.join(' | ')} |`),
];
process.stdout.write(
  `${lines.join('\n')}\n\nMedians of ${ROUNDS} rounds (${CALLS_PER_ROUND} calls, ${STREAMS_PER_ROUND} streams each); CPU includes the in-process fake, the same for both sides.\n`,
);
