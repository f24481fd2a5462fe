import { createModel } from '@haia/llm';
import { startAnthropicFake } from '@haia/testkit';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AgentServer, startAgentServer } from './agent-server.js';
import { buildServer, testStore } from './helpers.js';

const Vm = z.object({ vmid: z.number(), name: z.string() });
const refusalText = "I'm sorry, I can't help with that.";

let harness: AgentServer;
let client: OpenAI;

beforeAll(async () => {
  harness = await startAgentServer({ tools: [], env: { HAIA_API_KEYS: 'client-key' } });
  client = new OpenAI({ apiKey: 'client-key', baseURL: `${harness.url}/v1`, maxRetries: 0 });
});
afterAll(() => harness?.close());
beforeEach(() => harness.fake.reset());

describe('an upstream refusal, read by the openai SDK through HAIA', () => {
  it('answers JSON in OpenAI shape: message.refusal, content null, finish_reason stop; parse() does not throw', async () => {
    harness.fake.enqueue({ refusal: refusalText });
    const completion = await client.chat.completions.parse({
      model: 'haia',
      messages: [{ role: 'user', content: 'describe vm 100 as JSON' }],
      response_format: zodResponseFormat(Vm, 'vm'),
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message.refusal).toBe(refusalText);
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.parsed).toBeNull();
  });

  it('streams delta.refusal chunks the stream helper assembles, with finish_reason stop', async () => {
    harness.fake.enqueue({ refusal: refusalText, chunkSize: 6 });
    const stream = client.chat.completions.stream({
      model: 'haia',
      messages: [{ role: 'user', content: 'describe vm 100 as JSON' }],
      response_format: zodResponseFormat(Vm, 'vm'),
    });
    const refusalDeltas: string[] = [];
    const contentDeltas: string[] = [];
    stream.on('refusal.delta', ({ delta }) => refusalDeltas.push(delta));
    stream.on('content.delta', ({ delta }) => contentDeltas.push(delta));
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message.refusal).toBe(refusalText);
    expect(choice?.message.content ?? null).toBeNull();
    expect(choice?.message.parsed ?? null).toBeNull();
    expect(refusalDeltas.join('')).toBe(refusalText);
    expect(refusalDeltas.length).toBeGreaterThan(1);
    expect(contentDeltas).toEqual([]);
  });

  it('without structured output sends it as content (chat UIs read only content) and keeps it as the answer', async () => {
    harness.fake.enqueue({ refusal: refusalText });
    const response = await client.chat.completions
      .create({ model: 'haia', messages: [{ role: 'user', content: 'something refused' }] })
      .withResponse();
    expect(response.data.choices[0]?.message).toMatchObject({ content: refusalText, refusal: null });
    expect(response.data.choices[0]?.finish_reason).toBe('stop');
    const conversationId = response.response.headers.get('x-haia-conversation-id');
    expect(conversationId).toBeTruthy();
    const messages = await harness.store.getMessages(conversationId as string);
    const last = messages.at(-1);
    expect(last?.role).toBe('assistant');
    expect(JSON.stringify(last?.content)).toContain(refusalText);

    // The client resends the refused answer as OpenAI gave it (content null, refusal): the next turn
    // continues the same conversation after that answer instead of starting a branch.
    harness.fake.enqueue({ text: 'Something else, then.' });
    const next = await client.chat.completions
      .create({
        model: 'haia',
        messages: [
          { role: 'user', content: 'something refused' },
          { role: 'assistant', content: null, refusal: refusalText },
          { role: 'user', content: 'then something else' },
        ],
      })
      .withResponse();
    expect(next.response.headers.get('x-haia-conversation-id')).toBe(conversationId);
    const after = await harness.store.getMessages(conversationId as string);
    expect(after.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(after[2]?.parentId).toBe(last?.id);
    expect(
      harness.fake.requests.at(-1)?.body.messages.filter((message) => message.role === 'assistant'),
    ).toEqual([{ role: 'assistant', content: refusalText }]);
  });
});

describe('an Anthropic refusal (stop_reason "refusal"), read by the openai SDK through HAIA', () => {
  it('is message.refusal with structured output, content after the partial text without; finish_reason stop', async () => {
    const anthropic = await startAnthropicFake({ apiKey: 'sk-ant-test' });
    const store = await testStore();
    const server = buildServer({
      model: createModel('anthropic:claude-test', {
        apiKey: 'sk-ant-test',
        baseURL: anthropic.url,
        maxRetries: 0,
      }),
      store,
    });
    try {
      const url = await server.listen();
      const sdk = new OpenAI({ apiKey: 'none', baseURL: `${url}/v1`, maxRetries: 0 });
      anthropic.enqueue({ content: [], stopReason: 'refusal' });
      const completion = await sdk.chat.completions.parse({
        model: 'haia',
        messages: [{ role: 'user', content: 'describe vm 100 as JSON' }],
        response_format: zodResponseFormat(Vm, 'vm'),
      });
      expect(completion.choices[0]?.finish_reason).toBe('stop');
      expect(completion.choices[0]?.message.content).toBeNull();
      expect(completion.choices[0]?.message.refusal).toMatch(/^Claude declined to answer/);

      anthropic.enqueue({ content: [{ type: 'text', text: 'Here is' }], stopReason: 'refusal' });
      const stream = sdk.chat.completions.stream({
        model: 'haia',
        messages: [{ role: 'user', content: 'tell me something refused' }],
      });
      const final = await stream.finalChatCompletion();
      // Without structured output the refusal is content, a paragraph after the partial text.
      expect(final.choices[0]?.finish_reason).toBe('stop');
      expect(final.choices[0]?.message.content).toMatch(/^Here is\n\nClaude declined to answer/);
      expect(final.choices[0]?.message.refusal ?? null).toBeNull();
    } finally {
      await server.stop();
      await store.close();
      await anthropic.close();
    }
  });
});
