import { createFallbackModel, LlmError } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import type { Store } from '@haia/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, chatRequest, type LooseJson, sseData, testStore } from '../test/helpers.js';

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  new Request(`http://localhost${path}`, { headers });

describe('routes', () => {
  it("lists haia plus HAIA_MODELS, and answers an unadvertised model with haia's model, saying which", async () => {
    const haiaModel = new MockLanguageModel({
      provider: 'openai-compatible',
      modelId: 'fake-model',
      results: { text: 'from haia' },
    });
    const extra = new MockLanguageModel({ results: { text: 'from the extra model' } });
    const server = buildServer({
      model: haiaModel,
      store,
      env: { HAIA_MODELS: 'openai-compatible:small' },
      extraModels: [{ name: 'openai-compatible:small', model: extra }],
    });
    const list = await server.app.handle(get('/v1/models'));
    expect(list.status).toBe(200);
    const body = (await list.json()) as {
      object: string;
      data: Array<{ id: string; object: string; owned_by: string }>;
    };
    expect(body.object).toBe('list');
    expect(body.data.map((model) => model.id)).toEqual(['haia', 'openai-compatible:small']);
    expect(body.data.every((model) => model.object === 'model' && model.owned_by === 'haia')).toBe(true);

    const picked = await server.app.handle(
      chatRequest({ model: 'openai-compatible:small', messages: [{ role: 'user', content: 'a' }] }),
    );
    expect(((await picked.json()) as LooseJson).choices[0].message.content).toBe('from the extra model');

    const unknown = await server.app.handle(
      chatRequest({ model: 'gpt-4o', messages: [{ role: 'user', content: 'b' }] }),
    );
    const answer = (await unknown.json()) as LooseJson;
    expect(answer.model).toBe('openai-compatible:fake-model');
    expect(answer.choices[0].message.content).toBe('from haia');
  });

  it('names the fallback model that answered an unadvertised model in every chunk, as in the JSON answer', async () => {
    const failing = new MockLanguageModel({
      provider: 'openai-compatible',
      modelId: 'main',
      results: new LlmError({
        code: 'auth',
        message: 'bad key',
        provider: 'openai-compatible',
        model: 'main',
      }),
    });
    const backup = new MockLanguageModel({
      provider: 'openai-compatible',
      modelId: 'backup',
      results: { text: 'from the backup' },
    });
    const server = buildServer({ model: createFallbackModel([failing, backup]), store });
    const ask = (model: string, stream: boolean) =>
      server.app.handle(
        chatRequest({ model, stream, messages: [{ role: 'user', content: `${model} ${stream}` }] }),
      );

    const streamed = await ask('gpt-4o', true);
    expect(streamed.status).toBe(200);
    const chunks = sseData(await streamed.text()).slice(0, -1) as LooseJson[];
    expect(chunks.length).toBeGreaterThan(2);
    expect(new Set(chunks.map((chunk) => chunk.model))).toEqual(new Set(['openai-compatible:backup']));
    expect(((await (await ask('gpt-4o', false)).json()) as LooseJson).model).toBe('openai-compatible:backup');
    // A model the client named (haia is advertised) is echoed, whichever model answered.
    const named = sseData(await (await ask('haia', true)).text()).slice(0, -1) as LooseJson[];
    expect(new Set(named.map((chunk) => chunk.model))).toEqual(new Set(['haia']));
  });

  it('lists, reads and deletes conversations; unknown ids are 404 with the envelope', async () => {
    const model = new MockLanguageModel({ results: { text: 'stored answer' } });
    const server = buildServer({ model, store });
    const chat = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'keep this' }] }),
    );
    const id = chat.headers.get('x-haia-conversation-id') as string;
    const list = (await (await server.app.handle(get('/v1/conversations?limit=50'))).json()) as {
      data: Array<{ id: string }>;
    };
    expect(list.data.map((conversation) => conversation.id)).toContain(id);
    const one = (await (await server.app.handle(get(`/v1/conversations/${id}`))).json()) as LooseJson;
    expect(one.messages.map((message: { content: unknown }) => message.content)).toEqual([
      'keep this',
      'stored answer',
    ]);
    const deleted = await server.app.handle(
      new Request(`http://localhost/v1/conversations/${id}`, { method: 'DELETE' }),
    );
    expect(await deleted.json()).toEqual({ id, object: 'conversation.deleted', deleted: true });
    const gone = await server.app.handle(get(`/v1/conversations/${id}`));
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
    const again = await server.app.handle(
      new Request(`http://localhost/v1/conversations/${id}`, { method: 'DELETE' }),
    );
    expect(again.status).toBe(404);
  });

  it('pages conversations by cursor or after and by user; a cursor HAIA did not give is a 400, a fractional limit a page', async () => {
    const model = new MockLanguageModel({ results: { text: 'ok' } });
    const server = buildServer({ model, store });
    const user = `pager-${Date.now()}`;
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      const chat = await server.app.handle(
        chatRequest({ model: 'haia', user, messages: [{ role: 'user', content: `page ${index}` }] }),
      );
      ids.unshift(chat.headers.get('x-haia-conversation-id') as string);
    }
    const list = async (query: string) => {
      const response = await server.app.handle(get(`/v1/conversations?user=${user}&${query}`));
      return { status: response.status, body: (await response.json()) as LooseJson };
    };
    const first = await list('limit=2');
    const second = await list(`limit=2&after=${first.body.next_cursor}`);
    const third = await list(`limit=2.5&cursor=${second.body.next_cursor}`);
    const pages = [first, second, third].map((page) => page.body.data.map((entry: LooseJson) => entry.id));
    expect(pages).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    expect([first.body.has_more, second.body.has_more, third.body.has_more]).toEqual([true, true, false]);
    expect(third.body.next_cursor).toBeNull();
    for (const param of ['cursor', 'after']) {
      const refused = await list(`${param}=not-a-cursor`);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_value',
        param,
      });
      expect(refused.body.error.message).toContain('next_cursor of the previous page');
    }
  });

  it('a deleted conversation continued by X-HAIA-Conversation-Id is a 404 saying so; by its history, a new one', async () => {
    const model = new MockLanguageModel({ results: { text: 'noted' } });
    const server = buildServer({ model, store });
    const first = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'remember, then forget' }] }),
    );
    const id = first.headers.get('x-haia-conversation-id') as string;
    await server.app.handle(new Request(`http://localhost/v1/conversations/${id}`, { method: 'DELETE' }));
    for (const stream of [false, true]) {
      const byId = await server.app.handle(
        chatRequest(
          { model: 'haia', stream, messages: [{ role: 'user', content: 'and now?' }] },
          { 'X-HAIA-Conversation-Id': id },
        ),
      );
      expect(byId.status).toBe(404);
      expect(((await byId.json()) as LooseJson).error).toMatchObject({
        type: 'not_found_error',
        code: 'conversation_not_found',
        message: `No conversation with id '${id}' (X-HAIA-Conversation-Id): it was deleted, or never existed. Leave the header out to start a new conversation; GET /v1/conversations lists the stored ones.`,
      });
    }
    const byHistory = await server.app.handle(
      chatRequest({
        model: 'haia',
        messages: [
          { role: 'user', content: 'remember, then forget' },
          { role: 'assistant', content: 'noted' },
          { role: 'user', content: 'and now?' },
        ],
      }),
    );
    expect(byHistory.status).toBe(200);
    const fresh = byHistory.headers.get('x-haia-conversation-id') as string;
    expect(fresh).not.toBe(id);
    const stored = await store.getConversation(fresh);
    expect(stored?.messages.map((message) => message.content)).toEqual([
      'remember, then forget',
      'noted',
      'and now?',
      'noted',
    ]);
  });

  it('continues a conversation by X-HAIA-Conversation-Id and by X-OpenWebUI-Chat-Id', async () => {
    const model = new MockLanguageModel({ results: { text: 'noted' } });
    const server = buildServer({ model, store });
    const first = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'my NAS is 10.0.0.5' }] }),
    );
    const id = first.headers.get('x-haia-conversation-id') as string;
    const second = await server.app.handle(
      chatRequest(
        { model: 'haia', messages: [{ role: 'user', content: 'what is its address?' }] },
        { 'X-HAIA-Conversation-Id': id },
      ),
    );
    expect(second.headers.get('x-haia-conversation-id')).toBe(id);
    expect(
      model.calls[1]?.messages
        .filter((message) => message.role !== 'system')
        .map((message) => message.content),
    ).toEqual(['my NAS is 10.0.0.5', 'noted', 'what is its address?']);
    const chatId = `owui-${Date.now()}`;
    const a = await server.app.handle(
      chatRequest(
        { model: 'haia', messages: [{ role: 'user', content: 'x' }] },
        { 'X-OpenWebUI-Chat-Id': chatId },
      ),
    );
    const b = await server.app.handle(
      chatRequest(
        {
          model: 'haia',
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', content: 'noted' },
            { role: 'user', content: 'y' },
          ],
        },
        { 'X-OpenWebUI-Chat-Id': chatId },
      ),
    );
    expect(a.headers.get('x-haia-conversation-id')).toBe(b.headers.get('x-haia-conversation-id'));
    const conversation = await store.getConversation(a.headers.get('x-haia-conversation-id') as string);
    expect(conversation?.conversation).toMatchObject({ externalId: chatId, client: 'openwebui' });
  });

  it('answers /health, /ready (database, model, tool sources) and unknown routes with the envelope', async () => {
    const server = buildServer({
      model: new MockLanguageModel({ results: { text: 'x' } }),
      store,
      readiness: () => ({ proxmox: { ok: false, error: 'cluster unreachable' } }),
    });
    expect(await (await server.app.handle(get('/health'))).json()).toEqual({ status: 'ok' });
    const ready = await server.app.handle(get('/ready'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: {
        database: { ok: true },
        model: { ok: true, id: 'openai-compatible:fake-model' },
        proxmox: { ok: false },
      },
    });
    const missing = await server.app.handle(get('/v2/nothing'));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
  });

  it("keeps the caller's X-Request-Id and makes one up otherwise", async () => {
    const server = buildServer({ model: new MockLanguageModel({ results: { text: 'x' } }), store });
    const given = await server.app.handle(get('/v1/models', { 'X-Request-Id': 'trace-abc.123' }));
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
    const made = await server.app.handle(get('/v1/models'));
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const chat = await server.app.handle(
      chatRequest(
        { model: 'haia', messages: [{ role: 'user', content: 'x' }] },
        { 'X-Request-Id': 'chat-1' },
      ),
    );
    expect(chat.headers.get('x-request-id')).toBe('chat-1');
    const line = server.logs.lines.find((entry) => entry.requestId === 'chat-1' && entry.msg === 'request');
    expect(line).toMatchObject({
      route: '/v1/chat/completions',
      status: 200,
      model: 'mock:mock-model',
      outcome: 'ok',
    });
    expect(typeof line?.latencyMs).toBe('number');
    expect(server.logs.raw()).not.toContain('"content"');
  });

  it("puts the request's id on the store's warning when a store call fails", async () => {
    const server = buildServer({ model: new MockLanguageModel({ results: { text: 'x' } }), store });
    // A text column cannot hold NUL, so the database refuses this user id: a 400 saying so.
    const chat = await server.app.handle(
      chatRequest(
        { model: 'haia', user: 'nul\u0000user', messages: [{ role: 'user', content: 'Hi' }] },
        { 'X-Request-Id': 'chat-store-failure' },
      ),
    );
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: { message: string } }).error.message).toMatch(
      /cannot store this request.*NUL character/,
    );
    expect(server.logs.lines.find((entry) => entry.msg === 'store operation failed')).toMatchObject({
      requestId: 'chat-store-failure',
      component: 'store',
      operation: 'resolveConversation',
    });
    const list = await server.app.handle(get('/v1/conversations?user=%00', { 'X-Request-Id': 'list-1' }));
    expect(list.status).toBe(400);
    expect(
      server.logs.lines
        .filter((entry) => entry.msg === 'store operation failed')
        .map((entry) => entry.requestId),
    ).toEqual(['chat-store-failure', 'list-1']);
  });

  it('stores a message with a NUL character in it (as U+FFFD) instead of failing the turn', async () => {
    const server = buildServer({ model: new MockLanguageModel({ results: { text: 'Seen.' } }), store });
    const chat = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'pasted \u0000 bytes' }] }),
    );
    expect(chat.status).toBe(200);
    const id = chat.headers.get('x-haia-conversation-id') ?? '';
    const stored = await server.app.handle(get(`/v1/conversations/${id}`));
    const body = (await stored.json()) as { messages: Array<{ content: unknown }> };
    expect(body.messages.map((message) => message.content)).toEqual(['pasted \ufffd bytes', 'Seen.']);
  });
});

describe('operation', () => {
  it('checks bearer keys (constant time), leaves /health open and never logs a key', async () => {
    const server = buildServer({
      model: new MockLanguageModel({ results: { text: 'x' } }),
      store,
      env: { HAIA_API_KEYS: 'key-one-SECRET,key-two-SECRET' },
    });
    const missing = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { type: string; code: string } }).error).toMatchObject({
      type: 'authentication_error',
      code: 'invalid_api_key',
    });
    const wrong = await server.app.handle(get('/v1/models', { Authorization: 'Bearer key-three-SECRET' }));
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('SECRET');
    const right = await server.app.handle(get('/v1/models', { Authorization: 'Bearer key-two-SECRET' }));
    expect(right.status).toBe(200);
    const chat = await server.app.handle(
      chatRequest(
        { model: 'haia', messages: [{ role: 'user', content: 'x' }] },
        { Authorization: 'Bearer key-one-SECRET' },
      ),
    );
    expect(chat.status).toBe(200);
    expect((await server.app.handle(get('/health'))).status).toBe(200);
    expect(server.logs.raw()).not.toContain('SECRET');
  });

  it("answers CORS preflights for allowed origins and exposes HAIA's headers", async () => {
    const server = buildServer({
      model: new MockLanguageModel({ results: { text: 'x' } }),
      store,
      env: { HAIA_CORS_ORIGINS: 'https://chat.example' },
    });
    const preflight = await server.app.handle(
      new Request('http://localhost/v1/chat/completions', {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://chat.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization, content-type',
        },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://chat.example');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const models = await server.app.handle(get('/v1/models', { Origin: 'https://chat.example' }));
    expect(models.headers.get('access-control-allow-origin')).toBe('https://chat.example');
    expect(models.headers.get('access-control-expose-headers')).toContain('x-haia-conversation-id');
    const other = await server.app.handle(get('/v1/models', { Origin: 'https://evil.example' }));
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // Every response carries them, an unknown route's and the probes' too.
    for (const path of ['/v2/nothing', '/ready', '/metrics', '/health']) {
      const response = await server.app.handle(
        get(path, { Origin: 'https://chat.example', 'X-Request-Id': `trace${path.replaceAll('/', '-')}` }),
      );
      expect([path, response.headers.get('access-control-allow-origin')]).toEqual([
        path,
        'https://chat.example',
      ]);
      expect(response.headers.get('x-request-id')).toBe(`trace${path.replaceAll('/', '-')}`);
    }
    expect(server.logs.lines.find((line) => line.requestId === 'trace-v2-nothing')).toMatchObject({
      msg: 'request',
      route: 'unknown',
      status: 404,
      errorCode: 'unknown_route',
    });
  });

  it('refuses bodies over the limit with 413', async () => {
    const model = new MockLanguageModel({ results: { text: 'x' } });
    const server = buildServer({ model, store, bodyLimitBytes: 1000 });
    const response = await server.app.handle(
      chatRequest({ model: 'haia', messages: [{ role: 'user', content: 'x'.repeat(2000) }] }),
    );
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
    // Without content-length (a chunked upload) the limit holds as well.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let part = 0; part < 5; part++) controller.enqueue(new TextEncoder().encode('y'.repeat(400)));
        controller.close();
      },
    });
    const chunked = await server.app.handle(
      new Request('http://localhost/v1/chat/completions', {
        method: 'POST',
        body,
        duplex: 'half',
      } as RequestInit),
    );
    expect(chunked.status).toBe(413);
    expect(model.calls).toHaveLength(0);
  });

  it('exports Prometheus metrics: requests, latency, time to first token, tokens, streams, store latency', async () => {
    const model = new MockLanguageModel({
      results: { text: 'counted', usage: { inputTokens: 11, outputTokens: 3 } },
    });
    const server = buildServer({ model, store });
    await (
      await server.app.handle(
        chatRequest({ model: 'haia', stream: true, messages: [{ role: 'user', content: 'm' }] }),
      )
    ).text();
    await server.app.handle(chatRequest({ model: 'haia', n: 2, messages: [{ role: 'user', content: 'm' }] }));
    const response = await server.app.handle(get('/metrics'));
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('haia_http_requests_total{route="/v1/chat/completions",status="200"} 1');
    expect(text).toContain('haia_http_requests_total{route="/v1/chat/completions",status="400"} 1');
    expect(text).toContain(
      'haia_chat_time_to_first_token_seconds_count{model="openai-compatible:fake-model"} 1',
    );
    expect(text).toContain('haia_llm_tokens_total{model="mock:mock-model",kind="input"} 11');
    expect(text).toContain('haia_chat_active_streams 0');
    expect(text).toMatch(/haia_store_operation_duration_seconds_count\{operation="resolve",outcome="ok"\} 1/);
    expect(text).toContain('haia_http_request_duration_seconds_bucket');
  });
});
