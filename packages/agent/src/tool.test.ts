import { createCoreModel, type ProviderAdapter } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAgent } from './create-agent.js';
import { memoryLogger, user } from './test-helpers.js';
import { defineTool, requiresApproval } from './tool.js';
import { createToolset } from './toolset.js';

describe('defineTool and requiresApproval', () => {
  it('turns the zod schema into the JSON Schema the model sees and validates input with it', () => {
    const tool = defineTool({
      name: 'list_tasks',
      description: 'Recent tasks of a node',
      input: z.object({ node: z.string(), limit: z.number().int().max(100).default(20) }),
      execute: ({ node, limit }) => `${node}:${limit}`,
    });
    expect(tool.inputSchema).toMatchObject({
      type: 'object',
      properties: { node: { type: 'string' }, limit: { type: 'integer', default: 20 } },
      required: ['node'],
    });
    expect(tool.inputSchema.$schema).toBeUndefined();
    expect(tool.parseInput({ node: 'pve1' })).toEqual({ success: true, data: { node: 'pve1', limit: 20 } });
    const bad = tool.parseInput({ node: 'pve1', limit: 500 });
    expect(bad.success).toBe(false);
    expect(!bad.success && bad.error).toContain('limit');
  });

  it('needs approval for needsApproval, or destructive and not read-only', () => {
    const base = { description: 'x', input: z.object({ force: z.boolean() }), execute: () => 'ok' };
    const plain = defineTool({ ...base, name: 'a' });
    const destructive = defineTool({ ...base, name: 'b', annotations: { destructive: true } });
    const both = defineTool({ ...base, name: 'c', annotations: { destructive: true, readOnly: true } });
    const flagged = defineTool({ ...base, name: 'd', needsApproval: true, annotations: { readOnly: true } });
    const byInput = defineTool({ ...base, name: 'e', needsApproval: (input) => input.force });
    expect(requiresApproval(plain, { force: true })).toBe(false);
    expect(requiresApproval(destructive, { force: false })).toBe(true);
    expect(requiresApproval(both, { force: false })).toBe(false);
    expect(requiresApproval(flagged, { force: false })).toBe(true);
    expect(requiresApproval(byInput, { force: false })).toBe(false);
    expect(requiresApproval(byInput, { force: true })).toBe(true);
  });
});

/** A result typed by an interface, as a client library's are (not assignable to a `Record`). */
interface GuestLike {
  vmid: number;
  name: string;
  status: 'running' | 'stopped';
}

describe('what a tool returns', () => {
  it('may be a value typed by an interface; the model gets it as JSON', async () => {
    const guest: GuestLike = { vmid: 100, name: 'web', status: 'running' };
    const tool = defineTool({
      name: 'get_vm_status',
      description: 'Status of one VM',
      input: z.object({}),
      execute: async (): Promise<GuestLike> => guest,
    });
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolCallId: 'c1', toolName: 'get_vm_status', input: {} }] },
        { text: 'web runs.' },
      ],
    });
    const agent = createAgent({ model, toolsets: [createToolset('proxmox', [tool])] });
    const result = await agent.generate({ messages: [user('is web up?')] });
    expect(result.text).toBe('web runs.');
    const toolMessage = model.calls[1]?.messages.find((message) => message.role === 'tool');
    expect(toolMessage?.content).toEqual([
      expect.objectContaining({ toolCallId: 'c1', output: { vmid: 100, name: 'web', status: 'running' } }),
    ]);
  });
});

describe('tool context and logs', () => {
  it('gives each tool its deps, call id and a logger bound to it; never logs inputs, outputs or deps', async () => {
    const { logger, lines } = memoryLogger();
    const secret = 'PVEAPIToken=root@pam!haia=0b5f-secret-uuid';
    const seen: Array<{ toolCallId: string; token: string }> = [];
    const login = defineTool<{ token: string }, z.ZodObject<{ password: z.ZodString }>>({
      name: 'check_login',
      description: 'Checks a login',
      input: z.object({ password: z.string() }),
      execute: ({ password }, { deps, toolCallId, logger: toolLogger }) => {
        seen.push({ toolCallId, token: deps.token });
        toolLogger.info({ step: 'checking' }, 'tool says hello');
        return `checked ${password} with ${deps.token}`;
      },
    });
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [
            { toolCallId: 'secret-call', toolName: 'check_login', input: { password: 'hunter2-secret' } },
          ],
        },
        { text: 'Login works.' },
      ],
    });
    const agent = createAgent<{ token: string }>({
      model,
      logger,
      toolsets: [createToolset('auth', [login])],
    });
    const result = await agent.generate({ messages: [user('check')], deps: { token: secret } });
    expect(result.text).toBe('Login works.');
    expect(seen).toEqual([{ toolCallId: 'secret-call', token: secret }]);
    const hello = lines().find((line) => line.msg === 'tool says hello');
    expect(hello).toMatchObject({ component: 'agent', tool: 'check_login', toolCallId: 'secret-call' });
    const everything = JSON.stringify(lines().filter((line) => line.msg !== 'tool says hello'));
    expect(everything).toContain('check_login');
    expect(everything).not.toContain('hunter2-secret');
    expect(everything).not.toContain('0b5f-secret-uuid');
  });

  it('logs a run with its own logger when one is given', async () => {
    const agentLogs = memoryLogger();
    const runLogs = memoryLogger();
    const noop = defineTool({
      name: 'noop',
      description: 'does nothing',
      input: z.object({}),
      execute: () => 'ok',
    });
    const model = new MockLanguageModel({
      results: [{ toolCalls: [{ toolName: 'noop', input: {} }] }, { text: 'ok' }],
    });
    const agent = createAgent({ model, logger: agentLogs.logger, toolsets: [createToolset('noop', [noop])] });
    await agent.generate({ messages: [user('hi')], logger: runLogs.logger.child({ requestId: 'req-42' }) });
    expect(agentLogs.lines()).toEqual([]);
    const toolLine = runLogs.lines().find((line) => line.tool === 'noop' && line.msg === 'tool call');
    expect(toolLine).toMatchObject({ requestId: 'req-42', component: 'agent', outcome: 'ok' });
  });

  it("passes the run's logger to every model call and to its tools", async () => {
    const agentLogs = memoryLogger();
    const runLogs = memoryLogger();
    const echo = defineTool({
      name: 'echo',
      description: 'logs and answers',
      input: z.object({}),
      execute: (_input, { logger: toolLogger }) => {
        toolLogger.info({}, 'echo ran');
        return 'ok';
      },
    });
    // A real core model: it writes the `llm call` line; its adapter answers a tool call, then text.
    const adapter: ProviderAdapter = {
      provider: 'scripted',
      modelId: 'm1',
      async *stream(request) {
        const done = request.messages.some((message) => message.role === 'tool');
        if (done) yield { type: 'text-delta', text: 'done' };
        else yield { type: 'tool-call', toolCallId: 'c1', toolName: 'echo', input: {} };
        yield {
          type: 'finish',
          finishReason: done ? 'stop' : 'tool-calls',
          usage: { inputTokens: 1, outputTokens: 1 },
          response: { model: 'm1', id: undefined },
        };
      },
    };
    const model = createCoreModel({
      provider: 'scripted',
      modelId: 'm1',
      adapter: async () => adapter,
      logger: agentLogs.logger,
    });
    const agent = createAgent({ model, logger: agentLogs.logger, toolsets: [createToolset('t', [echo])] });
    const result = await agent.generate({
      messages: [user('hi')],
      logger: runLogs.logger.child({ requestId: 'req-43' }),
    });
    expect(result.text).toBe('done');
    expect(agentLogs.lines()).toEqual([]);
    const lines = runLogs.lines();
    expect(lines.filter((line) => line.msg === 'llm call')).toEqual([
      expect.objectContaining({
        requestId: 'req-43',
        component: 'llm',
        provider: 'scripted',
        outcome: 'success',
      }),
      expect.objectContaining({
        requestId: 'req-43',
        component: 'llm',
        provider: 'scripted',
        outcome: 'success',
      }),
    ]);
    expect(lines.find((line) => line.msg === 'echo ran')).toMatchObject({
      requestId: 'req-43',
      component: 'agent',
      tool: 'echo',
      toolCallId: 'c1',
    });
    expect(lines.find((line) => line.msg === 'agent run')).toMatchObject({ requestId: 'req-43', steps: 2 });
  });
});
