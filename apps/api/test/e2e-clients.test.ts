import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { defineTool } from '@haia/agent';
import { type Message, messageText } from '@haia/llm';
import type { Store } from '@haia/store';
import type { OpenAIFake } from '@haia/testkit';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ApiServer } from '../src/server.js';
import { type AgentServer, startAgentServer } from './agent-server.js';
import type { memoryLogger } from './helpers.js';

let fake: OpenAIFake;
let store: Store;
let server: ApiServer & { logs: ReturnType<typeof memoryLogger> };
let url: string;
let client: OpenAI;

const listVms = defineTool({
  name: 'list_vms',
  description: 'List the VMs of the cluster',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: () => ({
    vms: [
      { vmid: 100, name: 'web', status: 'running' },
      { vmid: 101, name: 'db', status: 'stopped' },
    ],
  }),
});

async function until(condition: () => boolean | Promise<boolean>, what: string) {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let harness: AgentServer;

beforeAll(async () => {
  harness = await startAgentServer({
    tools: [listVms],
    upstreamKey: 'sk-upstream-SECRET',
    env: { HAIA_API_KEYS: 'client-key' },
  });
  ({ fake, store, server, url } = harness);
  client = new OpenAI({ apiKey: 'client-key', baseURL: `${url}/v1`, maxRetries: 0 });
});
afterAll(() => harness?.close());
beforeEach(() => {
  fake.reset();
});

describe('the openai SDK over a real port, upstream the OpenAI fake', () => {
  it('streams, and the SDK helper assembles a valid completion', async () => {
    fake.enqueue({ text: 'Hello from upstream, through HAIA.', reasoning: 'let me think' });
    const stream = client.chat.completions.stream({
      model: 'haia',
      messages: [{ role: 'user', content: 'say hello' }],
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta?.content;
      if (content) deltas.push(content);
    }
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe('Hello from upstream, through HAIA.');
    expect(final.choices[0]?.finish_reason).toBe('stop');
    expect(final.usage?.total_tokens).toBeGreaterThan(0);
    expect(deltas.length).toBeGreaterThan(1);
    const upstream = fake.requests[0]?.body;
    expect(upstream?.stream).toBe(true);
    expect(upstream?.messages.at(-1)).toMatchObject({ role: 'user', content: 'say hello' });
    expect(fake.requests[0]?.apiKey).toBe('sk-upstream-SECRET');
  });

  it('answers stream: false as JSON the SDK parses', async () => {
    fake.enqueue({ text: 'Plain answer.' });
    const completion = await client.chat.completions.create({
      model: 'haia',
      messages: [{ role: 'user', content: 'plain?' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Plain answer.' });
  });

  it("runs HAIA's tool between two upstream calls; the client sees only the answer", async () => {
    fake.enqueue(
      { text: 'Let me check.', toolCalls: [{ name: 'list_vms', arguments: {} }] },
      { text: 'web is running, db is stopped.' },
    );
    const stream = await client.chat.completions.create({
      model: 'haia',
      stream: true,
      messages: [{ role: 'user', content: 'vm status?' }],
    });
    let text = '';
    for await (const chunk of stream) {
      expect(chunk.choices[0]?.delta?.tool_calls).toBeUndefined();
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    // Each step's text is its own paragraph.
    expect(text).toBe('Let me check.\n\nweb is running, db is stopped.');
    expect(fake.requests).toHaveLength(2);
    const second = fake.requests[1]?.body.messages ?? [];
    expect(second.find((message) => message.role === 'tool')?.content).toContain('"name":"web"');
    expect(
      ((fake.requests[0]?.body.tools ?? []) as Array<{ function: { name: string } }>).map(
        (entry) => entry.function.name,
      ),
    ).toEqual(['list_vms']);
    fake.enqueue(
      { text: 'Let me check.', toolCalls: [{ name: 'list_vms', arguments: {} }] },
      { text: 'Two VMs.' },
    );
    const whole = await client.chat.completions.create({
      model: 'haia',
      messages: [{ role: 'user', content: 'vm status, as JSON?' }],
    });
    expect(whole.choices[0]?.message.content).toBe('Let me check.\n\nTwo VMs.');
  });

  it("gives the upstream error's status before streaming, and an APIError mid-stream", async () => {
    fake.enqueue({ error: { status: 429, headers: { 'retry-after': '3' } } });
    const before = await client.chat.completions
      .create({ model: 'haia', stream: true, messages: [{ role: 'user', content: 'x' }] })
      .catch((error: unknown) => error);
    expect(before).toBeInstanceOf(OpenAI.APIError);
    expect((before as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect((before as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('3');

    fake.enqueue({ text: 'partial answer', midStreamError: { message: 'upstream exploded' } });
    const stream = await client.chat.completions.create({
      model: 'haia',
      stream: true,
      messages: [{ role: 'user', content: 'y' }],
    });
    let text = '';
    const during = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })().catch((error: unknown) => error);
    expect(during).toBeInstanceOf(OpenAI.APIError);
    expect(text).toBe('partial answer');
    expect(server.logs.raw()).not.toContain('SECRET');
  });

  it('aborts the upstream request when the client disconnects and stores the partial answer', async () => {
    fake.enqueue({ text: 'word '.repeat(200), chunkSize: 5, delayMs: 15 });
    const controller = new AbortController();
    const { data: stream, response } = await client.chat.completions
      .create(
        {
          model: 'haia',
          stream: true,
          messages: [{ role: 'user', content: `tell a long story ${Date.now()}` }],
        },
        { signal: controller.signal },
      )
      .withResponse();
    const conversationId = response.headers.get('x-haia-conversation-id') as string;
    let received = 0;
    const reading = (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) received++;
        if (received === 3) controller.abort();
      }
    })().catch(() => undefined);
    await reading;
    await until(() => fake.activeRequests() === 0, 'the upstream request to close');
    await until(async () => {
      const stored = await store.getConversation(conversationId);
      return stored?.messages.length === 2;
    }, 'the partial answer to be stored');
    const stored = await store.getConversation(conversationId);
    expect(stored?.messages[1]).toMatchObject({ role: 'assistant', status: 'partial' });
    const partial = messageText(stored?.messages[1] as Message);
    expect(partial).toMatch(/^word/);
    expect(partial.length).toBeLessThan('word '.repeat(200).length);
  });
  it('aborts the upstream request when a client waiting for JSON disconnects', async () => {
    fake.enqueue({ text: 'too late', firstDelayMs: 5_000 });
    const controller = new AbortController();
    const before = server.logs.lines.length;
    const asked = client.chat.completions
      .create(
        { model: 'haia', messages: [{ role: 'user', content: `a slow question ${Date.now()}` }] },
        { signal: controller.signal, headers: { 'x-request-id': 'req-json-gone' } },
      )
      .catch((error: unknown) => error);
    await until(() => fake.activeRequests() === 1, 'the upstream request to start');
    controller.abort();
    expect(await asked).toBeInstanceOf(OpenAI.APIUserAbortError);
    await until(() => fake.activeRequests() === 0, 'the upstream request to close');
    await until(
      () =>
        server.logs.lines
          .slice(before)
          .some((line) => line.requestId === 'req-json-gone' && line.msg === 'request'),
      'the access line',
    );
    const line = server.logs.lines.slice(before).find((entry) => entry.msg === 'request');
    expect(line).toMatchObject({ requestId: 'req-json-gone', outcome: 'client-closed' });
    // The question was stored before the model was called, under the conversation the line names.
    const stored = await store.getConversation(line?.conversationId as string);
    expect(stored?.messages.map((message) => message.role)).toEqual(['user']);
  });
});

/** The input of the client's `get_weather` tool in the AI SDK tests. */
const cityInput = jsonSchema<{ city: string }>({
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
});

describe('the AI SDK (@ai-sdk/openai-compatible) over a real port', () => {
  it('streams and generates text', async () => {
    const provider = createOpenAICompatible({
      name: 'haia',
      baseURL: `${url}/v1`,
      apiKey: 'client-key',
      includeUsage: true,
    });
    fake.enqueue({ text: 'Streamed via the AI SDK.' }, { text: 'Generated via the AI SDK.' });
    const streamed = streamText({ model: provider('haia'), prompt: 'stream please' });
    let text = '';
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe('Streamed via the AI SDK.');
    expect(await streamed.finishReason).toBe('stop');
    expect((await streamed.usage).totalTokens).toBeGreaterThan(0);
    const generated = await generateText({ model: provider('haia'), prompt: 'generate please' });
    expect(generated.text).toBe('Generated via the AI SDK.');
  });

  it("gets the client's own tool calls back with finish reason tool-calls", async () => {
    const provider = createOpenAICompatible({ name: 'haia', baseURL: `${url}/v1`, apiKey: 'client-key' });
    fake.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const result = await generateText({
      model: provider('haia'),
      prompt: 'weather in Oslo?',
      tools: {
        get_weather: tool({
          description: 'Weather for a city',
          inputSchema: cityInput,
        }),
      },
    });
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls).toMatchObject([{ toolName: 'get_weather', input: { city: 'Oslo' } }]);
    const offered = fake.requests[0]?.body.tools as Array<{ function: { name: string } }>;
    expect(offered.map((entry) => entry.function.name).sort()).toEqual(['get_weather', 'list_vms']);
  });

  it("runs the client's tool between two turns: its result reaches the model, and both legs are stored", async () => {
    const provider = createOpenAICompatible({ name: 'haia', baseURL: `${url}/v1`, apiKey: 'client-key' });
    fake.enqueue(
      { toolCalls: [{ id: 'call_oslo', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { text: 'It is 18C in Oslo.' },
    );
    const result = await generateText({
      model: provider('haia'),
      prompt: 'weather in Oslo, step by step?',
      stopWhen: stepCountIs(3),
      tools: {
        get_weather: tool({
          description: 'Weather for a city',
          inputSchema: cityInput,
          execute: async ({ city }) => ({ city, celsius: 18 }),
        }),
      },
    });
    expect(result.text).toBe('It is 18C in Oslo.');
    // The second leg's upstream request carries the call and the client's result, in order.
    const second = fake.requests[1]?.body.messages as Array<Record<string, unknown>>;
    expect(second.slice(-2)).toMatchObject([
      { role: 'assistant', tool_calls: [{ id: 'call_oslo', function: { name: 'get_weather' } }] },
      { role: 'tool', tool_call_id: 'call_oslo', content: JSON.stringify({ city: 'Oslo', celsius: 18 }) },
    ]);
    const [latest] = (await store.listConversations({ limit: 1 })).conversations;
    const conversation = await store.getConversation(latest?.id as string);
    expect(conversation?.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
  });
});
