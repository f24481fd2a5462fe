import type { Store } from '@haia/store';
import type { OpenAIFake } from '@haia/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentServer, listVms, startAgentServer } from './agent-server.js';

/** What the openai SDK throws for an error response. */
type ClientError = InstanceType<typeof OpenAI.APIError>;

let fake: OpenAIFake;
let store: Store;
let client: OpenAI;

/** The client's own tool, offered in the request. */
const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } } },
    },
  },
];

let harness: AgentServer;

beforeAll(async () => {
  harness = await startAgentServer({ tools: [listVms] });
  ({ fake, store } = harness);
  client = new OpenAI({ apiKey: 'none', baseURL: `${harness.url}/v1`, maxRetries: 0 });
});
afterAll(() => harness?.close());
beforeEach(() => {
  fake.reset();
});

/** One model step that calls HAIA's `list_vms` and the client's `get_weather` (ids `<prefix>_h`, `<prefix>_c`). */
function mixedStep(prefix: string) {
  return {
    text: 'Checking.',
    toolCalls: [
      { id: `${prefix}_h`, name: 'list_vms', arguments: {} },
      { id: `${prefix}_c`, name: 'get_weather', arguments: { city: 'Oslo' } },
    ],
  };
}

/** Streams a mixed turn; returns what the client saw and the conversation id. */
async function streamMixedTurn(question: string) {
  const { data, response } = await client.chat.completions
    .create({ model: 'haia', stream: true, tools, messages: [{ role: 'user', content: question }] })
    .withResponse();
  let text = '';
  const calls: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
  let finishReason: string | null = null;
  for await (const chunk of data) {
    text += chunk.choices[0]?.delta?.content ?? '';
    calls.push(...(chunk.choices[0]?.delta?.tool_calls ?? []));
    finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
  }
  return {
    text,
    calls,
    finishReason,
    conversationId: response.headers.get('x-haia-conversation-id') as string,
  };
}

/** Roles and tool-call ids of a stored conversation's active branch. */
async function storedTurns(conversationId: string) {
  const found = await store.getConversation(conversationId);
  return found?.messages.map((message) => {
    if (typeof message.content === 'string') return message.role;
    const ids = (message.content as Array<{ type: string; toolCallId?: string }>)
      .filter((part) => part.toolCallId !== undefined)
      .map((part) => part.toolCallId);
    return ids.length > 0 ? `${message.role} ${ids.join(',')}` : message.role;
  });
}

describe("a turn that mixes HAIA's tools and the client's", () => {
  it('the client gets only its call; its result sent alone by X-HAIA-Conversation-Id continues the turn, stored once, also when retried', async () => {
    fake.enqueue(
      mixedStep('m1'),
      { error: { status: 400, message: 'upstream refused this once' } },
      { text: 'web runs; Oslo is 18C.' },
    );
    const turn = await streamMixedTurn('vms and weather?');
    expect(turn.finishReason).toBe('tool_calls');
    expect(turn.calls.map((call) => call.function?.name)).toEqual(['get_weather']);
    expect(await storedTurns(turn.conversationId)).toEqual(['user', 'assistant m1_h,m1_c', 'tool m1_h']);

    // Only what is new: the client tool's result, under the conversation's id.
    const result = { role: 'tool' as const, tool_call_id: 'm1_c', content: '{"celsius":18}' };
    const byId = { headers: { 'x-haia-conversation-id': turn.conversationId } };
    const failed = await client.chat.completions
      .create({ model: 'haia', tools, messages: [result] }, byId)
      .catch((error: unknown) => error);
    expect((failed as ClientError).status).toBe(400);
    // The same request again (a retry): the result is not stored a second time.
    const answer = await client.chat.completions.create({ model: 'haia', tools, messages: [result] }, byId);
    expect(answer.choices[0]?.message.content).toBe('web runs; Oslo is 18C.');

    for (const request of fake.requests.slice(1)) {
      expect(request.body.messages.slice(1)).toMatchObject([
        { role: 'user', content: 'vms and weather?' },
        { role: 'assistant', tool_calls: [{ id: 'm1_h' }, { id: 'm1_c' }] },
        { role: 'tool', tool_call_id: 'm1_h' },
        { role: 'tool', tool_call_id: 'm1_c', content: '{"celsius":18}' },
      ]);
      expect(request.body.messages).toHaveLength(5);
    }
    expect(await storedTurns(turn.conversationId)).toEqual([
      'user',
      'assistant m1_h,m1_c',
      'tool m1_h',
      'tool m1_c',
      'assistant',
    ]);
    const stored = await store.getConversation(turn.conversationId);
    expect(stored?.messages[3]?.content).toMatchObject([
      { toolName: 'get_weather', output: '{"celsius":18}' },
    ]);
  });

  it('the whole history resent (a stateless client) continues the same turn the same way', async () => {
    fake.enqueue(mixedStep('m2'), { text: 'web runs; Oslo is 18C.' });
    const turn = await streamMixedTurn('vms and weather, stateless?');
    const history: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'vms and weather, stateless?' },
      {
        role: 'assistant',
        content: turn.text,
        tool_calls: turn.calls.map((call) => ({
          id: call.id as string,
          type: 'function' as const,
          function: { name: call.function?.name as string, arguments: call.function?.arguments as string },
        })),
      },
      { role: 'tool', tool_call_id: 'm2_c', content: '{"celsius":18}' },
    ];
    const { response } = await client.chat.completions
      .create({ model: 'haia', tools, messages: history })
      .withResponse();
    expect(response.headers.get('x-haia-conversation-id')).toBe(turn.conversationId);
    expect(await storedTurns(turn.conversationId)).toEqual([
      'user',
      'assistant m2_h,m2_c',
      'tool m2_h',
      'tool m2_c',
      'assistant',
    ]);
  });
});

describe('a tool result that answers no tool call', () => {
  for (const stream of [false, true]) {
    it(`is a 400 naming the client's message, before anything is stored (stream: ${stream})`, async () => {
      const question = `orphan result, stream ${stream}`;
      /** What the SDK throws for a request with `messages` (an error is expected). */
      const refusal = (messages: OpenAI.ChatCompletionMessageParam[]) =>
        client.chat.completions.create({ model: 'haia', stream, messages }).catch((error: unknown) => error);
      const refused = await refusal([
        { role: 'user', content: question },
        { role: 'tool', tool_call_id: 'call_nobody', content: 'result' },
      ]);
      expect(refused).toBeInstanceOf(OpenAI.APIError);
      expect((refused as ClientError).status).toBe(400);
      expect((refused as ClientError).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_value',
        param: 'messages[1].tool_call_id',
        message: expect.stringMatching(/^messages\[1\] \(tool\) answers tool call "call_nobody"/),
      });
      const unknownId = await refusal([
        { role: 'user', content: question },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_b', content: 'result' },
      ]);
      expect((unknownId as ClientError).status).toBe(400);
      expect((unknownId as ClientError).error).toMatchObject({ param: 'messages[2].tool_call_id' });
      const call = { type: 'function' as const, function: { name: 'f', arguments: '{}' } };
      const repeatedId = await refusal([
        { role: 'user', content: question },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_a', ...call },
            { id: 'call_a', ...call },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: 'result' },
      ]);
      expect((repeatedId as ClientError).status).toBe(400);
      expect((repeatedId as ClientError).error).toMatchObject({ param: 'messages[1].tool_calls[1].id' });
      expect(fake.requests).toHaveLength(0);

      // The client's next valid request of that chat is answered, from a history without the orphan.
      fake.enqueue({ text: 'Fine.' });
      const next = await client.chat.completions.create({
        model: 'haia',
        messages: [
          { role: 'user', content: question },
          { role: 'assistant', content: 'Hello.' },
          { role: 'user', content: 'and now?' },
        ],
      });
      expect(next.choices[0]?.message.content).toBe('Fine.');
      expect(fake.requests[0]?.body.messages.some((message) => message.role === 'tool')).toBe(false);
    });
  }

  it('sent alone by X-HAIA-Conversation-Id, answering no stored call: a 400, and the conversation goes on', async () => {
    fake.enqueue({ text: 'Hello.' }, { text: 'Still here.' });
    const first = await client.chat.completions
      .create({ model: 'haia', user: 'owner', messages: [{ role: 'user', content: 'hi, by id' }] })
      .withResponse();
    const conversationId = first.response.headers.get('x-haia-conversation-id') as string;
    const byId = { headers: { 'x-haia-conversation-id': conversationId } };
    const refused = await client.chat.completions
      .create({ model: 'haia', messages: [{ role: 'tool', tool_call_id: 'call_x', content: 'r' }] }, byId)
      .catch((error: unknown) => error);
    expect((refused as ClientError).status).toBe(400);
    expect((refused as ClientError).error).toMatchObject({ param: 'messages[0].tool_call_id' });
    expect((refused as ClientError).message).toContain('in this request or the stored conversation');
    // Another user's conversation is not there for them, whatever their tool results.
    const intruder = await client.chat.completions
      .create(
        {
          model: 'haia',
          user: 'intruder',
          messages: [{ role: 'tool', tool_call_id: 'call_x', content: 'r' }],
        },
        byId,
      )
      .catch((error: unknown) => error);
    expect((intruder as ClientError).status).toBe(404);
    expect(await storedTurns(conversationId)).toEqual(['user', 'assistant']);
    const next = await client.chat.completions.create(
      { model: 'haia', user: 'owner', messages: [{ role: 'user', content: 'still there?' }] },
      byId,
    );
    expect(next.choices[0]?.message.content).toBe('Still here.');
  });
});
