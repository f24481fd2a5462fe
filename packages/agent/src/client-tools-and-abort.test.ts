import type { ChatEvent, LanguageModel, Message, ToolSpec } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentError } from './agent-error.js';
import { createAgent } from './create-agent.js';
import { abortOf, collectEvents, deferred, eventsOf, lastEvent, memoryLogger, user } from './test-helpers.js';
import { defineTool } from './tool.js';
import { createToolset } from './toolset.js';

const weather: ToolSpec = {
  name: 'get_weather',
  description: 'The weather at a place (run by the client)',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const listVms = defineTool({
  name: 'list_vms',
  description: 'All VMs',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: () => [{ vmid: 100, name: 'pihole' }],
});

describe('client tools', () => {
  it('offers client tools beside the agent tools and ends the run with the client calls', async () => {
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolCallId: 'w', toolName: 'get_weather', input: { city: 'Oslo' } },
            { toolCallId: 'v', toolName: 'list_vms', input: {} },
          ],
        },
        { text: 'Oslo is cold and pihole is up.' },
      ],
    });
    const agent = createAgent({ model, toolsets: [createToolset('proxmox', [listVms])] });
    const question = [user('weather and vms')];
    const events = await collectEvents(agent.run({ messages: question, clientTools: [weather] }));
    expect(model.calls[0]!.tools?.map((tool) => tool.name)).toEqual(['list_vms', 'get_weather']);
    expect(eventsOf(events, 'tool-call').map((event) => [event.toolName, event.client])).toEqual([
      ['get_weather', true],
      ['list_vms', false],
    ]);
    // The agent's own call of the same turn ran; the client's was handed over.
    expect(eventsOf(events, 'tool-result').map((result) => result.toolCallId)).toEqual(['v']);
    expect(events.slice(-2).map((event) => event.type)).toEqual(['client-tool-calls', 'finish']);
    expect(eventsOf(events, 'client-tool-calls')[0]!.toolCalls).toEqual([
      { type: 'tool-call', toolCallId: 'w', toolName: 'get_weather', input: { city: 'Oslo' } },
    ]);
    const finish = lastEvent(events, 'finish');
    expect(finish.finishReason).toBe('client-tool-calls');
    expect(model.calls).toHaveLength(1);

    // The client runs its tool and sends the result: the run goes on from there.
    const clientResult: Message = {
      role: 'tool',
      content: [{ type: 'tool-result', toolCallId: 'w', toolName: 'get_weather', output: '-3 °C, snow' }],
    };
    const next = await agent.generate({
      messages: [...question, ...finish.messages, clientResult],
      clientTools: [weather],
    });
    expect(next.text).toBe('Oslo is cold and pihole is up.');
    const seen = model.calls[1]!.messages.flatMap((message) =>
      message.role === 'tool' ? message.content : [],
    );
    expect(seen.map((part) => part.toolCallId)).toEqual(['v', 'w']);
  });

  it('hands client calls over only after the approvals of the same turn are settled', async () => {
    const reboot = defineTool({
      name: 'reboot_node',
      description: 'Reboot a node',
      input: z.object({ node: z.string() }),
      needsApproval: true,
      execute: ({ node }) => `rebooting ${node}`,
    });
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolCallId: 'r', toolName: 'reboot_node', input: { node: 'pve1' } },
            { toolCallId: 'w', toolName: 'get_weather', input: { city: 'Oslo' } },
          ],
        },
      ],
    });
    const agent = createAgent({ model, toolsets: [createToolset('nodes', [reboot])] });
    const question = [user('reboot and weather')];
    const paused = await agent.generate({ messages: question, clientTools: [weather] });
    expect(paused.finishReason).toBe('approval-required');
    expect(paused.clientToolCalls).toEqual([]);
    const resumed = await agent.generate({
      messages: [...question, ...paused.messages],
      clientTools: [weather],
      approvals: [{ toolCallId: 'r', approved: true }],
    });
    expect(resumed.finishReason).toBe('client-tool-calls');
    expect(resumed.clientToolCalls.map((call) => call.toolCallId)).toEqual(['w']);
    expect(resumed.messages).toMatchObject([
      { role: 'tool', content: [{ toolCallId: 'r', output: 'rebooting pve1' }] },
    ]);
    expect(model.calls).toHaveLength(1);
  });

  it('leaves out a client tool named like an agent tool: the agent tool wins', async () => {
    const { logger, lines } = memoryLogger();
    const model = new MockLanguageModel({
      results: [{ toolCalls: [{ toolName: 'list_vms', input: {} }] }, { text: 'one vm' }],
    });
    const agent = createAgent({ model, logger, toolsets: [createToolset('proxmox', [listVms])] });
    const result = await agent.generate({
      messages: [user('vms')],
      clientTools: [{ ...weather, name: 'list_vms' }],
    });
    expect(result.finishReason).toBe('stop');
    expect(model.calls[0]!.tools?.map((tool) => tool.description)).toEqual(['All VMs']);
    expect(lines().some((line) => String(line.msg).includes('client tool name already taken'))).toBe(true);
  });
});

describe('abort', () => {
  it('stops a running tool (its signal fires) and ends the run with an aborted error', async () => {
    const controller = new AbortController();
    const toolStarted = deferred();
    let toolSignal: AbortSignal | undefined;
    const hang = defineTool({
      name: 'get_ceph_status',
      description: 'hangs until aborted',
      input: z.object({}),
      execute: async (_input, { signal }) => {
        toolSignal = signal;
        toolStarted.resolve();
        await abortOf(signal);
        return 'never seen';
      },
    });
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 'h', toolName: 'get_ceph_status', input: {} }] },
        { text: 'unreached' },
      ],
    });
    const agent = createAgent({ model, toolsets: [createToolset('ceph', [hang])] });
    void toolStarted.promise.then(() => controller.abort(new Error('client went away')));
    const events = await collectEvents(agent.run({ messages: [user('ceph?')], signal: controller.signal }));

    expect(toolSignal?.aborted).toBe(true);
    const error = lastEvent(events, 'error');
    expect(AgentError.isInstance(error.error)).toBe(true);
    expect(error.error.code).toBe('aborted');
    expect(model.calls).toHaveLength(1);
    expect(eventsOf(events, 'tool-result')[0]).toMatchObject({
      toolCallId: 'h',
      outcome: 'aborted',
      isError: true,
    });
    // The stored history stays valid: the call is paired with a result.
    expect(error.messages).toMatchObject([
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'h' }] },
      { role: 'tool', content: [{ toolCallId: 'h', isError: true }] },
    ]);
  });

  it('stops the model mid-stream and keeps the partial text', async () => {
    const controller = new AbortController();
    const model = new MockLanguageModel({
      delayMs: 1,
      results: [
        [
          { type: 'text-delta', text: 'pve1 is ' },
          { type: 'text-delta', text: 'healthy' },
          { type: 'text-delta', text: ' and pve2 is…' },
        ] satisfies ChatEvent[],
      ],
    });
    const agent = createAgent({ model });
    const events = [];
    for await (const event of agent.run({ messages: [user('nodes?')], signal: controller.signal })) {
      events.push(event);
      if (event.type === 'text-delta') controller.abort();
    }
    const error = lastEvent(events, 'error');
    expect(error.error.code).toBe('aborted');
    expect(error.messages).toEqual([{ role: 'assistant', content: [{ type: 'text', text: 'pve1 is ' }] }]);
  });

  it('ends at once when aborted while a toolset is still listing its tools', async () => {
    const controller = new AbortController();
    const listing = deferred();
    const hanging = {
      name: 'slow-mcp',
      listTools: () => {
        listing.resolve();
        return new Promise<never>(() => {});
      },
    };
    const model = new MockLanguageModel({ results: { text: 'x' } });
    const agent = createAgent({ model, toolsets: [hanging] });
    void listing.promise.then(() => controller.abort());
    const events = await collectEvents(agent.run({ messages: [user('hi')], signal: controller.signal }));
    expect(lastEvent(events, 'error').error.code).toBe('aborted');
    expect(model.calls).toHaveLength(0);
  });

  it('does not call the model when the signal has already fired', async () => {
    const model = new MockLanguageModel({ results: { text: 'x' } });
    const agent = createAgent({ model });
    const events = await collectEvents(agent.run({ messages: [user('hi')], signal: AbortSignal.abort() }));
    expect(lastEvent(events, 'error').error.code).toBe('aborted');
    expect(model.calls).toHaveLength(0);
  });

  it('stops running tools when the consumer stops reading', async () => {
    const toolStarted = deferred();
    let toolSignal: AbortSignal | undefined;
    const hang = defineTool({
      name: 'list_tasks',
      description: 'hangs until aborted',
      input: z.object({}),
      execute: async (_input, { signal }) => {
        toolSignal = signal;
        toolStarted.resolve();
        await abortOf(signal);
        return 'late';
      },
    });
    const fast = defineTool({
      name: 'fast',
      description: 'answers at once',
      input: z.object({}),
      execute: () => 'quick',
    });
    const model: LanguageModel = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolName: 'fast', input: {} },
            { toolName: 'list_tasks', input: {} },
          ],
        },
      ],
    });
    const agent = createAgent({ model, toolsets: [createToolset('tasks', [hang, fast])] });
    for await (const event of agent.run({ messages: [user('tasks')] })) {
      if (event.type === 'tool-result') break;
    }
    await toolStarted.promise;
    expect(toolSignal?.aborted).toBe(true);
  });
});
