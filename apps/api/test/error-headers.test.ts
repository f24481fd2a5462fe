import { createModel, type Message, messageText } from '@haia/llm';
import type { Store } from '@haia/store';
import { type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiServer } from '../src/server.js';
import { buildServer, type LooseJson, testStore } from './helpers.js';

let fake: OpenAIFake;
let store: Store;
let server: ApiServer;
let url: string;

beforeAll(async () => {
  fake = await startOpenAIFake();
  store = await testStore();
  const model = createModel('openai-compatible:fake-model', {
    baseURL: fake.baseURL,
    apiKey: 'sk-upstream',
    maxRetries: 0,
  });
  server = buildServer({ model, store, env: { HAIA_API_KEYS: 'sk-haia-client' } });
  url = await server.listen();
});
afterAll(async () => {
  await server?.stop();
  await store?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: 'Bearer sk-haia-client',
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

describe('headers on error responses', () => {
  for (const stream of [false, true]) {
    it(`upstream 429 after the user message was stored (stream: ${stream}): X-HAIA-Conversation-Id, retry-after and X-Request-Id`, async () => {
      fake.enqueue({
        error: {
          status: 429,
          message: 'slow down',
          type: 'rate_limit_error',
          headers: { 'retry-after': '7' },
        },
      });
      const requestId = `req-429-${stream}`;
      const response = await post(
        { model: 'haia', stream, messages: [{ role: 'user', content: `rate limited ${stream}` }] },
        { 'x-request-id': requestId },
      );
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('7');
      expect(response.headers.get('x-request-id')).toBe(requestId);
      expect(response.headers.get('content-type')).toContain('application/json');
      const body = (await response.json()) as LooseJson;
      expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'upstream_rate_limit' });
      const conversationId = response.headers.get('x-haia-conversation-id');
      expect(conversationId).toBeTruthy();
      const stored = await store.getConversation(conversationId as string);
      expect(stored?.messages.map((message) => [message.role, messageText(message as Message)])).toEqual([
        ['user', `rate limited ${stream}`],
      ]);
    });
  }

  it('an upstream failure on a later turn named by X-HAIA-Conversation-Id: that id comes back with the 502', async () => {
    fake.enqueue({ text: 'first answer' });
    const first = await post({ model: 'haia', messages: [{ role: 'user', content: 'first question' }] });
    expect(first.status).toBe(200);
    const conversationId = first.headers.get('x-haia-conversation-id') as string;
    fake.enqueue({ error: { status: 500, message: 'boom' } });
    const second = await post(
      { model: 'haia', messages: [{ role: 'user', content: 'second question' }] },
      { 'x-haia-conversation-id': conversationId, 'x-request-id': 'req-second-turn' },
    );
    expect(second.status).toBe(502);
    expect(second.headers.get('x-haia-conversation-id')).toBe(conversationId);
    expect(second.headers.get('x-request-id')).toBe('req-second-turn');
    expect(((await second.json()) as LooseJson).error.type).toBe('api_error');
    const stored = await store.getConversation(conversationId);
    expect(stored?.messages.map((message) => messageText(message as Message))).toEqual([
      'first question',
      'first answer',
      'second question',
    ]);
  });

  it('a failure after streaming began: the 200 stream carries both headers and ends with an error event', async () => {
    fake.enqueue({ text: 'partial words', midStreamError: { message: 'upstream broke' } });
    const response = await post(
      { model: 'haia', stream: true, messages: [{ role: 'user', content: 'mid-stream failure' }] },
      { 'x-request-id': 'req-mid-stream' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('req-mid-stream');
    const conversationId = response.headers.get('x-haia-conversation-id');
    expect(conversationId).toBeTruthy();
    const text = await response.text();
    expect(text).toContain('"error"');
    expect(text).not.toContain('[DONE]');
  });

  it('errors before any conversation exists (400, 401, 404) echo X-Request-Id and carry no conversation id', async () => {
    const invalid = await post({ model: 'haia', messages: 'not a list' }, { 'x-request-id': 'req-bad-body' });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('x-request-id')).toBe('req-bad-body');
    expect(invalid.headers.get('x-haia-conversation-id')).toBeNull();
    expect(((await invalid.json()) as LooseJson).error.type).toBe('invalid_request_error');

    const unauthorized = await post(
      { model: 'haia', messages: [{ role: 'user', content: 'hi' }] },
      { authorization: 'Bearer wrong', 'x-request-id': 'req-no-auth' },
    );
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('x-request-id')).toBe('req-no-auth');
    expect(unauthorized.headers.get('x-haia-conversation-id')).toBeNull();

    const missing = await fetch(`${url}/v1/conversations/does-not-exist`, {
      headers: { authorization: 'Bearer sk-haia-client', 'x-request-id': 'req-missing' },
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('req-missing');
    expect(fake.requests).toHaveLength(0);
  });

  it('an X-Request-Id that is not a safe token is replaced by a generated one', async () => {
    const response = await fetch(`${url}/health`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
    const echoed = response.headers.get('x-request-id');
    expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
  });
});
