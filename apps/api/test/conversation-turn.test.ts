import type { Message } from '@haia/llm';
import type { Store } from '@haia/store';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openConversation, saveTurn } from '../src/conversation-turn.js';
import { createMetrics } from '../src/metrics.js';
import { memoryLogger, postgresStore, testDatabaseUrl } from './helpers.js';

const user = (text: string): Message => ({ role: 'user', content: text });
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] });
const answerDetails = {
  status: 'complete' as const,
  model: 'fake',
  usage: { inputTokens: 1, outputTokens: 1 },
};

describe.skipIf(!testDatabaseUrl)(
  'openConversation against a conversation deleted elsewhere (PostgreSQL only: skipped without HAIA_TEST_DATABASE_URL)',
  () => {
    let store: Store & { schema: string };
    let admin: postgres.Sql;
    beforeAll(async () => {
      store = await postgresStore(testDatabaseUrl as string);
      admin = postgres(testDatabaseUrl as string, { max: 1, onnotice: () => {} });
    });
    afterAll(async () => {
      await admin?.end();
      await store?.close();
    });

    /**
     * Two turns of a fresh conversation, then the conversation deleted with triggers off for that
     * session (no announcement, as when another api process deleted it an instant ago), then the
     * next turn. Says whether that turn's first append found the conversation gone.
     */
    async function deletedUnderneath(tag: string): Promise<boolean> {
      const metrics = createMetrics({ defaultMetrics: false });
      const { logger, lines } = memoryLogger('debug');
      const first = await openConversation(store, metrics, logger, {}, [user(`${tag} one`)]);
      await saveTurn(store, metrics, logger, first, [assistant(`${tag} answer one`)], answerDetails);
      const history = [user(`${tag} one`), assistant(`${tag} answer one`)];
      const second = await openConversation(store, metrics, logger, {}, [...history, user(`${tag} two`)]);
      expect(second.conversationId).toBe(first.conversationId);
      await saveTurn(store, metrics, logger, second, [assistant(`${tag} answer two`)], answerDetails);
      history.push(user(`${tag} two`), assistant(`${tag} answer two`));

      await admin.begin(async (sql) => {
        await sql.unsafe(`set local search_path to "${store.schema}"`);
        await sql.unsafe("set local session_replication_role = 'replica'");
        await sql.unsafe('delete from messages where conversation_id = $1', [first.conversationId]);
        await sql.unsafe('delete from conversations where id = $1', [first.conversationId]);
      });

      const third = await openConversation(store, metrics, logger, {}, [...history, user(`${tag} three`)]);
      // Whichever way the store answered, the turn goes on in a new conversation with the whole history.
      expect(third.conversationId).not.toBe(first.conversationId);
      expect(third.created).toBe(true);
      expect(third.context.map((message) => message.role)).toEqual([
        'user',
        'assistant',
        'user',
        'assistant',
        'user',
      ]);
      const stored = await store.getMessages(third.conversationId);
      expect(
        stored.map(
          (message) => message.parentId === null || stored.some((other) => other.id === message.parentId),
        ),
      ).toEqual([true, true, true, true, true]);
      expect(stored.at(-1)?.id).toBe(third.parentId);
      return lines.some((line) => String(line.msg).startsWith('the conversation was gone'));
    }

    it('a next turn whose held conversation is gone is resolved again, as a new conversation', async () => {
      // The path is held only once the store listens (it starts at creation): until then the
      // server answers the resolve and the append never sees the conversation gone.
      let attempt = 0;
      await vi.waitFor(
        async () => {
          attempt++;
          expect(await deletedUnderneath(`attempt ${attempt}`)).toBe(true);
        },
        { timeout: 10_000, interval: 50 },
      );
    });
  },
);

if (!testDatabaseUrl && process.env.CI === 'true') {
  it('openConversation against a conversation deleted elsewhere', () => {
    throw new Error('HAIA_TEST_DATABASE_URL is not set; CI=true, so this is a failure, not a skip.');
  });
}
