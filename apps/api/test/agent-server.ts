import { createAgent, createToolset, defineTool } from '@haia/agent';
import { createModel, type LanguageModel } from '@haia/llm';
import type { Store } from '@haia/store';
import { type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import { z } from 'zod';
import { createAgentRunner } from '../src/agent-runner.js';
import type { ApiServer } from '../src/server.js';
import { buildServer, type memoryLogger, testStore } from './helpers.js';

/** The `list_vms` tool of HAIA's own that the api tests use: one running VM, `web`. */
export const listVms = defineTool({
  name: 'list_vms',
  description: 'List the VMs of the cluster',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: () => ({ vms: [{ vmid: 100, name: 'web', status: 'running' }] }),
});

/** What {@link agentServer} builds a server with. */
interface AgentServerOptions {
  tools: Parameters<typeof createToolset>[1];
  upstreamKey?: string;
  env?: Record<string, string>;
}

/**
 * An API server on `store` whose agent answers with `fake`, with HAIA's instructions and the
 * `proxmox` toolset of `tools` (not listening yet).
 */
function agentServer(store: Store, fake: OpenAIFake, options: AgentServerOptions) {
  const model = createModel('openai-compatible:fake-model', {
    baseURL: fake.baseURL,
    apiKey: options.upstreamKey ?? 'sk-upstream',
    maxRetries: 0,
  });
  return buildServer({
    model,
    store,
    env: { OPENAI_BASE_URL: fake.baseURL, ...options.env },
    runnerFor: (answering: LanguageModel) =>
      createAgentRunner(
        createAgent({
          model: answering,
          instructions: 'You are HAIA.',
          toolsets: [createToolset('proxmox', options.tools)],
        }),
      ),
  });
}

/**
 * One listening agent server per store (two api processes on one database, when the stores are
 * two), each answering with `fake` and the `proxmox` toolset of `tools`. Stop them yourself.
 */
export async function listenAgentServers(
  stores: readonly Store[],
  fake: OpenAIFake,
  tools: AgentServerOptions['tools'],
): Promise<Array<ApiServer & { url: string }>> {
  const servers: Array<ApiServer & { url: string }> = [];
  for (const store of stores) {
    const server = agentServer(store, fake, { tools });
    servers.push(Object.assign(server, { url: await server.listen() }));
  }
  return servers;
}

/** A listening API server whose agent answers with testkit's OpenAI fake, and what it runs on. */
export interface AgentServer {
  fake: OpenAIFake;
  store: Store;
  server: ApiServer & { logs: ReturnType<typeof memoryLogger> };
  /** The server's base URL (without `/v1`). */
  url: string;
  /** Stops the server, then closes the store and the fake. */
  close(): Promise<void>;
}

/**
 * Starts the OpenAI fake, a test store and an API server on a free port whose agent has HAIA's
 * instructions and the `proxmox` toolset of `tools`; `upstreamKey` is the key HAIA sends upstream,
 * `env` the server's environment (the fake's URL is set as `OPENAI_BASE_URL`).
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const fake = await startOpenAIFake();
  const store = await testStore();
  const server = agentServer(store, fake, options);
  const url = await server.listen();
  return {
    fake,
    store,
    server,
    url,
    async close() {
      await server.stop();
      await store.close();
      await fake.close();
    },
  };
}
