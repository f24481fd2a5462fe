import { type Message, messageText } from '@haia/llm';
import { MockLanguageModel } from '@haia/llm/test';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { buildServer, sseData, testDatabaseUrl, testStore } from './helpers.js';
import { type Backend, pgliteBackend, postgresBackend } from './reopenable-backend.js';

const texts = (messages: readonly Message[] | undefined) =>
  (messages ?? []).filter((message) => message.role !== 'system').map((message) => messageText(message));

/** Chats over a real port, restarts server and store, continues and branches the conversation. */
async function restartScenario(backend: Backend) {
  const model = new MockLanguageModel({
    results: (request) => ({
      text: `answer ${request.messages.filter((message) => message.role === 'user').length}`,
    }),
  });
  let store = await backend.open();
  let server = buildServer({ model, store });
  try {
    let url = await server.listen();
    let client = new OpenAI({ apiKey: 'none', baseURL: `${url}/v1`, maxRetries: 0 });
    const first = await client.chat.completions
      .create({
        model: 'haia',
        stream: true,
        messages: [{ role: 'user', content: 'my router is 192.168.1.1' }],
      })
      .withResponse();
    for await (const _chunk of first.data) {
      // drain
    }
    const conversationId = first.response.headers.get('x-haia-conversation-id');
    expect(conversationId).toBeTruthy();

    await server.stop();
    await store.close();
    store = await backend.open();
    server = buildServer({ model, store });
    url = await server.listen();
    client = new OpenAI({ apiKey: 'none', baseURL: `${url}/v1`, maxRetries: 0 });

    // A stateless client resends the history: same conversation, continued after the restart.
    const continued = await client.chat.completions
      .create({
        model: 'haia',
        messages: [
          { role: 'user', content: 'my router is 192.168.1.1' },
          { role: 'assistant', content: 'answer 1' },
          { role: 'user', content: 'and the NAS is .5' },
        ],
      })
      .withResponse();
    expect(continued.response.headers.get('x-haia-conversation-id')).toBe(conversationId);
    expect(continued.data.choices[0]?.message.content).toBe('answer 2');
    expect(texts(model.calls[1]?.messages)).toEqual([
      'my router is 192.168.1.1',
      'answer 1',
      'and the NAS is .5',
    ]);

    // An edited first message is a branch of the same history, not a continuation of it.
    const edited = await client.chat.completions
      .create({ model: 'haia', messages: [{ role: 'user', content: 'my router is 10.0.0.1' }] })
      .withResponse();
    expect(texts(model.calls[2]?.messages)).toEqual(['my router is 10.0.0.1']);
    const editedId = edited.response.headers.get('x-haia-conversation-id');

    // A regenerate (same history, last answer dropped) continues from the stored path.
    await client.chat.completions.create({
      model: 'haia',
      messages: [
        { role: 'user', content: 'my router is 192.168.1.1' },
        { role: 'assistant', content: 'answer 1' },
        { role: 'user', content: 'and the NAS is .5' },
      ],
    });
    expect(texts(model.calls[3]?.messages)).toEqual([
      'my router is 192.168.1.1',
      'answer 1',
      'and the NAS is .5',
    ]);

    const stored = await store.getConversation(conversationId as string);
    expect(stored?.messages.map((message) => message.status).every((status) => status === 'complete')).toBe(
      true,
    );
    expect(stored?.messages.length).toBeGreaterThanOrEqual(4);
    expect(typeof editedId).toBe('string');
  } finally {
    await server.stop();
    await store.close();
    await backend.drop();
  }
}

describe('persistence across a server restart', () => {
  it('on PGlite in a temp folder: continues and branches the conversation', { timeout: 60_000 }, async () => {
    await restartScenario(pgliteBackend());
  });

  const reason =
    'HAIA_TEST_DATABASE_URL is not set: the PostgreSQL variant needs a server (e.g. postgres://postgres@127.0.0.1:5432/test)';
  if (!testDatabaseUrl && process.env.CI === 'true') {
    it('on PostgreSQL', () => {
      throw new Error(`${reason}; CI=true, so this is a failure, not a skip.`);
    });
  } else if (!testDatabaseUrl) {
    console.warn(`[skip] persistence on PostgreSQL: ${reason}`);
  }
  it.skipIf(!testDatabaseUrl)(
    'on PostgreSQL in its own schema: continues and branches the conversation',
    async () => {
      await restartScenario(postgresBackend(testDatabaseUrl as string));
    },
  );
});

describe('a client that sends its next turn as soon as it reads [DONE]', () => {
  it('finds the streamed answer stored already: the turn continues it, with no second copy', async () => {
    const model = new MockLanguageModel({
      results: (request) => ({
        text: `answer ${request.messages.filter((message) => message.role === 'user').length}`,
      }),
    });
    const store = await testStore();
    const server = buildServer({ model, store });
    try {
      const url = await server.listen();
      const history: Array<{ role: string; content: string }> = [{ role: 'user', content: 'is pve1 up?' }];
      let conversationId: string | null = null;
      for (let turn = 1; turn <= 3; turn++) {
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'haia', stream: true, messages: history }),
        });
        conversationId = response.headers.get('x-haia-conversation-id');
        // Read until `[DONE]` and stop there, as a line-reading client does (not waiting for the end).
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let raw = '';
        while (!raw.includes('data: [DONE]')) {
          const { done, value } = await reader.read();
          if (done) break;
          raw += decoder.decode(value, { stream: true });
        }
        const stored = await store.getMessages(conversationId as string);
        void reader.cancel();
        expect(stored.filter((message) => message.role === 'assistant')).toHaveLength(turn);
        const text = sseData(raw)
          .map(
            (chunk) =>
              (chunk as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ??
              '',
          )
          .join('');
        history.push({ role: 'assistant', content: text }, { role: 'user', content: `and ${turn}?` });
      }
      const stored = await store.getMessages(conversationId as string);
      expect(stored.map((message) => [message.role, messageText(message as Message)])).toEqual([
        ['user', 'is pve1 up?'],
        ['assistant', 'answer 1'],
        ['user', 'and 1?'],
        ['assistant', 'answer 2'],
        ['user', 'and 2?'],
        ['assistant', 'answer 3'],
      ]);
    } finally {
      await server.stop();
      await store.close();
    }
  });
});
