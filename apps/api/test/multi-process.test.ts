import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LooseJson, testDatabaseUrl } from './helpers.js';
import { createTestDatabase, type SpawnedApi, spawnApi, type TestDatabase } from './runtime-helpers.js';

type ChatMessage = { role: 'user' | 'assistant'; content: string };

let upstream: OpenAIFake;
let database: TestDatabase;
let folder: string;
const apps: SpawnedApi[] = [];
const clients: OpenAI[] = [];

const lastUser = (messages: Array<Record<string, unknown>>) =>
  String(messages.filter((message) => message.role === 'user').at(-1)?.content ?? '');

describe.skipIf(!testDatabaseUrl)(
  'several api processes on one PostgreSQL (PostgreSQL only: skipped without HAIA_TEST_DATABASE_URL)',
  () => {
    beforeAll(async () => {
      // The answer names the question it answers, so a turn answered with the wrong context shows.
      upstream = await startOpenAIFake({
        reply: (request) => ({
          text: lastUser(request.body.messages).replace('question', 'answer'),
          chunkSize: 4,
        }),
      });
      database = await createTestDatabase(testDatabaseUrl as string, 'haia_api_multi');
      folder = mkdtempSync(join(tmpdir(), 'haia-api-multi-'));
      // Both start at the same time on the fresh database: they race to apply the migrations.
      const env = {
        PORT: '0',
        DATABASE_URL: database.url,
        HAIA_MODEL: 'openai-compatible:fake-model',
        OPENAI_BASE_URL: upstream.baseURL,
      };
      apps.push(spawnApi(env, folder), spawnApi(env, folder));
      const urls = await Promise.all(apps.map((app) => app.listening()));
      for (const url of urls)
        clients.push(new OpenAI({ apiKey: 'none', baseURL: `${url}/v1`, maxRetries: 0 }));
    }, 30_000);
    afterAll(async () => {
      for (const app of apps) if (app.child.exitCode === null) app.child.kill('SIGTERM');
      const codes = await Promise.all(apps.map((app) => app.exited));
      await upstream?.close();
      await database?.drop();
      if (folder) rmSync(folder, { recursive: true, force: true });
      expect(codes).toEqual([0, 0]);
    });

    /** One turn on `client`, streamed or not; returns the answer and the conversation id header. */
    async function turn(
      client: OpenAI,
      messages: ChatMessage[],
      options: { stream: boolean; conversationId?: string },
    ): Promise<{ text: string; conversationId: string | null }> {
      const headers = options.conversationId ? { 'x-haia-conversation-id': options.conversationId } : {};
      if (!options.stream) {
        const { data, response } = await client.chat.completions
          .create({ model: 'haia', messages }, { headers })
          .withResponse();
        return {
          text: data.choices[0]?.message.content ?? '',
          conversationId: response.headers.get('x-haia-conversation-id'),
        };
      }
      const { data, response } = await client.chat.completions
        .create({ model: 'haia', stream: true, messages }, { headers })
        .withResponse();
      let text = '';
      for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? '';
      return { text, conversationId: response.headers.get('x-haia-conversation-id') };
    }

    /**
     * Four turns of one conversation alternating between the two processes. `mode` says how the
     * client continues: resending its whole history, or naming the conversation and sending only
     * the newest message.
     */
    async function conversation(tag: string, mode: 'history' | 'explicit-id') {
      const history: ChatMessage[] = [];
      let conversationId: string | undefined;
      for (let index = 1; index <= 4; index++) {
        const client = clients[(index - 1) % 2] as OpenAI;
        const question: ChatMessage = { role: 'user', content: `${tag} question ${index}` };
        const sent = mode === 'history' || !conversationId ? [...history, question] : [question];
        const result = await turn(client, sent, {
          stream: index % 2 === 0,
          ...(mode === 'explicit-id' && conversationId ? { conversationId } : {}),
        });
        expect(result.text).toBe(`${tag} answer ${index}`);
        expect(result.conversationId).toBeTruthy();
        if (conversationId) expect(result.conversationId).toBe(conversationId);
        conversationId = result.conversationId as string;
        history.push(question, { role: 'assistant', content: result.text });
      }
      return { conversationId: conversationId as string, history };
    }

    it('turns of the same conversations alternate between two processes: each continues, nothing lost or interleaved', async () => {
      // Three conversations at once, so both processes serve interleaved turns of different ones.
      const results = await Promise.all([
        conversation('alpha', 'history'),
        conversation('beta', 'history'),
        conversation('gamma', 'explicit-id'),
      ]);
      const ids = results.map((result) => result.conversationId);
      expect(new Set(ids).size).toBe(3);

      for (const { conversationId, history } of results) {
        // Both processes read the same stored conversation, in order, with nothing from the others.
        for (const client of clients) {
          const response = await fetch(`${client.baseURL}/conversations/${conversationId}`);
          expect(response.status).toBe(200);
          const stored = (await response.json()) as LooseJson;
          const visible = stored.messages
            .filter((message: LooseJson) => message.role === 'user' || message.role === 'assistant')
            .map((message: LooseJson) => ({
              role: message.role,
              content:
                typeof message.content === 'string'
                  ? message.content
                  : message.content.map((part: LooseJson) => part.text ?? '').join(''),
            }));
          expect(visible).toEqual(history);
          expect(
            stored.messages
              .filter((message: LooseJson) => message.role === 'assistant')
              .map((message: LooseJson) => message.status),
          ).toEqual(['complete', 'complete', 'complete', 'complete']);
        }
      }

      // The explicit-id client sent only its newest message: the last model call still had the whole history.
      const gammaLast = upstream.requests.find(
        (request) => lastUser(request.body.messages) === 'gamma question 4',
      );
      const context = (gammaLast?.body.messages ?? [])
        .filter((message) => message.role !== 'system')
        .map((message) => message.content);
      expect(context).toEqual((results[2]?.history ?? []).slice(0, 7).map((message) => message.content));

      // And the conversation list, from either process, has exactly the three.
      // Both processes really served chat turns (their access lines reach stdout within the log
      // buffer's 100 ms flush, not at once: one info line per turn can take that long to fill 4 KiB).
      for (const app of apps) {
        await expect.poll(() => app.output(), { timeout: 5000 }).toContain('"route":"/v1/chat/completions"');
      }

      const listed = (await (
        await fetch(`${clients[1]?.baseURL}/conversations?limit=100`)
      ).json()) as LooseJson;
      expect(listed.data.map((entry: LooseJson) => entry.id).sort()).toEqual([...ids].sort());
    });

    it('a conversation deleted through one process is gone for the other', async () => {
      const { conversationId, history } = await conversation('delta', 'history');
      const deleted = await fetch(`${clients[0]?.baseURL}/conversations/${conversationId}`, {
        method: 'DELETE',
      });
      expect(deleted.status).toBe(200);
      expect((await fetch(`${clients[1]?.baseURL}/conversations/${conversationId}`)).status).toBe(404);
      // The client that still has the history goes on through the process that held it: a new
      // conversation with the whole history, whether or not that process has heard of the delete.
      const next = await turn(
        clients[1] as OpenAI,
        [...history, { role: 'user', content: 'delta question 5' }],
        { stream: false },
      );
      expect(next.text).toBe('delta answer 5');
      expect(next.conversationId).toBeTruthy();
      expect(next.conversationId).not.toBe(conversationId);
      const stored = (await (
        await fetch(`${clients[0]?.baseURL}/conversations/${next.conversationId}`)
      ).json()) as LooseJson;
      expect(stored.messages.filter((message: LooseJson) => message.role === 'user')).toHaveLength(5);
    });
  },
);

if (!testDatabaseUrl && process.env.CI === 'true') {
  it('several api processes on one PostgreSQL', () => {
    throw new Error('HAIA_TEST_DATABASE_URL is not set; CI=true, so this is a failure, not a skip.');
  });
}
