import { MockLanguageModel } from '@haia/llm/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentError } from './agent-error.js';
import { createAgent } from './create-agent.js';
import type { StartTimer } from './start-timer.js';
import { collectEvents, deferred, lastEvent, memoryLogger, user } from './test-helpers.js';
import { defineTool } from './tool.js';
import { createToolset, type Toolset } from './toolset.js';

const listVms = defineTool({
  name: 'list_vms',
  description: 'All VMs',
  input: z.object({}),
  execute: () => [{ vmid: 100, name: 'pihole' }],
});
const proxmox = createToolset('proxmox', [listVms]);

/** A toolset whose `listTools` never settles: a hung MCP bridge or remote registry. */
function hangingToolset(name: string): Toolset<unknown> & { asked: Promise<void> } {
  const asked = deferred();
  return {
    name,
    asked: asked.promise,
    listTools: () => {
      asked.resolve();
      return new Promise<never>(() => {});
    },
  };
}

/** A timer the test fires by hand: it records every start and every cancel. */
function manualTimer() {
  const started: Array<{ ms: number; fire: () => void; cancelled: boolean }> = [];
  const first = deferred();
  const startTimer: StartTimer = (ms, onTimeout) => {
    const timer = { ms, fire: onTimeout, cancelled: false };
    started.push(timer);
    first.resolve();
    return () => {
      timer.cancelled = true;
    };
  };
  return { startTimer, started, firstStarted: first.promise };
}

describe('toolset listing is bounded', () => {
  it('goes on without a toolset whose listTools never settles, with a warning naming it', async () => {
    const { logger, lines } = memoryLogger();
    const timer = manualTimer();
    const hanging = hangingToolset('stuck-mcp');
    const model = new MockLanguageModel({ results: { text: 'Only Proxmox today.' } });
    const agent = createAgent({ model, logger, toolsets: [hanging, proxmox], startTimer: timer.startTimer });

    const run = collectEvents(agent.run({ messages: [user('hi')] }));
    await timer.firstStarted;
    expect(timer.started.map((started) => started.ms)).toEqual([10_000]);
    expect(model.calls).toHaveLength(0);
    timer.started[0]!.fire();
    const events = await run;

    expect(lastEvent(events, 'finish').finishReason).toBe('stop');
    expect(model.calls[0]!.tools?.map((tool) => tool.name)).toEqual(['list_vms']);
    expect(lines().find((line) => line.toolset === 'stuck-mcp')).toMatchObject({
      level: 40,
      component: 'agent',
      timeoutMs: 10_000,
      msg: 'toolset did not list its tools within 10000 ms (limits.listToolsTimeoutMs); left out of this step',
    });
  });

  it('cancels the bound when the toolset answers in time, and warns about nothing', async () => {
    const { logger, lines } = memoryLogger();
    const timer = manualTimer();
    const slow: Toolset<unknown> = { name: 'async-registry', listTools: async () => [listVms] };
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const agent = createAgent({
      model,
      logger,
      toolsets: [slow],
      limits: { listToolsTimeoutMs: 2_500 },
      startTimer: timer.startTimer,
    });
    await collectEvents(agent.run({ messages: [user('hi')] }));
    expect(timer.started).toMatchObject([{ ms: 2_500, cancelled: true }]);
    expect(model.calls[0]!.tools?.map((tool) => tool.name)).toEqual(['list_vms']);
    expect(lines().filter((line) => line.level === 40)).toEqual([]);
  });

  it('starts no timer for toolsets that answer at once', async () => {
    const timer = manualTimer();
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const agent = createAgent({ model, toolsets: [proxmox], startTimer: timer.startTimer });
    await collectEvents(agent.run({ messages: [user('hi')] }));
    expect(timer.started).toEqual([]);
  });

  it('cancels the bound, and warns about nothing, when the run is aborted while listing', async () => {
    const { logger, lines } = memoryLogger();
    const timer = manualTimer();
    const controller = new AbortController();
    const hanging = hangingToolset('stuck-mcp');
    const model = new MockLanguageModel({ results: { text: 'x' } });
    const agent = createAgent({ model, logger, toolsets: [hanging], startTimer: timer.startTimer });
    void timer.firstStarted.then(() => controller.abort());
    const events = await collectEvents(agent.run({ messages: [user('hi')], signal: controller.signal }));
    expect(lastEvent(events, 'error').error.code).toBe('aborted');
    expect(timer.started).toMatchObject([{ cancelled: true }]);
    timer.started[0]!.fire();
    expect(lines().filter((line) => line.toolset === 'stuck-mcp')).toEqual([]);
  });

  it('bounds listing with a real timer by default', async () => {
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const agent = createAgent({
      model,
      toolsets: [hangingToolset('stuck-mcp'), proxmox],
      limits: { listToolsTimeoutMs: 1 },
    });
    const events = await collectEvents(agent.run({ messages: [user('hi')] }));
    expect(lastEvent(events, 'finish').finishReason).toBe('stop');
    expect(model.calls[0]!.tools?.map((tool) => tool.name)).toEqual(['list_vms']);
  });

  it('refuses a bound that is not a positive whole number of ms', () => {
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    expect(() => createAgent({ model, limits: { listToolsTimeoutMs: 0 } })).toThrow(AgentError);
    expect(() => createAgent({ model, limits: { listToolsTimeoutMs: 0 } })).toThrow(/listToolsTimeoutMs/);
  });
});
