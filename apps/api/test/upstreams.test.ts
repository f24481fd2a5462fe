import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AnthropicFake,
  type OllamaFake,
  type OpenAIFake,
  startAnthropicFake,
  startOllamaFake,
  startOpenAIFake,
} from '@haia/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LooseJson } from './helpers.js';
import { closedPort, type RuntimeServer, startRuntimeServer } from './runtime-helpers.js';

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let ollama: OllamaFake;
let folder: string;
const running: RuntimeServer[] = [];

beforeAll(async () => {
  [openai, anthropic, ollama] = await Promise.all([
    startOpenAIFake(),
    startAnthropicFake({ apiKey: 'sk-ant-upstream' }),
    startOllamaFake({ models: ['qwen3:latest'], thinkingModels: ['qwen3:latest'] }),
  ]);
  folder = mkdtempSync(join(tmpdir(), 'haia-api-upstreams-'));
});
afterEach(async () => {
  for (const started of running.splice(0)) await started.close();
  openai.reset();
  anthropic.reset();
});
afterAll(async () => {
  await Promise.all([openai?.close(), anthropic?.close(), ollama?.close()]);
  rmSync(folder, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<RuntimeServer> {
  const started = await startRuntimeServer(env);
  running.push(started);
  return started;
}

/** Streams one chat through the openai SDK; returns the text, the reasoning and the raw chunks. */
async function streamChat(target: RuntimeServer, content: string, model = 'haia') {
  const { data, response } = await target.client.chat.completions
    .create({ model, stream: true, messages: [{ role: 'user', content }] })
    .withResponse();
  let text = '';
  let reasoning = '';
  const chunks: LooseJson[] = [];
  for await (const chunk of data) {
    chunks.push(chunk);
    const delta = chunk.choices[0]?.delta as LooseJson;
    text += delta?.content ?? '';
    reasoning += delta?.reasoning_content ?? '';
  }
  return { text, reasoning, chunks, conversationId: response.headers.get('x-haia-conversation-id') };
}

describe('upstreams other than OpenAI, over a real port, with the openai SDK as client', () => {
  it('anthropic: streams the thinking as delta.reasoning_content, then the text', async () => {
    const target = await start({
      HAIA_MODEL: 'anthropic:claude-haiku-4-5',
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: 'sk-ant-upstream',
    });
    anthropic.enqueue({
      content: [
        {
          type: 'thinking',
          thinking: 'The user asks about nodes; ',
          signature: 'sig-1',
          chunks: ['The user ', 'asks about nodes; '],
        },
        { type: 'text', text: 'All three nodes are online.', chunks: ['All three ', 'nodes are online.'] },
      ],
      usage: { inputTokens: 12, outputTokens: 9 },
    });
    const result = await streamChat(target, 'are my nodes up?');
    expect(result.reasoning).toBe('The user asks about nodes; ');
    expect(result.text).toBe('All three nodes are online.');
    const firstReasoning = result.chunks.findIndex((chunk) => chunk.choices[0]?.delta?.reasoning_content);
    const firstText = result.chunks.findIndex((chunk) => chunk.choices[0]?.delta?.content);
    expect(firstReasoning).toBeGreaterThan(-1);
    expect(firstReasoning).toBeLessThan(firstText);
    expect(result.chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    const sent = anthropic.requests.at(-1);
    expect(sent?.rejected).toBeUndefined();
    expect(sent?.body).toMatchObject({ model: 'claude-haiku-4-5', stream: true });
    const stored = await target.runtime.store.getConversation(result.conversationId as string);
    expect(stored?.messages.at(-1)).toMatchObject({
      role: 'assistant',
      status: 'complete',
      model: 'anthropic:claude-haiku-4-5',
    });
  });

  it("anthropic: a client's reasoning_effort turns thinking on, in the kind the model takes", async () => {
    const target = await start({
      HAIA_MODEL: 'anthropic:claude-opus-4-7',
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: 'sk-ant-upstream',
    });
    anthropic.enqueue({
      content: [
        { type: 'thinking', thinking: 'Check the cluster first.', signature: 'sig-2' },
        { type: 'text', text: 'All nodes are online.' },
      ],
    });
    // As OpenWebUI sends its "Reasoning Effort" setting, with the temperature Opus 4.7 refuses.
    const stream = await target.client.chat.completions.create({
      model: 'haia',
      stream: true,
      reasoning_effort: 'high',
      temperature: 0.7,
      messages: [{ role: 'user', content: 'are my nodes up?' }],
    });
    let reasoning = '';
    let text = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as LooseJson | undefined;
      reasoning += delta?.reasoning_content ?? '';
      text += delta?.content ?? '';
    }
    expect(reasoning).toBe('Check the cluster first.');
    expect(text).toBe('All nodes are online.');
    const sent = anthropic.requests.at(-1);
    expect(sent?.rejected).toBeUndefined();
    expect(sent?.body).toMatchObject({
      model: 'claude-opus-4-7',
      thinking: { type: 'adaptive', display: 'summarized' },
      output_config: { effort: 'high' },
    });
    expect(sent?.body).not.toHaveProperty('temperature');
  });

  it('ollama: streams message.thinking as delta.reasoning_content, then the text', async () => {
    const target = await start({ HAIA_MODEL: 'ollama:qwen3', OLLAMA_HOST: ollama.url });
    ollama.reply({ thinking: ['Disk usage ', 'looks normal.'], text: ['Your disks ', 'are fine.'] });
    const result = await streamChat(target, 'how are my disks?');
    expect(result.reasoning).toBe('Disk usage looks normal.');
    expect(result.text).toBe('Your disks are fine.');
    const firstReasoning = result.chunks.findIndex((chunk) => chunk.choices[0]?.delta?.reasoning_content);
    const firstText = result.chunks.findIndex((chunk) => chunk.choices[0]?.delta?.content);
    expect(firstReasoning).toBeGreaterThan(-1);
    expect(firstReasoning).toBeLessThan(firstText);
    expect(result.chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    const sent = ollama.requests.filter((request) => request.path === '/api/chat').at(-1);
    expect(JSON.parse(sent?.body ?? '{}')).toMatchObject({ model: 'qwen3' });
    const stored = await target.runtime.store.getConversation(result.conversationId as string);
    expect(stored?.messages.at(-1)).toMatchObject({ role: 'assistant', model: 'ollama:qwen3' });
  });
});

describe('openai-compatible upstream', () => {
  it('a client that asks for JSON gets the upstream asked for one JSON answer; a streaming client, a stream', async () => {
    openai.setReply({ text: ['Two ', 'nodes ', 'are up.'], usage: { promptTokens: 9, completionTokens: 4 } });
    const target = await start({
      HAIA_MODEL: 'openai-compatible:local-model',
      OPENAI_BASE_URL: openai.baseURL,
    });
    const whole = await target.client.chat.completions.create({
      model: 'haia',
      messages: [{ role: 'user', content: 'How many nodes are up?' }],
    });
    expect(whole.choices[0]?.message.content).toBe('Two nodes are up.');
    expect(whole.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 4 });
    expect(openai.requests[0]?.body).toMatchObject({ model: 'local-model', stream: false });
    expect(openai.requests[0]?.body).not.toHaveProperty('stream_options');
    const streamed = await streamChat(target, 'And now?');
    expect(streamed.text).toBe('Two nodes are up.');
    expect(openai.requests[1]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });
});

describe('HAIA_FALLBACK_MODELS', () => {
  it('the main model fails with 503 before its first token: the anthropic fallback answers and is named', async () => {
    openai.setReply({
      error: { status: 503, message: 'upstream overloaded', headers: { 'retry-after-ms': '0' } },
    });
    const target = await start({
      HAIA_MODEL: 'openai-compatible:main-model',
      OPENAI_BASE_URL: openai.baseURL,
      HAIA_FALLBACK_MODELS: 'anthropic:claude-haiku-4-5',
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: 'sk-ant-upstream',
    });
    anthropic.enqueue({ content: [{ type: 'text', text: 'Answered by the fallback.' }] });
    const { data, response } = await target.client.chat.completions
      .create({ model: 'haia', messages: [{ role: 'user', content: 'status?' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Answered by the fallback.');
    expect(data.model).toBe('haia');
    expect(openai.requests.length).toBeGreaterThan(0);
    expect(anthropic.requests).toHaveLength(1);
    expect(anthropic.requests[0]?.body).toMatchObject({ model: 'claude-haiku-4-5' });
    const stored = await target.runtime.store.getConversation(
      response.headers.get('x-haia-conversation-id') as string,
    );
    expect(stored?.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(stored?.messages[1]).toMatchObject({ status: 'complete', model: 'anthropic:claude-haiku-4-5' });
    const ready = (await (await fetch(`${target.url}/ready`)).json()) as LooseJson;
    expect(ready.checks.model).toMatchObject({
      id: 'openai-compatible:main-model',
      fallbacks: ['anthropic:claude-haiku-4-5'],
    });
  });

  it('the main model is unreachable (closed port), streamed: a second OpenAI-compatible fallback answers', async () => {
    const second = await startOpenAIFake({ reply: { text: ['from the ', 'second upstream'] } });
    try {
      const target = await start({
        HAIA_MODEL: 'ollama:llama3.2',
        OLLAMA_HOST: `http://127.0.0.1:${await closedPort()}`,
        HAIA_FALLBACK_MODELS: 'openai-compatible:backup-model',
        OPENAI_BASE_URL: second.baseURL,
      });
      const result = await streamChat(target, 'hello');
      expect(result.text).toBe('from the second upstream');
      expect(second.requests[0]?.body.model).toBe('backup-model');
      const stored = await target.runtime.store.getConversation(result.conversationId as string);
      expect(stored?.messages[1]).toMatchObject({ model: 'openai-compatible:backup-model' });
    } finally {
      await second.close();
    }
  });

  it("keeps a base URL's user and password out of the error and the logs", async () => {
    const port = await closedPort();
    const cases: Array<Record<string, string>> = [
      { HAIA_MODEL: 'openai-compatible:m', OPENAI_BASE_URL: `http://haia:PW-SECRET-42@127.0.0.1:${port}/v1` },
      { HAIA_MODEL: 'ollama:llama3.2', OLLAMA_HOST: `http://haia:PW-SECRET-42@127.0.0.1:${port}` },
    ];
    for (const env of cases) {
      const target = await start(env);
      const response = await fetch(`${target.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'haia', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = await response.text();
      expect([env.HAIA_MODEL, response.status]).toEqual([env.HAIA_MODEL, 503]);
      expect(body).toContain('[redacted]@127.0.0.1');
      expect(body).not.toContain('PW-SECRET-42');
      expect(target.logs.raw()).not.toContain('PW-SECRET-42');
    }
  });

  it('gives up on an upstream that hangs with 504 upstream_timeout, streamed and as JSON', async () => {
    const hung = await startOpenAIFake({ reply: { hang: true } });
    try {
      const target = await startRuntimeServer(
        { HAIA_MODEL: 'openai-compatible:m', OPENAI_BASE_URL: hung.baseURL },
        { modelTimeouts: { firstTokenTimeoutMs: 100, timeoutMs: 400 } },
      );
      running.push(target);
      for (const stream of [true, false]) {
        const response = await fetch(`${target.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'haia', stream, messages: [{ role: 'user', content: 'hello?' }] }),
        });
        expect([stream, response.status]).toEqual([stream, 504]);
        expect(((await response.json()) as LooseJson).error).toMatchObject({ code: 'upstream_timeout' });
      }
      // Streamed: 100 ms to the first token, then the whole call's 400 ms ran out during the back-off
      // (375-500 ms); JSON (one whole answer, no first token to wait for): the 400 ms of the whole call.
      expect(hung.requests.length).toBeGreaterThanOrEqual(2);
      await vi.waitFor(() => expect(hung.activeRequests()).toBe(0));
    } finally {
      await hung.close();
    }
  });

  it('a model name HAIA does not advertise: the fallback answers and the stored message names it', async () => {
    openai.setReply({
      error: { status: 503, message: 'upstream overloaded', headers: { 'retry-after-ms': '0' } },
    });
    const target = await start({
      HAIA_MODEL: 'openai-compatible:main-model',
      OPENAI_BASE_URL: openai.baseURL,
      HAIA_FALLBACK_MODELS: 'anthropic:claude-haiku-4-5',
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: 'sk-ant-upstream',
    });
    anthropic.enqueue({ content: [{ type: 'text', text: 'Answered by the fallback.' }] });
    const { data, response } = await target.client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'which model are you?' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Answered by the fallback.');
    const stored = await target.runtime.store.getConversation(
      response.headers.get('x-haia-conversation-id') as string,
    );
    expect(stored?.messages[1]).toMatchObject({ model: 'anthropic:claude-haiku-4-5' });
    // DESIGN.md section 6: for a model that is not advertised, the reply's `model` says which answered.
    expect(data.model).toBe('anthropic:claude-haiku-4-5');
  });
});

describe('HAIA_SYSTEM_PROMPT_FILE', () => {
  it('its text replaces the built-in homelab prompt in what the upstream receives', async () => {
    const promptFile = join(folder, 'prompt.md');
    writeFileSync(promptFile, 'You are Jarvis, the butler of this homelab. Answer in one line.');
    openai.setReply({ text: 'Very good, sir.' });
    const target = await start({
      HAIA_MODEL: 'openai-compatible:fake-model',
      OPENAI_BASE_URL: openai.baseURL,
      HAIA_SYSTEM_PROMPT_FILE: promptFile,
    });
    const completion = await target.client.chat.completions.create({
      model: 'haia',
      messages: [{ role: 'user', content: 'good morning' }],
    });
    expect(completion.choices[0]?.message.content).toBe('Very good, sir.');
    const messages = openai.requests.at(-1)?.body.messages ?? [];
    const system = messages.filter((message) => message.role === 'system' || message.role === 'developer');
    expect(system).toHaveLength(1);
    expect(system[0]?.content).toBe('You are Jarvis, the butler of this homelab. Answer in one line.');
    expect(JSON.stringify(messages)).not.toContain('You are HAIA');
    expect(messages.at(-1)).toMatchObject({ role: 'user', content: 'good morning' });
  });

  it('without it the built-in prompt is sent', async () => {
    openai.setReply({ text: 'Hello.' });
    const target = await start({
      HAIA_MODEL: 'openai-compatible:fake-model',
      OPENAI_BASE_URL: openai.baseURL,
    });
    await target.client.chat.completions.create({
      model: 'haia',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(String(openai.requests.at(-1)?.body.messages[0]?.content)).toContain('You are HAIA');
  });
});
