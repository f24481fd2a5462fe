import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OllamaFake, startOllamaFake } from './ollama-fake.js';

let ollama: OllamaFake;

beforeAll(async () => {
  ollama = await startOllamaFake();
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(() => {
  ollama.server.reset();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read wire bodies field by field
type WireBody = Record<string, any>;

describe('ollama fake', () => {
  it('lists its models', async () => {
    const response = await fetch(`${ollama.url}/api/tags`);
    const body = (await response.json()) as { models: Array<{ name: string }> };
    expect(body.models.map((model) => model.name)).toEqual(['llama3.2:latest', 'qwen3:latest']);
  });

  it('answers stream: false with one JSON object', async () => {
    ollama.reply({
      thinking: 'hm',
      text: ['a', 'b'],
      toolCalls: [{ name: 't', arguments: { x: 1 } }],
      evalCount: 3,
    });
    const response = await fetch(`${ollama.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'qwen3',
        stream: false,
        think: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as WireBody;
    expect(body).toMatchObject({
      model: 'qwen3',
      done: true,
      done_reason: 'stop',
      eval_count: 3,
      message: {
        role: 'assistant',
        content: 'ab',
        thinking: 'hm',
        tool_calls: [{ function: { name: 't', arguments: { x: 1 } } }],
      },
    });
  });

  it.each([
    ['{not json', 400, "invalid character 'n' looking for beginning of object key string"],
    ['hello', 400, "invalid character 'h' looking for beginning of value"],
    [JSON.stringify({ messages: [] }), 400, 'model is required'],
    [
      JSON.stringify({ model: 'llama3.2', messages: [{ role: 'robot', content: 'x' }] }),
      400,
      'invalid role: robot',
    ],
    [JSON.stringify({ model: 'nope', messages: [] }), 404, "model 'nope' not found"],
  ])('rejects %s', async (body, status, message) => {
    const response = await fetch(`${ollama.url}/api/chat`, { method: 'POST', body });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error: message });
  });

  it('streams NDJSON lines, the last one done with metrics', async () => {
    ollama.reply({
      text: ['a', 'b'],
      toolCalls: [{ id: 'call_1', name: 'f', arguments: { x: 1 } }],
      delayMs: 1,
    });
    const response = await fetch(`${ollama.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as WireBody);
    expect(lines.map((line) => line.done)).toEqual([false, false, false, true]);
    expect(lines[2]?.message.tool_calls).toEqual([
      { id: 'call_1', function: { index: 0, name: 'f', arguments: { x: 1 } } },
    ]);
    expect(lines[3]).toMatchObject({ done_reason: 'stop', prompt_eval_count: 26, eval_count: 12 });
  });

  it('writes an error line mid-stream with no done line after it', async () => {
    ollama.midStreamError({ text: 'a' }, 'boom');
    const response = await fetch(`${ollama.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.2', messages: [] }),
    });
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as WireBody);
    expect(response.status).toBe(200);
    expect(lines.at(-1)).toEqual({ error: 'boom' });
    expect(lines.some((line) => line.done === true)).toBe(false);
  });

  it('rejects think for a model that does not think', async () => {
    const response = await fetch(`${ollama.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.2', think: true, messages: [] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: '"llama3.2" does not support thinking' });
  });
});
