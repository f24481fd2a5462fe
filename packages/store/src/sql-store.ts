import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { alignClientToolTail } from './client-tool-tail.js';
import type { Driver, Queryable } from './driver.js';
import { jsonParameter, storableText, toDate, toJson } from './driver.js';
import { childLogger, type Logger } from './logger.js';
import { runMigrations } from './migrations.js';
import { createMonitorState, type MonitorState } from './monitor-state.js';
import {
  advance,
  hashChain,
  INITIAL_STATE,
  type ProjectionState,
  stateFromTail,
  visibleText,
} from './projection.js';
import { StoreError, toStoreError } from './store-error.js';
import { matchTrimmedHistory } from './trimmed-history.js';
import type {
  Conversation,
  ConversationPage,
  ConversationWithMessages,
  MessageLike,
  NewMessage,
  ResolveConversationInput,
  ResolvedConversation,
  Store,
  StoreCallOptions,
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

/** The row of the resolve statement: the path as JSON, the match, and the conversation's columns. */
interface ResolveRow {
  path: string | null;
  match_position: unknown;
  match_branched: unknown;
  /** The conversation row's `xmin`: changes with every write to the conversation. */
  version: string | null;
  [column: `c_${string}`]: unknown;
}

/** Where a resolve looks: in one conversation (by id, or by external id and user), or in a user's (or no user's). */
interface ResolveScope {
  conversationId: string | undefined;
  externalId: string | undefined;
  userId: string | undefined;
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

/**
 * The recursive step of every path query: the parent of each `path` row, one primary-key lookup per
 * step. `lateral (… limit 1)` keeps it a nested loop: with a plain join the planner, which expects a
 * recursive step to yield ten rows, hashes them and scans the whole messages table once per step
 * (6 ms instead of 0.6 ms for a 300-message path in a 300-row table, and worse as the table grows).
 */
function parentStep(path: string): string {
  return `select ${PREFIXED_MESSAGE_COLUMNS}, ${path}.depth + 1 from ${path}
  cross join lateral (select ${MESSAGE_COLUMNS} from messages where messages.id = ${path}.parent_id limit 1) m`;
}

/** Message `$1` and its ancestors up to and including the nearest user message, oldest first. */
const TAIL_SQL = `with recursive tail as (
  select ${MESSAGE_COLUMNS}, 0 as depth from messages where id = $1
  union all
  ${parentStep('tail')}
  where tail.role <> 'user'
) select ${MESSAGE_COLUMNS} from tail order by depth desc`;

/**
 * Locks conversation `$1`, so writers of one conversation (and content updates) go one after the
 * other. No row: no such conversation. The parent's tail is read by a later statement, whose
 * snapshot is taken after the lock: one statement that waited for the lock would still read the
 * parent as it was before the writer it waited for.
 */
const LOCK_SQL = 'select id from conversations where id = $1 for update';

/** How many of the deepest prefix hashes resolution tries before it looks at the whole chain. */
const PROBE = 4;

/** The most messages one insert statement carries. */
const INSERT_BATCH = 500;

/**
 * A `path` CTE (with `depth`, 0 at its leaf) as one JSON text, root first: an array of
 * [id, conversation_id, parent_id, role, content, status, model, usage, created_at in ms,
 * prefix_hash] per message, or null for an empty path (the time is truncated to the millisecond
 * in numeric, exactly as a driver's `Date` of the column is). One value instead of a row per message:
 * `JSON.parse` builds the messages at a third of the Node CPU that decoding hundreds of rows of ten
 * columns takes (see the README's benchmark section), which is where a turn spends its time.
 */
const PATH_JSON = `(select json_agg(json_build_array(id, conversation_id, parent_id, role, content, status, model,
    usage, floor(extract(epoch from created_at)::numeric * 1000), prefix_hash) order by depth desc)::text from path)`;

/** The path to the newest message (the leaf of the active branch) of conversation `$1`, as {@link PATH_JSON}. */
const ACTIVE_PATH_SQL = `with recursive path as (
  select ${MESSAGE_COLUMNS}, 0 as depth from messages
  where id = (select id from messages where conversation_id = $1 order by seq desc limit 1)
  union all
  ${parentStep('path')}
) select ${PATH_JSON} as path`;

/** How the resolve statement finds the deepest stored match of `$1` (prefix hashes, oldest first). */
function foundSql(scopeFilter: string, columns: string): string {
  return `found as (
    select h.position, ${columns}
    from unnest($1::text[]) with ordinality as h(hash, position)
    cross join lateral (
      select m.id, m.conversation_id from messages m
      where m.prefix_hash = h.hash and ${scopeFilter}
      order by m.seq desc limit 1
    ) hit
    order by h.position desc limit 1
  ), path as (
    select ${MESSAGE_COLUMNS}, 0 as depth from messages where id = (select id from found)
    union all
    ${parentStep('path')}
  )`;
}

const PREFIXED_CONVERSATION_COLUMNS = CONVERSATION_COLUMNS.split(', ')
  .map((column) => `c.${column} as c_${column}`)
  .join(', ');

/**
 * In one statement, among the conversations of user `$2` (or of no user): the deepest position of
 * `$1` (prefix hashes, oldest first) that a stored message matches (each position is one index
 * lookup on `prefix_hash`, and the owner is checked per candidate by primary key), the path from the
 * root to that message as {@link PATH_JSON}, whether that message already has children (a branch),
 * and its conversation's columns. No row when nothing matches.
 * The last two parameters name a path the store already holds: when the match is that leaf
 * (`$known`) and its conversation row is still the version the store saw (`$version`, its `xmin`),
 * the path is not walked nor sent (null); see {@link createSqlStore}'s path cache.
 */
function resolveSql(scope: 'user' | 'anonymous'): string {
  const owner = '(select c.user_id from conversations c where c.id = m.conversation_id)';
  const filter = scope === 'user' ? `${owner} = $2` : `${owner} is null`;
  const known = scope === 'user' ? 3 : 2;
  return `with recursive ${foundSql(filter, 'hit.id, hit.conversation_id')}
  select case when found.id = $${known}::uuid and c.xmin::text = $${known + 1}::text then null else ${PATH_JSON} end as path,
    found.position as match_position,
    exists (select 1 from messages child where child.parent_id = found.id) as match_branched,
    c.xmin::text as version,
    ${PREFIXED_CONVERSATION_COLUMNS}
  from found join conversations c on c.id = found.conversation_id`;
}

/**
 * The same within one conversation, found by id (`$2`) or by external id and user (`$2`, `$3`, the
 * user as '' for none), together with that conversation's columns: one row when the conversation
 * exists, with a null path and position when nothing in it matches; no row when it does not exist.
 * The conversation is compared as text so that the planner looks each hash up in `prefix_hash` (a
 * row or two) rather than walking the conversation's `(conversation_id, seq)` index for every hash,
 * which it did when its statistics took a conversation for two rows. The last two parameters are
 * the known path's leaf and version, as in {@link resolveSql}.
 */
function resolveInSql(by: 'id' | 'external'): string {
  const where = by === 'id' ? 'id = $2::uuid' : "external_id = $2 and coalesce(user_id, '') = $3";
  const known = by === 'id' ? 3 : 4;
  return `with recursive c as (
    select ${CONVERSATION_COLUMNS}, xmin::text as version from conversations where ${where}
  ), ${foundSql('m.conversation_id::text = (select id::text from c)', 'hit.id')}
  select case when (select id from found) = $${known}::uuid and c.version = $${known + 1}::text then null
      else ${PATH_JSON} end as path,
    (select position from found) as match_position,
    exists (select 1 from messages child where child.parent_id = (select id from found)) as match_branched,
    c.version,
    ${PREFIXED_CONVERSATION_COLUMNS}
  from c`;
}

/** The SQL of each resolve scope, built once. */
const RESOLVE_SQL = {
  user: resolveSql('user'),
  anonymous: resolveSql('anonymous'),
  id: resolveInSql('id'),
  external: resolveInSql('external'),
};

/**
 * How many parents' chain states a store remembers: the conversations it is serving. Each is two
 * hashes plus the whitespace-free text of an open assistant entry (usually a few KB at most).
 */
const CHAIN_STATE_CACHE = 500;

/** How many loaded paths a store keeps (as their JSON text), and the longest text it keeps. */
const PATH_CACHE = 100;
const PATH_CACHE_MAX_CHARS = 256 * 1024;

/**
 * Appends of one conversation whose parents' chain states are known, in one statement (atomic on
 * its own): several concurrent appends go in together (see {@link createSqlStore}'s group commit).
 * It locks the conversation row first (every parent check reads from it), checks for each append
 * that its parent is still in this conversation with the prefix hash the remembered state belongs
 * to, inserts the messages of the appends that pass (in order), and touches `updated_at`.
 * The parent check locks the parent row (`for share`): when an `updateMessage` of the parent
 * committed while this statement waited for the conversation lock, the lock re-reads the parent's
 * newest version and the check sees its new hash, where a plain read would still see the
 * statement's older snapshot. (`for key share`, what the foreign key check takes, would not: an
 * update that leaves the key alone does not conflict with it.) The parent is found by its id alone
 * and compared outside the locking subquery, whose `limit` keeps the comparison from being pushed
 * into it: statements are planned once per connection, and with the conversation in the same
 * `where`, a plan made on an empty table walked the conversation's `(conversation_id, seq)` index
 * (every message of it) for each append.
 * Returns the (1-based) numbers of the appends it wrote; an append missing from them wrote nothing
 * (the conversation is gone or its parent changed). With them, the conversation row's version
 * (`xmin`) before and after the statement, for the path cache. One text for any number of appends and
 * messages: the values come as one JSON document, so the statement is prepared and planned once
 * (and the driver sends one text instead of serialising thirteen arrays: about a quarter of the
 * statement's client CPU).
 * Parameters: $1 conversation; $2 the batch as JSON text (see {@link batchParameters}):
 * `[appends, rows]`, an append `[parent or null, the parent's prefix hash or null]`, a row
 * `[append number, id, parent, role, content, status, model, usage or null, prefix hash, created at]`.
 */
const APPEND_BATCH_SQL = `with locked as (
    select id, xmin::text as version from conversations where id = $1::uuid for update
  ), batch as (
    select $2::text::jsonb as doc
  ), accepted as (
    select a.number from locked
    cross join batch
    cross join jsonb_array_elements(batch.doc->0) with ordinality as a(append, number)
    where a.append->>0 is null or exists (
      select 1 from (select conversation_id, prefix_hash from messages where id = (a.append->>0)::uuid limit 1 for share) parent
      where parent.conversation_id = locked.id and parent.prefix_hash = a.append->>1
    )
  ), inserted as (
    insert into messages (id, conversation_id, parent_id, role, content, status, model, usage, prefix_hash, created_at)
    select (v.m->>1)::uuid, $1::uuid, (v.m->>2)::uuid, v.m->>3, v.m->4, v.m->>5, v.m->>6, nullif(v.m->7, 'null'::jsonb),
      v.m->>8, (v.m->>9)::timestamptz
    from batch cross join jsonb_array_elements(batch.doc->1) with ordinality as v(m, position)
    where (v.m->>0)::int in (select number from accepted)
    order by v.position
    returning created_at
  ), touched as (
    update conversations set updated_at = (select max(created_at) from inserted)
    where id = $1::uuid and exists (select 1 from inserted)
    returning xmin::text as version
  ) select number::int as number, (select version from locked) as before, (select version from touched) as after
  from accepted`;

/**
 * The append of a new user message after a resolve that answered from a held path without asking
 * the server ({@link createSqlStore}'s held continuation): the one case where the store has not
 * seen whether another writer already stored that message there (a retry that went to another api
 * process). It locks the conversation, and when the parent already has a child with the message's
 * prefix hash it inserts nothing and returns that child (as one {@link PATH_JSON} entry), as a
 * resolve would have matched it; otherwise it checks the parent as {@link APPEND_BATCH_SQL} does and
 * inserts. No row written and none found: the conversation is gone or the parent changed.
 * Parameters: $1 conversation, $2 parent, $3 the parent's prefix hash, $4 id, $5 role, $6 content
 * (JSON text), $7 status, $8 model, $9 usage (JSON text), $10 prefix hash, $11 created at.
 */
const GUARDED_APPEND_SQL = `with locked as (
    select id, xmin::text as version from conversations where id = $1::uuid for update
  ), existing as (
    select id, conversation_id, parent_id, role, content, status, model, usage, created_at, prefix_hash
    from messages where parent_id = $2::uuid and prefix_hash = $10 and exists (select 1 from locked)
    order by seq desc limit 1
  ), accepted as (
    select 1 from locked where not exists (select 1 from existing) and exists (
      select 1 from (select conversation_id, prefix_hash from messages where id = $2::uuid limit 1 for share) parent
      where parent.conversation_id = locked.id and parent.prefix_hash = $3
    )
  ), inserted as (
    insert into messages (id, conversation_id, parent_id, role, content, status, model, usage, prefix_hash, created_at)
    select $4::uuid, $1::uuid, $2::uuid, $5, $6::text::jsonb, $7, $8, $9::text::jsonb, $10, $11::timestamptz
    from accepted
    returning created_at
  ), touched as (
    update conversations set updated_at = (select created_at from inserted)
    where id = $1::uuid and exists (select 1 from inserted)
    returning xmin::text as version
  ) select (select json_build_array(id, conversation_id, parent_id, role, content, status, model, usage,
      floor(extract(epoch from created_at)::numeric * 1000), prefix_hash)::text from existing) as existing,
    exists (select 1 from inserted) as inserted,
    (select version from locked) as before, (select version from touched) as after`;

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

/** How many of a conversation's newest messages a trimmed history is matched against. */
const TRIMMED_MATCH_MESSAGES = 2000;

/** {@link MESSAGE_COLUMNS} of the candidates for a trimmed history, without tool results' content. */
const TRIMMED_CANDIDATE_COLUMNS = MESSAGE_COLUMNS.replace(
  'content',
  `case when role = 'tool' then null else content end as content`,
);

/**
 * Whether `rest` may be a trimmed or compacted history, given the `covered` messages its prefix
 * matched: it ends with a user message, and the prefix match did not reach the answer before it.
 */
function mayBeTrimmed(rest: readonly MessageLike[], covered: number): boolean {
  if (rest.at(-1)?.role !== 'user') return false;
  let lastAnswer = rest.length - 1;
  while (lastAnswer >= 0 && rest[lastAnswer]?.role !== 'assistant') lastAnswer--;
  return lastAnswer !== -1 && covered <= lastAnswer;
}

/** Built once: a schema per call is garbage on every append. */
const newMessagesSchema = z.array(newMessageSchema);

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
    code: 'invalid',
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

/** Messages from {@link PATH_JSON} text, in the shape {@link toMessage} gives. */
function parsePath(text: unknown): StoredMessage[] {
  if (text === null || text === undefined) return [];
  const entries = JSON.parse(text as string) as unknown[][];
  const messages: StoredMessage[] = new Array(entries.length);
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index] as unknown[];
    messages[index] = {
      id: entry[0] as string,
      conversationId: entry[1] as string,
      parentId: entry[2] as string | null,
      role: entry[3] as StoredMessage['role'],
      content: entry[4],
      status: entry[5] as StoredMessage['status'],
      model: entry[6] as string | null,
      usage: (entry[7] as Record<string, unknown> | null) ?? null,
      createdAt: new Date(entry[8] as number),
      prefixHash: entry[9] as string,
    };
  }
  return messages;
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

/**
 * A copy of a held conversation for a caller, as a statement would have given it: new dates, and
 * metadata of its own (`structuredClone` only when there is any; for the whole object it cost
 * 2.6 µs a resolve, a tenth of that this way).
 */
function copyConversation(conversation: Conversation): Conversation {
  return {
    ...conversation,
    createdAt: new Date(conversation.createdAt.getTime()),
    updatedAt: new Date(conversation.updatedAt.getTime()),
    metadata: hasKeys(conversation.metadata) ? structuredClone(conversation.metadata) : {},
  };
}

function hasKeys(object: Record<string, unknown>): boolean {
  for (const _key in object) return true;
  return false;
}

/** The insert rows of an append (one array of ten values per message) and the chain after them. */
interface BuiltRows {
  values: unknown[][];
  lastId: string | undefined;
  lastHash: string;
  state: ProjectionState;
}

/**
 * The rows of an append, each message the parent of the next, with their prefix hashes chained on
 * from `state` (the chain after the parent). Row: id, conversation, parent, role, content, status,
 * model, usage, prefix hash, created at.
 */
function buildRows(
  conversationId: string,
  parentId: string | null,
  messages: readonly z.infer<typeof newMessageSchema>[],
  state: ProjectionState,
  at: Date,
): BuiltRows {
  let current = state;
  let parent = parentId;
  let lastHash = '';
  const values: unknown[][] = [];
  for (const message of messages) {
    const step = advance(current, message as MessageLike);
    current = step.state;
    lastHash = step.hash;
    const id = randomUUID();
    values.push([
      id,
      conversationId,
      parent,
      message.role,
      jsonParameter(message.content ?? null) ?? 'null',
      message.status ?? 'complete',
      message.model === undefined ? null : storableText(message.model),
      jsonParameter(message.usage),
      step.hash,
      at,
    ]);
    parent = id;
  }
  return { values, lastId: values.length > 0 ? (parent ?? undefined) : undefined, lastHash, state: current };
}

/** An append waiting for (or in) its conversation's next batch statement. */
interface QueuedAppend {
  parentId: string | null;
  /** The parent's prefix hash the rows were chained from (null for a root append). */
  parentHash: string | null;
  messages: readonly z.infer<typeof newMessageSchema>[];
  at: Date;
  built: BuiltRows;
  resolve: (stored: StoredMessage[] | Promise<StoredMessage[]>) => void;
  reject: (error: unknown) => void;
}

/**
 * The parameters of {@link APPEND_BATCH_SQL} for `batch`: the conversation and the batch as one
 * JSON text, put together from the rows' values, whose content and usage are JSON text already.
 * Ids, hashes, roles, statuses and times need no escaping; the parent hash and the model are
 * quoted by `JSON.stringify`.
 */
function batchParameters(conversationId: string, batch: readonly QueuedAppend[]): unknown[] {
  let appends = '';
  let rows = '';
  for (let index = 0; index < batch.length; index++) {
    const item = batch[index] as QueuedAppend;
    const parent = item.parentId === null ? 'null' : `"${item.parentId}"`;
    appends += `${index === 0 ? '' : ','}[${parent},${JSON.stringify(item.parentHash)}]`;
    const time = item.at.toISOString();
    for (const row of item.built.values) {
      // append number, id, parent, role, content, status, model, usage, prefix hash, created at
      const rowParent = row[2] === null ? 'null' : `"${row[2] as string}"`;
      rows += `${rows === '' ? '' : ','}[${index + 1},"${row[0] as string}",${rowParent},"${row[3] as string}",${row[4] as string},"${row[5] as string}",${JSON.stringify(row[6])},${(row[7] as string | null) ?? 'null'},"${row[8] as string}","${time}"]`;
    }
  }
  return [conversationId, `[[${appends}],[${rows}]]`];
}

/**
 * The messages an append wrote, from the values it sent: the content and usage are parsed from the
 * JSON text that was stored (a copy, as the database returns it, though with the keys in the order
 * they were given), and the time is the one written.
 */
function storedFrom(values: readonly unknown[][]): StoredMessage[] {
  return values.map((row) => ({
    id: row[0] as string,
    conversationId: row[1] as string,
    parentId: row[2] as string | null,
    role: row[3] as StoredMessage['role'],
    content: JSON.parse(row[4] as string) as unknown,
    status: row[5] as StoredMessage['status'],
    model: row[6] as string | null,
    usage: row[7] === null ? null : (JSON.parse(row[7] as string) as Record<string, unknown>),
    createdAt: new Date((row[9] as Date).getTime()),
    prefixHash: row[8] as string,
  }));
}

/**
 * The entries of {@link PATH_JSON} for the rows of an append, comma-separated (the content and
 * usage are already JSON text), so a cached path can be extended without parsing it.
 */
function pathEntries(values: readonly unknown[][]): string {
  return values
    .map(
      (row) =>
        `[${JSON.stringify(row[0])},${JSON.stringify(row[1])},${JSON.stringify(row[2])},${JSON.stringify(row[3])},${row[4] as string},${JSON.stringify(row[5])},${JSON.stringify(row[6])},${(row[7] as string | null) ?? 'null'},${(row[9] as Date).getTime()},${JSON.stringify(row[8])}]`,
    )
    .join(',');
}

/** A loaded path kept by the store: its leaf, the conversation row's version it is valid for, and its JSON. */
interface CachedPath {
  leafId: string;
  conversationId: string;
  prefixHash: string;
  /** The conversation row's `xmin` the path was read at ('' when not known: never skips a read). */
  version: string;
  text: string;
  /** The conversation, as the resolve that loaded (or last confirmed) the path read it. */
  conversation: Conversation | undefined;
  /** Whether the leaf has replies, as far as this store has seen. */
  branched: boolean;
  /**
   * Whether a resolve may answer from this path without asking the server: it was read (or
   * written) while this store was listening for changes and nothing was announced meanwhile.
   */
  trusted: boolean;
}

/** How long a heard probe vouches for the listening connection (see `createSqlStore`'s probe). */
const PROBE_FRESH_MS = 60_000;
/** How old the last probe heard may get before a resolve sends the next one. */
const PROBE_REFRESH_MS = 30_000;

/** The channel migration 0003's triggers announce changes on (payload: a conversation id, or '*'). */
const CHANGES_CHANNEL = 'haia_conversation_changes';

/** Whether the schema has migration 0003's triggers (one of them stands for all). */
const ANNOUNCES_SQL = `select exists (select 1 from pg_trigger
  where tgrelid = to_regclass('conversations') and tgname = 'haia_conversation_deleted') as present`;

/**
 * Whether `version` (an `xmin`) names one write: not a special transaction id (0 to 2; a frozen
 * row reads as 2, and two different frozen versions would look the same).
 */
function isWriteVersion(version: string | null | undefined): version is string {
  return typeof version === 'string' && /^\d+$/.test(version) && Number(version) > 2;
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
      code: 'invalid',
      message: 'The conversation cursor is not valid: pass the nextCursor of the previous page unchanged',
      cause: error,
    });
  }
}

/** Sets `key` as the newest entry of `map` (its insertion order), dropping the oldest beyond `max`. */
function setNewest<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
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

  /**
   * Where the chain stands after a stored message, by message id, for the messages a turn appends
   * to next (a resolved path's leaf, an append's last message). An append whose parent is here
   * hashes its messages before it touches the database and writes them in one statement; the
   * statement checks the parent's prefix hash, so a stale entry only costs the slower path.
   */
  const chainStates = new Map<string, { prefixHash: string; state: ProjectionState }>();

  function rememberState(id: string, prefixHash: string, state: ProjectionState): void {
    setNewest(chainStates, id, { prefixHash, state }, CHAIN_STATE_CACHE);
  }

  /** The remembered state of `id`, kept as the newest entry: a parent many appends go under stays. */
  function recallState(id: string): { prefixHash: string; state: ProjectionState } | undefined {
    const known = chainStates.get(id);
    if (known !== undefined) setNewest(chainStates, id, known, CHAIN_STATE_CACHE);
    return known;
  }

  /** Remembers the chain state after a path's leaf: its tail from the nearest user message is enough. */
  function rememberPath(path: readonly StoredMessage[]): void {
    const leaf = path.at(-1);
    if (!leaf) return;
    let start = path.length - 1;
    while (start > 0 && path[start]?.role !== 'user') start--;
    rememberState(leaf.id, leaf.prefixHash, stateFromTail(path.slice(start)));
  }

  /**
   * Path cache: the paths this store loaded or extended, as JSON text, by leaf, each with the version
   * (`xmin`) of its conversation's row it is valid for. Every store write to a conversation's
   * messages also writes that row, so an unchanged version means an unchanged path. A resolve names
   * the cached path its history most likely continues; when the match is that leaf and the row is
   * still that version, the server neither walks nor sends the path, and the store parses its copy
   * (fresh objects for every caller). An append that finds the row at the version its parent's path
   * was valid for extends that path to its own last message, with the version it wrote.
   */
  const pathsByLeaf = new Map<string, CachedPath>();
  const leafByHash = new Map<string, string>();

  /**
   * Held paths: while this store listens on {@link CHANGES_CHANNEL} and the schema announces
   * changes (migration 0003), a path it read or wrote stays true until a change of its
   * conversation is announced (a message tree only grows), so a resolve whose whole history is a
   * held path's is answered from it with no statement at all. `heard` counts announcements and
   * changes of the listening state: a path read by a statement during which it moved may be stale.
   */
  let listening = false;
  let announces = false;
  let heard = 0;
  /**
   * This store's probe, a notification it sends through its pool: a `LISTEN` can succeed on a
   * connection that never delivers notifications (PgBouncer in transaction pooling), and a
   * listening connection can die without closing (a network that dropped it). So nothing is trusted
   * until a probe has come back, nor once the last one heard is older than {@link PROBE_FRESH_MS};
   * a resolve sends a new one when it is older than {@link PROBE_REFRESH_MS}, before trust lapses.
   */
  const probe = `probe:${randomUUID()}`;
  let probeHeardAt: number | undefined;
  let probeSentAt: number | undefined;

  /** Whether a change made elsewhere reaches this store: listening, announced, probed lately. */
  function hearsChanges(): boolean {
    return (
      listening && announces && probeHeardAt !== undefined && now().getTime() - probeHeardAt < PROBE_FRESH_MS
    );
  }

  /** Sends a probe when none was heard lately and none is on its way (or it was lost). */
  function refreshProbe(): void {
    if (!listening || closed) return;
    const at = now().getTime();
    if (probeHeardAt !== undefined && at - probeHeardAt < PROBE_REFRESH_MS) return;
    if (probeSentAt !== undefined && at - probeSentAt < PROBE_REFRESH_MS) return;
    probeSentAt = at;
    driver.query('select pg_notify($1, $2)', [CHANGES_CHANNEL, probe]).catch((error: unknown) => {
      logger.debug({ err: error }, 'could not send the change listener its probe');
    });
  }

  /** This store's probe came back: trusted again (what was held before a lapse needs confirming). */
  function probeHeard(): void {
    const lapsed = !hearsChanges();
    probeHeardAt = now().getTime();
    probeSentAt = undefined;
    if (lapsed) distrustAll();
    else heard++;
  }

  /** What this store has heard so far, or -1 when it cannot trust what it reads: taken before a statement. */
  function hearing(): number {
    return hearsChanges() ? heard : -1;
  }

  /** Whether a path read by a statement that began at `since` ({@link hearing}) is still true. */
  function stillHeld(since: number): boolean {
    return since !== -1 && since === hearing();
  }

  /** Stops trusting every held path (kept as guesses for the resolve statement). */
  function distrustAll(): void {
    heard++;
    for (const entry of pathsByLeaf.values()) entry.trusted = false;
  }

  /** Forgets the paths of a conversation that changed. */
  function forgetConversation(conversationId: string): void {
    heard++;
    for (const entry of [...pathsByLeaf.values()]) {
      if (entry.conversationId !== conversationId) continue;
      pathsByLeaf.delete(entry.leafId);
      if (leafByHash.get(entry.prefixHash) === entry.leafId) leafByHash.delete(entry.prefixHash);
    }
  }

  async function checkAnnounces(): Promise<void> {
    const rows = await driver.query<{ present: unknown }>(ANNOUNCES_SQL);
    announces = rows[0]?.present === true;
    heard++;
  }

  const stopListening = driver
    .listen(CHANGES_CHANNEL, {
      onNotify(payload) {
        if (payload === probe) probeHeard();
        else if (payload === '*') distrustAll();
        else if (!payload.startsWith('probe:')) forgetConversation(payload);
      },
      onListening(started) {
        listening = started;
        probeHeardAt = undefined;
        probeSentAt = undefined;
        distrustAll();
        if (started) {
          checkAnnounces().catch((error: unknown) => {
            logger.debug({ err: error }, 'could not check for change announcements');
          });
          refreshProbe();
        }
      },
    })
    .catch((error: unknown) => {
      logger.debug({ err: error }, 'could not listen for conversation changes');
      return async () => {};
    });

  /**
   * The held path that is exactly the history `hash` ends with, if it may answer this resolve: a
   * path of a conversation in the resolve's scope (the id, the external id and user, or the user).
   */
  function heldPath(hash: string, scope: ResolveScope): CachedPath | undefined {
    refreshProbe();
    if (!hearsChanges()) return undefined;
    const leaf = leafByHash.get(hash);
    const entry = leaf === undefined ? undefined : pathsByLeaf.get(leaf);
    const conversation = entry?.conversation;
    if (entry === undefined || !entry.trusted || conversation === undefined) return undefined;
    const owner = conversation.userId ?? undefined;
    const fits =
      scope.conversationId !== undefined
        ? conversation.id === scope.conversationId && (scope.userId === undefined || owner === scope.userId)
        : scope.externalId !== undefined
          ? conversation.externalId === scope.externalId && owner === scope.userId
          : owner === scope.userId;
    if (!fits) return undefined;
    // Kept as the newest entry: a path many turns regenerate from stays.
    pathsByLeaf.delete(entry.leafId);
    pathsByLeaf.set(entry.leafId, entry);
    return entry;
  }

  /**
   * Held continuations not yet written: parent id → the prefix hash of the new user message a
   * resolve answered from that held path. The append of exactly that message checks for one
   * stored meanwhile by another writer ({@link GUARDED_APPEND_SQL}).
   */
  const unverified = new Map<string, string>();

  function cachePath(entry: CachedPath): void {
    if (entry.text.length > PATH_CACHE_MAX_CHARS) return;
    if (!isWriteVersion(entry.version) && !entry.trusted) return;
    pathsByLeaf.delete(entry.leafId);
    pathsByLeaf.set(entry.leafId, entry);
    leafByHash.set(entry.prefixHash, entry.leafId);
    if (pathsByLeaf.size > PATH_CACHE) {
      const oldest = pathsByLeaf.values().next().value;
      if (oldest !== undefined) {
        pathsByLeaf.delete(oldest.leafId);
        if (leafByHash.get(oldest.prefixHash) === oldest.leafId) leafByHash.delete(oldest.prefixHash);
      }
    }
  }

  /** The cached path whose leaf has the deepest of `hashes`, if any: the likely match. */
  function guessPath(hashes: readonly string[]): CachedPath | undefined {
    for (let index = hashes.length - 1; index >= 0; index--) {
      const leaf = leafByHash.get(hashes[index] as string);
      const entry = leaf === undefined ? undefined : pathsByLeaf.get(leaf);
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  /**
   * Runs a resolve statement with the likely cached path, and gives its row with the path's JSON
   * text: the cached copy when the server confirmed it, else the one it sent (then cached).
   */
  async function queryResolve(
    text: string,
    hashes: readonly string[],
    key: readonly unknown[],
  ): Promise<{ row: ResolveRow | undefined; path: string | null; since: number; seen: number }> {
    const guess = guessPath(hashes);
    const since = hearing();
    const seen = heard;
    const row = (
      await driver.query<ResolveRow>(text, [
        hashes,
        ...key,
        guess?.leafId ?? null,
        guess !== undefined && isWriteVersion(guess.version) ? guess.version : null,
      ])
    )[0];
    if (!row || row.match_position === null || row.match_position === undefined) {
      return { row, path: null, since, seen };
    }
    if (row.path === null && guess !== undefined) {
      // A change announced meanwhile may be one the version does not show (a message changed by
      // hand): the copy is used this once (the statement's answer), not kept.
      if (heard !== seen) return { row, path: guess.text, since, seen };
      cachePath({
        ...guess,
        conversation: toConversation(conversationColumns(row)),
        branched: row.match_branched === true,
        trusted: stillHeld(since),
      });
      return { row, path: guess.text, since, seen };
    }
    return { row, path: row.path, since, seen };
  }

  /** Caches a path the server sent, by its leaf, with the conversation it belongs to. */
  function cacheLoadedPath(
    text: string | null,
    path: readonly StoredMessage[],
    match: ResolveRow,
    conversation: Conversation,
    since: number,
    seen: number,
  ): void {
    const leaf = path.at(-1);
    if (text === null || leaf === undefined || heard !== seen) return;
    cachePath({
      leafId: leaf.id,
      conversationId: leaf.conversationId,
      prefixHash: leaf.prefixHash,
      version: isWriteVersion(match.version) ? match.version : '',
      text,
      conversation,
      branched: match.match_branched === true,
      trusted: stillHeld(since),
    });
  }

  /**
   * After an append wrote `item` and the conversation row went from `before` to `after`, in a
   * statement that began at `since` ({@link hearing}): the parent's path plus the new messages. Its
   * version is `after` only when the parent's path was read at `before` (no other write between);
   * it stays held when the parent's was and nothing was announced meanwhile.
   */
  function extendPath(
    conversationId: string,
    item: Pick<QueuedAppend, 'parentId' | 'built'>,
    before: unknown,
    after: unknown,
    since: number,
  ): void {
    const { built } = item;
    if (built.lastId === undefined || typeof after !== 'string') return;
    const entries = pathEntries(built.values);
    if (item.parentId === null) {
      cachePath({
        leafId: built.lastId,
        conversationId,
        prefixHash: built.lastHash,
        version: after,
        text: `[${entries}]`,
        conversation: undefined,
        branched: false,
        trusted: false,
      });
      return;
    }
    const parent = pathsByLeaf.get(item.parentId);
    if (parent === undefined || parent.conversationId !== conversationId) return;
    parent.branched = true;
    cachePath({
      leafId: built.lastId,
      conversationId,
      prefixHash: built.lastHash,
      version: parent.version === before ? after : '',
      text: `${parent.text.slice(0, -1)},${entries}]`,
      conversation: parent.conversation,
      branched: false,
      trusted: parent.trusted && stillHeld(since),
    });
  }

  /**
   * Runs one operation: refused once the store is closed, and a driver error becomes a `StoreError`,
   * logged as a warning on the call's logger (`call.logger`, bound to `component: 'store'` here, on
   * the failure path only) or else on the store's.
   */
  function guard<T>(operation: string, work: () => Promise<T>, call?: StoreCallOptions): Promise<T> {
    if (closed) {
      return Promise.reject(
        new StoreError({
          code: 'unavailable',
          message: `${operation} was called after the store was closed: create a new store`,
        }),
      );
    }
    const failed = (error: unknown): never => {
      const mapped = toStoreError(error, { backend: driver.backend, target: driver.target, operation });
      if (mapped !== error) {
        const target = call?.logger === undefined ? logger : childLogger(call.logger, { component: 'store' });
        target.warn({ operation, code: mapped.code, err: mapped }, 'store operation failed');
      }
      throw mapped;
    };
    // `catch` on the work's promise, not an async wrapper: one promise per call instead of three.
    try {
      return work().catch(failed);
    } catch (error) {
      return Promise.reject(error).catch(failed);
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
    return alignClientToolTail(await matchConversation(input), input.messages);
  }

  /** The prefix match of `input`'s history (see {@link alignClientToolTail} for what it cannot see). */
  async function matchConversation(input: ResolveConversationInput): Promise<ResolvedConversation> {
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

    // Deepest stored match of the incoming chain, within the conversation or the user's conversations.
    const { hashes } = hashChain(rest);
    const lastHash = hashes.at(-1);
    // Only the newest message, under HAIA's own id: it goes after the active branch, whatever it
    // hashes like (the first message's text again would match the root, as a regenerate of it).
    const newestOnly = conversationId !== undefined && rest.length === 1 && rest[0]?.role === 'user';
    // A history ending with a client's tool results is never answered from a held path: they share
    // the hash of the call before them, so a held leaf may be an older state of the turn than what
    // another process stored since (the results and the model's next call), and only the server knows.
    const held =
      lastHash === undefined ||
      newestOnly ||
      rest.at(-1)?.role === 'tool' ||
      (conversationId !== undefined && !UUID.test(conversationId))
        ? undefined
        : heldPath(lastHash, { conversationId, externalId, userId });
    if (held?.conversation !== undefined) {
      // The whole history is a path this store holds: nothing to ask the server.
      const path = parsePath(held.text);
      rememberPath(path);
      return {
        // A copy: callers get objects of their own, as from a statement.
        conversation: copyConversation(held.conversation),
        created: false,
        path,
        newMessages: [],
        parentId: held.leafId,
        branched: held.branched,
        system,
        head: [],
      };
    }
    // A held path plus one new user message (a conversation's next turn): the match is the held
    // leaf, unless another writer stored this very message under it, which its append checks.
    const newest = rest.at(-1);
    const previousHash = hashes.length >= 2 ? hashes[hashes.length - 2] : undefined;
    const base =
      lastHash === undefined || previousHash === undefined || newest?.role !== 'user' || held !== undefined
        ? undefined
        : heldPath(previousHash, { conversationId, externalId, userId });
    if (lastHash !== undefined && newest !== undefined && base?.conversation !== undefined) {
      const path = parsePath(base.text);
      rememberPath(path);
      setNewest(unverified, base.leafId, lastHash, CHAIN_STATE_CACHE);
      return {
        conversation: copyConversation(base.conversation),
        created: false,
        path,
        newMessages: [newest],
        parentId: base.leafId,
        branched: base.branched,
        system,
        head: [],
      };
    }
    // A continuing client matches at (or next to) its newest message: try the deepest few hashes
    // first and fall back to the whole chain only when none of them matches.
    const probe = hashes.length > PROBE ? hashes.length - PROBE : 0;
    let offset = probe;
    let conversation: Conversation | undefined;
    let created = false;
    let match: ResolveRow | undefined;
    let pathText: string | null = null;
    let since = -1;
    let seen = -1;

    if (conversationId !== undefined || externalId !== undefined) {
      const by = conversationId !== undefined ? 'id' : 'external';
      const key = by === 'id' ? [conversationId] : [externalId, userId ?? ''];
      if (by === 'id' && !UUID.test(conversationId ?? '')) {
        // Not an id this store could have made.
      } else if (hashes.length > 0 && !newestOnly) {
        // The conversation and the match in one statement.
        let result = await queryResolve(RESOLVE_SQL[by], hashes.slice(probe), key);
        if (result.row && result.row.match_position === null && probe > 0) {
          offset = 0;
          result = await queryResolve(RESOLVE_SQL[by], hashes, key);
        }
        const row = result.row;
        if (row) {
          conversation = toConversation(conversationColumns(row));
          if (row.match_position !== null) {
            match = row;
            pathText = result.path;
            ({ since, seen } = result);
          }
        }
      } else {
        conversation =
          by === 'id'
            ? await findConversation(driver, conversationId ?? '')
            : await findByExternalId(driver, externalId ?? '', userId);
      }
      if (by === 'id' && (!conversation || (userId !== undefined && conversation.userId !== userId))) {
        throw new StoreError({
          code: 'not-found',
          message: `Conversation ${conversationId} does not exist: drop the conversation id header to start a new one`,
        });
      }
      if (!conversation) {
        ({ conversation, created } = await insertConversation(driver, { userId, externalId, client }));
      }
    } else if (hashes.length > 0) {
      const scope = userId !== undefined ? 'user' : 'anonymous';
      const owner = scope === 'user' ? [userId] : [];
      let result = await queryResolve(RESOLVE_SQL[scope], hashes.slice(probe), owner);
      if (!result.row && probe > 0) {
        offset = 0;
        result = await queryResolve(RESOLVE_SQL[scope], hashes, owner);
      }
      match = result.row;
      pathText = result.path;
      ({ since, seen } = result);
    }

    if (conversation && !created && !newestOnly) {
      // A history trimmed or compacted by the client: its start no longer matches the stored root.
      const covered = match ? offset + Number(match.match_position) : 0;
      if (mayBeTrimmed(rest, covered)) {
        const trimmed = await matchTrimmed(conversation.id, rest, covered);
        if (trimmed) return { conversation, created: false, ...trimmed, system };
      }
    }

    const path = match ? parsePath(pathText) : [];
    const leaf = path.at(-1);
    if (match && leaf) {
      rememberPath(path);
      const found = conversation ?? toConversation(conversationColumns(match));
      if (pathText === match.path) cacheLoadedPath(pathText, path, match, found, since, seen);
      return {
        conversation: found,
        created: false,
        path,
        newMessages: rest.slice(offset + Number(match.match_position)),
        parentId: leaf.id,
        branched: match.match_branched === true,
        system,
        head: [],
      };
    }

    if (conversation && !created) {
      // A known conversation whose stored paths the history does not continue, or (not matched at
      // all) only its newest message, sent under HAIA's own id: the active branch is the history. (An
      // external id is OpenWebUI's, which always resends the whole history: a lone message that
      // matches nothing there is its first message edited, a new root branch below.)
      const newest = newestOnly ? rest[0] : undefined;
      if (newest !== undefined) {
        const path = parsePath(
          (await driver.query<{ path: unknown }>(ACTIVE_PATH_SQL, [conversation.id]))[0]?.path,
        );
        rememberPath(path);
        const leaf = path.at(-1);
        // The same message again on an unanswered leaf (a retry after the model failed): it is
        // stored already, the new answer goes under it.
        const retried = leaf?.role === 'user' && visibleText(leaf) === visibleText(newest);
        return {
          conversation,
          created: false,
          path,
          newMessages: retried ? [] : rest,
          parentId: leaf?.id ?? null,
          branched: false,
          system,
          head: [],
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
        head: [],
      };
    }

    if (!conversation) ({ conversation, created } = await insertConversation(driver, { userId, client }));
    return {
      conversation,
      created,
      path: [],
      newMessages: rest,
      parentId: null,
      branched: false,
      system,
      head: [],
    };
  }

  /**
   * The stretch of conversation `conversationId` that the trimmed history `rest` repeats
   * ({@link matchTrimmedHistory}), among its newest {@link TRIMMED_MATCH_MESSAGES} messages.
   */
  async function matchTrimmed(conversationId: string, rest: readonly MessageLike[], covered: number) {
    // Tool results take no part in matching and may be large: only the matched stretch's are read.
    const rows = await driver.query<MessageRow>(
      `select ${TRIMMED_CANDIDATE_COLUMNS} from (select ${MESSAGE_COLUMNS}, seq from messages
        where conversation_id = $1 order by seq desc limit $2) newest order by seq`,
      [conversationId, TRIMMED_MATCH_MESSAGES],
    );
    const trimmed = matchTrimmedHistory(rows.map(toMessage), rest, covered);
    const results = trimmed?.path.filter((message) => message.role === 'tool') ?? [];
    if (results.length > 0) {
      const contents = await driver.query<{ id: string; content: unknown }>(
        'select id, content from messages where id = any($1::uuid[])',
        [results.map((message) => message.id)],
      );
      const byId = new Map(contents.map((row) => [row.id, toJson(row.content)]));
      for (const message of results) message.content = byId.get(message.id) ?? null;
    }
    // The chain state after the match, for the append that follows (from a user message it holds).
    if (trimmed?.path.some((message) => message.role === 'user')) rememberPath(trimmed.path);
    return trimmed;
  }

  /**
   * Group commit: the conversations with an append statement in flight, each with the appends that
   * arrived meanwhile. Appends to one conversation wait for each other on its row lock anyway; here
   * they wait in Node instead, and all that arrived while a statement was in flight go in the next
   * one (one round trip, one lock, one commit, one `updated_at` update for all of them).
   */
  const appendQueues = new Map<string, QueuedAppend[]>();

  /** Queues `item` on its conversation, or sends it now when nothing is in flight there. */
  function enqueueAppend(conversationId: string, item: QueuedAppend): void {
    const waiting = appendQueues.get(conversationId);
    if (waiting !== undefined) {
      waiting.push(item);
      return;
    }
    appendQueues.set(conversationId, []);
    void drainAppends(conversationId, [item]);
  }

  /** Writes `batch`, then every batch that queued up behind it, until the conversation's queue is empty. */
  async function drainAppends(conversationId: string, first: QueuedAppend[]): Promise<void> {
    let batch: QueuedAppend[] | undefined = first;
    while (batch !== undefined) {
      try {
        await writeBatch(conversationId, batch);
      } catch (error) {
        // writeBatch settles its appends itself; this only keeps the queue moving if it did not.
        for (const item of batch) item.reject(error);
      }
      const waiting = appendQueues.get(conversationId) ?? [];
      if (waiting.length === 0) {
        appendQueues.delete(conversationId);
        batch = undefined;
      } else {
        // At most INSERT_BATCH messages a statement (an append alone may have up to that many).
        let count = 0;
        let take = 0;
        while (take < waiting.length) {
          count += (waiting[take] as QueuedAppend).built.values.length;
          if (take > 0 && count > INSERT_BATCH) break;
          take++;
        }
        batch = waiting.splice(0, take);
      }
    }
  }

  /**
   * One statement for `batch`; settles every append in it and never throws. An append whose parent
   * check failed goes on to the transaction (which says why, or chains from the parent's new text).
   * When the statement fails, each append is sent again on its own, so one bad append fails alone;
   * with the same ids, so a batch that did commit before its connection broke is not written twice.
   */
  async function writeBatch(conversationId: string, batch: readonly QueuedAppend[]): Promise<void> {
    let written: Set<number>;
    let before: unknown;
    let after: unknown;
    const since = hearing();
    const seen = heard;
    try {
      const rows = await driver.query<{ number: unknown; before: unknown; after: unknown }>(
        APPEND_BATCH_SQL,
        batchParameters(conversationId, batch),
      );
      written = new Set(rows.map((row) => Number(row.number)));
      before = rows[0]?.before;
      after = rows[0]?.after;
    } catch (error) {
      if (batch.length === 1) (batch[0] as QueuedAppend).reject(error);
      else for (const item of batch) await writeBatch(conversationId, [item]);
      return;
    }
    for (let index = 0; index < batch.length; index++) {
      const item = batch[index] as QueuedAppend;
      const { built } = item;
      try {
        if (written.has(index + 1) && built.lastId !== undefined) {
          rememberState(built.lastId, built.lastHash, built.state);
          if (heard === seen) extendPath(conversationId, item, before, after, since);
          item.resolve(storedFrom(built.values));
        } else {
          // Nothing was written for it: the conversation is gone or the parent changed.
          item.resolve(appendInTransaction(conversationId, item.parentId, item.messages, item.at));
        }
      } catch (error) {
        item.reject(error);
      }
    }
  }

  async function appendMessages(
    conversationId: string,
    parentId: string | null,
    messages: NewMessage[],
  ): Promise<StoredMessage[]> {
    const parsed = newMessagesSchema.safeParse(messages);
    if (!parsed.success) throw invalid('appendMessages messages', parsed.error);
    if (!UUID.test(conversationId)) throw notFoundConversation(conversationId);
    if (parentId !== null && !UUID.test(parentId)) throw notInConversation(parentId, conversationId);
    // One clock reading per append, whichever path writes it.
    const at = now();
    const known = parentId === null ? undefined : recallState(parentId);
    if (
      (parentId === null || known !== undefined) &&
      parsed.data.length > 0 &&
      parsed.data.length <= INSERT_BATCH
    ) {
      const built = buildRows(conversationId, parentId, parsed.data, known?.state ?? INITIAL_STATE, at);
      const guard = parentId === null ? undefined : unverified.get(parentId);
      if (parentId !== null && known !== undefined && guard !== undefined) {
        unverified.delete(parentId);
        if (parsed.data.length === 1 && built.lastHash === guard) {
          return guardedAppend(conversationId, parentId, known.prefixHash, parsed.data, built, at);
        }
      }
      return new Promise<StoredMessage[]>((resolve, reject) => {
        enqueueAppend(conversationId, {
          parentId,
          parentHash: known?.prefixHash ?? null,
          messages: parsed.data,
          at,
          built,
          resolve,
          reject,
        });
      });
    }
    return appendInTransaction(conversationId, parentId, parsed.data, at);
  }

  /**
   * The append of a held continuation's user message ({@link GUARDED_APPEND_SQL}): the message
   * written, or the same message another writer stored there first, or (the conversation gone or
   * the parent changed) the transaction below, which says why.
   */
  async function guardedAppend(
    conversationId: string,
    parentId: string,
    parentHash: string,
    messages: readonly z.infer<typeof newMessageSchema>[],
    built: BuiltRows,
    at: Date,
  ): Promise<StoredMessage[]> {
    const row = built.values[0] as unknown[];
    const since = hearing();
    const seen = heard;
    const [result] = await driver.query<{
      existing: unknown;
      inserted: unknown;
      before: unknown;
      after: unknown;
    }>(GUARDED_APPEND_SQL, [
      conversationId,
      parentId,
      parentHash,
      row[0],
      row[3],
      row[4],
      row[5],
      row[6],
      row[7],
      row[8],
      at.toISOString(),
    ]);
    if (result?.inserted === true && built.lastId !== undefined) {
      rememberState(built.lastId, built.lastHash, built.state);
      if (heard === seen) extendPath(conversationId, { parentId, built }, result.before, result.after, since);
      return storedFrom(built.values);
    }
    const existing = typeof result?.existing === 'string' ? parsePath(`[${result.existing}]`) : [];
    const found = existing[0];
    if (found !== undefined) {
      // The same visible message, so the chain goes on from it as from the one not written.
      rememberState(found.id, found.prefixHash, built.state);
      return existing;
    }
    return appendInTransaction(conversationId, parentId, messages, at);
  }

  /**
   * The append that reads the parent first: a transaction that locks the conversation, reads the
   * parent's tail up to the nearest user message, chains the messages on from it and inserts them.
   * For parents this store does not know (or that changed), and the one that gives `not-found`.
   */
  async function appendInTransaction(
    conversationId: string,
    parentId: string | null,
    messages: readonly z.infer<typeof newMessageSchema>[],
    at: Date,
  ): Promise<StoredMessage[]> {
    const { stored, built } = await driver.transaction(async (transaction) => {
      // The row lock serialises writers of one conversation: each append sees the previous one.
      const locked = await transaction.query(LOCK_SQL, [conversationId]);
      if (locked.length === 0) {
        // Gone: whatever this store still holds of it (its announcement may not have come yet) goes too.
        forgetConversation(conversationId);
        throw notFoundConversation(conversationId);
      }
      const tailRows = parentId === null ? [] : await transaction.query<MessageRow>(TAIL_SQL, [parentId]);
      if (
        parentId !== null &&
        (tailRows.length === 0 || tailRows.at(-1)?.conversation_id !== conversationId)
      ) {
        forgetConversation(conversationId);
        throw notInConversation(parentId, conversationId);
      }
      const built = buildRows(conversationId, parentId, messages, stateFromTail(tailRows.map(toMessage)), at);
      const values = built.values;
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
      return { stored, built };
    });
    // Remembered once committed (a rolled-back append leaves nothing behind).
    if (built.lastId !== undefined) rememberState(built.lastId, built.lastHash, built.state);
    return stored;
  }

  async function updateMessage(
    id: string,
    changes: Partial<Pick<StoredMessage, 'status' | 'usage' | 'content' | 'model'>>,
  ): Promise<StoredMessage> {
    const parsed = updateMessageSchema.safeParse(changes);
    if (!parsed.success) throw invalid('updateMessage changes', parsed.error);
    if (!UUID.test(id)) throw notFoundMessage(id);
    return driver.transaction(async (transaction) => {
      // The conversation row first, as appends and deletes take it: an append under this message
      // waits for this update (and then sees its new hash), and the two cannot deadlock.
      await transaction.query(
        'select id from conversations where id = (select conversation_id from messages where id = $1) for update',
        [id],
      );
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
          changes.model == null ? null : storableText(changes.model),
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
      chainStates.delete(id);
      forgetConversation(current.conversationId);
      return toMessage(result);
    });
  }

  async function getConversation(id: string): Promise<ConversationWithMessages | undefined> {
    const conversation = await findConversation(driver, id);
    if (!conversation) return undefined;
    const messages = parsePath((await driver.query<{ path: unknown }>(ACTIVE_PATH_SQL, [id]))[0]?.path);
    rememberPath(messages);
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
    forgetConversation(id);
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
    // The limit is a literal (a validated integer): statements are planned once, without their
    // parameters, and a generic plan with `limit $n` assumes a tenth of the table and may sort.
    const rows = await driver.query<ConversationRow>(
      `select ${CONVERSATION_COLUMNS} from conversations
       ${conditions.length > 0 ? `where ${conditions.join(' and ')}` : ''}
       order by updated_at desc, id desc limit ${Math.trunc(limit) + 1}`,
      parameters,
    );
    const conversations = rows.slice(0, limit).map(toConversation);
    const last = conversations.at(-1);
    return { conversations, nextCursor: rows.length > limit && last ? encodeCursor(last) : undefined };
  }

  async function deleteConversation(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const rows = await driver.query('delete from conversations where id = $1 returning id', [id]);
    forgetConversation(id);
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
    resolveConversation: (input, call) =>
      guard('resolveConversation', () => resolveConversation(input), call),
    appendMessages: (conversationId, parentId, messages, call) =>
      guard('appendMessages', () => appendMessages(conversationId, parentId, messages), call),
    updateMessage: (id, changes, call) => guard('updateMessage', () => updateMessage(id, changes), call),
    getConversation: (id, call) => guard('getConversation', () => getConversation(id), call),
    getMessages: (conversationId, call) => guard('getMessages', () => getMessages(conversationId), call),
    updateConversation: (id, changes, call) =>
      guard('updateConversation', () => updateConversation(id, changes), call),
    listConversations: (listOptions, call) =>
      guard('listConversations', () => listConversations(listOptions), call),
    deleteConversation: (id, call) => guard('deleteConversation', () => deleteConversation(id), call),
    ping: () =>
      guard('ping', async () => {
        await driver.query('select 1');
      }),
    migrate: () =>
      guard('migrate', async () => {
        const result = await runMigrations(driver, { schema, logger });
        await checkAnnounces().catch(() => {
          announces = false;
        });
        return result;
      }),
    async close() {
      if (closed) return;
      closed = true;
      listening = false;
      await (await stopListening)();
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
