import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAgent } from '@haia/agent';
import { MockLanguageModel } from '@haia/llm/test';
import {
  type OpenAIFake,
  type ProxmoxFake,
  repeatedKeys,
  startOpenAIFake,
  startProxmoxFake,
  testCertificates,
} from '@haia/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type ToolsetSource } from '../src/runtime.js';
import { type ApiServer, createApiServer } from '../src/server.js';
import { createToolsetSources } from '../src/toolset-sources.js';
import { type LooseJson, memoryLogger, testConfig, testStore } from './helpers.js';

const FILESYSTEM_BIN = fileURLToPath(
  new URL('../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js', import.meta.url),
);

let upstream: OpenAIFake;
let proxmox: ProxmoxFake;
let folder: string;
let runtime: Runtime;
let sources: ToolsetSource[];
let server: ApiServer;
let client: OpenAI;
const logs = memoryLogger();

beforeAll(async () => {
  upstream = await startOpenAIFake();
  proxmox = await startProxmoxFake();
  folder = mkdtempSync(join(tmpdir(), 'haia-api-runtime-'));
  writeFileSync(join(folder, 'ca.pem'), testCertificates().ca);
  writeFileSync(join(folder, 'notes.txt'), 'backup at 02:00');
  writeFileSync(
    join(folder, 'mcp_config.json'),
    JSON.stringify({ mcpServers: { files: { command: process.execPath, args: [FILESYSTEM_BIN, folder] } } }),
  );
  const config = testConfig({
    HAIA_MODEL: 'openai-compatible:fake-model',
    OPENAI_BASE_URL: upstream.baseURL,
    OPENAI_API_KEY: 'sk-upstream',
    PROXMOX_URL: proxmox.url,
    PROXMOX_TOKEN_ID: proxmox.tokenId,
    PROXMOX_TOKEN_SECRET: proxmox.tokenSecret,
    PROXMOX_CA_FILE: join(folder, 'ca.pem'),
    MCP_CONFIG: join(folder, 'mcp_config.json'),
  });
  sources = await createToolsetSources(config, logs.logger, { PATH: process.env.PATH });
  runtime = await createRuntime(config, logs.logger, { sources, store: await testStore() });
  server = createApiServer({
    config,
    logger: logs.logger,
    store: runtime.store,
    model: runtime.model,
    runnerFor: runtime.runnerFor,
    readiness: runtime.readiness,
  });
  client = new OpenAI({ apiKey: 'none', baseURL: `${await server.listen()}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await server?.stop();
  await runtime?.close();
  await upstream?.close();
  await proxmox?.close();
  rmSync(folder, { recursive: true, force: true });
});

async function until(condition: () => Promise<boolean>, what: string) {
  for (let attempt = 0; attempt < 1000; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the runtime built from the configuration', () => {
  it('wires the Proxmox toolset and MCP servers into the agent and reports them on /ready', async () => {
    const readyUrl = client.baseURL.replace(/\/v1$/, '/ready');
    await until(async () => {
      const body = (await (await fetch(readyUrl)).json()) as { checks: Record<string, { ok: boolean }> };
      return body.checks.mcp?.ok === true;
    }, 'the MCP server to be ready');
    const ready = (await (await fetch(readyUrl)).json()) as LooseJson;
    expect(ready.checks.proxmox).toMatchObject({ ok: true });
    expect(ready.checks.mcp.servers[0]).toMatchObject({ name: 'files', state: 'ready' });

    upstream.enqueue(
      {
        toolCalls: [
          { name: 'list_vms', arguments: {} },
          { name: 'files__read_text_file', arguments: { path: join(folder, 'notes.txt') } },
        ],
      },
      { text: 'Your VMs are listed and the backup runs at 02:00.' },
    );
    const completion = await client.chat.completions.create({
      model: 'haia',
      messages: [{ role: 'user', content: 'what runs, and when is the backup?' }],
    });
    expect(completion.choices[0]?.message.content).toBe('Your VMs are listed and the backup runs at 02:00.');
    const first = upstream.requests[0]?.body;
    const offered = ((first?.tools ?? []) as Array<{ function: { name: string } }>).map(
      (entry) => entry.function.name,
    );
    expect(offered).toContain('get_ceph_status');
    expect(offered).toContain('files__read_text_file');
    expect(String(first?.messages[0]?.content)).toContain('You are HAIA');
    const results = (upstream.requests[1]?.body.messages ?? []).filter((message) => message.role === 'tool');
    expect(results.map((message) => String(message.content)).join('\n')).toContain('backup at 02:00');
    expect(proxmox.server.requests.some((request) => request.path.includes('/cluster/resources'))).toBe(true);
  });

  it("writes the agent's, the model's and the tools' lines of a request with its requestId", async () => {
    // The model's `llm call` lines are at debug (the access line carries the model and tokens).
    logs.logger.level = 'debug';
    const before = logs.lines.length;
    upstream.enqueue(
      { toolCalls: [{ name: 'list_vms', arguments: {} }] },
      { text: 'Two VMs run.' },
      { text: 'VM overview' },
    );
    await client.chat.completions.create(
      { model: 'haia', messages: [{ role: 'user', content: 'which VMs run?' }] },
      { headers: { 'x-request-id': 'req-logs-turn' } },
    );
    await client.chat.completions.create(
      {
        model: 'haia',
        messages: [
          {
            role: 'user',
            content: '### Task:\nGenerate a title.\n<chat_history>\nUSER: which VMs run?\n</chat_history>',
          },
        ],
      },
      { headers: { 'x-request-id': 'req-logs-side' } },
    );
    logs.logger.level = 'info';
    const lines = logs.lines.slice(before);
    const of = (requestId: string) =>
      lines
        .filter(
          (line) => line.requestId === requestId && (Number(line.level) >= 30 || line.msg === 'llm call'),
        )
        .map((line) => [line.msg, line.component]);
    expect(of('req-logs-turn')).toEqual([
      ['llm call', 'llm'],
      ['tool call', 'agent'],
      ['llm call', 'llm'],
      ['request', undefined],
    ]);
    expect(lines.find((line) => line.msg === 'tool call')).toMatchObject({ tool: 'list_vms', outcome: 'ok' });
    // The run's summary is on the access line (the agent's own line is at debug).
    expect(lines.find((line) => line.requestId === 'req-logs-turn' && line.msg === 'request')).toMatchObject({
      steps: 2,
      toolCalls: 1,
    });
    expect(of('req-logs-side')).toEqual([
      ['llm call', 'llm'],
      ['request', undefined],
    ]);
    // Below the access line: a model call that went well is logged at debug only.
    expect(new Set(lines.filter((line) => line.msg === 'llm call').map((line) => line.level))).toEqual(
      new Set([20]),
    );
    // No line of either request went out without its id.
    expect(lines.filter((line) => line.requestId === undefined).map((line) => line.msg)).toEqual([]);
  });

  it("writes each key of every line once: the MCP servers', a request's and an agent's own tool calls", async () => {
    // The agent's own logger, without a run logger: its `component: 'agent'` under the MCP call line.
    const agent = createAgent({
      model: new MockLanguageModel({
        results: [
          { toolCalls: [{ toolName: 'files__read_text_file', input: { path: join(folder, 'notes.txt') } }] },
          { text: 'At 02:00.' },
        ],
      }),
      toolsets: sources.flatMap((source) => source.toolsets()),
      logger: logs.logger,
    });
    await agent.generate({ messages: [{ role: 'user', content: 'when is the backup?' }], deps: undefined });
    const raw = logs.raw().trim().split('\n');
    for (const line of raw) expect(repeatedKeys(line), line).toEqual([]);
    const lines = raw.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line.msg === 'mcp server connected')).toMatchObject({
      component: 'mcp',
      server: 'files',
    });
    const calls = lines.filter((line) => line.msg === 'mcp tool call');
    const call = { component: 'mcp', server: 'files', tool: 'read_text_file', outcome: 'ok' };
    // The first test's, through its request's logger; then the agent's own.
    expect(calls).toEqual([
      expect.objectContaining({ ...call, requestId: expect.any(String) }),
      expect.objectContaining(call),
    ]);
    expect(calls[1]?.requestId).toBeUndefined();
  });
});
