import { createAgent, createToolset, defineTool } from '@haia/agent';
import { createModel, type LanguageModel, LlmError } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import type { Store } from '@haia/store';
import { startOllamaFake } from '@haia/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildServer, chatRequest, type LooseJson, sseData, testStore } from '../test/helpers.js';
import { createAgentRunner } from './agent-runner.js';

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

/** A server whose turns run the agent on `model` with `tools` as its `proxmox` toolset. */
function agentServer(
  model: MockLanguageModel,
  tools: Parameters<typeof createToolset>[1],
  limits?: { maxSteps: number },
) {
  const runnerFor = (answering: LanguageModel) =>
    createAgentRunner(
      createAgent({
        model: answering,
        instructions: 'You are HAIA.',
        toolsets: [createToolset('proxmox', tools)],
        ...(limits ? { limits } : {}),
      }),
    );
  return buildServer({ model, store, runnerFor });
}

describe('POST /v1/chat/completions in-process', () => {
  it('streams the exact OpenAI chunk sequence', async () => {
    const model = new MockLanguageModel({
      results: [
        [
          { type: 'reasoning-delta', text: 'thinking' },
          { type: 'text-delta', text: 'Hel' },
          { type: 'text-delta', text: 'lo' },
          {
            type: 'finish',
            finishReason: 'stop',
            usage: { inputTokens: 5, outputTokens: 2 },
            response: { model: 'openai-compatible:fake-model', id: 'x' },
          },
        ],
      ],
    });
    const server = buildServer({ model, store });
    const response = await server.app.handle(
      chatRequest({
        model: 'haia',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-haia-conversation-id')).toBeTruthy();
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const text = await response.text();
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Array<LooseJson>;
    const ids = new Set(chunks.map((chunk) => chunk.id));
    const created = new Set(chunks.map((chunk) => chunk.created));
    expect(ids.size).toBe(1);
    expect(created.size).toBe(1);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === 'haia')).toBe(
      true,
    );
    expect(chunks.map((chunk) => chunk.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { reasoning_content: 'thinking' },
      { content: 'Hel' },
      { content: 'lo' },
      {},
      null,
    ]);
    expect(chunks[4]?.choices[0].finish_reason).toBe('stop');
    expect(chunks[5]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    });
  });

  it('keeps several text parts apart, and refuses a part it cannot pass on instead of dropping it', async () => {
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const server = buildServer({ model, store });
    const parts = [
      { type: 'text', text: 'line one' },
      { type: 'text', text: 'line two' },
    ];
    const response = await server.app.handle(
      chatRequest({
        model: 'haia',
        messages: [
          { role: 'system', content: parts },
          { role: 'user', content: parts },
        ],
      }),
    );
    expect(response.status).toBe(200);
    expect(model.calls[0]?.messages.slice(-2)).toEqual([
      { role: 'system', content: 'line one\nline two' },
      { role: 'user', content: 'line one\nline two' },
    ]);
    const audio = await server.app.handle(
      chatRequest({
        model: 'haia',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is said here?' },
              { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            ],
          },
        ],
      }),
    );
    expect(audio.status).toBe(400);
    expect(((await audio.json()) as { error: Record<string, unknown> }).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'unsupported_value',
      param: 'messages[0].content[1].type',
      message: expect.stringContaining('"input_audio"'),
    });
    expect(model.calls).toHaveLength(1);
  });

  it('answers stream: false with one chat.completion JSON', async () => {
    const model = new MockLanguageModel({
      results: {
        text: 'Two VMs.',
        reasoning: 'count',
        usage: { inputTokens: 3, outputTokens: 4, cachedInputTokens: 1 },
      },
    });
    const server = buildServer({ model, store });
    const response = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'how many?' }] }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as LooseJson;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'haia',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Two VMs.', reasoning_content: 'count' },
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 3,
        completion_tokens: 4,
        total_tokens: 7,
        prompt_tokens_details: { cached_tokens: 1 },
      },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(typeof body.created).toBe('number');
  });

  it('accepts what OpenAI accepts: unknown fields, user objects, tools: [], max_completion_tokens, developer role', async () => {
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const server = buildServer({ model, store });
    const response = await server.app.handle(
      chatRequest({
        model: 'haia',
        messages: [
          { role: 'developer', content: 'be brief' },
          { role: 'user', content: [{ type: 'text', text: 'hi' }], name: 'sam' },
        ],
        user: { name: 'Sam', id: 'u1', email: 'sam@example.com', role: 'admin' },
        tools: [],
        max_completion_tokens: 77,
        temperature: 0.2,
        stop: 'END',
        num_ctx: 4096,
        stream_response: true,
        metadata: { chat_id: 'x' },
        response_format: { type: 'json_object' },
      }),
    );
    expect(response.status).toBe(200);
    const call = model.calls[0];
    expect(call?.maxOutputTokens).toBe(77);
    expect(call?.temperature).toBe(0.2);
    expect(call?.stop).toEqual(['END']);
    expect(call?.tools).toBeUndefined();
    expect(call?.messages.slice(-2)).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ]);
    expect(call?.responseFormat).toEqual({ type: 'json' });
    // A strict JSON schema keeps its strictness and description on the way to the model.
    const schema = { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] };
    await server.app.handle(
      chatRequest({
        model: 'haia',
        messages: [{ role: 'user', content: 'json please' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'answer', description: 'One number', schema, strict: true },
        },
      }),
    );
    expect(model.calls[1]?.responseFormat).toEqual({
      type: 'json',
      name: 'answer',
      description: 'One number',
      schema,
      strict: true,
    });
  });

  it("passes seed, penalties and reasoning effort (or LibreChat's reasoning object) to the model", async () => {
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const server = buildServer({ model, store });
    const ask = (extra: Record<string, unknown>) =>
      server.app.handle(
        chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'think' }], ...extra }),
      );
    expect(
      (await ask({ seed: 7, frequency_penalty: 0.4, presence_penalty: -1, reasoning_effort: 'low' })).status,
    ).toBe(200);
    expect((await ask({ reasoning: { effort: 'high', summary: 'auto' } })).status).toBe(200);
    // An object HAIA cannot read (OpenRouter's token budget) is ignored like any unknown field.
    expect((await ask({ reasoning: { max_tokens: 2000 }, seed: null })).status).toBe(200);
    expect(model.calls[0]).toMatchObject({
      seed: 7,
      frequencyPenalty: 0.4,
      presencePenalty: -1,
      reasoningEffort: 'low',
    });
    expect(model.calls[1]?.reasoningEffort).toBe('high');
    expect(model.calls[2]).not.toHaveProperty('reasoningEffort');
    expect(model.calls[2]).not.toHaveProperty('seed');
    const refused = await ask({ reasoning_effort: 'extreme' });
    expect(refused.status).toBe(400);
    const envelope = (await refused.json()) as { error: { param: string; message: string } };
    expect(envelope.error.param).toBe('reasoning_effort');
    expect(envelope.error.message).toContain('"high"');
    const penalty = await ask({ presence_penalty: 3 });
    expect(((await penalty.json()) as { error: { param: string } }).error.param).toBe('presence_penalty');
  });

  it("refuses bad input with 400 and OpenAI's envelope, never Elysia's 422", async () => {
    const model = new MockLanguageModel({ results: { text: 'never' } });
    const server = buildServer({ model, store });
    const cases: Array<[string, string | null]> = [
      ['{not json', null],
      [JSON.stringify({ model: 'haia' }), 'messages'],
      [JSON.stringify({ model: 'haia', messages: [{ role: 'wizard', content: 'x' }] }), 'messages[0].role'],
      [JSON.stringify({ model: 'haia', n: 2, messages: [{ role: 'user', content: 'x' }] }), 'n'],
      [
        JSON.stringify({ model: 'haia', temperature: 'hot', messages: [{ role: 'user', content: 'x' }] }),
        'temperature',
      ],
    ];
    for (const [body, param] of cases) {
      const response = await server.app.handle(
        new Request('http://localhost/v1/chat/completions', {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        }),
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/json');
      const envelope = (await response.json()) as { error: Record<string, unknown> };
      expect(envelope.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(typeof envelope.error.message).toBe('string');
    }
    const nResponse = await server.app.handle(
      chatRequest({ model: 'haia', n: 3, messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(((await nResponse.json()) as { error: { message: string } }).error.message).toContain(
      'n must be 1',
    );
    expect(model.calls).toHaveLength(0);
  });

  it('maps an upstream failure before the first token to its status: 429 with retry-after', async () => {
    const model = new MockLanguageModel({
      results: new LlmError({
        code: 'rate-limit',
        message: 'Rate limit reached.',
        provider: 'openai',
        model: 'gpt',
        status: 429,
        retryAfterMs: 1500,
      }),
    });
    const server = buildServer({ model, store });
    for (const stream of [false, true]) {
      const response = await server.app.handle(
        chatRequest({ model: 'haia', stream, messages: [{ role: 'user', content: 'x' }] }),
      );
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('2');
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(((await response.json()) as { error: Record<string, unknown> }).error).toMatchObject({
        type: 'rate_limit_error',
        code: 'upstream_rate_limit',
      });
    }
    // An upstream that said nothing of when to retry: a few seconds.
    const silent = buildServer({
      model: new MockLanguageModel({
        results: new LlmError({
          code: 'rate-limit',
          message: 'Slow down.',
          provider: 'ollama',
          model: 'm',
          status: 429,
        }),
      }),
      store,
    });
    const response = await silent.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('5');
  });

  it('answers 503 with how to start Ollama or set HAIA_MODEL when Ollama is not running', async () => {
    const model = new MockLanguageModel({
      provider: 'ollama',
      modelId: 'llama3.2',
      results: new LlmError({
        code: 'network',
        message: 'fetch failed (ECONNREFUSED)',
        provider: 'ollama',
        model: 'llama3.2',
      }),
    });
    const server = buildServer({ model, store, env: { HAIA_MODEL: 'ollama:llama3.2' } });
    const response = await server.app.handle(
      chatRequest({ model: 'haia', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(response.status).toBe(503);
    const { error } = (await response.json()) as { error: { message: string; type: string } };
    expect(error.type).toBe('api_error');
    expect(error.message).toContain('ollama serve');
    expect(error.message).toContain('HAIA_MODEL');
    expect(error.message).toContain('http://127.0.0.1:11434');
  });

  it('says an Ollama connection lost mid-answer was cut off, not that Ollama is not running', async () => {
    const ollama = await startOllamaFake();
    try {
      ollama.truncate({ text: ['Half', ' an answer'] });
      const model = createModel('ollama:llama3.2', { baseURL: ollama.url, env: {}, maxRetries: 0 });
      const server = buildServer({ model, store, env: { HAIA_MODEL: 'ollama:llama3.2' } });
      const response = await server.app.handle(
        chatRequest({ model: 'haia', stream: true, messages: [{ role: 'user', content: 'cut me off' }] }),
      );
      expect(response.status).toBe(200);
      const frames = sseData(await response.text()) as LooseJson[];
      const failure = frames.at(-1) as { error?: { message: string } };
      expect(failure.error?.message).toContain('lost mid-answer');
      expect(failure.error?.message).not.toContain('ollama serve');
    } finally {
      await ollama.close();
    }
  });

  it('reports a failure after streaming began as a data: {"error"} frame, without [DONE], and stores the partial answer', async () => {
    const model = new MockLanguageModel({
      results: () => [{ type: 'text-delta', text: 'Half an ans' }],
    });
    // The mock yields its events, then we fail the stream by making the next call throw mid-way.
    const failing = {
      provider: 'mock',
      modelId: 'mock-model',
      async *stream() {
        yield { type: 'text-delta' as const, text: 'Half an ans' };
        throw new LlmError({
          code: 'server',
          message: 'upstream broke',
          provider: 'mock',
          model: 'mock-model',
          status: 500,
        });
      },
      generate: model.generate.bind(model),
    };
    const server = buildServer({ model: failing, store });
    const response = await server.app.handle(
      chatRequest({ model: 'haia', stream: true, messages: [{ role: 'user', content: 'tell me' }] }),
    );
    expect(response.status).toBe(200);
    const events = sseData(await response.text()) as Array<LooseJson>;
    expect(events.at(-1)).toMatchObject({ error: { type: 'api_error', code: 'upstream_server' } });
    expect(events).not.toContain('[DONE]');
    expect(events.some((event) => event.choices?.[0]?.delta?.content === 'Half an ans')).toBe(true);
    const stored = await store.getConversation(response.headers.get('x-haia-conversation-id') as string);
    expect(stored?.messages.map((message) => [message.role, message.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'partial'],
    ]);
    expect(stored?.messages[1]?.content).toEqual('Half an ans');
  });

  it('stores the user message before the model is called', async () => {
    let seen: unknown[] = [];
    const model = new MockLanguageModel({
      results: async () => {
        const page = await store.listConversations({ limit: 1 });
        const latest = await store.getConversation(page.conversations[0]?.id as string);
        seen = latest?.messages.map((message) => message.content) ?? [];
        return { text: 'ok' };
      },
    });
    const server = buildServer({ model, store });
    const response = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'remember me 42' }] }),
    );
    expect(response.status).toBe(200);
    expect(seen).toEqual(['remember me 42']);
  });

  it('answers OpenWebUI task calls and LibreChat titles with the plain model, stores nothing, offers no tools', async () => {
    const runs: unknown[] = [];
    const model = new MockLanguageModel({ results: { text: '{"title":"VM check"}' } });
    const server = buildServer({
      model,
      store,
      runnerFor: () => ({
        // biome-ignore lint/correctness/useYield: the agent must never be used for side calls
        async *run(input) {
          runs.push(input);
          throw new Error('the agent must not run side calls');
        },
      }),
    });
    const before = (await store.listConversations({ limit: 100 })).conversations.length;
    const task =
      '### Task:\nGenerate a concise, 3-5 word title.\n<chat_history>\nUSER: how are my vms\n</chat_history>';
    const requests = [
      chatRequest({
        model: 'haia',
        stream: false,
        max_tokens: 1000,
        messages: [{ role: 'user', content: task }],
      }),
      chatRequest(
        { model: 'haia', messages: [{ role: 'user', content: 'anything' }] },
        { 'X-OpenWebUI-Task': 'tags_generation' },
      ),
      chatRequest({
        model: 'gpt-3.5-turbo',
        messages: [
          {
            role: 'system',
            content:
              'Analyze this conversation and provide: 1. The detected language 2. A concise title. User: hi AI: hello',
          },
        ],
      }),
    ];
    // OpenWebUI's default prompts that do not start `### Task:` (emoji, mixture of agents, Legacy tool
    // mode), sent with the chat's id as OpenWebUI forwards it.
    const chatId = { 'X-OpenWebUI-Chat-Id': 'owui-side-calls' };
    requests.push(
      chatRequest(
        {
          model: 'haia',
          stream: false,
          messages: [
            {
              role: 'user',
              content:
                "Your task is to reflect the speaker's likely facial expression through a fitting emoji.\n\nMessage: ```hi```",
            },
          ],
        },
        chatId,
      ),
      chatRequest(
        {
          model: 'haia',
          messages: [
            {
              role: 'user',
              content:
                'You have been provided with a set of responses from various models to the latest user query: "hi"',
            },
          ],
        },
        chatId,
      ),
      chatRequest(
        {
          model: 'haia',
          stream: false,
          messages: [
            {
              role: 'system',
              content: 'Available Tools: [{"name": "get_weather"}]\n\nYour task is to choose…',
            },
            { role: 'user', content: 'Query: History:\nUSER: hi\nQuery: weather?' },
          ],
        },
        chatId,
      ),
    );
    for (const request of requests) {
      const response = await server.app.handle(request);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-haia-conversation-id')).toBeNull();
      const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
      expect(body.choices[0]?.message.content).toBe('{"title":"VM check"}');
    }
    expect(runs).toHaveLength(0);
    expect(model.calls).toHaveLength(6);
    expect(model.calls.every((call) => call.tools === undefined)).toBe(true);
    expect((await store.listConversations({ limit: 100 })).conversations.length).toBe(before);
  });

  it('passes client tools through and ends the turn with finish_reason tool_calls', async () => {
    const model = new MockLanguageModel({
      results: { toolCalls: [{ toolCallId: 'call_w1', toolName: 'get_weather', input: { city: 'Oslo' } }] },
    });
    const server = buildServer({ model, store });
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const streamed = await server.app.handle(
      chatRequest({ model: 'haia', stream: true, tools, messages: [{ role: 'user', content: 'weather?' }] }),
    );
    const chunks = sseData(await streamed.text()) as Array<LooseJson>;
    const toolChunk = chunks.find((chunk) => chunk.choices?.[0]?.delta?.tool_calls);
    expect(toolChunk?.choices[0].delta.tool_calls).toEqual([
      {
        index: 0,
        id: 'call_w1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
      },
    ]);
    expect(chunks.find((chunk) => chunk.choices?.[0]?.finish_reason)?.choices[0].finish_reason).toBe(
      'tool_calls',
    );
    expect(model.calls[0]?.tools?.map((tool) => tool.name)).toEqual(['get_weather']);

    const json = await server.app.handle(
      chatRequest({ model: 'haia', tools, messages: [{ role: 'user', content: 'weather again?' }] }),
    );
    const body = (await json.json()) as LooseJson;
    expect(body.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_w1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
          },
        ],
      },
    });
  });

  it("runs HAIA's own tools through the agent, never shows them as tool_calls, stores calls and results, and puts them back next turn", async () => {
    const listVms = defineTool({
      name: 'list_vms',
      description: 'List the VMs',
      input: z.object({ node: z.string().optional() }),
      annotations: { readOnly: true },
      execute: () => ({
        vms: [
          { vmid: 100, name: 'web' },
          { vmid: 101, name: 'db' },
        ],
      }),
    });
    const model = new MockLanguageModel({
      results: [
        {
          toolCalls: [{ toolCallId: 'call_1', toolName: 'list_vms', input: {} }],
          usage: { inputTokens: 10, outputTokens: 5 },
        },
        { text: 'You have two VMs: web and db.', usage: { inputTokens: 20, outputTokens: 8 } },
        { text: 'web is VM 100.' },
      ],
    });
    const server = agentServer(model, [listVms]);
    const first = await server.app.handle(
      chatRequest({ model: 'haia', stream: true, messages: [{ role: 'user', content: 'which vms?' }] }),
    );
    const text = await first.text();
    expect(text).not.toContain('tool_calls');
    expect(text).not.toContain('list_vms');
    const chunks = sseData(text) as Array<LooseJson>;
    const content = chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join('');
    expect(content).toBe('You have two VMs: web and db.');
    expect(chunks.find((chunk) => chunk.choices?.[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop');

    const conversationId = first.headers.get('x-haia-conversation-id') as string;
    const stored = await store.getConversation(conversationId);
    expect(stored?.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
    expect(stored?.messages[2]?.content).toMatchObject([
      { type: 'tool-result', toolCallId: 'call_1', toolName: 'list_vms' },
    ]);

    const metrics = await server.metrics.registry.metrics();
    expect(metrics).toContain('haia_tool_calls_total{tool="list_vms",outcome="ok"} 1');

    // A stateless client resends what it saw: the stored tool call and result go back into the context.
    const second = await server.app.handle(
      chatRequest({
        model: 'haia',
        messages: [
          { role: 'user', content: 'which vms?' },
          { role: 'assistant', content: 'You have two VMs: web and db.' },
          { role: 'user', content: 'which one is 100?' },
        ],
      }),
    );
    expect(second.headers.get('x-haia-conversation-id')).toBe(conversationId);
    const context = model.calls[2]?.messages.filter((message) => message.role !== 'system');
    expect(context?.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
    ]);
  });

  it('says why there is no answer when the model used up the steps calling tools', async () => {
    const ping = defineTool({
      name: 'ping_node',
      description: 'Pings a node',
      input: z.object({}),
      annotations: { readOnly: true },
      execute: () => ({ up: true }),
    });
    const call = { toolCalls: [{ toolName: 'ping_node', input: {} }] };
    // The last turn (tools off) calls a tool anyway: the agent drops it, and no text is left.
    const model = new MockLanguageModel({ results: [call, call, call] });
    const server = agentServer(model, [ping], { maxSteps: 2 });
    const response = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'ping everything' }] }),
    );
    const body = (await response.json()) as LooseJson;
    expect(body.choices[0].message.content).toMatch(
      /^\(HAIA stopped after 3 model turns without an answer: HAIA_MAX_STEPS/,
    );
    const stored = await store.getConversation(response.headers.get('x-haia-conversation-id') as string);
    expect(JSON.stringify(stored?.messages.at(-1)?.content)).toContain('HAIA_MAX_STEPS');
  });

  it('stores the note about a tool that needs approval, so the next turn continues that answer', async () => {
    const deleteVm = defineTool({
      name: 'delete_vm',
      description: 'Delete a VM',
      input: z.object({ vmid: z.number() }),
      annotations: { destructive: true },
      execute: () => ({ deleted: true }),
    });
    const model = new MockLanguageModel({
      results: [
        {
          text: 'Deleting.',
          toolCalls: [{ toolCallId: 'call_d', toolName: 'delete_vm', input: { vmid: 101 } }],
        },
        { text: 'Because deleting needs your approval.' },
      ],
    });
    const server = agentServer(model, [deleteVm]);
    const first = await server.app.handle(
      chatRequest({ model: 'haia', stream: true, messages: [{ role: 'user', content: 'delete vm 101' }] }),
    );
    const chunks = sseData(await first.text()) as Array<LooseJson>;
    const shown = chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join('');
    expect(shown).toBe(
      "Deleting.\n\n(HAIA stopped before running delete_vm: that tool needs a person's approval, which this API cannot ask for yet.)",
    );
    const conversationId = first.headers.get('x-haia-conversation-id') as string;
    const stored = await store.getConversation(conversationId);
    expect(stored?.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    const answer = stored?.messages[1];
    expect(answer?.content).toMatchObject([
      { type: 'text', text: 'Deleting.' },
      { type: 'tool-call', toolCallId: 'call_d', toolName: 'delete_vm' },
      { type: 'text', text: expect.stringContaining('needs a person') },
    ]);
    // The client resends what it was shown: the same answer continues, with no second copy of it.
    const second = await server.app.handle(
      chatRequest({
        model: 'haia',
        messages: [
          { role: 'user', content: 'delete vm 101' },
          { role: 'assistant', content: shown },
          { role: 'user', content: 'why did you stop?' },
        ],
      }),
    );
    expect(second.headers.get('x-haia-conversation-id')).toBe(conversationId);
    const after = await store.getMessages(conversationId);
    expect(after.map((message) => [message.role, message.parentId])).toEqual([
      ['user', null],
      ['assistant', after[0]?.id],
      ['user', after[1]?.id],
      ['assistant', after[2]?.id],
    ]);
    // The unanswered call in the middle of the history reaches the model answered (as not run).
    const context = model.calls[1]?.messages.filter((message) => message.role !== 'system');
    expect(context?.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'user']);
  });
});
