-- HAIA conversation memory: conversations and branch-aware messages.
-- Timestamps are written by the store (its injectable clock), in milliseconds.

create table conversations (
  id uuid primary key,
  user_id text,
  title text,
  -- An id the client gave the conversation, such as an OpenWebUI chat id.
  external_id text,
  -- Which client created it: openwebui, librechat, openai-sdk, ...
  client text,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  metadata jsonb not null default '{}'::jsonb
);

-- listConversations: newest first, per user or overall, keyset-paginated on (updated_at, id).
create index conversations_user_updated on conversations (user_id, updated_at desc, id desc);
create index conversations_updated on conversations (updated_at desc, id desc);
-- One conversation per client id (and user): resolveConversation({ externalId }) finds or creates it.
create unique index conversations_external on conversations (external_id, (coalesce(user_id, '')))
  where external_id is not null;

create table messages (
  id uuid primary key,
  conversation_id uuid not null references conversations (id) on delete cascade,
  -- The message before this one on its branch; edits and regenerations give a parent several children.
  parent_id uuid references messages (id) on delete cascade,
  -- Insertion order: the newest message of a conversation is the leaf of its active branch.
  seq bigint generated always as identity,
  role text not null check (role in ('system', 'user', 'assistant', 'tool')),
  content jsonb not null,
  status text not null default 'complete' check (status in ('complete', 'partial', 'error')),
  model text,
  usage jsonb,
  -- sha256 of the visible projection of the path from the root to this message (README: resolution).
  prefix_hash text not null,
  created_at timestamptz not null
);

-- Resolution looks messages up by prefix hash only; the conversation scope is applied after the index.
create index messages_prefix_hash on messages (prefix_hash);
-- The active branch (newest leaf) and ordered reads of one conversation.
create index messages_conversation_seq on messages (conversation_id, seq desc);
-- Children of a message (branch detection, cascades).
create index messages_parent on messages (parent_id);
