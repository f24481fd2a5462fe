import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { hashChain } from '../projection.js';
import { StoreError } from '../store-error.js';
import type { MessageLike, Store } from '../types.js';
import type { CountedStore, StoreHarness } from './harness.js';
import { recordingLogger } from './recording-logger.js';

/** A clock that moves 1 ms per reading, so ordering is deterministic. */
function steppingClock(start = Date.UTC(2026, 0, 1)): () => Date {
  let time = start;
  return () => new Date(time++);
}

async function expectStoreError(promise: Promise<unknown>, code: StoreError['code'], pattern?: RegExp) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(StoreError.isInstance(error), `expected a StoreError, got ${String(error)}`).toBe(true);
  const storeError = error as StoreError;
  expect(storeError.code).toBe(code);
  if (pattern) expect(storeError.message).toMatch(pattern);
  return storeError;
}

/**
 * Retries `check` until it passes: for what depends on a notification arriving. Generous, since CI
 * runs test files side by side on two cores; it returns as soon as the check passes.
 */
const eventually = (check: () => Promise<void>) => vi.waitFor(check, { timeout: 10_000, interval: 20 });

const user = (text: string): MessageLike => ({ role: 'user', content: text });
/** An answer whose model name the database refuses (a text column cannot hold NUL). */
const badModel = (text: string) => ({ role: 'assistant' as const, content: text, model: 'bad\u0000model' });
const assistant = (text: string): MessageLike => ({ role: 'assistant', content: text });

/**
 * The one suite every backend passes. `makeHarness` gives fresh databases of the backend under test;
 * the suite cleans them up. Tests that only make sense on a server (it going away) run on `postgres`.
 */
export function runStoreSuite(
  name: string,
  backend: StoreHarness['backend'],
  makeHarness: () => Promise<StoreHarness>,
): void {
  describe(name, () => {
    let harness: StoreHarness;
    let store: Store;
    let users = 0;
    /** A user id of its own for each test, so tests sharing the main store never match each other. */
    const freshUser = () => `user-${++users}`;

    beforeAll(async () => {
      harness = await makeHarness();
      store = await harness.open('main', { now: steppingClock() });
    });
    afterAll(async () => {
      await store?.close();
      await harness?.cleanup();
    });

    /** Stores turn 1 the way the API does: user message, then an agent run with a hidden tool call. */
    async function storeFirstTurn(userId: string) {
      const resolved = await store.resolveConversation({
        userId,
        client: 'openwebui',
        messages: [{ role: 'system', content: 'You are HAIA.' }, user('Is node pve1 up?')],
      });
      const [question] = await store.appendMessages(
        resolved.conversation.id,
        resolved.parentId,
        resolved.newMessages,
      );
      const run = await store.appendMessages(resolved.conversation.id, question?.id ?? null, [
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'I should check the cluster.' },
            { type: 'text', text: 'Let me check.' },
            { type: 'tool-call', toolCallId: 'call-1', toolName: 'proxmox_nodes', input: {} },
          ],
          model: 'ollama:qwen3',
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: 'call-1',
              toolName: 'proxmox_nodes',
              output: { pve1: 'online' },
            },
          ],
        },
        {
          role: 'assistant',
          content: [{ type: 'text', text: 'Yes, pve1 is online.' }],
          model: 'ollama:qwen3',
        },
      ]);
      return { resolved, question, run };
    }

    describe('migrations', () => {
      test('a fresh database gets the schema; running again applies nothing', async () => {
        const fresh = await harness.open('fresh', { migrate: false });
        expect(await fresh.migrate()).toEqual({
          applied: ['0001_init', '0002_monitor', '0003_change_notifications'],
          version: 3,
        });
        expect(await fresh.migrate()).toEqual({ applied: [], version: 3 });
        await fresh.close();
        const again = await harness.open('fresh');
        expect(await again.migrate()).toEqual({ applied: [], version: 3 });
        await again.close();
        const rows = await harness.query('fresh', 'select id, name from haia_migrations');
        expect(rows.map((row) => [Number(row.id), row.name])).toEqual([
          [1, '0001_init'],
          [2, '0002_monitor'],
          [3, '0003_change_notifications'],
        ]);
      });

      test('several stores starting at once apply each migration exactly once', async () => {
        if (harness.sharedAccess) {
          const stores = await Promise.all(
            [1, 2, 3, 4].map(() => harness.open('concurrent', { migrate: false })),
          );
          const results = await Promise.all(stores.map((each) => each.migrate()));
          // Each migration is its own transaction, so two stores may share them out: once each, in any order.
          expect(results.flatMap((result) => result.applied).sort()).toEqual([
            '0001_init',
            '0002_monitor',
            '0003_change_notifications',
          ]);
          await Promise.all(stores.map((each) => each.close()));
        } else {
          // PGlite is single-process: concurrent starts are concurrent migrate() calls on one store.
          const single = await harness.open('concurrent', { migrate: false });
          const results = await Promise.all([1, 2, 3, 4].map(() => single.migrate()));
          expect(results.flatMap((result) => result.applied)).toEqual([
            '0001_init',
            '0002_monitor',
            '0003_change_notifications',
          ]);
          await single.close();
        }
        const rows = await harness.query('concurrent', 'select count(*)::int as count from haia_migrations');
        expect(Number(rows[0]?.count)).toBe(3);
      });

      test('a database with a newer schema is refused with a migration error', async () => {
        const first = await harness.open('newer');
        await first.close();
        await harness.query(
          'newer',
          "insert into haia_migrations (id, name, checksum) values (9999, '9999_future', 'x')",
        );
        await expectStoreError(
          harness.open('newer'),
          'migration',
          /newer than this version.*9999_future.*Upgrade HAIA/s,
        );
      });

      test('an applied migration whose file changed is refused with a migration error', async () => {
        const first = await harness.open('changed');
        await first.close();
        await harness.query('changed', "update haia_migrations set checksum = 'edited' where id = 1");
        await expectStoreError(
          harness.open('changed'),
          'migration',
          /0001_init was changed after it was applied/,
        );
      });
    });

    describe('resolveConversation', () => {
      test('a history that matches nothing starts a new conversation; system messages are set apart', async () => {
        const userId = freshUser();
        const resolved = await store.resolveConversation({
          userId,
          client: 'librechat',
          messages: [{ role: 'system', content: 'Be brief.' }, user('Hello')],
        });
        expect(resolved.created).toBe(true);
        expect(resolved.conversation).toMatchObject({
          userId,
          client: 'librechat',
          externalId: null,
          title: null,
        });
        expect(resolved.path).toEqual([]);
        expect(resolved.parentId).toBeNull();
        expect(resolved.branched).toBe(false);
        expect(resolved.newMessages).toEqual([user('Hello')]);
        expect(resolved.system).toEqual([{ role: 'system', content: 'Be brief.' }]);
      });

      test('a resent history continues the conversation and brings back the hidden tool messages', async () => {
        const userId = freshUser();
        const { resolved: first, run } = await storeFirstTurn(userId);
        // What OpenWebUI resends: a changed system prompt, its reasoning block, other whitespace.
        const resolved = await store.resolveConversation({
          userId,
          messages: [
            { role: 'system', content: 'You are HAIA. Today is Tuesday.' },
            user('  Is node pve1 up?\n'),
            assistant(
              '<details type="reasoning" done="true" duration="2">\n<summary>Thought for 2 seconds</summary>\n> I should check the cluster.\n</details>\nLet me check.\n\nYes, pve1 is online.',
            ),
            user('And pve2?'),
          ],
        });
        expect(resolved.created).toBe(false);
        expect(resolved.branched).toBe(false);
        expect(resolved.conversation.id).toBe(first.conversation.id);
        expect(resolved.path.map((message) => message.role)).toEqual([
          'user',
          'assistant',
          'tool',
          'assistant',
        ]);
        expect(resolved.path[2]?.content).toEqual([
          {
            type: 'tool-result',
            toolCallId: 'call-1',
            toolName: 'proxmox_nodes',
            output: { pve1: 'online' },
          },
        ]);
        expect(resolved.path[1]).toMatchObject({ model: 'ollama:qwen3', status: 'complete' });
        expect(resolved.parentId).toBe(run.at(-1)?.id);
        expect(resolved.newMessages).toEqual([user('And pve2?')]);
        // Hidden messages share the hash of the visible prefix before them.
        expect(resolved.path[2]?.prefixHash).toBe(resolved.path[1]?.prefixHash);
      });

      test("a client's tool result is new though it hashes like the call before it, and a retry finds it stored", async () => {
        const userId = freshUser();
        const call = (id: string): MessageLike => ({
          role: 'assistant',
          content: [{ type: 'tool-call', toolCallId: id, toolName: 'get_weather', input: { city: 'Oslo' } }],
        });
        const result = (id: string, output: string): MessageLike => ({
          role: 'tool',
          content: [{ type: 'tool-result', toolCallId: id, toolName: 'get_weather', output }],
        });
        // Turn 1: the model called the client's tool; the turn ended there.
        const first = await store.resolveConversation({ userId, messages: [user('Weather in Oslo?')] });
        const [question, toolCall] = await store.appendMessages(first.conversation.id, null, [
          ...first.newMessages,
          call('call_s'),
        ]);
        // Turn 2: the client ran it and sends the result back with the history.
        const history = [user('Weather in Oslo?'), call('call_s'), result('call_s', '18C')];
        const second = await store.resolveConversation({ userId, messages: history });
        expect(second.conversation.id).toBe(first.conversation.id);
        expect(second.parentId).toBe(toolCall?.id);
        expect(second.path.map((message) => message.id)).toEqual([question?.id, toolCall?.id]);
        expect(second.newMessages).toEqual([result('call_s', '18C')]);
        const [stored] = await store.appendMessages(
          first.conversation.id,
          second.parentId,
          second.newMessages,
        );
        const [answer] = await store.appendMessages(first.conversation.id, stored?.id ?? null, [
          assistant('It is 18C.'),
        ]);
        // The same request again (a regenerate): the result is found, the new answer a sibling.
        const retry = await store.resolveConversation({ userId, messages: history });
        expect(retry.newMessages).toEqual([]);
        expect(retry.parentId).toBe(stored?.id);
        // The next turn continues after the answer.
        const third = await store.resolveConversation({
          userId,
          messages: [...history, assistant('It is 18C.'), user('Thanks')],
        });
        expect(third.parentId).toBe(answer?.id);
        expect(third.newMessages).toEqual([user('Thanks')]);
        expect(third.path.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
      });

      test('an edited message becomes a branch under the common ancestor; both branches stay reachable', async () => {
        const userId = freshUser();
        const { resolved: first, run } = await storeFirstTurn(userId);
        const answer = 'Let me check. Yes, pve1 is online.';
        const turn2 = await store.resolveConversation({
          userId,
          messages: [user('Is node pve1 up?'), assistant(answer), user('And pve2?')],
        });
        const [, reply2] = await store.appendMessages(first.conversation.id, turn2.parentId, [
          ...turn2.newMessages,
          assistant('pve2 is offline.'),
        ]);
        const edited = await store.resolveConversation({
          userId,
          messages: [user('Is node pve1 up?'), assistant(answer), user('And pve3?')],
        });
        expect(edited.conversation.id).toBe(first.conversation.id);
        expect(edited.branched).toBe(true);
        expect(edited.parentId).toBe(run.at(-1)?.id);
        expect(edited.newMessages).toEqual([user('And pve3?')]);
        const [edit] = await store.appendMessages(first.conversation.id, edited.parentId, edited.newMessages);
        const active = await store.getConversation(first.conversation.id);
        expect(active?.messages.map((message) => message.id).at(-1)).toBe(edit?.id);
        expect(active?.messages).toHaveLength(5);
        // The old branch still continues where it was.
        const old = await store.resolveConversation({
          userId,
          messages: [
            user('Is node pve1 up?'),
            assistant(answer),
            user('And pve2?'),
            assistant('pve2 is offline.'),
            user('Why?'),
          ],
        });
        expect(old.parentId).toBe(reply2?.id);
        expect(old.branched).toBe(false);
        expect(old.newMessages).toEqual([user('Why?')]);
        expect(await store.getMessages(first.conversation.id)).toHaveLength(7);
      });

      test('a history that continues past what was stored still matches its deepest stored message', async () => {
        const userId = freshUser();
        const { resolved: first, run } = await storeFirstTurn(userId);
        // The client talked to another model in between: five messages HAIA never stored, then a new one.
        const resolved = await store.resolveConversation({
          userId,
          messages: [
            user('Is node pve1 up?'),
            assistant('Let me check. Yes, pve1 is online.'),
            user('a'),
            assistant('b'),
            user('c'),
            assistant('d'),
            user('e'),
          ],
        });
        expect(resolved.conversation.id).toBe(first.conversation.id);
        expect(resolved.parentId).toBe(run.at(-1)?.id);
        expect(resolved.newMessages).toEqual([
          user('a'),
          assistant('b'),
          user('c'),
          assistant('d'),
          user('e'),
        ]);
      });

      test('a regenerated answer resends the same history: the answer branches under the user message', async () => {
        const userId = freshUser();
        const { resolved: first, question } = await storeFirstTurn(userId);
        const regenerate = await store.resolveConversation({ userId, messages: [user('Is node pve1 up?')] });
        expect(regenerate.conversation.id).toBe(first.conversation.id);
        expect(regenerate.parentId).toBe(question?.id);
        expect(regenerate.newMessages).toEqual([]);
        expect(regenerate.branched).toBe(true);
        expect(regenerate.path.map((message) => message.id)).toEqual([question?.id]);
      });

      test('an explicit conversation id with only the newest message loads the active branch', async () => {
        const userId = freshUser();
        const { resolved: first, run } = await storeFirstTurn(userId);
        const resolved = await store.resolveConversation({
          conversationId: first.conversation.id,
          userId,
          messages: [{ role: 'system', content: 'You are HAIA.' }, user('Thanks! What about pve2?')],
        });
        expect(resolved.conversation.id).toBe(first.conversation.id);
        expect(resolved.path.map((message) => message.role)).toEqual([
          'user',
          'assistant',
          'tool',
          'assistant',
        ]);
        expect(resolved.parentId).toBe(run.at(-1)?.id);
        expect(resolved.newMessages).toEqual([user('Thanks! What about pve2?')]);
        // Stored, and the model failed: the same message again is a retry, not a second copy.
        const [pending] = await store.appendMessages(
          first.conversation.id,
          resolved.parentId,
          resolved.newMessages,
        );
        const retry = await store.resolveConversation({
          conversationId: first.conversation.id,
          userId,
          messages: [user('Thanks!  What about pve2?')],
        });
        expect(retry.newMessages).toEqual([]);
        expect(retry.parentId).toBe(pending?.id);
        expect(retry.path.at(-1)?.id).toBe(pending?.id);
        // Another message after it is the next one.
        const next = await store.resolveConversation({
          conversationId: first.conversation.id,
          userId,
          messages: [user('Hello?')],
        });
        expect(next.parentId).toBe(pending?.id);
        expect(next.newMessages).toEqual([user('Hello?')]);
        // The full history with the id matches inside that conversation only.
        const full = await store.resolveConversation({
          conversationId: first.conversation.id,
          messages: [user('Is node pve1 up?'), assistant('Let me check.Yes, pve1 is online.'), user('Next')],
        });
        expect(full.parentId).toBe(run.at(-1)?.id);
      });

      test('an explicit conversation id with only the newest message continues the active branch when that text is the first message again', async () => {
        const userId = freshUser();
        const { resolved: first, run } = await storeFirstTurn(userId);
        const conversationId = first.conversation.id;
        // The same question again, as the next turn: its text hashes like the stored first message.
        const again = await store.resolveConversation({
          conversationId,
          userId,
          messages: [{ role: 'system', content: 'You are HAIA.' }, user('Is node pve1 up?')],
        });
        expect(again.path.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
        expect(again.parentId).toBe(run.at(-1)?.id);
        expect(again.newMessages).toEqual([user('Is node pve1 up?')]);
        expect(again.branched).toBe(false);
        const [question] = await store.appendMessages(conversationId, again.parentId, again.newMessages);
        // Unanswered (the model failed): sent once more, it is a retry, not a third copy.
        const retry = await store.resolveConversation({
          conversationId,
          userId,
          messages: [user('Is node pve1 up?')],
        });
        expect(retry.newMessages).toEqual([]);
        expect(retry.parentId).toBe(question?.id);
        const [answer] = await store.appendMessages(conversationId, question?.id ?? null, [
          assistant('Still up.'),
        ]);
        // Answered, and its path held by the store: the next repeat goes after that answer too.
        const third = await store.resolveConversation({
          conversationId,
          userId,
          messages: [user('Is node pve1 up?')],
        });
        expect(third.parentId).toBe(answer?.id);
        expect(third.path).toHaveLength(6);
        expect(third.newMessages).toEqual([user('Is node pve1 up?')]);
      });

      test('an unknown or foreign conversation id is not found', async () => {
        const userId = freshUser();
        const { resolved: first } = await storeFirstTurn(userId);
        await expectStoreError(
          store.resolveConversation({
            conversationId: '00000000-0000-4000-8000-000000000000',
            messages: [user('x')],
          }),
          'not-found',
          /does not exist/,
        );
        await expectStoreError(
          store.resolveConversation({ conversationId: 'not-a-uuid', messages: [user('x')] }),
          'not-found',
        );
        await expectStoreError(
          store.resolveConversation({
            conversationId: first.conversation.id,
            userId: freshUser(),
            messages: [user('x')],
          }),
          'not-found',
        );
      });

      test('an external id finds or creates its conversation, per user', async () => {
        const userId = freshUser();
        const chatId = `owui-${userId}`;
        const created = await store.resolveConversation({
          externalId: chatId,
          userId,
          client: 'openwebui',
          messages: [user('Hi')],
        });
        expect(created.created).toBe(true);
        expect(created.conversation.externalId).toBe(chatId);
        const stored = await store.appendMessages(created.conversation.id, null, [
          user('Hi'),
          assistant('Hello!'),
        ]);
        const next = await store.resolveConversation({
          externalId: chatId,
          userId,
          messages: [user('Hi'), assistant('Hello!'), user('Status?')],
        });
        expect(next.created).toBe(false);
        expect(next.conversation.id).toBe(created.conversation.id);
        expect(next.parentId).toBe(stored[1]?.id);
        expect(next.newMessages).toEqual([user('Status?')]);
        const newest = await store.resolveConversation({
          externalId: chatId,
          userId,
          messages: [user('Only this')],
        });
        // OpenWebUI resends its whole history: a lone message that matches nothing is its first
        // message edited, a new root branch (not the newest message after the stored history).
        expect(newest.conversation.id).toBe(created.conversation.id);
        expect(newest.path).toEqual([]);
        expect(newest.parentId).toBeNull();
        expect(newest.branched).toBe(true);
        expect(newest.newMessages).toEqual([user('Only this')]);
        const otherUser = await store.resolveConversation({
          externalId: chatId,
          userId: freshUser(),
          messages: [user('Hi')],
        });
        expect(otherUser.created).toBe(true);
        expect(otherUser.conversation.id).not.toBe(created.conversation.id);
        // Two requests creating the same external id at once end up in one conversation.
        const racingId = `${chatId}-race`;
        const racing = await Promise.all(
          [1, 2, 3].map(() =>
            store.resolveConversation({ externalId: racingId, userId, messages: [user('Hi')] }),
          ),
        );
        expect(new Set(racing.map((each) => each.conversation.id)).size).toBe(1);
      });

      test('matching is scoped to the user: the same history from another user starts anew', async () => {
        const userId = freshUser();
        const { resolved: first } = await storeFirstTurn(userId);
        const other = await store.resolveConversation({
          userId: freshUser(),
          messages: [user('Is node pve1 up?'), assistant('Let me check. Yes, pve1 is online.'), user('More')],
        });
        expect(other.created).toBe(true);
        expect(other.conversation.id).not.toBe(first.conversation.id);
        expect(other.newMessages).toHaveLength(3);
      });

      describe('trimmed and compacted histories', () => {
        /**
         * Three turns stored the way the API stores them under an external id, the second with a
         * hidden tool call; returns the resolve input's scope and every stored message by name.
         */
        async function storeThreeTurns() {
          const scope = { userId: freshUser(), externalId: `chat-${users}` };
          const stored: Record<string, { id: string }> = {};
          const history: MessageLike[] = [];
          const turns: Array<[string, string, MessageLike[], string]> = [
            [
              'u1',
              'How many nodes are there?',
              [assistant('Three: pve1, pve2 and pve3.')],
              'Three: pve1, pve2 and pve3.',
            ],
            [
              'u2',
              'Is pve2 healthy?',
              [
                {
                  role: 'assistant',
                  content: [
                    { type: 'text', text: 'Let me look.' },
                    { type: 'tool-call', toolCallId: 'call-7', toolName: 'get_node_status', input: {} },
                  ],
                },
                {
                  role: 'tool',
                  content: [
                    { type: 'tool-result', toolCallId: 'call-7', toolName: 'get_node_status', output: 'ok' },
                  ],
                },
                assistant('pve2 is healthy.'),
              ],
              'Let me look.\n\npve2 is healthy.',
            ],
            ['u3', 'And its load?', [assistant('Load 0.4.')], 'Load 0.4.'],
          ];
          let conversationId = '';
          for (const [name, question, answer, shown] of turns) {
            history.push(user(question));
            const resolved = await store.resolveConversation({ ...scope, messages: history });
            conversationId = resolved.conversation.id;
            const written = await store.appendMessages(conversationId, resolved.parentId, [
              ...resolved.newMessages,
              ...answer,
            ]);
            stored[name] = written[0] as { id: string };
            stored[`a${name.slice(1)}`] = written.at(-1) as { id: string };
            // What the client shows and resends: one text per answer.
            history.push(assistant(shown));
          }
          return { scope, stored, conversationId };
        }

        test("a history that dropped its oldest turns continues after the stored answer it repeats (LibreChat's trimming)", async () => {
          const { scope, stored, conversationId } = await storeThreeTurns();
          const resolved = await store.resolveConversation({
            ...scope,
            messages: [
              { role: 'system', content: 'Be brief.' },
              user('Is pve2 healthy?'),
              assistant('Let me look. pve2 is healthy.'),
              user('And its load?'),
              assistant('Load 0.4.'),
              user('And pve3?'),
            ],
          });
          expect(resolved.created).toBe(false);
          expect(resolved.conversation.id).toBe(conversationId);
          // The stretch the client still has, from u2, with the tool call it never saw.
          expect(resolved.path.map((message) => message.role)).toEqual([
            'user',
            'assistant',
            'tool',
            'assistant',
            'user',
            'assistant',
          ]);
          expect(resolved.path[0]?.id).toBe(stored.u2?.id);
          expect(resolved.parentId).toBe(stored.a3?.id);
          expect(resolved.newMessages).toEqual([user('And pve3?')]);
          expect(resolved.head).toEqual([]);
          expect(resolved.branched).toBe(false);
          expect(resolved.system).toEqual([{ role: 'system', content: 'Be brief.' }]);

          // The next turn, trimmed further, continues after the answer stored under it.
          const [question] = await store.appendMessages(
            conversationId,
            resolved.parentId,
            resolved.newMessages,
          );
          const [answer] = await store.appendMessages(conversationId, question?.id ?? null, [
            assistant('Idle.'),
          ]);
          const next = await store.resolveConversation({
            ...scope,
            messages: [
              user('And its load?'),
              assistant('Load 0.4.'),
              user('And pve3?'),
              assistant('Idle.'),
              user('Thanks'),
            ],
          });
          expect(next.parentId).toBe(answer?.id);
          expect(next.newMessages).toEqual([user('Thanks')]);
          // Its appends chain on the stored path from the root: a full resend still matches.
          const full = await store.resolveConversation({
            ...scope,
            messages: [
              user('How many nodes are there?'),
              assistant('Three: pve1, pve2 and pve3.'),
              user('Is pve2 healthy?'),
              assistant('Let me look. pve2 is healthy.'),
              user('And its load?'),
              assistant('Load 0.4.'),
              user('And pve3?'),
              assistant('Idle.'),
              user('Thanks'),
            ],
          });
          expect(full.parentId).toBe(answer?.id);
          expect(full.head).toEqual([]);
          expect(full.path[0]?.id).toBe(stored.u1?.id);
        });

        test("a compacted history keeps its summary as the head, and one that kept the first question too (OpenWebUI's compaction)", async () => {
          const { scope, stored } = await storeThreeTurns();
          const summary = user('Summary of the conversation so far: the cluster has three nodes.');
          const compacted = await store.resolveConversation({
            ...scope,
            messages: [summary, user('And its load?'), assistant('Load 0.4.'), user('And pve3?')],
          });
          expect(compacted.head).toEqual([summary]);
          expect(compacted.path.map((message) => message.id)).toEqual([stored.u3?.id, stored.a3?.id]);
          expect(compacted.parentId).toBe(stored.a3?.id);
          expect(compacted.newMessages).toEqual([user('And pve3?')]);

          // The first question kept, the middle dropped: its prefix matches only the root.
          const kept = await store.resolveConversation({
            ...scope,
            messages: [
              user('How many nodes are there?'),
              user('And its load?'),
              assistant('Load 0.4.'),
              user('And pve3?'),
            ],
          });
          expect(kept.head).toEqual([user('How many nodes are there?')]);
          expect(kept.parentId).toBe(stored.a3?.id);
          expect(kept.branched).toBe(false);

          // The first turn kept whole, then the summary (as OpenWebUI compression filters keep it).
          const firstTurn = [user('How many nodes are there?'), assistant('Three: pve1, pve2 and pve3.')];
          const keptTurn = await store.resolveConversation({
            ...scope,
            messages: [
              ...firstTurn,
              assistant('Summary: pve2 is healthy.'),
              user('And its load?'),
              assistant('Load 0.4.'),
              user('And pve3?'),
            ],
          });
          expect(keptTurn.head).toEqual([...firstTurn, assistant('Summary: pve2 is healthy.')]);
          expect(keptTurn.path.map((message) => message.id)).toEqual([stored.u3?.id, stored.a3?.id]);
          expect(keptTurn.newMessages).toEqual([user('And pve3?')]);

          // The same without the summary is the chat with the turns between deleted: a branch.
          const deleted = await store.resolveConversation({
            ...scope,
            messages: [...firstTurn, user('And its load?'), assistant('Load 0.4.'), user('And pve3?')],
          });
          expect(deleted.parentId).toBe(stored.a1?.id);
          expect(deleted.head).toEqual([]);
          expect(deleted.newMessages).toEqual([
            user('And its load?'),
            assistant('Load 0.4.'),
            user('And pve3?'),
          ]);
        });

        test('a trimmed history resent for a regenerate finds its stored question; an edited one is a sibling', async () => {
          const { scope, stored } = await storeThreeTurns();
          const regenerated = await store.resolveConversation({
            ...scope,
            messages: [
              user('Is pve2 healthy?'),
              assistant('Let me look. pve2 is healthy.'),
              user('And its load?'),
            ],
          });
          expect(regenerated.parentId).toBe(stored.u3?.id);
          expect(regenerated.newMessages).toEqual([]);
          expect(regenerated.branched).toBe(true);
          expect(regenerated.path.at(-1)?.id).toBe(stored.u3?.id);

          const edited = await store.resolveConversation({
            ...scope,
            messages: [
              user('Is pve2 healthy?'),
              assistant('Let me look. pve2 is healthy.'),
              user('And its memory?'),
            ],
          });
          expect(edited.parentId).toBe(stored.a2?.id);
          expect(edited.newMessages).toEqual([user('And its memory?')]);
          expect(edited.branched).toBe(true);
        });

        test('one repeated answer after other entries is not enough, and without a conversation scope nothing is searched', async () => {
          const { scope, stored } = await storeThreeTurns();
          // The user edited the first answer into the text of the third: a branch after the first question.
          const edited = await store.resolveConversation({
            ...scope,
            messages: [user('How many nodes are there?'), assistant('Load 0.4.'), user('Why?')],
          });
          expect(edited.parentId).toBe(stored.u1?.id);
          expect(edited.head).toEqual([]);
          expect(edited.newMessages).toEqual([assistant('Load 0.4.'), user('Why?')]);

          const anonymous = await store.resolveConversation({
            userId: scope.userId,
            messages: [user('And its load?'), assistant('Load 0.4.'), user('And pve3?')],
          });
          expect(anonymous.created).toBe(true);
          expect(anonymous.head).toEqual([]);
          expect(stored.a3).toBeDefined();
        });
      });
    });

    describe('messages', () => {
      test('a partial answer is updated when the run ends and then continues like any other', async () => {
        const userId = freshUser();
        const resolved = await store.resolveConversation({ userId, messages: [user('Write a haiku')] });
        const [question, partial] = await store.appendMessages(resolved.conversation.id, null, [
          user('Write a haiku'),
          { role: 'assistant', content: [], status: 'partial' },
        ]);
        expect(partial).toMatchObject({
          status: 'partial',
          model: null,
          usage: null,
          parentId: question?.id,
        });
        const done = await store.updateMessage(partial?.id ?? '', {
          status: 'complete',
          content: [{ type: 'text', text: 'Racks hum in the dark' }],
          model: 'openai:gpt-5',
          usage: { inputTokens: 12, outputTokens: 7 },
        });
        expect(done).toMatchObject({
          id: partial?.id,
          status: 'complete',
          model: 'openai:gpt-5',
          usage: { inputTokens: 12, outputTokens: 7 },
          content: [{ type: 'text', text: 'Racks hum in the dark' }],
        });
        expect(done.prefixHash).not.toBe(partial?.prefixHash);
        const next = await store.resolveConversation({
          userId,
          messages: [user('Write a haiku'), assistant('Racks hum in the dark'), user('Another')],
        });
        expect(next.parentId).toBe(partial?.id);
        const failed = await store.updateMessage(partial?.id ?? '', { status: 'error' });
        expect(failed.content).toEqual([{ type: 'text', text: 'Racks hum in the dark' }]);
        await store.appendMessages(resolved.conversation.id, partial?.id ?? null, [user('Another')]);
        await expectStoreError(
          store.updateMessage(partial?.id ?? '', { content: 'rewritten' }),
          'conflict',
          /already has replies/,
        );
        await expectStoreError(
          store.updateMessage('00000000-0000-4000-8000-000000000000', { status: 'error' }),
          'not-found',
        );
      });

      test('quotes, backslashes, newlines and non-ASCII text in content, model and usage come back as they were sent', async () => {
        const userId = freshUser();
        const resolved = await store.resolveConversation({ userId, messages: [user('Quote "this" \\ ok?')] });
        const odd = 'say "hi" \\ \n\t then ünïcødé 🙂 and </script> \u2028';
        const written = await store.appendMessages(resolved.conversation.id, null, [
          user('Quote "this" \\ ok?'),
          {
            role: 'assistant',
            content: [{ type: 'text', text: odd }],
            model: 'ollama:"odd\\model"\n',
            usage: { inputTokens: 3, outputTokens: 4, note: odd },
          },
        ]);
        const read = await store.getConversation(resolved.conversation.id);
        expect(read?.messages.map((message) => message.id)).toEqual(written.map((message) => message.id));
        expect(read?.messages[1]).toMatchObject({
          content: [{ type: 'text', text: odd }],
          model: 'ollama:"odd\\model"\n',
          usage: { inputTokens: 3, outputTokens: 4, note: odd },
        });
        expect(written[1]).toMatchObject({ model: 'ollama:"odd\\model"\n', usage: { note: odd } });
      });

      test('a NUL character in content is stored as U+FFFD, and the history still matches when it is sent again', async () => {
        const userId = freshUser();
        const pasted = 'bytes: \u0000\u0001 and a literal \\u0000';
        const resolved = await store.resolveConversation({ userId, messages: [user(pasted)] });
        const [question] = await store.appendMessages(resolved.conversation.id, null, resolved.newMessages);
        const stored = 'bytes: \ufffd\u0001 and a literal \\u0000';
        expect(question?.content).toBe(stored);
        const [answer] = await store.appendMessages(resolved.conversation.id, question?.id ?? null, [
          { role: 'assistant', content: [{ type: 'text', text: 'A \u0000 back' }] },
        ]);
        const again = await store.resolveConversation({
          userId,
          messages: [user(pasted), assistant('A \u0000 back'), user('Next')],
        });
        expect(again.conversation.id).toBe(resolved.conversation.id);
        expect(again.parentId).toBe(answer?.id);
        expect(again.path.map((message) => message.content)).toEqual([
          stored,
          [{ type: 'text', text: 'A \ufffd back' }],
        ]);
        expect((await store.getMessages(resolved.conversation.id)).map((message) => message.content)).toEqual(
          [stored, [{ type: 'text', text: 'A \ufffd back' }]],
        );
      });

      test('an unpaired surrogate in content or model is stored as U+FFFD, and the history still matches', async () => {
        const userId = freshUser();
        // Half an emoji (a client that cut a string in the middle of a surrogate pair) and a lone low half.
        const cut = 'smile \ud83d then \ude00 and a whole 🙂 and a literal \\ud800';
        const resolved = await store.resolveConversation({ userId, messages: [user(cut)] });
        const [question] = await store.appendMessages(resolved.conversation.id, null, resolved.newMessages);
        const stored = 'smile \ufffd then \ufffd and a whole 🙂 and a literal \\ud800';
        expect(question?.content).toBe(stored);
        const answers = await Promise.all(
          ['\udbff', 'ok'].map((end) =>
            store.appendMessages(resolved.conversation.id, question?.id ?? null, [
              {
                role: 'assistant',
                content: [{ type: 'text', text: `Back ${end}` }],
                model: 'ollama:odd\udc00\ud800model',
                usage: { inputTokens: 1, outputTokens: 2, note: end },
              },
            ]),
          ),
        );
        expect(answers.map(([answer]) => answer?.model)).toEqual([
          'ollama:odd\ufffd\ufffdmodel',
          'ollama:odd\ufffd\ufffdmodel',
        ]);
        const again = await store.resolveConversation({
          userId,
          messages: [user(cut), assistant('Back \udbff'), user('Next')],
        });
        expect(again.conversation.id).toBe(resolved.conversation.id);
        expect(again.parentId).toBe(answers[0]?.[0]?.id);
        const read = await store.getMessages(resolved.conversation.id);
        expect(read.map((message) => [message.content, message.model, message.usage?.note])).toEqual([
          [stored, null, undefined],
          [[{ type: 'text', text: 'Back \ufffd' }], 'ollama:odd\ufffd\ufffdmodel', '\ufffd'],
          [[{ type: 'text', text: 'Back ok' }], 'ollama:odd\ufffd\ufffdmodel', 'ok'],
        ]);
      });

      test('a value the database cannot hold is refused as invalid, not as an outage', async () => {
        await expectStoreError(
          store.resolveConversation({ userId: 'nul\u0000user', messages: [user('Hi')] }),
          'invalid',
          /NUL character/,
        );
        await expectStoreError(store.listConversations({ userId: 'nul\u0000user' }), 'invalid');
      });

      test('appending to a missing conversation or under a message of another conversation fails', async () => {
        const userId = freshUser();
        const { resolved: first, question } = await storeFirstTurn(userId);
        const other = await store.resolveConversation({ userId, messages: [user('Unrelated')] });
        await expectStoreError(
          store.appendMessages('00000000-0000-4000-8000-000000000000', null, [user('x')]),
          'not-found',
          /does not exist/,
        );
        await expectStoreError(
          store.appendMessages(other.conversation.id, question?.id ?? null, [user('x')]),
          'not-found',
          /is not in conversation/,
        );
        expect(await store.getMessages(first.conversation.id)).toHaveLength(4);
      });

      test('two writers appending to one conversation at once never lose or interleave a message', async () => {
        const userId = freshUser();
        const resolved = await store.resolveConversation({ userId, messages: [user('start')] });
        const [root] = await store.appendMessages(resolved.conversation.id, null, [user('start')]);
        const second = harness.sharedAccess ? await harness.open('main') : store;
        const writer = async (target: Store, label: string) => {
          const batches = [];
          for (let index = 0; index < 8; index++) {
            const leaf =
              (await target.getConversation(resolved.conversation.id))?.messages.at(-1)?.id ??
              root?.id ??
              null;
            batches.push(
              await target.appendMessages(resolved.conversation.id, leaf, [
                assistant(`${label}${index}a`),
                {
                  role: 'tool',
                  content: [
                    { type: 'tool-result', toolCallId: `${label}${index}`, toolName: 't', output: 1 },
                  ],
                },
                assistant(`${label}${index}b`),
              ]),
            );
          }
          return batches;
        };
        const [batchesA, batchesB] = await Promise.all([writer(store, 'A'), writer(second, 'B')]);
        if (second !== store) await second.close();
        const all = await store.getMessages(resolved.conversation.id);
        expect(all).toHaveLength(1 + 16 * 3);
        const position = new Map(all.map((message, index) => [message.id, index]));
        for (const batch of [...batchesA, ...batchesB]) {
          const [a, tool, b] = batch.map((message) => position.get(message.id) ?? -1);
          expect(tool).toBe((a ?? 0) + 1);
          expect(b).toBe((a ?? 0) + 2);
          expect(batch[1]?.parentId).toBe(batch[0]?.id);
          expect(batch[2]?.parentId).toBe(batch[1]?.id);
        }
      });
    });

    describe('group commit (appends that arrive while one is in flight share a statement)', () => {
      /** A regenerate's answer, as the API appends it after the model ran. */
      const answerOf = (text: string) => ({
        role: 'assistant' as const,
        content: [{ type: 'text', text }],
        model: 'ollama:qwen3',
        usage: { outputTokens: text.length },
      });

      test('many concurrent appends on one and on several conversations each get their own rows, in order', async () => {
        const userId = freshUser();
        const conversations = [];
        for (const topic of ['one', 'two', 'three']) {
          const resolved = await store.resolveConversation({
            userId,
            messages: [user(`Regenerate ${topic}`)],
          });
          const [question] = await store.appendMessages(resolved.conversation.id, null, resolved.newMessages);
          conversations.push({ id: resolved.conversation.id, question, topic });
        }
        const [busy] = conversations;
        // Started in one tick: on each conversation the first append goes out alone and the others
        // queue up behind it for one statement. Some are two messages (an answer with a tool call).
        const calls = [];
        for (let index = 0; index < 24; index++) {
          const target = index < 16 ? busy : conversations[1 + (index % 2)];
          if (!target) throw new Error('no conversation');
          const messages =
            index % 3 === 0
              ? [
                  answerOf(`Step ${index}.`),
                  {
                    role: 'tool' as const,
                    content: [{ type: 'tool-result', toolCallId: `c${index}`, toolName: 't', output: index }],
                  },
                ]
              : [answerOf(`Answer ${index}.`)];
          calls.push({
            target,
            messages,
            promise: store.appendMessages(target.id, target.question?.id ?? null, messages),
          });
        }
        const results = await Promise.all(calls.map((call) => call.promise));
        const ids = new Set<string>();
        for (const [index, stored] of results.entries()) {
          const call = calls[index];
          if (!call) throw new Error('no call');
          expect(stored).toHaveLength(call.messages.length);
          expect(stored[0]?.parentId).toBe(call.target.question?.id);
          expect(stored[1]?.parentId ?? stored[0]?.id).toBe(stored[0]?.id);
          for (const [position, message] of stored.entries()) {
            ids.add(message.id);
            expect(message.conversationId).toBe(call.target.id);
            expect(message.content).toStrictEqual(call.messages[position]?.content);
          }
          expect(stored[0]?.usage).toStrictEqual(
            answerOf(index % 3 === 0 ? `Step ${index}.` : `Answer ${index}.`).usage,
          );
          expect(stored[0]?.prefixHash).toBe(
            hashChain([
              user(`Regenerate ${call.target.topic}`),
              assistant(index % 3 === 0 ? `Step ${index}.` : `Answer ${index}.`),
            ]).hashes[1],
          );
        }
        expect(ids.size).toBe(results.flat().length);
        // Stored (committed) when the promises resolved, each append's messages together and in the
        // order the appends were made, and the conversation touched.
        for (const conversation of conversations) {
          const all = await store.getMessages(conversation.id);
          const expected = calls
            .map((call, index) => ({ call, stored: results[index] ?? [] }))
            .filter(({ call }) => call.target === conversation)
            .flatMap(({ stored }) => stored);
          expect(all.slice(1)).toStrictEqual(expected);
          const found = await store.getConversation(conversation.id);
          expect(found?.conversation.updatedAt.getTime()).toBeGreaterThanOrEqual(
            expected.at(-1)?.createdAt.getTime() ?? 0,
          );
        }
        // A resent history still finds the newest answer of a batch as the stored path.
        const last = results[14]?.at(-1);
        const again = await store.resolveConversation({
          userId,
          messages: [user('Regenerate one'), assistant('Answer 14.'), user('Thanks')],
        });
        expect(again.parentId).toBe(last?.id);
      });

      test('an append that fails inside a batch fails alone, with its own error', async () => {
        const userId = freshUser();
        const resolved = await store.resolveConversation({
          userId,
          messages: [user('Batch with a bad one')],
        });
        const conversationId = resolved.conversation.id;
        const [question] = await store.appendMessages(conversationId, null, resolved.newMessages);
        const elsewhere = await store.resolveConversation({ userId, messages: [user('Somewhere else')] });
        const [foreign] = await store.appendMessages(elsewhere.conversation.id, null, elsewhere.newMessages);
        const parent = question?.id ?? null;
        const first = store.appendMessages(conversationId, parent, [answerOf('First.')]);
        // Queued behind `first`, so in one statement: a parent of another conversation (the store
        // knows its chain, so it is in the batch), a model name the database refuses (a text column
        // cannot hold NUL: the statement fails), and good ones around them.
        const good = store.appendMessages(conversationId, parent, [answerOf('Good.')]);
        const wrongParent = store.appendMessages(conversationId, foreign?.id ?? null, [answerOf('Wrong.')]);
        // Handled at once: it may reject before the good ones resolve (checked below).
        wrongParent.catch(() => {});
        const refused = store
          .appendMessages(conversationId, parent, [{ ...answerOf('Bad model.'), model: 'bad\u0000model' }])
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        const alsoGood = store.appendMessages(conversationId, parent, [
          answerOf('Also good.'),
          user('And a follow-up.'),
        ]);
        const [firstStored, goodStored, alsoGoodStored] = await Promise.all([first, good, alsoGood]);
        await expectStoreError(wrongParent, 'not-found', /is not in conversation/);
        const refusal = await refused;
        expect(StoreError.isInstance(refusal), `expected a StoreError, got ${String(refusal)}`).toBe(true);
        const all = await store.getMessages(conversationId);
        expect(all.map((message) => message.id)).toEqual([
          question?.id,
          ...[firstStored, goodStored, alsoGoodStored].flat().map((message) => message?.id),
        ]);
        expect(alsoGoodStored?.[1]?.parentId).toBe(alsoGoodStored?.[0]?.id);
        expect(await store.getMessages(elsewhere.conversation.id)).toHaveLength(1);
      });

      test('appends queued on a conversation that was deleted meanwhile each get not-found', async () => {
        const writer = await harness.open('gone');
        const other = await harness.open('gone');
        try {
          const resolved = await writer.resolveConversation({ messages: [user('Soon gone')] });
          const conversationId = resolved.conversation.id;
          const [question] = await writer.appendMessages(conversationId, null, resolved.newMessages);
          expect(await other.deleteConversation(conversationId)).toBe(true);
          // The writer still knows the parent's chain, so all five take the one-statement path: the
          // first alone, the other four in one batch, and each finds the conversation gone.
          const appends = Array.from({ length: 5 }, (_, index) =>
            writer.appendMessages(conversationId, question?.id ?? null, [answerOf(`Late ${index}.`)]).then(
              () => undefined,
              (error: unknown) => error,
            ),
          );
          for (const error of await Promise.all(appends)) {
            expect(StoreError.isInstance(error), `expected a StoreError, got ${String(error)}`).toBe(true);
            expect((error as StoreError).code).toBe('not-found');
            expect((error as StoreError).message).toMatch(/does not exist/);
          }
          expect(await other.getMessages(conversationId)).toEqual([]);
        } finally {
          await other.close();
          await writer.close();
        }
      });
    });

    describe('loaded paths and chained appends', () => {
      test('a loaded path is the messages as stored, field for field', async () => {
        const userId = freshUser();
        const resolved = await store.resolveConversation({ userId, messages: [user('Odd JSON')] });
        await store.appendMessages(resolved.conversation.id, null, [
          { role: 'user', content: 'Odd JSON: caf\u00e9 \u{1F600} "quoted" \\ back' },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Numbers.' },
              {
                type: 'tool-call',
                toolCallId: 'n',
                toolName: 't',
                input: { half: 1.5, tiny: 1e-7, big: 12345678901234, negative: -3, none: null, flag: false },
              },
            ],
            model: 'ollama:qwen3',
            usage: { inputTokens: 10, outputTokens: 2, cost: 0.25 },
          },
          {
            role: 'tool',
            content: [{ type: 'tool-result', toolCallId: 'n', toolName: 't', output: [[], {}] }],
          },
          { role: 'assistant', content: [{ type: 'text', text: 'Done.' }], status: 'partial' },
        ]);
        const stored = await store.getMessages(resolved.conversation.id);
        const active = await store.getConversation(resolved.conversation.id);
        expect(active?.messages).toStrictEqual(stored);
        const again = await store.resolveConversation({
          userId,
          messages: [user('Odd JSON: caf\u00e9 \u{1F600} "quoted" \\ back'), assistant('Numbers. Done.')],
        });
        expect(again.path).toStrictEqual(stored);
        expect(again.parentId).toBe(stored.at(-1)?.id);
      });

      test('a resent history reuses the path the store holds until the conversation row changes', async () => {
        const first = await harness.open('cache');
        const second = await harness.open('cache');
        try {
          const opened = await first.resolveConversation({ messages: [user('Which nodes are up?')] });
          const conversationId = opened.conversation.id;
          const [, answer] = await first.appendMessages(conversationId, null, [
            user('Which nodes are up?'),
            {
              role: 'assistant',
              content: [{ type: 'text', text: 'pve1 and pve2.' }],
              usage: { outputTokens: 4 },
            },
          ]);
          const resent = [user('Which nodes are up?'), assistant('pve1 and pve2.'), user('And pve3?')];
          const loaded = await first.resolveConversation({ messages: resent });
          expect(loaded.parentId).toBe(answer?.id);
          expect(loaded.path).toStrictEqual(await second.getMessages(conversationId));
          // The caller's copy is its own.
          (loaded.path[1] as { content: unknown }).content = 'changed by the caller';
          const cached = await first.resolveConversation({ messages: resent });
          expect(cached.path[1]?.usage).toStrictEqual({ outputTokens: 4 });
          expect(cached.path[1]?.content).toStrictEqual([{ type: 'text', text: 'pve1 and pve2.' }]);
          const byId = await first.resolveConversation({ conversationId, messages: resent });
          expect(byId.path).toStrictEqual(cached.path);
          // A writer outside the store that changes a message without touching its conversation row
          // is announced by migration 0003's trigger: once the store hears it, it reads the path again.
          await harness.query(
            'cache',
            `update messages set usage = '{"outputTokens": 99}' where id = '${answer?.id}'`,
          );
          await eventually(async () => {
            const reloaded = await first.resolveConversation({ messages: resent });
            expect(reloaded.path[1]?.usage).toStrictEqual({ outputTokens: 99 });
          });
          // Another store's update of a message on the path is seen once its announcement arrives
          // (a held path answers without the server meanwhile).
          await second.updateMessage(answer?.id ?? '', { status: 'error' });
          await eventually(async () => {
            const seen = await first.resolveConversation({ conversationId, messages: resent });
            expect(seen.path[1]?.status).toBe('error');
          });
          const updated = await first.resolveConversation({ conversationId, messages: resent });
          expect(updated.path).toStrictEqual(await second.getMessages(conversationId));
          // And after this store's next append, the extended path is the stored one.
          const [next] = await first.appendMessages(conversationId, updated.parentId, [user('And pve3?')]);
          const after = await first.resolveConversation({
            messages: [...resent, assistant('Down.'), user('Why?')],
          });
          expect(after.parentId).toBe(next?.id);
          expect(after.path).toStrictEqual(await second.getMessages(conversationId));
        } finally {
          await second.close();
          await first.close();
        }
      });

      test('an append chains from the parent as it is now, even after another store changed it', async () => {
        const first = await harness.open('chain');
        const second = await harness.open('chain');
        try {
          const userId = freshUser();
          const resolved = await first.resolveConversation({ userId, messages: [user('Name a rack')] });
          const [question, answer] = await first.appendMessages(resolved.conversation.id, null, [
            user('Name a rack'),
            { role: 'assistant', content: [{ type: 'text', text: 'Rack' }], status: 'partial' },
          ]);
          // `first` now knows where the chain stands after `answer`; `second` changes its text.
          await second.updateMessage(answer?.id ?? '', {
            status: 'complete',
            content: [{ type: 'text', text: 'Rack one' }],
          });
          const [next] = await first.appendMessages(resolved.conversation.id, answer?.id ?? null, [
            user('And the next?'),
          ]);
          const continued = await second.resolveConversation({
            userId,
            messages: [user('Name a rack'), assistant('Rack one'), user('And the next?'), user('More')],
          });
          expect(continued.parentId).toBe(next?.id);
          expect(continued.path.map((message) => message.id)).toEqual([question?.id, answer?.id, next?.id]);
          expect(continued.newMessages).toEqual([user('More')]);
          // A parent the store knows that was deleted since is not found, and nothing is written.
          await second.deleteConversation(resolved.conversation.id);
          await expectStoreError(
            first.appendMessages(resolved.conversation.id, next?.id ?? null, [user('Gone')]),
            'not-found',
            /does not exist/,
          );
          expect(await second.getMessages(resolved.conversation.id)).toEqual([]);
        } finally {
          await second.close();
          await first.close();
        }
      });

      if (backend === 'postgres') {
        test('an append that waits for a content update of its parent chains from the new text', async () => {
          const begin = harness.begin;
          if (!begin) throw new Error('the PostgreSQL harness must offer begin');
          const fresh = await harness.open('main');
          try {
            // Once through the one-statement append (`store` knows the parent), once through the
            // transaction (`fresh` has never seen it).
            for (const writer of [store, fresh]) {
              const userId = freshUser();
              const resolved = await store.resolveConversation({ userId, messages: [user('Name a rack')] });
              const conversationId = resolved.conversation.id;
              const [, answer] = await store.appendMessages(conversationId, null, [
                user('Name a rack'),
                { role: 'assistant', content: [{ type: 'text', text: 'Rack' }], status: 'partial' },
              ]);
              // Another writer is changing the answer's text, as updateMessage does: conversation first.
              const held = await begin.call(harness, 'main');
              await held.query('select id from conversations where id = $1 for update', [conversationId]);
              const changed = hashChain([user('Name a rack'), assistant('Rack one')]).hashes[1];
              await held.query(
                'update messages set content = $2::text::jsonb, prefix_hash = $3 where id = $1',
                [answer?.id, JSON.stringify([{ type: 'text', text: 'Rack one' }]), changed],
              );
              const appending = writer.appendMessages(conversationId, answer?.id ?? null, [
                user('And the next?'),
              ]);
              // Commit only once the append waits for that writer's lock.
              for (let waited = 0; ; waited++) {
                const [row] = await harness.query(
                  'main',
                  `select count(*)::int as waiting from pg_stat_activity where ${held.pid} = any(pg_blocking_pids(pid))`,
                );
                if (row?.waiting === 1) break;
                if (waited > 2000) throw new Error('the append never waited for the other writer');
                await new Promise((resolve) => setTimeout(resolve, 1));
              }
              await held.commit();
              const [next] = await appending;
              expect(next?.prefixHash).toBe(
                hashChain([user('Name a rack'), assistant('Rack one'), user('And the next?')]).hashes[2],
              );
            }
          } finally {
            await fresh.close();
          }
        });
      }

      test('with an explicit or external id, a match further back than the last few messages is found', async () => {
        const userId = freshUser();
        const chatId = `owui-deep-${userId}`;
        const created = await store.resolveConversation({
          externalId: chatId,
          userId,
          messages: [user('Hi')],
        });
        const stored = await store.appendMessages(created.conversation.id, null, [
          user('Hi'),
          assistant('Hello!'),
        ]);
        const history = [
          user('Hi'),
          assistant('Hello!'),
          user('a'),
          assistant('b'),
          user('c'),
          assistant('d'),
          user('e'),
        ];
        for (const scope of [{ externalId: chatId, userId }, { conversationId: created.conversation.id }]) {
          const resolved = await store.resolveConversation({ ...scope, messages: history });
          expect(resolved.conversation.id).toBe(created.conversation.id);
          expect(resolved.parentId).toBe(stored[1]?.id);
          expect(resolved.path.map((message) => message.id)).toEqual(stored.map((message) => message.id));
          expect(resolved.newMessages).toEqual(history.slice(2));
          expect(resolved.branched).toBe(false);
        }
        // The same history in another conversation of the same user does not match there.
        const other = await store.resolveConversation({
          externalId: `${chatId}-other`,
          userId,
          messages: history,
        });
        expect(other.created).toBe(true);
        expect(other.path).toEqual([]);
      });

      test('every append, after a resolve or after another append, stores the hash a resent history has', async () => {
        const userId = freshUser();
        let messages: MessageLike[] = [{ role: 'system', content: 'Be brief.' }];
        let parentId: string | null = null;
        let conversationId = '';
        for (let turn = 0; turn < 4; turn++) {
          const question = user(`Question ${turn}`);
          const resolved = await store.resolveConversation({ userId, messages: [...messages, question] });
          if (turn > 0) expect(resolved.parentId).toBe(parentId);
          conversationId = resolved.conversation.id;
          const [stored] = await store.appendMessages(
            conversationId,
            resolved.parentId,
            resolved.newMessages,
          );
          const run = await store.appendMessages(conversationId, stored?.id ?? null, [
            { role: 'assistant', content: [{ type: 'text', text: `Checking ${turn}.` }] },
            {
              role: 'tool',
              content: [{ type: 'tool-result', toolCallId: `${turn}`, toolName: 't', output: 1 }],
            },
          ]);
          const [last] = await store.appendMessages(conversationId, run.at(-1)?.id ?? null, [
            { role: 'assistant', content: [{ type: 'text', text: `Answer ${turn}.` }] },
          ]);
          parentId = last?.id ?? null;
          messages = [...messages, question, assistant(`Checking ${turn}.\n\nAnswer ${turn}.`)];
        }
        const { hashes } = hashChain(messages.slice(1));
        const active = await store.getConversation(conversationId);
        const visible = active?.messages.filter((message, index, all) => {
          const next = all[index + 1];
          return (
            message.role === 'user' ||
            (message.role === 'assistant' && next?.role !== 'assistant' && next?.role !== 'tool')
          );
        });
        expect(visible?.map((message) => message.prefixHash)).toEqual(hashes);
      });
    });

    describe('held paths (a resent history answered without a statement while changes are heard)', () => {
      /** Resolves `input` and says whether the store ran a statement for it. */
      async function resolveCounting(
        counted: CountedStore,
        input: Parameters<Store['resolveConversation']>[0],
      ): Promise<{ resolved: Awaited<ReturnType<Store['resolveConversation']>>; asked: boolean }> {
        const before = counted.statements();
        const resolved = await counted.store.resolveConversation(input);
        return { resolved, asked: counted.statements() !== before };
      }

      test('a whole stored history is answered from the path the store holds, in its own scope only', async () => {
        const counted = await harness.openCounted('held');
        const { store } = counted;
        try {
          const userId = freshUser();
          const opened = await store.resolveConversation({ userId, messages: [user('Is pve1 up?')] });
          const stored = await store.appendMessages(opened.conversation.id, null, [user('Is pve1 up?')]);
          const history = [user('Is pve1 up?')];
          // Once the store listens (it starts at creation), the resend needs no statement.
          await eventually(async () => {
            expect((await resolveCounting(counted, { userId, messages: history })).asked).toBe(false);
          });
          const { resolved } = await resolveCounting(counted, { userId, messages: history });
          expect(resolved.conversation.id).toBe(opened.conversation.id);
          expect(resolved.parentId).toBe(stored[0]?.id);
          expect(resolved.newMessages).toEqual([]);
          expect(resolved.path).toStrictEqual(await store.getMessages(opened.conversation.id));
          // The caller's copy is its own.
          (resolved.path[0] as { content: unknown }).content = 'changed by the caller';
          resolved.conversation.metadata.changed = true;
          const updatedAt = resolved.conversation.updatedAt.getTime();
          resolved.conversation.updatedAt.setTime(0);
          const again = await resolveCounting(counted, {
            userId,
            messages: [{ role: 'system', content: 'Be brief.' }, ...history],
          });
          expect(again.asked).toBe(false);
          expect(again.resolved.path[0]?.content).toBe('Is pve1 up?');
          expect(again.resolved.conversation.metadata).toEqual({});
          expect(again.resolved.conversation.updatedAt.getTime()).toBe(updatedAt);
          expect(again.resolved.system).toEqual([{ role: 'system', content: 'Be brief.' }]);
          // An append under it keeps the extended path held, and marks the branch.
          const [answer] = await store.appendMessages(opened.conversation.id, resolved.parentId, [
            { role: 'assistant', content: 'Yes.' },
          ]);
          // By the conversation's id too (a whole history: a lone message by id is its next turn).
          const continued = await resolveCounting(counted, {
            conversationId: opened.conversation.id,
            userId,
            messages: [...history, assistant('Yes.')],
          });
          expect(continued.asked).toBe(false);
          expect(continued.resolved.parentId).toBe(answer?.id);
          expect((await resolveCounting(counted, { userId, messages: history })).resolved.branched).toBe(
            true,
          );
          // Another user, no user, or another conversation's id: the server is asked.
          const other = await resolveCounting(counted, { userId: freshUser(), messages: history });
          expect(other.asked).toBe(true);
          expect(other.resolved.conversation.id).not.toBe(opened.conversation.id);
          expect((await resolveCounting(counted, { messages: history })).asked).toBe(true);
          const elsewhere = await resolveCounting(counted, {
            externalId: `chat-${userId}`,
            userId,
            messages: history,
          });
          expect(elsewhere.asked).toBe(true);
          expect(elsewhere.resolved.conversation.id).not.toBe(opened.conversation.id);
        } finally {
          await store.close();
        }
      });

      test('a next turn (a held path and one new user message) resolves with no statement; its append finds the message another writer stored first', async () => {
        const counted = await harness.openCounted('held');
        const other = await harness.open('held');
        const { store } = counted;
        try {
          const userId = freshUser();
          const opened = await store.resolveConversation({
            userId,
            messages: [user('How full is local-lvm?')],
          });
          const conversationId = opened.conversation.id;
          const [, answer] = await store.appendMessages(conversationId, null, [
            user('How full is local-lvm?'),
            { role: 'assistant', content: '71 %.' },
          ]);
          const stored = [user('How full is local-lvm?'), assistant('71 %.')];
          // The first resend is confirmed by the server; once the store listens, the next needs nothing.
          await eventually(async () => {
            const { asked } = await resolveCounting(counted, {
              userId,
              messages: [...stored, user('And local?')],
            });
            expect(asked).toBe(false);
          });
          const next = await resolveCounting(counted, { userId, messages: [...stored, user('And local?')] });
          expect(next.resolved.conversation.id).toBe(conversationId);
          expect(next.resolved.parentId).toBe(answer?.id);
          expect(next.resolved.newMessages).toEqual([user('And local?')]);
          expect(next.resolved.path).toStrictEqual(await store.getMessages(conversationId));
          expect(next.resolved.branched).toBe(false);
          // Its append writes the message, in one statement, with the hash a resend has.
          const before = counted.statements();
          const [question] = await store.appendMessages(conversationId, answer?.id ?? null, [
            user('And local?'),
          ]);
          expect(counted.statements() - before).toBe(1);
          const again = await resolveCounting(counted, { userId, messages: [...stored, user('And local?')] });
          expect(again.asked).toBe(false);
          expect(again.resolved.parentId).toBe(question?.id);
          expect(again.resolved.newMessages).toEqual([]);
          // Another writer (another api process) stores the same next message first, as a retry would.
          const edit = await resolveCounting(counted, { userId, messages: [...stored, user('And ceph?')] });
          expect(edit.asked).toBe(false);
          expect(edit.resolved.branched).toBe(true);
          const elsewhere = await other.resolveConversation({
            userId,
            messages: [...stored, user('And ceph?')],
          });
          const [theirs] = await other.appendMessages(
            conversationId,
            elsewhere.parentId,
            elsewhere.newMessages.map((message) => ({ ...message, role: 'user' as const })),
          );
          const [ours] = await store.appendMessages(conversationId, edit.resolved.parentId, [
            user('And ceph?'),
          ]);
          // The store returns that message instead of a second copy, as a resolve would have matched it.
          expect(ours?.id).toBe(theirs?.id);
          const all = await store.getMessages(conversationId);
          expect(all.filter((message) => message.content === 'And ceph?')).toHaveLength(1);
          // And the turn goes on under it.
          const [reply] = await store.appendMessages(conversationId, ours?.id ?? null, [
            { role: 'assistant', content: 'Healthy.' },
          ]);
          expect(reply?.parentId).toBe(theirs?.id);
          // An append of something else under a held leaf is an ordinary append.
          const other2 = await resolveCounting(counted, { userId, messages: [...stored, user('And nfs?')] });
          expect(other2.resolved.newMessages).toEqual([user('And nfs?')]);
          const written = await store.appendMessages(conversationId, answer?.id ?? null, [
            user('And nfs, please?'),
          ]);
          expect(written[0]?.content).toBe('And nfs, please?');
        } finally {
          await other.close();
          await store.close();
        }
      });

      test('trust lapses when no probe came back for a minute, and returns with the next one', async () => {
        let clock = Date.parse('2026-12-01T12:00:00Z');
        const counted = await harness.openCounted('held', { now: () => new Date(clock) });
        const { store } = counted;
        try {
          const userId = freshUser();
          const history = [user('Is the backup job done?')];
          const opened = await store.resolveConversation({ userId, messages: history });
          await store.appendMessages(opened.conversation.id, null, history);
          await eventually(async () => {
            expect((await resolveCounting(counted, { userId, messages: history })).asked).toBe(false);
          });
          // A listening connection that died without closing goes quiet: after a minute without a
          // probe heard, the store asks the server (and sends a new probe).
          clock += 61_000;
          const lapsed = await resolveCounting(counted, { userId, messages: history });
          expect(lapsed.asked).toBe(true);
          expect(lapsed.resolved.conversation.id).toBe(opened.conversation.id);
          // The probe comes back: the path, confirmed by the server once more, is held again.
          await eventually(async () => {
            expect((await resolveCounting(counted, { userId, messages: history })).asked).toBe(false);
          });
          // Half a minute on, a resolve sends the next probe before trust lapses; it stays held, and
          // once that probe is back it is still held another 31 s on (61 s after the one before).
          clock += 31_000;
          expect((await resolveCounting(counted, { userId, messages: history })).asked).toBe(false);
          await eventually(async () => {
            const before = clock;
            clock += 31_000;
            try {
              expect((await resolveCounting(counted, { userId, messages: history })).asked).toBe(false);
            } finally {
              clock = before;
            }
          });
        } finally {
          await store.close();
        }
      });

      test('a conversation deleted or retitled outside the store is heard: no held path answers for it', async () => {
        const counted = await harness.openCounted('held');
        const { store } = counted;
        try {
          const userId = freshUser();
          const history = [user('Which guests run on pve2?')];
          const opened = await store.resolveConversation({ userId, messages: history });
          await store.appendMessages(opened.conversation.id, null, history);
          await eventually(async () => {
            expect((await resolveCounting(counted, { userId, messages: history })).asked).toBe(false);
          });
          await harness.query(
            'held',
            `update conversations set title = 'Guests' where id = '${opened.conversation.id}'`,
          );
          await eventually(async () => {
            const { resolved } = await resolveCounting(counted, { userId, messages: history });
            expect(resolved.conversation.title).toBe('Guests');
          });
          await harness.query('held', `delete from conversations where id = '${opened.conversation.id}'`);
          await eventually(async () => {
            const { resolved } = await resolveCounting(counted, { userId, messages: history });
            expect(resolved.conversation.id).not.toBe(opened.conversation.id);
            expect(resolved.created).toBe(true);
          });
          // This store's own delete is forgotten at once.
          const next = await store.resolveConversation({ userId, messages: [user('Any backups?')] });
          await store.appendMessages(next.conversation.id, null, [user('Any backups?')]);
          await eventually(async () => {
            const { asked } = await resolveCounting(counted, { userId, messages: [user('Any backups?')] });
            expect(asked).toBe(false);
          });
          expect(await store.deleteConversation(next.conversation.id)).toBe(true);
          const after = await resolveCounting(counted, { userId, messages: [user('Any backups?')] });
          expect(after.asked).toBe(true);
          expect(after.resolved.created).toBe(true);
        } finally {
          await store.close();
        }
      });

      if (backend === 'postgres') {
        test('a store whose notifications never arrive (a pooler in transaction mode) holds nothing: it always asks', async () => {
          const control = await harness.openCounted('held');
          const deaf = await harness.openCounted('held', { dropNotifications: true });
          try {
            const userId = freshUser();
            const history = [user('How much RAM does pve2 have?')];
            const opened = await control.store.resolveConversation({ userId, messages: history });
            await control.store.appendMessages(opened.conversation.id, null, history);
            // Both are past their first resolve; the control store soon answers without the server...
            await resolveCounting(deaf, { userId, messages: history });
            await eventually(async () => {
              expect((await resolveCounting(control, { userId, messages: history })).asked).toBe(false);
            });
            // ...while the one whose LISTEN succeeded but hears nothing (not even its own probe) still asks.
            for (let round = 0; round < 5; round++) {
              const { resolved, asked } = await resolveCounting(deaf, { userId, messages: history });
              expect(asked).toBe(true);
              expect(resolved.conversation.id).toBe(opened.conversation.id);
            }
          } finally {
            await deaf.store.close();
            await control.store.close();
          }
        });

        test('an append that finds a held conversation gone (its announcement not yet heard) forgets it', async () => {
          const counted = await harness.openCounted('held');
          const { store } = counted;
          try {
            const userId = freshUser();
            const history = [user('Restart pve3?'), assistant('Done.')];
            const opened = await store.resolveConversation({ userId, messages: [user('Restart pve3?')] });
            const [, answer] = await store.appendMessages(opened.conversation.id, null, [
              user('Restart pve3?'),
              { role: 'assistant', content: 'Done.' },
            ]);
            const next = [...history, user('Is it up?')];
            await eventually(async () => {
              expect((await resolveCounting(counted, { userId, messages: next })).asked).toBe(false);
            });
            // Deleted with triggers off for that session: no announcement, as if it had not come yet.
            const held = await harness.begin?.('held');
            if (!held) throw new Error('the PostgreSQL harness must offer begin');
            await held.query("set local session_replication_role = 'replica'");
            await held.query('delete from messages where conversation_id = $1', [opened.conversation.id]);
            await held.query('delete from conversations where id = $1', [opened.conversation.id]);
            await held.commit();
            const stale = await resolveCounting(counted, { userId, messages: next });
            expect(stale.asked).toBe(false);
            expect(stale.resolved.parentId).toBe(answer?.id);
            await expectStoreError(
              store.appendMessages(opened.conversation.id, answer?.id ?? null, [user('Is it up?')]),
              'not-found',
              /does not exist/,
            );
            const fresh = await resolveCounting(counted, { userId, messages: next });
            expect(fresh.asked).toBe(true);
            expect(fresh.resolved.created).toBe(true);
            expect(fresh.resolved.newMessages).toEqual(next);
          } finally {
            await store.close();
          }
        });

        test('while its listening connection is down the store asks the server, then holds paths again', async () => {
          const counted = await harness.openCounted('held');
          const { store, applicationName } = counted;
          try {
            const userId = freshUser();
            const history = [user('Is the ceph pool healthy?')];
            const opened = await store.resolveConversation({ userId, messages: history });
            await store.appendMessages(opened.conversation.id, null, history);
            await eventually(async () => {
              expect((await resolveCounting(counted, { userId, messages: history })).asked).toBe(false);
            });
            const killed = await harness.query(
              'held',
              `select pg_terminate_backend(pid) as done from pg_stat_activity where application_name = '${applicationName} listener'`,
            );
            expect(killed.map((row) => row.done)).toEqual([true]);
            // Changes made while nobody listens are missed, so nothing held is trusted until it listens
            // again and the server has confirmed the path.
            await eventually(async () => {
              expect((await resolveCounting(counted, { userId, messages: history })).asked).toBe(true);
            });
            await harness.query(
              'held',
              `update conversations set title = 'Ceph' where id = '${opened.conversation.id}'`,
            );
            await eventually(async () => {
              const { resolved, asked } = await resolveCounting(counted, { userId, messages: history });
              expect(resolved.conversation.title).toBe('Ceph');
              expect(asked).toBe(false);
            });
          } finally {
            await store.close();
          }
        });
      }
    });

    describe('conversations', () => {
      test('list newest first with a cursor, update the title, delete', async () => {
        const userId = freshUser();
        const ids: string[] = [];
        for (const text of ['one', 'two', 'three', 'four', 'five']) {
          ids.push((await store.resolveConversation({ userId, messages: [user(text)] })).conversation.id);
        }
        const page1 = await store.listConversations({ userId, limit: 2 });
        expect(page1.conversations.map((each) => each.id)).toEqual([ids[4], ids[3]]);
        const page2 = await store.listConversations({ userId, limit: 2, cursor: page1.nextCursor ?? '' });
        expect(page2.conversations.map((each) => each.id)).toEqual([ids[2], ids[1]]);
        const page3 = await store.listConversations({ userId, limit: 2, cursor: page2.nextCursor ?? '' });
        expect(page3.conversations.map((each) => each.id)).toEqual([ids[0]]);
        expect(page3.nextCursor).toBeUndefined();
        await expectStoreError(store.listConversations({ userId, cursor: 'garbage' }), 'invalid', /cursor/);
        // Arguments the store cannot take: retrying cannot help, so not a `conflict`.
        await expectStoreError(store.listConversations({ userId, limit: 2.5 }), 'invalid', /limit/);

        const renamed = await store.updateConversation(ids[0] ?? '', {
          title: 'Cluster check',
          metadata: { pinned: true },
        });
        expect(renamed).toMatchObject({ title: 'Cluster check', metadata: { pinned: true } });
        expect((await store.listConversations({ userId, limit: 1 })).conversations[0]?.id).toBe(ids[0]);
        await store.appendMessages(ids[1] ?? '', null, [user('two')]);
        expect(await store.deleteConversation(ids[1] ?? '')).toBe(true);
        expect(await store.deleteConversation(ids[1] ?? '')).toBe(false);
        expect(await store.getConversation(ids[1] ?? '')).toBeUndefined();
        expect(await store.getMessages(ids[1] ?? '')).toEqual([]);
        await expectStoreError(store.updateConversation(ids[1] ?? '', { title: 'x' }), 'not-found');
      });
    });

    describe('monitor state', () => {
      const alert = (key: string, status: 'pending' | 'firing' | 'resolved', at: Date) => ({
        key,
        check: 'guests',
        status,
        severity: 'warning' as const,
        title: `VM ${key} stopped`,
        body: 'It was running.',
        fields: [{ name: 'Node', value: 'pve2' }],
        links: [],
        event: false,
        consecutiveBad: 2,
        consecutiveGood: 0,
        firstBadAt: at,
        firingSince: status === 'firing' ? at : null,
        lastNotifiedAt: status === 'firing' ? at : null,
        resolvedAt: null,
        updatedAt: at,
      });

      test('alerts are saved, replaced by key and loaded per check and when active', async () => {
        const at = new Date('2026-12-01T10:00:00.000Z');
        await store.monitor.saveAlerts([alert('guest:102', 'pending', at), alert('guest:103', 'firing', at)]);
        await store.monitor.saveAlerts([
          { ...alert('guest:102', 'resolved', at), resolvedAt: at, consecutiveBad: 0 },
        ]);
        const loaded = (await store.monitor.loadAlerts('guests')).sort((a, b) => a.key.localeCompare(b.key));
        expect(loaded).toEqual([
          { ...alert('guest:102', 'resolved', at), resolvedAt: at, consecutiveBad: 0 },
          alert('guest:103', 'firing', at),
        ]);
        expect((await store.monitor.activeAlerts()).map((row) => row.key)).toEqual(['guest:103']);
        expect(await store.monitor.loadAlerts('ceph')).toEqual([]);
      });

      test('per-check memories and held notifications persist', async () => {
        expect(await store.monitor.getState('guests.running')).toBeUndefined();
        await store.monitor.setState('guests.running', { running: ['100', '101'] });
        await store.monitor.setState('guests.running', { running: ['100'] });
        expect(await store.monitor.getState('guests.running')).toEqual({ running: ['100'] });
        const notification = {
          title: 'VM 101 stopped',
          body: 'b',
          severity: 'warning' as const,
          state: 'firing' as const,
        };
        await store.monitor.holdNotification({
          key: 'guest:101',
          kind: 'firing',
          notification,
          heldAt: new Date('2026-12-01T23:10:00Z'),
        });
        await store.monitor.holdNotification({
          key: 'guest:101',
          kind: 'resolved',
          notification: { ...notification, state: 'resolved' },
          heldAt: new Date('2026-12-01T23:50:00Z'),
        });
        const held = await store.monitor.takeHeldNotifications();
        expect(held.map((item) => [item.kind, item.notification.state, item.heldAt.toISOString()])).toEqual([
          ['firing', 'firing', '2026-12-01T23:10:00.000Z'],
          ['resolved', 'resolved', '2026-12-01T23:50:00.000Z'],
        ]);
        expect(await store.monitor.takeHeldNotifications()).toEqual([]);
      });

      test('calls that overlap share one attempt at the leader lock, so they all win it', async () => {
        // A daemon's jobs all start at once: each reserving a session of its own would lose to the others.
        expect(await Promise.all([1, 2, 3, 4, 5, 6].map(() => store.monitor.tryLeadership()))).toEqual([
          true,
          true,
          true,
          true,
          true,
          true,
        ]);
        expect(await store.monitor.tryLeadership()).toBe(true);
        await store.monitor.close();
      });

      test('only one store is the leader; another takes over when it goes', async () => {
        expect(await store.monitor.tryLeadership()).toBe(true);
        expect(await store.monitor.tryLeadership()).toBe(true);
        if (!harness.sharedAccess) return;
        const other = await harness.open('main');
        try {
          expect(await other.monitor.tryLeadership()).toBe(false);
          await store.monitor.close();
          expect(await other.monitor.tryLeadership()).toBe(true);
          expect(await store.monitor.tryLeadership()).toBe(false);
        } finally {
          await other.close();
        }
        expect(await store.monitor.tryLeadership()).toBe(true);
        await store.monitor.close();
      });
    });

    describe('per-call logger', () => {
      test("a failed operation warns on the call's logger, with its bindings and component: 'store'", async () => {
        const request = recordingLogger({ requestId: 'request-1' });
        const resolved = await store.resolveConversation(
          { userId: freshUser(), messages: [user('Hello')] },
          { logger: request.logger },
        );
        // A text column has no NUL: the database refuses the model name, the store maps that error and warns.
        const error = await expectStoreError(
          store.appendMessages(resolved.conversation.id, resolved.parentId, [badModel('Hello')], {
            logger: request.logger,
          }),
          'invalid',
          /appendMessages was refused/,
        );
        expect(request.lines).toEqual([
          {
            level: 'warn',
            message: 'store operation failed',
            fields: {
              requestId: 'request-1',
              component: 'store',
              operation: 'appendMessages',
              code: 'invalid',
              err: error,
            },
          },
        ]);
      });

      test('a call that succeeds, or fails with a StoreError of its own, does not touch the logger', async () => {
        const request = recordingLogger({ requestId: 'request-2' });
        const call = { logger: request.logger };
        const resolved = await store.resolveConversation(
          { userId: freshUser(), messages: [user('Hi')] },
          call,
        );
        const [question] = await store.appendMessages(
          resolved.conversation.id,
          resolved.parentId,
          resolved.newMessages,
          call,
        );
        await store.updateMessage(question?.id ?? '', { status: 'complete' }, call);
        await store.getConversation(resolved.conversation.id, call);
        await store.getMessages(resolved.conversation.id, call);
        await store.updateConversation(resolved.conversation.id, { title: 'Hi' }, call);
        await store.listConversations({ limit: 1 }, call);
        expect(await store.deleteConversation(resolved.conversation.id, call)).toBe(true);
        await expectStoreError(
          store.appendMessages(resolved.conversation.id, null, [user('Gone')], call),
          'not-found',
        );
        expect(request.lines).toEqual([]);
        expect(request.children()).toBe(0);
      });

      test("without a per-call logger the warning goes to the store's own logger, as before", async () => {
        const own = recordingLogger();
        const request = recordingLogger({ requestId: 'request-3' });
        const logged = await harness.open('call_logger', { logger: own.logger });
        try {
          const resolved = await logged.resolveConversation({ messages: [user('Hey')] });
          await expectStoreError(
            logged.appendMessages(resolved.conversation.id, resolved.parentId, [badModel('Hey')]),
            'invalid',
          );
          await expectStoreError(
            logged.appendMessages(resolved.conversation.id, resolved.parentId, [badModel('Hey')], {
              logger: request.logger,
            }),
            'invalid',
          );
          const failures = (lines: typeof own.lines) =>
            lines.filter((line) => line.message === 'store operation failed');
          expect(failures(own.lines)).toHaveLength(1);
          expect(failures(own.lines)[0]?.fields).toMatchObject({ operation: 'appendMessages' });
          expect(failures(request.lines)).toHaveLength(1);
          expect(failures(request.lines)[0]?.fields).toMatchObject({ requestId: 'request-3' });
        } finally {
          await logged.close();
        }
      });
    });

    describe('lifecycle', () => {
      test('data survives closing and reopening the store', async () => {
        const resolved = await store.resolveConversation({
          userId: 'restart',
          messages: [user('Remember me')],
        });
        const stored = await store.appendMessages(resolved.conversation.id, null, [
          user('Remember me'),
          assistant('I will.'),
        ]);
        const closing = store;
        await closing.close();
        await expectStoreError(closing.ping(), 'unavailable', /closed/);
        store = await harness.open('main');
        expect(await store.migrate()).toEqual({ applied: [], version: 3 });
        const loaded = await store.getConversation(resolved.conversation.id);
        expect(loaded?.messages.map((message) => message.content)).toEqual(['Remember me', 'I will.']);
        const next = await store.resolveConversation({
          userId: 'restart',
          messages: [user('Remember me'), assistant('I will.'), user('Good')],
        });
        expect(next.parentId).toBe(stored[1]?.id);
      });

      if (backend === 'postgres') {
        test('a server that goes away gives a clear unavailable error without the password, then recovers', async () => {
          const openThroughProxy = harness.openThroughProxy;
          if (!openThroughProxy) throw new Error('the PostgreSQL harness must offer openThroughProxy');
          const { store: proxied, proxy } = await openThroughProxy.call(harness, 'main');
          await proxied.ping();
          const before = await proxied.resolveConversation({
            userId: 'away',
            messages: [user('Still there?')],
          });
          await proxy.stop();
          const request = recordingLogger({ requestId: 'away-1' });
          const error = await expectStoreError(
            proxied.appendMessages(before.conversation.id, null, [user('Still there?')], {
              logger: request.logger,
            }),
            'unavailable',
            new RegExp(`PostgreSQL is not reachable at 127\\.0\\.0\\.1:${proxy.port}.*check DATABASE_URL`),
          );
          expect(error.message).not.toContain('hunter2-secret');
          expect(JSON.stringify(error)).not.toContain('hunter2-secret');
          expect(
            request.lines.map((line) => [line.message, line.fields.requestId, line.fields.code]),
          ).toEqual([['store operation failed', 'away-1', 'unavailable']]);
          await expectStoreError(proxied.ping(), 'unavailable');
          await proxy.start();
          await proxied.ping();
          const stored = await proxied.appendMessages(before.conversation.id, null, [user('Still there?')]);
          expect(stored).toHaveLength(1);
          await proxied.close();
        });

        test('an endpoint that accepts and hangs up at once gives unavailable at once, without a storm of reconnects', async () => {
          const openThroughProxy = harness.openThroughProxy;
          if (!openThroughProxy) throw new Error('the PostgreSQL harness must offer openThroughProxy');
          const { store: proxied, proxy } = await openThroughProxy.call(harness, 'hangup');
          const before = await proxied.resolveConversation({ userId: 'hangup', messages: [user('Hello?')] });
          proxy.hangUp();
          const acceptedBefore = proxy.accepted;
          try {
            // The first calls may still meet a pooled connection the hang-up cut; then every call
            // fails on a connection attempt of its own, with a message that says what happened.
            const messages: string[] = [];
            for (let attempt = 0; attempt < 3; attempt++) {
              messages.push((await expectStoreError(proxied.ping(), 'unavailable')).message);
            }
            expect(messages.at(-1)).toMatch(
              /accepted the connection and closed it before answering .*check DATABASE_URL/,
            );
            await expectStoreError(
              proxied.appendMessages(before.conversation.id, null, [user('Hello?')]),
              'unavailable',
              /accepted the connection and closed it before answering/,
            );
            // postgres.js alone reconnected at once, without end (hundreds a second, the query waiting on).
            expect(proxy.accepted - acceptedBefore).toBeLessThan(20);
            proxy.passThrough();
            await proxied.ping();
            expect(await proxied.appendMessages(before.conversation.id, null, [user('Hello?')])).toHaveLength(
              1,
            );
          } finally {
            proxy.passThrough();
            await proxied.close();
          }
        });
      }
    });
  });
}
