import { MockLanguageModel } from '@haia/llm/test';
import type { Store } from '@haia/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../packages/store/src/testing/tcp-proxy.js';
import { buildServer, type LooseJson, postgresStore, sseData, testDatabaseUrl } from './helpers.js';

// The database goes away while the model answers: the user message is stored, the answer cannot be.
describe.skipIf(!testDatabaseUrl)(
  'the database goes away during a turn (PostgreSQL through a proxy: skipped without HAIA_TEST_DATABASE_URL)',
  () => {
    let proxy: TcpProxy;
    let store: Store;
    let down = false;
    const goDown = async () => {
      down = true;
      await proxy.stop();
    };
    const comeBack = async () => {
      if (down) await proxy.start();
      down = false;
    };

    beforeAll(async () => {
      const target = new URL(testDatabaseUrl as string);
      proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      const proxied = new URL(target);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      store = await postgresStore(proxied.toString());
    });
    afterAll(async () => {
      await comeBack();
      await store?.close();
      await proxy?.stop();
    });

    for (const stream of [true, false]) {
      it(`tells the client the answer was not stored (stream: ${stream}), instead of a clean finish`, async () => {
        await comeBack();
        const model = new MockLanguageModel({
          results: async () => {
            await goDown();
            return { text: 'an answer the database never got' };
          },
        });
        const server = buildServer({ model, store });
        const response = await server.app.handle(
          new Request('http://localhost/v1/chat/completions', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              model: 'haia',
              stream,
              messages: [{ role: 'user', content: `remember this (${stream})` }],
            }),
          }),
        );
        if (stream) {
          // The answer went out as it came; the end says it was not stored, with no finish and no [DONE].
          expect(response.status).toBe(200);
          const events = sseData(await response.text()) as LooseJson[];
          const content = events.map((event) => event?.choices?.[0]?.delta?.content ?? '').join('');
          expect(content).toBe('an answer the database never got');
          expect(events.at(-1)).toMatchObject({ error: { code: 'database_unavailable' } });
          expect(events.some((event) => event?.choices?.[0]?.finish_reason)).toBe(false);
        } else {
          expect(response.status).toBe(503);
          expect(response.headers.get('retry-after')).toBe('5');
          expect(((await response.json()) as LooseJson).error).toMatchObject({
            code: 'database_unavailable',
            message: expect.stringContaining('could not store the answer'),
          });
        }
        const line = server.logs.lines.find((entry) => entry.msg === 'request');
        expect(line).toMatchObject({ outcome: 'error', errorCode: 'database_unavailable' });
        // Back again: the user message was stored before the model was called; the answer was not.
        await comeBack();
        const conversationId = response.headers.get('x-haia-conversation-id') as string;
        const stored = await store.getConversation(conversationId);
        expect(stored?.messages.map((message) => message.role)).toEqual(['user']);
      });
    }
  },
);
