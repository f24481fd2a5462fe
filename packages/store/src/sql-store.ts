import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Driver, Queryable } from './driver.js';
import { jsonParameter, toDate, toJson } from './driver.js';
import type { Logger } from './logger.js';
import { runMigrations } from './migrations.js';
import { createMonitorState, type MonitorState } from './monitor-state.js';
import { advance, hashChain, stateFromTail } from './projection.js';
import { StoreError, toStoreError } from './store-error.js';
import type {
  Conversation,
  ConversationPage,
  ConversationWithMessages,
  MessageLike,
  NewMessage,
  ResolveConversationInput,
  ResolvedConversation,
  Store,
  StoredMessage,
} from './types.js';

interface ConversationRow {
  id: string;
  user_id: string | null;
  title: string | null;
  external_id: string | null;
  client: string | null;
  created_at: unknown;
  updated_at: unknown;
  metadata: unknown;
}

interface MessageRow {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  role: StoredMessage['role'];
  content: unknown;
  status: StoredMessage['status'];
  model: string | null;
  usage: unknown;
  prefix_hash: string;
  created_at: unknown;
}

/** A row of the resolve statement: a path message, the match, and the conversation's columns. */
interface ResolveRow extends MessageRow {
  match_position: unknown;
  match_branched: unknown;
  [column: `c_${string}`]: unknown;
}

function conversationColumns(row: ResolveRow): ConversationRow {
  return {
    id: row.c_id as string,
    user_id: row.c_user_id as string | null,
    title: row.c_title as string | null,
    external_id: row.c_external_id as string | null,
    client: row.c_client as string | null,
    created_at: row.c_created_at,
    updated_at: row.c_updated_at,
    metadata: row.c_metadata,
  };
}

const CONVERSATION_COLUMNS = 'id, user_id, title, external_id, client, created_at, updated_at, metadata';
const MESSAGE_COLUMNS =
  'id, conversation_id, parent_id, role, content, status, model, usage, prefix_hash, created_at';
const PREFIXED_MESSAGE_COLUMNS = MESSAGE_COLUMNS.split(', ')
  .map((column) => `m.${column}`)
  .join(', ');

/** Message `$1` and its ancestors up to and including the nearest user message, oldest first. */
const TAIL_SQL = `with recursive tail as (
  select ${MESSAGE_COLUMNS}, 0 as depth from messages where id = $1
  union all
  select ${PREFIXED_MESSAGE_COLUMNS}, tail.depth + 1 from messages m join tail on m.id = tail.parent_id
  where tail.role <> 'user'
) select ${MESSAGE_COLUMNS} from tail order by depth desc`;

/**
 * Locks conversation `$1` (so writers of one conversation go one after the other) and reads message
 * `$2` with its ancestors up to the nearest user message. No row: no such conversation.
 */
const LOCK_AND_TAIL_SQL = `with recursive locked as (
  select id from conversations where id = $1 for update
), tail as (
  select ${MESSAGE_COLUMNS}, 0 as depth from messages where id = $2
  union all
  select ${PREFIXED_MESSAGE_COLUMNS}, tail.depth + 1 from messages m join tail on m.id = tail.parent_id
  where tail.role <> 'user'
) select locked.id as locked_id, ${MESSAGE_COLUMNS.split(', ')
  .map((column) => `tail.${column}`)
  .join(', ')} from locked left join tail on true order by tail.depth desc`;

/** How many of the deepest prefix hashes resolution tries before it looks at the whole chain. */
const PROBE = 4;

/** The most messages one insert statement carries. */
const INSERT_BATCH = 500;

/** The path to the newest message (the leaf of the active branch) of conversation `$1`. */
const ACTIVE_PATH_SQL = `with recursive path as (
  select ${MESSAGE_COLUMNS}, 0 as depth from messages
  where id = (select id from messages where conversation_id = $1 order by seq desc limit 1)
  union all
  select ${PREFIXED_MESSAGE_COLUMNS}, path.depth + 1 from messages m join path on m.id = path.parent_id
) select ${MESSAGE_COLUMNS} from path order by depth desc`;

/** The deepest position of `$1` (prefix hashes, oldest first) that a stored message matches, and that message. */
/**
 * In one statement: the deepest position of `$1` (prefix hashes, oldest first) that a stored message
 * matches (each position is one index lookup on `prefix_hash`), the path from the root to that message,
 * whether it already has children (a branch), and its conversation. No row when nothing matches.
 */
function resolveSql(scope: 'conversation' | 'user' | 'anonymous'): string {
  const filter =
    scope === 'conversation'
      ? 'm.conversation_id = $2'
      : scope === 'user'
        ? 'c.user_id = $2'
        : 'c.user_id is null';
  const join = scope === 'conversation' ? '' : 'join conversations c on c.id = m.conversation_id';
  return `with recursive found as (
    select h.position, hit.id, hit.conversation_id
    from unnest($1::text[]) with ordinality as h(hash, position)
    cross join lateral (
      select m.id, m.conversation_id from messages m ${join}
      where m.prefix_hash = h.hash and ${filter}
      order by m.seq desc limit 1
    ) hit
    order by h.position desc limit 1
  ), path as (
    select ${MESSAGE_COLUMNS}, 0 as depth from messages where id = (select id from found)
    union all
    select ${PREFIXED_MESSAGE_COLUMNS}, path.depth + 1 from messages m join path on m.id = path.parent_id
  )
  select ${MESSAGE_COLUMNS.split(', ')
    .map((column) => `path.${column}`)
    .join(', ')},
    (select position from found) as match_position,
    exists (select 1 from messages child where child.parent_id = (select id from found)) as match_branched,
    ${CONVERSATION_COLUMNS.split(', ')
      .map((column) => `c.${column} as c_${column}`)
      .join(', ')}
  from path left join conversations c on c.id = path.conversation_id and path.depth = 0
  order by depth desc`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const messageLikeSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.unknown(),
});

const resolveInputSchema = z.object({
  conversationId: z.string().min(1).optional(),
  externalId: z.string().min(1).max(500).optional(),
  userId: z.string().min(1).max(500).optional(),
  client: z.string().min(1).max(100).optional(),
  messages: z.array(messageLikeSchema),
});

const newMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.unknown().refine((value) => value !== undefined, 'content is required'),
  status: z.enum(['complete', 'partial', 'error']).optional(),
  model: z.string().min(1).optional(),
  usage: z.record(z.string(), z.unknown()).optional(),
});

const updateMessageSchema = z.object({
  status: z.enum(['complete', 'partial', 'error']).optional(),
  content: z.unknown().optional(),
  model: z.string().min(1).nullable().optional(),
  usage: z.record(z.string(), z.unknown()).nullable().optional(),
});

const updateConversationSchema = z.object({
  title: z.string().max(1000).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const listSchema = z.object({
  userId: z.string().min(1).optional(),
  limit: z.number().int().min(1).max(200).optional(),
  cursor: z.string().min(1).optional(),
});

const cursorSchema = z.tuple([z.number().int(), z.string().regex(UUID)]);

function invalid(what: string, error: z.ZodError): StoreError {
  return new StoreError({
    code: 'conflict',
    message: `${what} is not valid (${error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ')}): fix the call`,
  });
}

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    externalId: row.external_id,
    client: row.client,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    metadata: (toJson(row.metadata) as Record<string, unknown> | null) ?? {},
  };
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    parentId: row.parent_id,
    role: row.role,
    content: toJson(row.content),
    status: row.status,
    model: row.model,
    usage: (toJson(row.usage) as Record<string, unknown> | null) ?? null,
    createdAt: toDate(row.created_at),
    prefixHash: row.prefix_hash,
  };
}

function encodeCursor(conversation: Conversation): string {
  return Buffer.from(JSON.stringify([conversation.updatedAt.getTime(), conversation.id])).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): [number, string] {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch (error) {
    throw new StoreError({
      code: 'not-found',
      message: 'The conversation cursor is not valid: pass the nextCursor of the previous page unchanged',
      cause: error,
    });
  }
}

/** Options of {@link createSqlStore}. */
export interface SqlStoreOptions {
  driver: Driver;
  logger: Logger;
  now: () => Date;
  schema?: string | undefined;
}

/** A `Store` on one driver: the one implementation both backends share. */
export function createSqlStore(options: SqlStoreOptions): Store {
  const { driver, logger, now, schema } = options;
  let closed = false;

  async function guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (closed) {
      throw new StoreError({
        code: 'unavailable',
        message: `${operation} was called after the store was closed: create a new store`,
      });
    }
    try {
      return await work();
    } catch (error) {
      const mapped = toStoreError(error, { backend: driver.backend, target: driver.target, operation });
      if (mapped !== error)
        logger.warn({ operation, code: mapped.code, err: mapped }, 'store operation failed');
      throw mapped;
    }
  }

  async function findConversation(client: Queryable, id: string): Promise<Conversation | undefined> {
    if (!UUID.test(id)) return undefined;
    const rows = await client.query<ConversationRow>(
      `select ${CONVERSATION_COLUMNS} from conversations where id = $1`,
      [id],
    );
    return rows[0] ? toConversation(rows[0]) : undefined;
  }

  async function insertConversation(
    client: Queryable,
    fields: { userId?: string | undefined; externalId?: string | undefined; client?: string | undefined },
  ): Promise<{ conversation: Conversation; created: boolean }> {
    const at = now();
    const id = randomUUID();
    const inserted = await client.query<ConversationRow>(
      `insert into conversations (id, user_id, external_id, client, created_at, updated_at, metadata)
       values ($1, $2, $3, $4, $5, $5, '{}'::jsonb)
       on conflict (external_id, (coalesce(user_id, ''))) where external_id is not null do nothing
       returning ${CONVERSATION_COLUMNS}`,
      [id, fields.userId ?? null, fields.externalId ?? null, fields.client ?? null, at],
    );
    if (inserted[0]) return { conversation: toConversation(inserted[0]), created: true };
    // Another request created the same external id first: use that one.
    const existing = await findByExternalId(client, fields.externalId ?? '', fields.userId);
    if (!existing) {
      throw new StoreError({
        code: 'conflict',
        message: 'Creating the conversation raced with a delete: retry',
      });
    }
    return { conversation: existing, created: false };
  }

  async function findByExternalId(
    client: Queryable,
    externalId: string,
    userId: string | undefined,
  ): Promise<Conversation | undefined> {
    const rows = await client.query<ConversationRow>(
      `select ${CONVERSATION_COLUMNS} from conversations where external_id = $1 and coalesce(user_id, '') = $2`,
      [externalId, userId ?? ''],
    );
    return rows[0] ? toConversation(rows[0]) : undefined;
  }

  async function resolveConversation(input: ResolveConversationInput): Promise<ResolvedConversation> {
    const parsed = resolveInputSchema.safeParse(input);
    if (!parsed.success) throw invalid('resolveConversation input', parsed.error);
    const { conversationId, externalId, userId, client } = parsed.data;
    const incoming = input.messages;
    const system = incoming.filter(
      (message) => message.role === 'system' || (message.role as string) === 'developer',
    );
    const rest = incoming.filter(
      (message) => message.role !== 'system' && (message.role as string) !== 'developer',
    );

    let conversation: Conversation | undefined;
    let created = false;
    if (conversationId !== undefined) {
      conversation = await findConversation(driver, conversationId);
      if (!conversation || (userId !== undefined && conversation.userId !== userId)) {
        throw new StoreError({
          code: 'not-found',
          message: `Conversation ${conversationId} does not exist: drop the conversation id header to start a new one`,
        });
      }
    } else if (externalId !== undefined) {
      conversation = await findByExternalId(driver, externalId, userId);
      if (!conversation)
        ({ conversation, created } = await insertConversation(driver, { userId, externalId, client }));
    }

    // Deepest stored match of the incoming chain, within the conversation or the user's conversations.
    const { hashes } = hashChain(rest);
    if (hashes.length > 0 && !created) {
      const scope = conversation ? 'conversation' : userId !== undefined ? 'user' : 'anonymous';
      const parameters: unknown[] = [hashes];
      if (scope === 'conversation' && conversation) parameters.push(conversation.id);
      if (scope === 'user') parameters.push(userId);
      // A continuing client matches at (or next to) its newest message: try the deepest few hashes
      // first and fall back to the whole chain only when none of them matches.
      const probe = hashes.length > PROBE ? hashes.length - PROBE : 0;
      let offset = probe;
      let rows = await driver.query<ResolveRow>(resolveSql(scope), [
        hashes.slice(probe),
        ...parameters.slice(1),
      ]);
      if (rows.length === 0 && probe > 0) {
        offset = 0;
        rows = await driver.query<ResolveRow>(resolveSql(scope), parameters);
      }
      const first = rows[0];
      const last = rows.at(-1);
      if (first && last) {
        return {
          conversation: conversation ?? toConversation(conversationColumns(last)),
          created: false,
          path: rows.map(toMessage),
          newMessages: rest.slice(offset + Number(first.match_position)),
          parentId: last.id,
          branched: first.match_branched === true,
          system,
        };
      }
    }

    if (conversation && !created) {
      // A known conversation whose stored paths the history does not continue.
      if (rest.length === 1 && rest[0]?.role === 'user') {
        // Only the newest message was sent: the active branch is the history.
        const path = (await driver.query<MessageRow>(ACTIVE_PATH_SQL, [conversation.id])).map(toMessage);
        return {
          conversation,
          created: false,
          path,
          newMessages: rest,
          parentId: path.at(-1)?.id ?? null,
          branched: false,
          system,
        };
      }
      const any = await driver.query('select 1 from messages where conversation_id = $1 limit 1', [
        conversation.id,
      ]);
      return {
        conversation,
        created: false,
        path: [],
        newMessages: rest,
        parentId: null,
        branched: any.length > 0,
        system,
      };
    }

    if (!conversation) ({ conversation, created } = await insertConversation(driver, { userId, client }));
    return { conversation, created, path: [], newMessages: rest, parentId: null, branched: false, system };
  }

  async function appendMessages(
    conversationId: string,
    parentId: string | null,
    messages: NewMessage[],
  ): Promise<StoredMessage[]> {
    const parsed = z.array(newMessageSchema).safeParse(messages);
    if (!parsed.success) throw invalid('appendMessages messages', parsed.error);
    if (!UUID.test(conversationId)) throw notFoundConversation(conversationId);
    if (parentId !== null && !UUID.test(parentId)) throw notInConversation(parentId, conversationId);
    return driver.transaction(async (transaction) => {
      // The row lock serialises writers of one conversation: each append sees the previous one.
      const rows = await transaction.query<MessageRow & { locked_id: string }>(LOCK_AND_TAIL_SQL, [
        conversationId,
        parentId,
      ]);
      if (rows.length === 0) throw notFoundConversation(conversationId);
      const tailRows = rows.filter((row) => row.id !== null);
      if (
        parentId !== null &&
        (tailRows.length === 0 || tailRows.at(-1)?.conversation_id !== conversationId)
      ) {
        throw notInConversation(parentId, conversationId);
      }
      let state = stateFromTail(tailRows.map(toMessage));
      const at = now();
      let parent = parentId;
      const values: unknown[][] = [];
      for (const message of parsed.data) {
        const step = advance(state, message as MessageLike);
        state = step.state;
        const id = randomUUID();
        values.push([
          id,
          conversationId,
          parent,
          message.role,
          jsonParameter(message.content ?? null) ?? 'null',
          message.status ?? 'complete',
          message.model ?? null,
          jsonParameter(message.usage),
          step.hash,
          at,
        ]);
        parent = id;
      }
      const stored: StoredMessage[] = [];
      for (let start = 0; start < values.length; start += INSERT_BATCH) {
        const batch = values.slice(start, start + INSERT_BATCH);
        const placeholders = batch.map((_, row) => {
          const base = row * 10;
          return `($${base + 1}::uuid, $${base + 2}::uuid, $${base + 3}::uuid, $${base + 4}, $${base + 5}::text::jsonb, $${base + 6}, $${base + 7}, $${base + 8}::text::jsonb, $${base + 9}, $${base + 10}::timestamptz)`;
        });
        const touched = batch.length * 10;
        const inserted = await transaction.query<MessageRow>(
          `with inserted as (
             insert into messages (id, conversation_id, parent_id, role, content, status, model, usage, prefix_hash, created_at)
             values ${placeholders.join(', ')}
             returning ${MESSAGE_COLUMNS}, seq
           ), touched as (
             update conversations set updated_at = $${touched + 1} where id = $${touched + 2}
           ) select ${MESSAGE_COLUMNS} from inserted order by seq`,
          [...batch.flat(), at, conversationId],
        );
        stored.push(...inserted.map(toMessage));
      }
      return stored;
    });
  }

  async function updateMessage(
    id: string,
    changes: Partial<Pick<StoredMessage, 'status' | 'usage' | 'content' | 'model'>>,
  ): Promise<StoredMessage> {
    const parsed = updateMessageSchema.safeParse(changes);
    if (!parsed.success) throw invalid('updateMessage changes', parsed.error);
    if (!UUID.test(id)) throw notFoundMessage(id);
    return driver.transaction(async (transaction) => {
      const rows = await transaction.query<MessageRow>(
        `select ${MESSAGE_COLUMNS} from messages where id = $1 for update`,
        [id],
      );
      const row = rows[0];
      if (!row) throw notFoundMessage(id);
      const current = toMessage(row);
      let prefixHash = current.prefixHash;
      const hasContent = Object.hasOwn(changes, 'content') && changes.content !== undefined;
      if (hasContent) {
        const tail =
          current.parentId === null
            ? []
            : (await transaction.query<MessageRow>(TAIL_SQL, [current.parentId])).map(toMessage);
        prefixHash = advance(stateFromTail(tail), { role: current.role, content: changes.content }).hash;
        if (prefixHash !== current.prefixHash) {
          const children = await transaction.query('select 1 from messages where parent_id = $1 limit 1', [
            id,
          ]);
          if (children.length > 0) {
            throw new StoreError({
              code: 'conflict',
              message: `Message ${id} already has replies, so its visible content can no longer change: append a new message instead`,
            });
          }
        }
      }
      const at = now();
      const updated = await transaction.query<MessageRow>(
        `update messages set
           status = coalesce($2, status),
           content = case when $3::boolean then $4::text::jsonb else content end,
           model = case when $5::boolean then $6 else model end,
           usage = case when $7::boolean then $8::text::jsonb else usage end,
           prefix_hash = $9
         where id = $1 returning ${MESSAGE_COLUMNS}`,
        [
          id,
          parsed.data.status ?? null,
          hasContent,
          hasContent ? (jsonParameter(changes.content) ?? 'null') : null,
          Object.hasOwn(changes, 'model') && changes.model !== undefined,
          changes.model ?? null,
          Object.hasOwn(changes, 'usage') && changes.usage !== undefined,
          jsonParameter(changes.usage),
          prefixHash,
        ],
      );
      await transaction.query('update conversations set updated_at = $2 where id = $1', [
        current.conversationId,
        at,
      ]);
      const result = updated[0];
      if (!result) throw notFoundMessage(id);
      return toMessage(result);
    });
  }

  async function getConversation(id: string): Promise<ConversationWithMessages | undefined> {
    const conversation = await findConversation(driver, id);
    if (!conversation) return undefined;
    const messages = (await driver.query<MessageRow>(ACTIVE_PATH_SQL, [id])).map(toMessage);
    return { conversation, messages };
  }

  async function getMessages(conversationId: string): Promise<StoredMessage[]> {
    if (!UUID.test(conversationId)) return [];
    const rows = await driver.query<MessageRow>(
      `select ${MESSAGE_COLUMNS} from messages where conversation_id = $1 order by seq`,
      [conversationId],
    );
    return rows.map(toMessage);
  }

  async function updateConversation(
    id: string,
    changes: { title?: string; metadata?: Record<string, unknown> },
  ): Promise<Conversation> {
    const parsed = updateConversationSchema.safeParse(changes);
    if (!parsed.success) throw invalid('updateConversation changes', parsed.error);
    if (!UUID.test(id)) throw notFoundConversation(id);
    const rows = await driver.query<ConversationRow>(
      `update conversations set
         title = case when $2::boolean then $3 else title end,
         metadata = coalesce($4::text::jsonb, metadata),
         updated_at = $5
       where id = $1 returning ${CONVERSATION_COLUMNS}`,
      [
        id,
        parsed.data.title !== undefined,
        parsed.data.title ?? null,
        jsonParameter(parsed.data.metadata),
        now(),
      ],
    );
    if (!rows[0]) throw notFoundConversation(id);
    return toConversation(rows[0]);
  }

  async function listConversations(
    listOptions: { userId?: string; limit?: number; cursor?: string } = {},
  ): Promise<ConversationPage> {
    const parsed = listSchema.safeParse(listOptions);
    if (!parsed.success) throw invalid('listConversations options', parsed.error);
    const limit = parsed.data.limit ?? 20;
    const conditions: string[] = [];
    const parameters: unknown[] = [];
    if (parsed.data.userId !== undefined) {
      parameters.push(parsed.data.userId);
      conditions.push(`user_id = $${parameters.length}`);
    }
    if (parsed.data.cursor !== undefined) {
      const [updatedAt, cursorId] = decodeCursor(parsed.data.cursor);
      parameters.push(new Date(updatedAt), cursorId);
      conditions.push(`(updated_at, id) < ($${parameters.length - 1}, $${parameters.length}::uuid)`);
    }
    parameters.push(limit + 1);
    const rows = await driver.query<ConversationRow>(
      `select ${CONVERSATION_COLUMNS} from conversations
       ${conditions.length > 0 ? `where ${conditions.join(' and ')}` : ''}
       order by updated_at desc, id desc limit $${parameters.length}`,
      parameters,
    );
    const conversations = rows.slice(0, limit).map(toConversation);
    const last = conversations.at(-1);
    return { conversations, nextCursor: rows.length > limit && last ? encodeCursor(last) : undefined };
  }

  async function deleteConversation(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const rows = await driver.query('delete from conversations where id = $1 returning id', [id]);
    return rows.length > 0;
  }

  const monitorState = createMonitorState(driver, { logger, now, schema });
  const monitor: MonitorState = {
    loadAlerts: (check) => guard('monitor.loadAlerts', () => monitorState.loadAlerts(check)),
    activeAlerts: () => guard('monitor.activeAlerts', () => monitorState.activeAlerts()),
    saveAlerts: (rows) => guard('monitor.saveAlerts', () => monitorState.saveAlerts(rows)),
    getState: <T>(key: string) => guard('monitor.getState', () => monitorState.getState<T>(key)),
    setState: (key, value) => guard('monitor.setState', () => monitorState.setState(key, value)),
    holdNotification: (held) => guard('monitor.holdNotification', () => monitorState.holdNotification(held)),
    takeHeldNotifications: () =>
      guard('monitor.takeHeldNotifications', () => monitorState.takeHeldNotifications()),
    tryLeadership: () => monitorState.tryLeadership(),
    close: () => monitorState.close(),
  };

  return {
    backend: driver.backend,
    monitor,
    resolveConversation: (input) => guard('resolveConversation', () => resolveConversation(input)),
    appendMessages: (conversationId, parentId, messages) =>
      guard('appendMessages', () => appendMessages(conversationId, parentId, messages)),
    updateMessage: (id, changes) => guard('updateMessage', () => updateMessage(id, changes)),
    getConversation: (id) => guard('getConversation', () => getConversation(id)),
    getMessages: (conversationId) => guard('getMessages', () => getMessages(conversationId)),
    updateConversation: (id, changes) => guard('updateConversation', () => updateConversation(id, changes)),
    listConversations: (listOptions) => guard('listConversations', () => listConversations(listOptions)),
    deleteConversation: (id) => guard('deleteConversation', () => deleteConversation(id)),
    ping: () =>
      guard('ping', async () => {
        await driver.query('select 1');
      }),
    migrate: () => guard('migrate', () => runMigrations(driver, { schema, logger })),
    async close() {
      if (closed) return;
      closed = true;
      await monitorState.close();
      await driver.close();
    },
  };
}

function notFoundConversation(id: string): StoreError {
  return new StoreError({
    code: 'not-found',
    message: `Conversation ${id} does not exist: resolve or create the conversation first`,
  });
}

function notFoundMessage(id: string): StoreError {
  return new StoreError({ code: 'not-found', message: `Message ${id} does not exist: check the id` });
}

function notInConversation(parentId: string, conversationId: string): StoreError {
  return new StoreError({
    code: 'not-found',
    message: `Message ${parentId} is not in conversation ${conversationId}: pass the parentId that resolveConversation returned`,
  });
}
