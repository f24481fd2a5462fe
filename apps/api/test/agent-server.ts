import { createAgent, createToolset } from '@haia/agent';
import { createModel, type LanguageModel } from '@haia/llm';
import type { Store } from '@haia/store';
import { type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import { createAgentRunner } from '../src/agent-runner.js';
import type { ApiServer } from '../src/server.js';
import { buildServer, type memoryLogger, testStore } from './helpers.js';

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
export async function startAgentServer(options: {
  tools: Parameters<typeof createToolset>[1];
  upstreamKey?: string;
  env?: Record<string, string>;
}): Promise<AgentServer> {
  const fake = await startOpenAIFake();
  const store = await testStore();
  const model = createModel('openai-compatible:fake-model', {
    baseURL: fake.baseURL,
    apiKey: options.upstreamKey ?? 'sk-upstream',
    maxRetries: 0,
  });
  const server = buildServer({
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
