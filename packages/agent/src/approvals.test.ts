import type { Message } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentError } from './agent-error.js';
import { createAgent } from './create-agent.js';
import { collectEvents, eventsOf, lastEvent, user } from './test-helpers.js';
import { defineTool } from './tool.js';
import { createToolset } from './toolset.js';

/** A small stand-in for a cluster the tools act on: real state, real changes. */
class Cluster {
  readonly status = new Map<number, string>([
    [100, 'running'],
    [101, 'stopped'],
  ]);
  readonly actions: string[] = [];
}

interface Deps {
  cluster: Cluster;
}

const startVm = defineTool<Deps, z.ZodObject<{ vmid: z.ZodNumber }>>({
  name: 'start_vm',
  description: 'Start a VM',
  input: z.object({ vmid: z.number().int() }),
  annotations: { destructive: true },
  execute: ({ vmid }, { deps }) => {
    deps.cluster.actions.push(`start ${vmid}`);
    deps.cluster.status.set(vmid, 'running');
    return { vmid, status: 'running' };
  },
});

const stopVm = defineTool<Deps, z.ZodObject<{ vmid: z.ZodNumber; force: z.ZodDefault<z.ZodBoolean> }>>({
  name: 'stop_vm',
  description: 'Stop a VM; a forced stop needs approval',
  input: z.object({ vmid: z.number().int(), force: z.boolean().default(false) }),
  needsApproval: (input) => input.force,
  execute: ({ vmid, force }, { deps }) => {
    deps.cluster.actions.push(`${force ? 'force-stop' : 'stop'} ${vmid}`);
    deps.cluster.status.set(vmid, 'stopped');
    return { vmid, status: 'stopped' };
  },
});

const getVmStatus = defineTool<Deps, z.ZodObject<{ vmid: z.ZodNumber }>>({
  name: 'get_vm_status',
  description: 'Status of a VM',
  input: z.object({ vmid: z.number().int() }),
  annotations: { readOnly: true },
  execute: ({ vmid }, { deps }) => ({ vmid, status: deps.cluster.status.get(vmid) ?? 'unknown' }),
});

const toolsets = [createToolset<Deps>('proxmox', [getVmStatus, startVm, stopVm])];

describe('approvals', () => {
  it('stops at a destructive call, then runs it after approval on resume', async () => {
    const cluster = new Cluster();
    const model = new MockLanguageModel({
      results: [
        {
          text: 'Starting it.',
          toolCalls: [
            { toolCallId: 'start', toolName: 'start_vm', input: { vmid: 101 } },
            { toolCallId: 'look', toolName: 'get_vm_status', input: { vmid: 100 } },
          ],
          usage: { inputTokens: 10, outputTokens: 5 },
        },
        { text: 'VM 101 is running now.', usage: { inputTokens: 20, outputTokens: 6 } },
      ],
    });
    const agent = createAgent<Deps>({ model, toolsets });
    const question = [user('Start jellyfin (101)')];
    const first = await collectEvents(agent.run({ messages: question, deps: { cluster } }));

    expect(first.slice(-2).map((event) => event.type)).toEqual(['approval-required', 'finish']);
    const required = eventsOf(first, 'approval-required')[0]!;
    expect(required.pending).toEqual([
      {
        toolCallId: 'start',
        toolName: 'start_vm',
        input: { vmid: 101 },
        toolset: 'proxmox',
        description: 'Start a VM',
        annotations: { destructive: true },
      },
    ]);
    // Nothing was changed; the read-only call of the same turn ran.
    expect(cluster.actions).toEqual([]);
    expect(eventsOf(first, 'tool-result').map((result) => result.toolCallId)).toEqual(['look']);
    const paused = lastEvent(first, 'finish');
    expect(paused).toMatchObject({ finishReason: 'approval-required', steps: 1 });
    expect(paused.messages.map((message) => message.role)).toEqual(['assistant', 'tool']);
    expect(model.calls).toHaveLength(1);

    const stored: Message[] = [...question, ...paused.messages];
    const second = await collectEvents(
      agent.resume({
        messages: stored,
        deps: { cluster },
        approvals: [{ toolCallId: 'start', approved: true }],
      }),
    );
    expect(cluster.actions).toEqual(['start 101']);
    const result = eventsOf(second, 'tool-result')[0]!;
    expect(result).toMatchObject({
      step: 0,
      toolCallId: 'start',
      outcome: 'ok',
      output: { vmid: 101, status: 'running' },
    });
    const done = lastEvent(second, 'finish');
    expect(done).toMatchObject({ finishReason: 'stop', steps: 1, toolCalls: 1 });
    expect(done.messages).toEqual([
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'start',
            toolName: 'start_vm',
            output: { vmid: 101, status: 'running' },
          },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'VM 101 is running now.' }] },
    ]);
    // The model saw both results of its first turn.
    const seen = model.calls[1]!.messages.flatMap((message) =>
      message.role === 'tool' ? message.content : [],
    );
    expect(seen.map((part) => part.toolCallId).sort()).toEqual(['look', 'start']);
  });

  it('answers a declined call with an error result saying the user declined, and never runs it', async () => {
    const cluster = new Cluster();
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 'stop', toolName: 'stop_vm', input: { vmid: 100, force: true } }] },
        { text: 'OK, I left VM 100 running.' },
      ],
    });
    const agent = createAgent<Deps>({ model, toolsets });
    const paused = await agent.generate({ messages: [user('Force-stop 100')], deps: { cluster } });
    expect(paused.finishReason).toBe('approval-required');
    expect(paused.pendingApprovals.map((call) => [call.toolCallId, call.input])).toEqual([
      ['stop', { vmid: 100, force: true }],
    ]);
    const resumed = await agent.generate({
      messages: [user('Force-stop 100'), ...paused.messages],
      deps: { cluster },
      approvals: [{ toolCallId: 'stop', approved: false, reason: 'pihole must stay up' }],
    });
    expect(cluster.actions).toEqual([]);
    const declined = resumed.messages[0];
    expect(declined).toMatchObject({ role: 'tool', content: [{ toolCallId: 'stop', isError: true }] });
    const output = String((declined as Extract<Message, { role: 'tool' }>).content[0]!.output);
    expect(output).toContain('The user declined this call to stop_vm');
    expect(output).toContain('pihole must stay up');
    expect(resumed.text).toBe('OK, I left VM 100 running.');
  });

  it('needsApproval as a function of the input: a plain stop runs at once', async () => {
    const cluster = new Cluster();
    const model = new MockLanguageModel({
      results: [{ toolCalls: [{ toolName: 'stop_vm', input: { vmid: 100 } }] }, { text: 'Stopped.' }],
    });
    const agent = createAgent<Deps>({ model, toolsets });
    const result = await agent.generate({ messages: [user('stop 100')], deps: { cluster } });
    expect(result.finishReason).toBe('stop');
    expect(cluster.actions).toEqual(['stop 100']);
  });

  it('keeps undecided calls waiting and rejects decisions for calls that are not waiting', async () => {
    const cluster = new Cluster();
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolCallId: 'a', toolName: 'start_vm', input: { vmid: 101 } },
            { toolCallId: 'b', toolName: 'stop_vm', input: { vmid: 100, force: true } },
          ],
        },
        { text: 'Done.' },
      ],
    });
    const agent = createAgent<Deps>({ model, toolsets });
    const question = [user('swap them')];
    const paused = await agent.generate({ messages: question, deps: { cluster } });
    expect(paused.pendingApprovals.map((call) => call.toolCallId)).toEqual(['a', 'b']);

    const partly = await agent.generate({
      messages: [...question, ...paused.messages],
      deps: { cluster },
      approvals: [{ toolCallId: 'a', approved: true }],
    });
    expect(cluster.actions).toEqual(['start 101']);
    expect(partly.finishReason).toBe('approval-required');
    expect(partly.pendingApprovals.map((call) => call.toolCallId)).toEqual(['b']);
    expect(model.calls).toHaveLength(1);

    const history = [...question, ...paused.messages, ...partly.messages];
    const stale = await collectEvents(
      agent.resume({
        messages: history,
        deps: { cluster },
        approvals: [{ toolCallId: 'a', approved: true }],
      }),
    );
    const error = lastEvent(stale, 'error');
    expect(AgentError.isInstance(error.error) && error.error.code).toBe('invalid-resume');
    expect(cluster.actions).toEqual(['start 101']);

    const finished = await agent.generate({
      messages: history,
      deps: { cluster },
      approvals: [{ toolCallId: 'b', approved: true }],
    });
    expect(cluster.actions).toEqual(['start 101', 'force-stop 100']);
    expect(finished.finishReason).toBe('stop');
  });

  it('re-validates an approved call against the tool as it is now', async () => {
    const cluster = new Cluster();
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 'gone', toolName: 'start_vm', input: { vmid: 101 } }] },
        { text: 'It is gone.' },
      ],
    });
    const withStart = createAgent<Deps>({ model, toolsets });
    const paused = await withStart.generate({ messages: [user('start 101')], deps: { cluster } });
    // The tool disappeared before the decision (an MCP server went away).
    const without = createAgent<Deps>({ model, toolsets: [createToolset<Deps>('proxmox', [getVmStatus])] });
    const resumed = await without.generate({
      messages: [user('start 101'), ...paused.messages],
      deps: { cluster },
      approvals: [{ toolCallId: 'gone', approved: true }],
    });
    expect(cluster.actions).toEqual([]);
    expect(resumed.messages[0]).toMatchObject({
      role: 'tool',
      content: [{ toolCallId: 'gone', isError: true }],
    });
  });
});
