-- Every change that can make a loaded conversation path stale is announced on the channel
-- `haia_conversation_changes`, with the conversation's id as the payload ('*' for a truncate), to
-- every store listening on this database: a store may then answer a resolve from the paths it
-- holds without asking the server (see the package README, "Path cache").
-- Inserting messages is not announced: the message tree only grows, and a held path stays true
-- when a message is added under it. What is announced: a conversation deleted or its owner, ids,
-- title or metadata changed; a message updated or deleted.
-- PostgreSQL sends identical notifications of one transaction once, so a conversation deleted
-- with all its messages (on delete cascade) is one notification.

create function haia_notify_conversation_change() returns trigger
language plpgsql as $$
begin
  if tg_level = 'STATEMENT' then
    perform pg_notify('haia_conversation_changes', '*');
  elsif tg_table_name = 'conversations' then
    perform pg_notify('haia_conversation_changes', old.id::text);
  else
    perform pg_notify('haia_conversation_changes', old.conversation_id::text);
  end if;
  return null;
end
$$;

create trigger haia_conversation_deleted after delete on conversations
  for each row execute function haia_notify_conversation_change();

-- Appends touch updated_at on every turn: only the columns a resolve answers with are announced.
create trigger haia_conversation_updated after update on conversations
  for each row
  when (old.id is distinct from new.id or old.user_id is distinct from new.user_id
    or old.external_id is distinct from new.external_id or old.client is distinct from new.client
    or old.title is distinct from new.title or old.metadata is distinct from new.metadata)
  execute function haia_notify_conversation_change();

create trigger haia_message_changed after update or delete on messages
  for each row execute function haia_notify_conversation_change();

create trigger haia_conversations_truncated after truncate on conversations
  for each statement execute function haia_notify_conversation_change();

create trigger haia_messages_truncated after truncate on messages
  for each statement execute function haia_notify_conversation_change();
