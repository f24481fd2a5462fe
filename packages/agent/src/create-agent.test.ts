import { LlmError, type Message, type ToolResultPart } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import { repeatedKeys } from '@haia/testkit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentError } from './agent-error.js';
import { createAgent } from './create-agent.js';
import { finalTurnNotice } from './run-loop.js';
import { collectEvents, deferred, eventsOf, lastEvent, memoryLogger, user } from './test-helpers.js';
import { defineTool } from './tool.js';
import { createToolset, type Toolset } from './toolset.js';

interface Deps {
  guests: Record<number, { name: string; status: string; memoryGiB: number }>;
}

const deps: Deps = {
  guests: {
    100: { name: 'pihole', status: 'running', memoryGiB: 1 },
    101: { name: 'jellyfin', status: 'stopped', memoryGiB: 4 },
  },
};

const getVmStatus = defineTool<Deps, z.ZodObject<{ vmid: z.ZodNumber }>>({
  name: 'get_vm_status',
  description: 'Status of one VM by id',
  input: z.object({ vmid: z.number().int() }),
  annotations: { readOnly: true },
  execute: ({ vmid }, { deps }) => {
    const guest = deps.guests[vmid];
    if (!guest) throw new Error(`VM ${vmid} does not exist`);
    return { vmid, ...guest };
  },
});

const listVms = defineTool<Deps, z.ZodObject<Record<string, never>>>({
  name: 'list_vms',
  description: 'All VMs',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: (_input, { deps }) =>
    Object.entries(deps.guests).map(([vmid, guest]) => ({ vmid: Number(vmid), ...guest })),
});

const proxmox = createToolset<Deps>('proxmox', [getVmStatus, listVms]);

function toolResults(messages: readonly Message[]): ToolResultPart[] {
  return messages.flatMap((message) => (message.role === 'tool' ? message.content : []));
}

describe('createAgent: the loop', () => {
  it('runs a multi-step turn: tool call, result back to the model, answer; messages and usage in finish', async () => {
    const model = new MockLanguageModel({
      results: [
        {
          text: 'Let me check.',
          toolCalls: [{ toolCallId: 'c1', toolName: 'get_vm_status', input: { vmid: 100 } }],
          usage: { inputTokens: 100, outputTokens: 10 },
        },
        { text: 'VM 100 (pihole) is running with 1 GiB.', usage: { inputTokens: 150, outputTokens: 12 } },
      ],
    });
    const agent = createAgent<Deps>({ model, instructions: 'You are HAIA.', toolsets: [proxmox] });
    const events = await collectEvents(agent.run({ messages: [user('Is pihole up?')], deps }));

    expect(events.map((event) => event.type)).toEqual([
      'text-delta',
      'tool-call',
      'tool-result',
      'step-finish',
      'text-delta',
      'step-finish',
      'finish',
    ]);
    const result = eventsOf(events, 'tool-result')[0]!;
    expect(result).toMatchObject({
      step: 1,
      toolCallId: 'c1',
      toolName: 'get_vm_status',
      isError: false,
      outcome: 'ok',
      output: { vmid: 100, name: 'pihole', status: 'running', memoryGiB: 1 },
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);

    const finish = lastEvent(events, 'finish');
    expect(finish.finishReason).toBe('stop');
    expect(finish.steps).toBe(2);
    expect(finish.toolCalls).toBe(1);
    expect(finish.maxStepsReached).toBe(false);
    expect(finish.usage).toEqual({ inputTokens: 250, outputTokens: 22 });
    expect(finish.response).toEqual({ model: 'mock:mock-model', id: 'mock-2' });
    expect(finish.messages).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'get_vm_status', input: { vmid: 100 } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'get_vm_status',
            output: { vmid: 100, name: 'pihole', status: 'running', memoryGiB: 1 },
          },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'VM 100 (pihole) is running with 1 GiB.' }] },
    ]);

    // The second model call saw the system prompt, the question, the call and its result.
    expect(model.calls).toHaveLength(2);
    expect(model.calls[1]!.messages).toEqual([
      { role: 'system', content: 'You are HAIA.' },
      user('Is pihole up?'),
      ...finish.messages.slice(0, 2),
    ]);
    expect(model.calls[0]!.tools?.map((tool) => tool.name)).toEqual(['get_vm_status', 'list_vms']);
    expect(model.calls[0]!.tools?.[0]?.inputSchema).toMatchObject({
      type: 'object',
      properties: { vmid: { type: 'integer' } },
    });
    expect(model.calls[0]!.toolChoice).toBeUndefined();
  });

  it('keeps each signed and redacted reasoning block as its own part and hands them back in the next step', async () => {
    const model = new MockLanguageModel({
      results: [
        [
          { type: 'reasoning-delta', text: 'Check ' },
          { type: 'reasoning-delta', text: 'it.' },
          { type: 'reasoning-delta', text: '', signature: 'sig-1' },
          { type: 'reasoning-delta', text: '', redactedData: 'encrypted' },
          { type: 'reasoning-delta', text: 'Then answer.', signature: 'sig-2' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'get_vm_status', input: { vmid: 100 } },
          {
            type: 'finish',
            finishReason: 'tool-calls',
            usage: { inputTokens: 1, outputTokens: 1 },
            response: { model: 'mock:mock-model', id: 'mock-1' },
          },
        ],
        { text: 'pihole is running.' },
      ],
    });
    const agent = createAgent<Deps>({ model, instructions: 'You are HAIA.', toolsets: [proxmox] });
    const events = await collectEvents(agent.run({ messages: [user('Is pihole up?')], deps }));

    expect(eventsOf(events, 'reasoning-delta').map((event) => event.redactedData)).toEqual([
      undefined,
      undefined,
      undefined,
      'encrypted',
      undefined,
    ]);
    const thinking = [
      { type: 'reasoning', text: 'Check it.', signature: 'sig-1' },
      { type: 'reasoning', text: '', redactedData: 'encrypted' },
      { type: 'reasoning', text: 'Then answer.', signature: 'sig-2' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'get_vm_status', input: { vmid: 100 } },
    ];
    expect(lastEvent(events, 'finish').messages[0]).toEqual({ role: 'assistant', content: thinking });
    expect(model.calls[1]?.messages.find((message) => message.role === 'assistant')).toEqual({
      role: 'assistant',
      content: thinking,
    });
  });

  it("passes a fallback model's fallback event on, with its step", async () => {
    const model = new MockLanguageModel({
      results: [
        [
          { type: 'fallback', model: 'ollama:llama3.2', failed: 'anthropic:claude-test' },
          { type: 'text-delta', text: 'Hi.' },
        ],
      ],
    });
    const agent = createAgent<Deps>({ model, instructions: 'You are HAIA.', toolsets: [proxmox] });
    const events = await collectEvents(agent.run({ messages: [user('Hi')], deps }));
    expect(eventsOf(events, 'fallback')).toEqual([
      { type: 'fallback', step: 1, model: 'ollama:llama3.2', failed: 'anthropic:claude-test' },
    ]);
    expect(lastEvent(events, 'finish').messages).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'Hi.' }] },
    ]);
  });

  it("passes a model's refusal flag on with its text, and keeps the refusal as the answer's text", async () => {
    const model = new MockLanguageModel({
      results: [
        [
          { type: 'text-delta', text: 'I cannot help with that.', refusal: true },
          {
            type: 'finish',
            finishReason: 'content-filter',
            usage: { inputTokens: 1, outputTokens: 1 },
            response: { model: 'mock:mock-model', id: 'r1' },
          },
        ],
      ],
    });
    const agent = createAgent<Deps>({ model, instructions: 'You are HAIA.', toolsets: [proxmox] });
    const events = await collectEvents(agent.run({ messages: [user('Hi')], deps }));
    expect(eventsOf(events, 'text-delta')).toEqual([
      { type: 'text-delta', step: 1, text: 'I cannot help with that.', refusal: true },
    ]);
    expect(lastEvent(events, 'finish')).toMatchObject({
      finishReason: 'content-filter',
      messages: [{ role: 'assistant', content: [{ type: 'text', text: 'I cannot help with that.' }] }],
    });
  });

  it('runs the calls of one turn in parallel: both tools start before either finishes', async () => {
    const started: string[] = [];
    const bothStarted = deferred();
    const finished: string[] = [];
    const waitForBoth = (name: string) =>
      defineTool({
        name,
        description: `waits until both tools have started (${name})`,
        input: z.object({}),
        execute: async () => {
          started.push(name);
          if (started.length === 2) bothStarted.resolve();
          await bothStarted.promise;
          finished.push(name);
          return `${name} done; started before me: ${started.join(',')}`;
        },
      });
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolCallId: 'a', toolName: 'first', input: {} },
            { toolCallId: 'b', toolName: 'second', input: {} },
          ],
        },
        { text: 'Both done.' },
      ],
    });
    // A sequential loop would deadlock here and end in timeouts instead of results.
    const agent = createAgent({
      model,
      toolsets: [createToolset('waiters', [waitForBoth('first'), waitForBoth('second')])],
      limits: { toolTimeoutMs: 10_000 },
    });
    const events = await collectEvents(agent.run({ messages: [user('go')] }));
    const results = eventsOf(events, 'tool-result');
    expect(results.map((result) => result.outcome)).toEqual(['ok', 'ok']);
    expect(started).toEqual(['first', 'second']);
    expect(finished).toHaveLength(2);
    // Both were started when the first one finished.
    expect(results.every((result) => String(result.output).includes('started before me: first,second'))).toBe(
      true,
    );
    // The tool message keeps the order of the calls.
    const finish = lastEvent(events, 'finish');
    expect(toolResults(finish.messages).map((part) => part.toolCallId)).toEqual(['a', 'b']);
  });

  it('turns a timeout into an error result the model reads; the tool sees its signal fire', async () => {
    let reason: unknown;
    const slow = defineTool({
      name: 'slow_scan',
      description: 'never finishes on its own',
      input: z.object({}),
      execute: (_input, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            reject(signal.reason);
          });
        }),
    });
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 's', toolName: 'slow_scan', input: {} }] },
        { text: 'The scan timed out.' },
      ],
    });
    const agent = createAgent({
      model,
      toolsets: [createToolset('scan', [slow])],
      limits: { toolTimeoutMs: 20 },
    });
    const events = await collectEvents(agent.run({ messages: [user('scan')] }));
    const result = eventsOf(events, 'tool-result')[0]!;
    expect(result).toMatchObject({ isError: true, outcome: 'timeout' });
    expect(String(result.output)).toContain('timed out after 20 ms');
    expect((reason as Error).name).toBe('TimeoutError');
    expect(lastEvent(events, 'finish').finishReason).toBe('stop');
    expect(toolResults(model.calls[1]!.messages)[0]).toMatchObject({ toolCallId: 's', isError: true });
  });

  it('ends a call at its timeout even when the tool ignores its signal', async () => {
    const never = deferred<string>();
    const deaf = defineTool({
      name: 'deaf',
      description: 'ignores its signal',
      input: z.object({}),
      execute: () => never.promise,
    });
    const model = new MockLanguageModel({
      results: [{ toolCalls: [{ toolName: 'deaf', input: {} }] }, { text: 'It did not answer.' }],
    });
    const agent = createAgent({
      model,
      toolsets: [createToolset('deaf', [deaf])],
      limits: { toolTimeoutMs: 10 },
    });
    const result = await agent.generate({ messages: [user('try')] });
    expect(toolResults(result.messages)[0]).toMatchObject({ isError: true });
    expect(result.text).toBe('It did not answer.');
    never.resolve('late');
  });

  it('turns thrown errors, explicit error outputs, invalid input and unknown tools into error results', async () => {
    let executions = 0;
    const counted = defineTool({
      name: 'get_node_status',
      description: 'Status of a node',
      input: z.object({ node: z.string().min(1) }),
      execute: ({ node }) => {
        executions++;
        if (node === 'pve9')
          return { isError: true as const, content: 'Node pve9 is not part of the cluster.' };
        // Some libraries throw plain objects: the model reads their message, not "[object Object]".
        if (node === 'pve7') throw { status: 500, message: 'backend exploded' };
        if (node === 'pve8') throw { status: 503 };
        return { node, cpuPercent: 12.5 };
      },
    });
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolCallId: 'thrown', toolName: 'get_vm_status', input: { vmid: 999 } },
            { toolCallId: 'explicit', toolName: 'get_node_status', input: { node: 'pve9' } },
            { toolCallId: 'invalid', toolName: 'get_node_status', input: { node: 42 } },
            { toolCallId: 'unknown', toolName: 'reboot_everything', input: {} },
            { toolCallId: 'fine', toolName: 'get_node_status', input: { node: 'pve1' } },
            { toolCallId: 'object', toolName: 'get_node_status', input: { node: 'pve7' } },
            { toolCallId: 'bare', toolName: 'get_node_status', input: { node: 'pve8' } },
          ],
        },
        { text: 'Some checks failed.' },
      ],
    });
    const agent = createAgent<Deps>({
      model,
      toolsets: [proxmox, createToolset<Deps>('nodes', [counted])],
    });
    const events = await collectEvents(agent.run({ messages: [user('check everything')], deps }));
    const byId = new Map(eventsOf(events, 'tool-result').map((result) => [result.toolCallId, result]));
    expect(byId.get('thrown')).toMatchObject({ isError: true, outcome: 'error' });
    expect(String(byId.get('thrown')!.output)).toContain('VM 999 does not exist');
    expect(byId.get('explicit')).toMatchObject({
      isError: true,
      outcome: 'error',
      output: 'Node pve9 is not part of the cluster.',
    });
    expect(byId.get('invalid')).toMatchObject({ isError: true, outcome: 'invalid-input' });
    expect(String(byId.get('invalid')!.output)).toMatch(
      /Invalid input for the tool get_node_status:[\s\S]*node/,
    );
    expect(byId.get('unknown')).toMatchObject({ isError: true, outcome: 'unknown-tool' });
    expect(String(byId.get('unknown')!.output)).toContain(
      'There is no tool named "reboot_everything". Available tools: get_vm_status, list_vms, get_node_status.',
    );
    expect(byId.get('fine')).toMatchObject({ isError: false, output: { node: 'pve1', cpuPercent: 12.5 } });
    expect(byId.get('object')!.output).toBe('The tool get_node_status failed: backend exploded');
    expect(byId.get('bare')!.output).toBe('The tool get_node_status failed: {"status":503}');
    expect(executions).toBe(4);
    const finish = lastEvent(events, 'finish');
    expect(finish.finishReason).toBe('stop');
    expect(finish.toolCalls).toBe(7);
    // Every call answered, in call order, and the model saw them all.
    expect(toolResults(model.calls[1]!.messages).map((part) => part.toolCallId)).toEqual([
      'thrown',
      'explicit',
      'invalid',
      'unknown',
      'fine',
      'object',
      'bare',
    ]);
  });

  it('cuts a tool result longer than maxToolResultChars and tells the model so', async () => {
    const big = defineTool({
      name: 'read_log',
      description: 'Reads a log',
      input: z.object({ lines: z.number().optional() }),
      execute: ({ lines }) => (lines ? { lines: ['a', 'b'] } : 'x'.repeat(5000)),
    });
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolCallId: 'long', toolName: 'read_log', input: {} },
            { toolCallId: 'short', toolName: 'read_log', input: { lines: 2 } },
          ],
        },
        { text: 'The log is long.' },
      ],
    });
    const agent = createAgent<Deps>({
      model,
      toolsets: [createToolset<Deps>('logs', [big])],
      limits: { maxToolResultChars: 1000 },
    });
    await collectEvents(agent.run({ messages: [user('read the log')], deps }));
    const [long, short] = toolResults(model.calls[1]!.messages);
    expect(String(long?.output)).toMatch(
      /^x{1000}\n\n\[HAIA cut this result: the first 1000 of 5000 characters are shown/,
    );
    expect(short?.output).toEqual({ lines: ['a', 'b'] });
    // Without a limit of its own: half the context budget (about 4 characters a token).
    const budgeted = createAgent<Deps>({
      model: new MockLanguageModel({
        results: [{ toolCalls: [{ toolCallId: 'long', toolName: 'read_log', input: {} }] }, { text: 'ok' }],
      }),
      toolsets: [createToolset<Deps>('logs', [big])],
      limits: { contextTokens: 1000 },
    });
    const events = await collectEvents(budgeted.run({ messages: [user('read the log')], deps }));
    const result = eventsOf(events, 'tool-result')[0];
    expect(String(result?.output)).toContain('the first 2000 of 5000 characters');
  });

  it('after maxSteps makes one last turn without tools asking for the answer', async () => {
    const model = new MockLanguageModel({
      results: (request, index) =>
        request.toolChoice === 'none'
          ? { text: 'Here is what I found so far.' }
          : { toolCalls: [{ toolCallId: `loop${index}`, toolName: 'list_vms', input: {} }] },
    });
    const agent = createAgent<Deps>({
      model,
      instructions: 'Base prompt.',
      toolsets: [proxmox],
      limits: { maxSteps: 2 },
    });
    const events = await collectEvents(agent.run({ messages: [user('loop forever')], deps }));
    expect(model.calls).toHaveLength(3);
    const last = model.calls[2]!;
    expect(last.toolChoice).toBe('none');
    expect(last.tools?.map((tool) => tool.name)).toEqual(['get_vm_status', 'list_vms']);
    expect(last.messages[0]).toEqual({ role: 'system', content: `Base prompt.\n\n${finalTurnNotice(2)}` });
    expect(model.calls[1]!.messages[0]).toEqual({ role: 'system', content: 'Base prompt.' });
    const finish = lastEvent(events, 'finish');
    expect(finish).toMatchObject({ finishReason: 'stop', maxStepsReached: true, steps: 3, toolCalls: 2 });
    expect(finish.messages.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Here is what I found so far.' }],
    });
  });

  it('ignores tool calls a model makes in the final turn anyway, keeping every call paired', async () => {
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 'one', toolName: 'list_vms', input: {} }] },
        { text: 'Partial answer.', toolCalls: [{ toolCallId: 'two', toolName: 'list_vms', input: {} }] },
      ],
    });
    const agent = createAgent<Deps>({ model, toolsets: [proxmox], limits: { maxSteps: 1 } });
    const events = await collectEvents(agent.run({ messages: [user('hi')], deps }));
    expect(eventsOf(events, 'tool-call').map((event) => event.toolCallId)).toEqual(['one']);
    const finish = lastEvent(events, 'finish');
    expect(finish).toMatchObject({ finishReason: 'other', maxStepsReached: true });
    expect(finish.messages.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Partial answer.' }],
    });
  });

  it('reads a changing toolset once per step: added tools are offered, removed ones become unknown', async () => {
    let reads = 0;
    const changing: Toolset<Deps> = {
      name: 'mcp-files',
      listTools: async () => {
        reads++;
        return reads === 1 ? [listVms] : [getVmStatus];
      },
    };
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 'x', toolName: 'list_vms', input: {} }] },
        { toolCalls: [{ toolCallId: 'y', toolName: 'list_vms', input: {} }] },
        { text: 'done' },
      ],
    });
    const agent = createAgent<Deps>({ model, toolsets: [changing] });
    const events = await collectEvents(agent.run({ messages: [user('hi')], deps }));
    expect(model.calls.map((call) => call.tools?.map((tool) => tool.name))).toEqual([
      ['list_vms'],
      ['get_vm_status'],
      ['get_vm_status'],
    ]);
    expect(reads).toBe(3);
    const results = eventsOf(events, 'tool-result');
    expect(results.map((result) => result.outcome)).toEqual(['ok', 'unknown-tool']);
  });

  it('leaves out a toolset whose listTools rejects, with a warning, and still offers the others', async () => {
    const { logger, lines } = memoryLogger();
    const rejecting: Toolset<Deps> = {
      name: 'flaky-mcp',
      listTools: () => Promise.reject(new Error('connection reset')),
    };
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const agent = createAgent<Deps>({ model, logger, toolsets: [rejecting, proxmox] });
    await collectEvents(agent.run({ messages: [user('hi')], deps }));
    expect(model.calls[0]!.tools?.map((tool) => tool.name)).toEqual(['get_vm_status', 'list_vms']);
    expect(lines().find((line) => line.toolset === 'flaky-mcp')).toMatchObject({
      err: 'connection reset',
      msg: 'toolset failed to list its tools; left out of this step',
    });
  });

  it('keeps the first of two tools with the same name and warns once; a failing toolset is left out', async () => {
    const { logger, lines } = memoryLogger();
    const shadow = defineTool({
      name: 'list_vms',
      description: 'a second list_vms',
      input: z.object({}),
      execute: () => 'shadow',
    });
    const broken: Toolset<Deps> = {
      name: 'broken',
      listTools: () => {
        throw new Error('server went away');
      },
    };
    const model = new MockLanguageModel({
      results: [{ toolCalls: [{ toolName: 'list_vms', input: {} }] }, { text: 'ok' }],
    });
    const agent = createAgent<Deps>({
      model,
      logger,
      toolsets: [proxmox, createToolset<Deps>('other', [shadow]), broken],
    });
    const events = await collectEvents(agent.run({ messages: [user('hi')], deps }));
    expect(Array.isArray(eventsOf(events, 'tool-result')[0]!.output)).toBe(true);
    expect(model.calls[0]!.tools?.map((tool) => tool.name)).toEqual(['get_vm_status', 'list_vms']);
    const collisions = lines().filter((line) => String(line.msg).includes('already taken'));
    expect(collisions).toHaveLength(1);
    expect(collisions[0]).toMatchObject({
      tool: 'list_vms',
      toolset: 'other',
      keptToolset: 'proxmox',
      component: 'agent',
    });
    const failures = lines().filter((line) => line.toolset === 'broken');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ level: 40, err: 'server went away' });
  });

  it('logs each tool call with its tool, duration and outcome, and the run once', async () => {
    const { logger, lines } = memoryLogger();
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolCallId: 'ok1', toolName: 'get_vm_status', input: { vmid: 100 } },
            { toolCallId: 'bad1', toolName: 'get_vm_status', input: { vmid: 5 } },
          ],
        },
        { text: 'done' },
      ],
    });
    const agent = createAgent<Deps>({ model, logger, toolsets: [proxmox] });
    await agent.generate({ messages: [user('hi')], deps });
    const toolLines = lines().filter((line) => line.tool === 'get_vm_status' && 'outcome' in line);
    expect(toolLines.map((line) => [line.toolCallId, line.outcome, line.toolset])).toEqual(
      expect.arrayContaining([
        ['ok1', 'ok', 'proxmox'],
        ['bad1', 'error', 'proxmox'],
      ]),
    );
    for (const line of toolLines) expect(typeof line.durationMs).toBe('number');
    const runLines = lines().filter((line) => line.msg === 'agent run');
    expect(runLines).toHaveLength(1);
    // At debug (20): the caller's request line and the model calls' lines carry the rest at info.
    expect(runLines[0]).toMatchObject({ level: 20, steps: 2, toolCalls: 2, finishReason: 'stop' });
  });

  it("writes each key of a tool's line once over a pino logger, with the tool's own component", async () => {
    // A tool that logs as @haia/mcp's do: its own `component`, and `tool` / `toolCallId` again.
    const readNotes = defineTool({
      name: 'read_notes',
      description: 'Reads the notes',
      input: z.object({}),
      execute: (_input, { logger, toolCallId }) => {
        logger
          .child({ component: 'mcp', server: 'files' })
          .info({ server: 'files', tool: 'read_notes', toolCallId, outcome: 'ok' }, 'mcp tool call');
        return 'backup at 02:00';
      },
    });
    const run = async (options: { agentBindings?: Record<string, unknown>; runBindings?: object }) => {
      const { logger, raw } = memoryLogger();
      const model = new MockLanguageModel({
        results: [{ toolCalls: [{ toolCallId: 'c1', toolName: 'read_notes', input: {} }] }, { text: 'ok' }],
      });
      const agent = createAgent({
        model,
        logger: options.agentBindings ? logger.child(options.agentBindings) : logger,
        toolsets: [createToolset('files', [readNotes])],
      });
      const runLogger = options.runBindings ? logger.child(options.runBindings) : undefined;
      await agent.generate({ messages: [user('when is the backup?')], deps: undefined, logger: runLogger });
      for (const line of raw()) expect(repeatedKeys(line), line).toEqual([]);
      const lines = raw().map((line) => JSON.parse(line) as Record<string, unknown>);
      return {
        tool: lines.find((line) => line.msg === 'mcp tool call'),
        agent: lines.find((line) => line.msg === 'tool call'),
      };
    };
    const mcpLine = {
      component: 'mcp',
      server: 'files',
      tool: 'read_notes',
      toolCallId: 'c1',
      outcome: 'ok',
    };
    // The agent's own logger (no run logger): `component: 'agent'` was a pino child's, written first.
    const plain = await run({});
    expect(plain.tool).toMatchObject(mcpLine);
    expect(plain.agent).toMatchObject({ component: 'agent', tool: 'read_notes', toolCallId: 'c1' });
    // A run logger bound to a request.
    const request = await run({ runBindings: { requestId: 'r1' } });
    expect(request.tool).toMatchObject({ ...mcpLine, requestId: 'r1' });
    expect(request.agent).toMatchObject({ component: 'agent', requestId: 'r1' });
    // A logger that binds `component` itself keeps it: pino writes it into every line already.
    const preBound = await run({ agentBindings: { component: 'agent' } });
    expect(preBound.agent).toMatchObject({ component: 'agent', tool: 'read_notes' });
    expect(preBound.tool).toMatchObject({ server: 'files', outcome: 'ok' });
  });

  it('builds instructions per step from deps, tools and the injected clock', async () => {
    const seen: Array<{ tools: string[]; toolsets: readonly string[]; now: string; guests: number }> = [];
    const model = new MockLanguageModel({
      results: [{ toolCalls: [{ toolName: 'list_vms', input: {} }] }, { text: 'done' }],
    });
    let tick = 0;
    const agent = createAgent<Deps>({
      model,
      toolsets: [proxmox],
      now: () => new Date(Date.UTC(2026, 11, 1, 6, tick++)),
      instructions: ({ deps, tools, toolsets, now }) => {
        seen.push({
          tools: tools.map((tool) => tool.name),
          toolsets,
          now: now.toISOString(),
          guests: Object.keys(deps.guests).length,
        });
        return `It is ${now.toISOString()}.`;
      },
    });
    await agent.generate({ messages: [user('hi')], deps });
    expect(seen).toEqual([
      {
        tools: ['get_vm_status', 'list_vms'],
        toolsets: ['proxmox'],
        now: '2026-12-01T06:00:00.000Z',
        guests: 2,
      },
      {
        tools: ['get_vm_status', 'list_vms'],
        toolsets: ['proxmox'],
        now: '2026-12-01T06:01:00.000Z',
        guests: 2,
      },
    ]);
    expect(model.calls[1]!.messages[0]).toEqual({
      role: 'system',
      content: 'It is 2026-12-01T06:01:00.000Z.',
    });
  });

  it('ends with an error event carrying the messages of the steps before a model failure', async () => {
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [{ toolCallId: 'c1', toolName: 'list_vms', input: {} }],
          usage: { inputTokens: 5, outputTokens: 1 },
        },
        new LlmError({
          code: 'rate-limit',
          message: 'Slow down.',
          provider: 'mock',
          model: 'mock-model',
          status: 429,
        }),
      ],
    });
    const agent = createAgent<Deps>({ model, toolsets: [proxmox] });
    const events = await collectEvents(agent.run({ messages: [user('hi')], deps }));
    const error = lastEvent(events, 'error');
    expect(LlmError.isInstance(error.error)).toBe(true);
    expect(error.error.code).toBe('rate-limit');
    expect(error.steps).toBe(2);
    expect(error.usage).toEqual({ inputTokens: 5, outputTokens: 1 });
    expect(error.messages.map((message) => message.role)).toEqual(['assistant', 'tool']);
    await expect(agent.generate({ messages: [user('hi')], deps })).rejects.toThrow();
  });

  it('keeps the partial text of a turn that failed mid-stream, without its unrun tool calls', async () => {
    const model = new MockLanguageModel({
      results: () => ({ text: 'unused' }),
    });
    const failing = {
      provider: 'mock',
      modelId: 'flaky',
      generate: model.generate.bind(model),
      async *stream() {
        yield { type: 'text-delta' as const, text: 'Three VMs are ' };
        yield { type: 'tool-call' as const, toolCallId: 'half', toolName: 'list_vms', input: {} };
        throw new Error('connection reset');
      },
    };
    const agent = createAgent<Deps>({ model: failing, toolsets: [proxmox] });
    const events = await collectEvents(agent.run({ messages: [user('hi')], deps }));
    const error = lastEvent(events, 'error');
    expect(AgentError.isInstance(error.error)).toBe(true);
    expect(error.error).toMatchObject({ code: 'model', message: 'The model failed: connection reset' });
    expect(error.messages).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'Three VMs are ' }] },
    ]);
  });

  it('answers an interrupted call of an earlier turn in the request so the model accepts the history', async () => {
    const model = new MockLanguageModel({ results: [{ text: 'ok' }] });
    const agent = createAgent<Deps>({ model, toolsets: [proxmox] });
    const history: Message[] = [
      user('first'),
      {
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: 'lost', toolName: 'list_vms', input: {} }],
      },
      user('second'),
    ];
    await agent.generate({ messages: history, deps });
    expect(model.calls[0]!.messages[2]).toMatchObject({
      role: 'tool',
      content: [{ toolCallId: 'lost', isError: true }],
    });
    expect(model.calls[0]!.messages[3]).toEqual(user('second'));
  });

  it('generate() collects the text of every step, joined by a blank line', async () => {
    const model = new MockLanguageModel({
      results: [
        { text: 'Checking.', toolCalls: [{ toolName: 'list_vms', input: {} }] },
        { text: 'Two VMs.' },
      ],
    });
    const agent = createAgent<Deps>({ model, toolsets: [proxmox] });
    const result = await agent.generate({ messages: [user('hi')], deps });
    expect(result.text).toBe('Checking.\n\nTwo VMs.');
    expect(result).toMatchObject({
      finishReason: 'stop',
      steps: 2,
      pendingApprovals: [],
      clientToolCalls: [],
    });
    expect(result.messages).toHaveLength(3);
  });

  it('rejects invalid limits with an AgentError', () => {
    const model = new MockLanguageModel({ results: { text: 'x' } });
    expect(() => createAgent({ model, limits: { maxSteps: 0 } })).toThrow(AgentError);
    expect(() => createAgent({ model, limits: { toolTimeoutMs: -1 } })).toThrow(/toolTimeoutMs/);
  });
});
