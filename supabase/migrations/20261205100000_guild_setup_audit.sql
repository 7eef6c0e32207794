-- Setting a server up from Discord (`/jules-setup`): who set the default key and when, and an audit trail of
-- every change to a guild's configuration and quotas.
--
-- The trail is its own table, not task_events: a configuration change belongs to no task (task_events.task_id is
-- not null and everything that reads it reads it per task), and its detail holds role lists, which task_events'
-- flat detail type does not. It is written by triggers on guilds and guild_quotas, in the statement that makes
-- the change, so no change can be made without its row (from Discord, the CLI or SQL) and no row can claim a
-- change that was rolled back. `updated_by` on both tables says who: the member's Discord id when the change came
-- from Discord, null from the CLI.

-- When the default key was last set, and by whom (null: from the CLI). The key itself is never shown back.
alter table public.guilds add column if not exists default_key_set_at timestamptz null;
alter table public.guilds add column if not exists default_key_set_by text null;
alter table public.guilds add column if not exists updated_by text null;
alter table public.guild_quotas add column if not exists updated_by text null;

create table if not exists public.guild_events (
  id          bigint generated always as identity primary key,
  guild_id    text not null,
  -- The Discord id of the member who made the change; null when it came from the CLI.
  actor_id    text null,
  -- `settings_changed` (guilds) or `quotas_changed` (guild_quotas).
  kind        text not null
    constraint guild_events_kind_shape check (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
  -- The changed columns and their new values. The key is never among them: a new key shows as
  -- `"default_key": "set"`, and the trigger below never copies default_jules_key.
  detail      jsonb not null default '{}'::jsonb
    constraint guild_events_detail_object check (jsonb_typeof(detail) = 'object')
    constraint guild_events_detail_small check (octet_length(detail::text) <= 4096)
    constraint guild_events_detail_no_key check (not (detail ?| array['default_jules_key', 'key', 'api_key', 'jules_key', 'token', 'secret', 'ciphertext'])),
  created_at  timestamptz not null default now()
);

create index if not exists guild_events_guild_idx on public.guild_events (guild_id, id desc);

-- Append-only, like task_events.
create or replace trigger guild_events_append_only before update or delete on public.guild_events
  for each row execute function public.jo_refuse_task_event_change();
create or replace trigger guild_events_no_truncate before truncate on public.guild_events
  for each statement execute function public.jo_refuse_task_event_change();

select public.jo_secure_table('public.guild_events', p_append_only => true);

-- Appends the change a guilds or guild_quotas write made: the columns whose value differs, with their new value.
-- Bookkeeping columns are left out, and the key's ciphertext always (a rotation re-encrypts it and is no change
-- of configuration); a new key shows through default_key_set_at. A write that changes nothing appends nothing.
create or replace function public.jo_audit_guild_change()
returns trigger
language plpgsql
as $$
declare
  old_row jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) else '{}'::jsonb end;
  new_row jsonb := to_jsonb(new);
  changed jsonb := '{}'::jsonb;
  field text;
begin
  for field in select jsonb_object_keys(new_row) loop
    continue when field in ('guild_id', 'created_at', 'updated_at', 'updated_by', 'default_jules_key', 'has_default_key', 'default_key_set_by');
    continue when tg_op = 'INSERT' and new_row -> field = 'null'::jsonb;
    if (old_row -> field) is distinct from (new_row -> field) then
      if field = 'default_key_set_at' then
        changed := changed || jsonb_build_object('default_key', 'set');
      else
        changed := changed || jsonb_build_object(field, new_row -> field);
      end if;
    end if;
  end loop;
  if changed <> '{}'::jsonb then
    insert into public.guild_events (guild_id, actor_id, kind, detail)
    values (
      new.guild_id,
      new.updated_by,
      case when tg_table_name = 'guild_quotas' then 'quotas_changed' else 'settings_changed' end,
      changed
    );
  end if;
  return null;
end
$$;

create or replace trigger guilds_audit after insert or update on public.guilds
  for each row execute function public.jo_audit_guild_change();
create or replace trigger guild_quotas_audit after insert or update on public.guild_quotas
  for each row execute function public.jo_audit_guild_change();

select public.jo_secure_functions();
