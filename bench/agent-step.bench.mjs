#!/usr/bin/env node
// The agent loop's own overhead per step (model turn + its tool calls), excluding the model and the
// tools: each scenario runs the same script twice in the same process, once through `agent.run` and
// once by hand (stream the MockLanguageModel, validate and execute the trivial tool directly), and
// the difference per step is the loop's cost. Target: under 0.5 ms per step.
// Uses the BUILT packages: run `npx tsup` in packages/llm and packages/agent first (pnpm bench does).
// Bounded: a fixed number of rounds of a fixed number of runs; no network, no timers in the model.
import { createAgent, createToolset } from '@haia/agent';
import { MockLanguageModel } from '@haia/llm/test';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const RUNS_PER_ROUND = Number(process.env.BENCH_RUNS ?? 100);
const STEPS = 8;
const TARGET_MS = 0.5;

/** A trivial tool, written against the `Tool` interface (no zod: its cost is not the loop's). */
const echo = {
  name: 'get_vm_status',
  description: 'Status of one VM',
  inputSchema: { type: 'object', properties: { vmid: { type: 'integer' } }, required: ['vmid'] },
  annotations: { readOnly: true },
  parseInput: (input) => ({ success: true, data: input }),
  execute: async (input) => ({ vmid: input.vmid, status: 'running', cpu: 0.02, memoryGiB: 2 }),
};
const toolset = createToolset('proxmox', [echo]);

/** Steps 1..STEPS-1 call `calls` tools; the last step answers. */
function script(calls) {
  return (_request, index) =>
    index < STEPS - 1
      ? {
          text: 'Checking. ',
          toolCalls: Array.from({ length: calls }, (_, position) => ({
            toolCallId: `c${index}_${position}`,
            toolName: 'get_vm_status',
            input: { vmid: 100 + position },
          })),
          usage: { inputTokens: 100, outputTokens: 10 },
        }
      : { text: 'All VMs are running.', usage: { inputTokens: 120, outputTokens: 8 } };
}

const history = Array.from({ length: 60 }, (_, index) =>
  index % 2 === 0
    ? { role: 'user', content: `question ${index} ${'x'.repeat(200)}` }
    : { role: 'assistant', content: `answer ${index} ${'y'.repeat(200)}` },
);
history.push({ role: 'user', content: 'How are my VMs?' });

const scenarios = [
  { name: '1 tool call per step', calls: 1, messages: [history.at(-1)], limits: {} },
  { name: '4 parallel calls per step', calls: 4, messages: [history.at(-1)], limits: {} },
  {
    name: '1 call, 61-message history, trimming',
    calls: 1,
    messages: history,
    limits: { contextTokens: 2000 },
  },
];

async function viaAgent(scenario) {
  const model = new MockLanguageModel({ results: script(scenario.calls) });
  const agent = createAgent({
    model,
    instructions: 'You are HAIA, a homelab assistant.',
    toolsets: [toolset],
    limits: { maxSteps: STEPS, ...scenario.limits },
  });
  let steps = 0;
  for await (const event of agent.run({ messages: scenario.messages })) {
    if (event.type === 'finish') steps = event.steps;
    if (event.type === 'error') throw event.error;
  }
  if (steps !== STEPS) throw new Error(`expected ${STEPS} steps, got ${steps}`);
}

/** The same model turns and tool executions by hand: what any loop must at least do. */
async function byHand(scenario) {
  const model = new MockLanguageModel({ results: script(scenario.calls) });
  const messages = [{ role: 'system', content: 'You are HAIA, a homelab assistant.' }, ...scenario.messages];
  const tools = [{ name: echo.name, description: echo.description, inputSchema: echo.inputSchema }];
  const signal = new AbortController().signal;
  for (let step = 0; step < STEPS; step++) {
    const calls = [];
    for await (const event of model.stream({ messages, tools, signal }))
      if (event.type === 'tool-call') calls.push(event);
    const results = await Promise.all(
      calls.map(async (call) => {
        const parsed = echo.parseInput(call.input);
        return echo.execute(parsed.data, {
          deps: undefined,
          signal,
          logger: undefined,
          toolCallId: call.toolCallId,
        });
      }),
    );
    if (results.length > 0) messages.push({ role: 'tool', content: results });
  }
}

async function measure(run, scenario, count) {
  const start = performance.now();
  for (let index = 0; index < count; index++) await run(scenario);
  return (performance.now() - start) / count;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const rows = [];
for (const scenario of scenarios) {
  await measure(viaAgent, scenario, 200);
  await measure(byHand, scenario, 200);
  const agentMs = [];
  const handMs = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so drift on a shared machine hits both sides alike.
    if (round % 2 === 0) {
      agentMs.push(await measure(viaAgent, scenario, RUNS_PER_ROUND));
      handMs.push(await measure(byHand, scenario, RUNS_PER_ROUND));
    } else {
      handMs.push(await measure(byHand, scenario, RUNS_PER_ROUND));
      agentMs.push(await measure(viaAgent, scenario, RUNS_PER_ROUND));
    }
  }
  const perStepAgent = median(agentMs) / STEPS;
  const perStepHand = median(handMs) / STEPS;
  const overhead = Math.max(0, perStepAgent - perStepHand);
  rows.push([
    scenario.name,
    perStepHand.toFixed(3),
    perStepAgent.toFixed(3),
    overhead.toFixed(3),
    (perStepAgent / perStepHand).toFixed(2),
    overhead < TARGET_MS ? 'ok' : 'OVER',
  ]);
}

const header = [
  'scenario',
  'by hand ms/step',
  'agent ms/step',
  'overhead ms/step',
  'ratio',
  `< ${TARGET_MS} ms`,
];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => row[column].length)),
);
const line = (cells) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
console.log(
  `agent loop, ${STEPS} steps per run, ${ROUNDS} rounds x ${RUNS_PER_ROUND} runs, median per round\n`,
);
console.log(line(header));
console.log(line(widths.map((width) => '-'.repeat(width))));
for (const row of rows) console.log(line(row));
