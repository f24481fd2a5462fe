#!/usr/bin/env node
// What @haia/llm adds over calling the openai SDK directly, against the same OpenAI fake.
//
// Method (robust on a small shared machine):
// - The fake runs in a CHILD process, so its CPU is not counted; this process only holds the client
//   side (the SDK alone, or the SDK under @haia/llm). The child's CPU is reported separately.
// - CPU is `process.cpuUsage()` (user + system) of this process; wall time is `performance.now()`.
// - Direct and wrapped calls are interleaved one by one in A B B A quads (then B A A B) inside every
//   round, and the ratio is taken per round (paired), so drift from other load hits both sides alike.
// - Warm-up first (JIT, keep-alive sockets, the lazy SDK import), no forced GC (a forced GC resets
//   the young generation and then penalises whichever side allocates more), then
//   rounds until BENCH_SECONDS (default 40) or BENCH_MAX_ROUNDS (default 1000) are used up, at least
//   BENCH_MIN_ROUNDS (default 5). Reported: the median over rounds with min..max.
// - "Per call": a one-chunk answer. "Per streamed chunk": the marginal cost of a chunk,
//   (CPU of a CHUNKS-chunk stream - CPU of a one-chunk call) / (CHUNKS - 1), so per-call work is
//   not smeared over the chunks.
// - Two phases of BENCH_SECONDS / 2 each: "loopback" (HTTP to the child on 127.0.0.1, the fake
//   writing each body at once) and "replay" (the same fake's recorded bytes, one piece per SSE event,
//   through an in-memory fetch given to both sides: no socket, the lowest-noise view).
// - BENCH_LLM_MODULE=<path to another build's dist/index.js> compares versions of @haia/llm.
// Uses the BUILT packages: run `npx tsup` in packages/llm and packages/testkit first (pnpm bench does).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const KEY = 'sk-bench-key-000000000000';
const QUAD = ['direct', 'wrapped', 'wrapped', 'direct'];
const QUAD_REVERSED = ['wrapped', 'direct', 'direct', 'wrapped'];
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 1000);

if (process.argv[2] === '--fake') {
  // The child: serves the fake until the parent disconnects, and reports its own CPU when asked.
  const { startOpenAIFake } = await import('@haia/testkit');
  // `coalesce` (default on): the whole SSE body in one write, so the client parses every chunk
  // from one read and per-read costs do not vary with scheduling. BENCH_COALESCE=0: one write per event.
  const coalesce = process.env.BENCH_COALESCE !== '0';
  const short = { text: ['ok'], usage: { promptTokens: 3, completionTokens: 1 }, coalesce };
  const long = {
    text: Array.from({ length: CHUNKS }, (_, index) => `t${index} `),
    usage: { promptTokens: 3, completionTokens: CHUNKS },
    coalesce,
  };
  const fake = await startOpenAIFake({
    apiKeys: [KEY],
    reply: (request) => (request.body.model === 'bench-long' ? long : short),
  });
  const cpuStart = process.cpuUsage();
  process.on('message', (message) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage(cpuStart) });
  });
  process.on('disconnect', () => {
    fake.close().then(() => process.exit(0));
  });
  process.send?.({ baseURL: fake.baseURL });
} else {
  await main();
}

async function main() {
  // BENCH_LLM_MODULE: another build of @haia/llm (a path to its dist/index.js), to compare versions.
  const { createModel } = await import(process.env.BENCH_LLM_MODULE ?? '@haia/llm');
  const { default: OpenAI } = await import('openai');
  const seconds = Number(process.env.BENCH_SECONDS ?? 40);
  const minRounds = Number(process.env.BENCH_MIN_ROUNDS ?? 5);
  const maxRounds = Number(process.env.BENCH_MAX_ROUNDS ?? 1000);
  const callsPerRound = Number(process.env.BENCH_CALLS ?? 10);
  const streamsPerRound = Number(process.env.BENCH_STREAMS ?? 1);

  const child = fork(fileURLToPath(import.meta.url), ['--fake'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = await once(child, 'message');
  const { baseURL } = ready;
  const messages = [{ role: 'user', content: 'hi' }];

  // The same fake's bytes, recorded once, for the replay phase (no socket, no kernel, no child).
  const recorded = {};
  for (const model of ['bench-short', 'bench-long']) {
    const response = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages, stream: true, stream_options: { include_usage: true } }),
    });
    // One piece per SSE event, as a streamed answer arrives (one read per event).
    const encoder = new TextEncoder();
    recorded[model] = (await response.text()).split(/(?<=\n\n)/).map((event) => encoder.encode(event));
  }
  const replayFetch = async (_url, init) => {
    const pieces = recorded[JSON.parse(String(init?.body)).model];
    const body = new ReadableStream({
      start(controller) {
        for (const piece of pieces) controller.enqueue(piece);
        controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };

  /** Both sides over one transport: the SDK alone, and the SDK under @haia/llm. */
  function sidesFor(fetch) {
    const client = new OpenAI({ apiKey: KEY, baseURL, maxRetries: 0, ...(fetch ? { fetch } : {}) });
    const models = {
      'bench-short': createModel('openai:bench-short', {
        apiKey: KEY,
        baseURL,
        env: {},
        ...(fetch ? { fetch } : {}),
      }),
      'bench-long': createModel('openai:bench-long', {
        apiKey: KEY,
        baseURL,
        env: {},
        ...(fetch ? { fetch } : {}),
      }),
    };
    return {
      async direct(model) {
        const stream = await client.chat.completions.create({
          model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        return text;
      },
      async wrapped(model) {
        let text = '';
        for await (const event of models[model].stream({ messages }))
          if (event.type === 'text-delta') text += event.text;
        return text;
      },
    };
  }

  const loopback = await measurePhase(sidesFor(undefined), seconds / 2);
  child.send('cpu');
  const [{ cpu: fakeCpu }] = await once(child, 'message');
  child.disconnect();
  await once(child, 'exit');
  const replay = await measurePhase(sidesFor(replayFetch), seconds / 2);

  /** Warm-up, then rounds of finely interleaved calls until the time is up. */
  async function measurePhase(sides, phaseSeconds) {
    async function measureOne(side, model) {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      await sides[side](model);
      const wallMs = performance.now() - start;
      const cpu = process.cpuUsage(cpuStart);
      return { cpuUs: cpu.user + cpu.system, wallMs };
    }
    /** `count` A-B-B-A quads (then B-A-A-B) of single calls; per-call means of each side. */
    async function pair(model, count) {
      const sums = { direct: { cpuUs: 0, wallMs: 0, count: 0 }, wrapped: { cpuUs: 0, wallMs: 0, count: 0 } };
      for (let index = 0; index < count; index++) {
        for (const side of index % 2 === 0 ? QUAD : QUAD_REVERSED) {
          const result = await measureOne(side, model);
          sums[side].cpuUs += result.cpuUs;
          sums[side].wallMs += result.wallMs;
          sums[side].count++;
        }
      }
      const mean = (sum) => ({ cpuUs: sum.cpuUs / sum.count, wallMs: sum.wallMs / sum.count });
      return { direct: mean(sums.direct), wrapped: mean(sums.wrapped) };
    }

    for (let index = 0; index < 3; index++) {
      await pair('bench-short', 10);
      await pair('bench-long', 1);
    }
    const rounds = [];
    const startedAt = performance.now();
    while (
      rounds.length < minRounds ||
      (rounds.length < maxRounds && performance.now() - startedAt < phaseSeconds * 1000)
    ) {
      const call = await pair('bench-short', callsPerRound);
      const stream = await pair('bench-long', streamsPerRound);
      const perChunk = (side) => (stream[side].cpuUs - call[side].cpuUs) / (CHUNKS - 1);
      rounds.push({
        callWallDirect: call.direct.wallMs,
        callWallWrapped: call.wrapped.wallMs,
        callWallExtra: call.wrapped.wallMs - call.direct.wallMs,
        callWallRatio: call.wrapped.wallMs / call.direct.wallMs,
        callCpuDirect: call.direct.cpuUs,
        callCpuWrapped: call.wrapped.cpuUs,
        callCpuExtra: call.wrapped.cpuUs - call.direct.cpuUs,
        callCpuRatio: call.wrapped.cpuUs / call.direct.cpuUs,
        streamWallDirect: stream.direct.wallMs,
        streamWallWrapped: stream.wrapped.wallMs,
        streamWallRatio: stream.wrapped.wallMs / stream.direct.wallMs,
        chunkCpuDirect: perChunk('direct'),
        chunkCpuWrapped: perChunk('wrapped'),
        chunkCpuExtra: perChunk('wrapped') - perChunk('direct'),
        chunkCpuRatio: perChunk('wrapped') / perChunk('direct'),
      });
    }
    return { rounds, elapsedS: (performance.now() - startedAt) / 1000 };
  }

  function table(phase, withWall) {
    const stat = (field) => {
      const values = phase.rounds.map((round) => round[field]).sort((a, b) => a - b);
      const middle = values.length / 2;
      const median =
        values.length % 2 === 1
          ? values[Math.floor(middle)]
          : ((values[middle - 1] ?? 0) + (values[middle] ?? 0)) / 2;
      return { median, min: values[0], max: values.at(-1) };
    };
    const show = (field, digits, unit = '') => {
      const { median, min, max } = stat(field);
      return `${median.toFixed(digits)}${unit} (${min.toFixed(digits)}..${max.toFixed(digits)})`;
    };
    const callExtra = stat('callWallExtra').median;
    const chunkRatio = stat('chunkCpuRatio').median;
    const rows = [];
    if (withWall) {
      rows.push([
        'wall time per call (1 chunk)',
        show('callWallDirect', 3, ' ms'),
        show('callWallWrapped', 3, ' ms'),
        show('callWallExtra', 3, ' ms'),
        show('callWallRatio', 3, 'x'),
        `< 1 ms extra: ${callExtra < 1 ? 'yes' : 'NO'}`,
      ]);
    }
    rows.push([
      'CPU per call (1 chunk)',
      show('callCpuDirect', 0, ' µs'),
      show('callCpuWrapped', 0, ' µs'),
      show('callCpuExtra', 0, ' µs'),
      show('callCpuRatio', 3, 'x'),
      withWall ? '' : `< 1 ms extra: ${stat('callCpuExtra').median < 1000 ? 'yes' : 'NO'}`,
    ]);
    if (withWall) {
      rows.push([
        `wall time per stream (${CHUNKS} chunks)`,
        show('streamWallDirect', 2, ' ms'),
        show('streamWallWrapped', 2, ' ms'),
        '',
        show('streamWallRatio', 3, 'x'),
        '',
      ]);
    }
    rows.push([
      'CPU per streamed chunk (marginal)',
      show('chunkCpuDirect', 2, ' µs'),
      show('chunkCpuWrapped', 2, ' µs'),
      show('chunkCpuExtra', 2, ' µs'),
      show('chunkCpuRatio', 3, 'x'),
      `< 5% extra: ${chunkRatio < 1.05 ? 'yes' : 'NO'}`,
    ]);
    return [
      '| measure | openai SDK direct | @haia/llm createModel | extra | ratio | target |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      ...rows.map((row) => `| ${row.join(' | ')} |`),
    ].join('\n');
  }

  const perRound = `${callsPerRound} A-B-B-A quads of one-chunk calls and ${streamsPerRound} of ${CHUNKS}-chunk streams`;
  process.stdout.write(
    `Loopback: the fake in a child process, over HTTP on 127.0.0.1\n\n${table(loopback, true)}\n\n` +
      `Median (min..max) over ${loopback.rounds.length} rounds in ${loopback.elapsedS.toFixed(1)} s; each round ${perRound}. ` +
      `Client CPU only (process.cpuUsage); the fake used ${((fakeCpu.user + fakeCpu.system) / 1000).toFixed(0)} ms CPU in its own process.\n\n` +
      `Replay: the same fake's recorded bytes through an in-memory fetch (no socket: the lowest-noise view of the client's own work)\n\n${table(replay, false)}\n\n` +
      `Median (min..max) over ${replay.rounds.length} rounds in ${replay.elapsedS.toFixed(1)} s; each round ${perRound}.\n`,
  );
}
