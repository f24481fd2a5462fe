import { type OllamaFake, startFakeServer, startOllamaFake } from '@haia/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createModel } from '../create-model.js';
import type { Message } from '../message.js';
import { failure } from './adapter-test-helpers.js';

let ollama: OllamaFake;
const waits: number[] = [];
const sleep = async (ms: number) => {
  waits.push(ms);
};

beforeAll(async () => {
  ollama = await startOllamaFake();
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(() => {
  ollama.server.reset();
  waits.length = 0;
});

const hello: Message[] = [{ role: 'user', content: 'Hello' }];

describe("createModel('ollama:…')", () => {
  it('keeps the tag in the model id and finds the host through OLLAMA_HOST', async () => {
    ollama.reply({ text: ['Hi', '!'], promptEvalCount: 5, evalCount: 2 });
    const model = createModel('ollama:llama3.2:latest', {
      env: { OLLAMA_HOST: ollama.url.replace('http://', '') },
      sleep,
    });
    expect(model.modelId).toBe('llama3.2:latest');
    const result = await model.generate({ messages: hello });
    expect(result).toMatchObject({
      text: 'Hi!',
      finishReason: 'stop',
      usage: { inputTokens: 5, outputTokens: 2 },
      response: { model: 'ollama:llama3.2:latest' },
    });
    expect(ollama.requests.at(-1)?.json()).toMatchObject({ model: 'llama3.2:latest' });
  });

  it('runs a tool round trip', async () => {
    const model = createModel('ollama:llama3.2', { baseURL: ollama.url, env: {}, sleep });
    const tools = [{ name: 'add', description: 'Adds', inputSchema: { type: 'object' } }];
    ollama.reply({ toolCalls: [{ name: 'add', arguments: { a: 1, b: 2 } }] });
    const first = await model.generate({ messages: hello, tools });
    expect(first.finishReason).toBe('tool-calls');
    ollama.reply({ text: '3' });
    const call = first.toolCalls[0];
    const second = await model.generate({
      messages: [
        ...hello,
        first.message,
        {
          role: 'tool',
          content: [{ type: 'tool-result', toolCallId: call?.toolCallId ?? '', toolName: 'add', output: 3 }],
        },
      ],
      tools,
    });
    expect(second.text).toBe('3');
    expect(ollama.requests.at(-1)?.json<{ messages: unknown[] }>().messages.at(-1)).toEqual({
      role: 'tool',
      content: '3',
      tool_name: 'add',
    });
  });

  it('says Ollama is not running, after retrying the refused connection', async () => {
    const closed = await startFakeServer();
    const url = closed.url;
    await closed.close();
    const model = createModel('ollama:llama3.2', { baseURL: url, env: {}, sleep, maxRetries: 1 });
    const error = await failure(model.generate({ messages: hello }));
    expect(error.code).toBe('network');
    expect(error.message).toContain(
      `Ollama is not running at ${url}: start it with \`ollama serve\` or set OLLAMA_HOST.`,
    );
    expect(waits).toHaveLength(1);
  });

  it('tells to pull a missing model and does not retry', async () => {
    const model = createModel('ollama:mistral', { baseURL: ollama.url, env: {}, sleep, maxRetries: 2 });
    const error = await failure(model.generate({ messages: hello }));
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('run `ollama pull mistral`');
    expect(ollama.requests).toHaveLength(1);
  });

  it('fails (without retrying) when the stream ends before done', async () => {
    ollama.endEarly({ text: ['par', 'tial'] });
    const model = createModel('ollama:llama3.2', { baseURL: ollama.url, env: {}, sleep, maxRetries: 2 });
    const error = await failure(model.generate({ messages: hello }));
    expect(error.code).toBe('network');
    expect(ollama.requests).toHaveLength(1);
  });

  it("aborts on the caller's signal and closes the socket", async () => {
    ollama.hang();
    const controller = new AbortController();
    const model = createModel('ollama:llama3.2', { baseURL: ollama.url, env: {}, sleep });
    const pending = model.generate({ messages: hello, signal: controller.signal });
    await vi.waitFor(() => expect(ollama.activeRequests()).toBe(1));
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe('aborted');
    await vi.waitFor(() => expect(ollama.activeRequests()).toBe(0));
  });
});
