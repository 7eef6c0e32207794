-- The audit trail: who did what to which task, when, with what outcome. Every admission, refusal,
-- confirmation, rejection, Jules state change, message to Jules, cancellation and failure appends a row.
-- Append-only, enforced here: the service role may read and insert, and a trigger refuses UPDATE, DELETE
-- and TRUNCATE from anyone (an owner who must purge old rows for retention drops the trigger knowingly).
--
-- No foreign key to tasks: a refused request has an event but no task row, and the trail must outlive a
-- task row an operator removes.
create table if not exists public.task_events (
  id          bigint generated always as identity primary key,
  task_id     text not null,
  guild_id    text not null,
  -- The Discord id of the member who acted; null when the service itself did (a timeout, Jules).
  actor_id    text null,
  -- Open vocabulary, checked for shape only: admitted, refused, confirmed, rejected, expired,
  -- jules_session_created, jules_state_changed, plan_approved, changes_requested, message_to_jules,
  -- cancelled, failed, completed, needs_attention, stalled, … The code's TaskEventKind type is the list;
  -- a CHECK listing them would make an older schema refuse a newer worker's event, and an audit write
  -- must never be the reason a task fails.
  kind        text not null
    constraint task_events_kind_shape check (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
  -- The result in a word or two: the status a transition reached, a refusal code, a Jules state.
  outcome     text null
    constraint task_events_outcome_short check (char_length(outcome) <= 200),
  -- Ids, states and counts only. Never a key, a prompt or a message: the keys below are refused outright,
  -- so a mistaken caller fails loudly instead of writing content into the trail.
  detail      jsonb not null default '{}'::jsonb
    constraint task_events_detail_object check (jsonb_typeof(detail) = 'object')
    constraint task_events_detail_small check (octet_length(detail::text) <= 4096)
    constraint task_events_detail_no_content check (not (detail ?| array[
      'prompt', 'text', 'message', 'feedback', 'reply', 'key', 'api_key', 'apiKey', 'jules_key', 'token',
      'secret', 'password', 'ciphertext'
    ])),
  -- Set by callers that may retry (an activity): the same key for the same task records once.
  dedupe_key  text null,
  created_at  timestamptz not null default now()
);

create index if not exists task_events_task_id_idx on public.task_events (task_id, id);
create index if not exists task_events_guild_created_idx on public.task_events (guild_id, created_at desc);
create unique index if not exists task_events_dedupe_idx on public.task_events (task_id, dedupe_key)
  where dedupe_key is not null;

create or replace function public.jo_refuse_task_event_change()
returns trigger
language plpgsql
as $$
begin
  raise exception 'task_events is append-only: % refused', tg_op
    using errcode = 'restrict_violation',
          hint = 'Audit rows are never changed or removed.';
end
$$;

create or replace trigger task_events_append_only before update or delete on public.task_events
  for each row execute function public.jo_refuse_task_event_change();
create or replace trigger task_events_no_truncate before truncate on public.task_events
  for each statement execute function public.jo_refuse_task_event_change();

select public.jo_secure_table('public.task_events', p_append_only => true);

-- Moves a task from one of `p_from` to `p_to` and appends the event, in one statement, or does nothing
-- when the task is not in `p_from` (or does not exist): "confirm only if still pending". Of two concurrent
-- callers, the second waits for the first's row lock, then re-checks the status and finds it moved, so
-- exactly one wins and exactly one event is written. Returns the updated row, or no row.
--
-- `p_patch` sets other columns in the same update: a key present sets the column (JSON null clears it),
-- a key absent keeps it. Unknown keys are refused, so a typo cannot be silently ignored.
create or replace function public.jo_transition_task(
  p_task_id  text,
  p_from     text[],
  p_to       text,
  p_event    text,
  p_actor_id text default null,
  p_patch    jsonb default '{}'::jsonb,
  p_outcome  text default null,
  p_detail   jsonb default '{}'::jsonb
)
returns setof public.tasks
language plpgsql
as $$
declare
  unknown_field text;
  patch jsonb := coalesce(p_patch, '{}'::jsonb);
begin
  select field into unknown_field
  from jsonb_object_keys(patch) as field
  where field <> all (array[
    'card_message_id', 'thread_id', 'decided_by', 'jules_session_id', 'jules_session_url', 'jules_state',
    'pr_url', 'last_error'
  ])
  limit 1;
  if unknown_field is not null then
    raise exception 'jo_transition_task: % is not a field a transition may set', unknown_field
      using errcode = 'invalid_parameter_value';
  end if;

  return query
  with moved as (
    update public.tasks t set
      status            = p_to,
      card_message_id   = case when patch ? 'card_message_id' then patch ->> 'card_message_id' else t.card_message_id end,
      thread_id         = case when patch ? 'thread_id' then patch ->> 'thread_id' else t.thread_id end,
      decided_by        = case when patch ? 'decided_by' then patch ->> 'decided_by' else t.decided_by end,
      jules_session_id  = case when patch ? 'jules_session_id' then patch ->> 'jules_session_id' else t.jules_session_id end,
      jules_session_url = case when patch ? 'jules_session_url' then patch ->> 'jules_session_url' else t.jules_session_url end,
      jules_state       = case when patch ? 'jules_state' then patch ->> 'jules_state' else t.jules_state end,
      pr_url            = case when patch ? 'pr_url' then patch ->> 'pr_url' else t.pr_url end,
      last_error        = case when patch ? 'last_error' then patch ->> 'last_error' else t.last_error end
    where t.id = p_task_id and t.status = any (p_from)
    returning t.*
  ),
  logged as (
    insert into public.task_events (task_id, guild_id, actor_id, kind, outcome, detail)
    select moved.id, moved.guild_id, p_actor_id, p_event, coalesce(p_outcome, p_to), coalesce(p_detail, '{}'::jsonb)
    from moved
  )
  select * from moved;
end
$$;

-- Appends an event without a transition (a message to Jules, a Jules state change, a refusal). The guild
-- defaults to the task's. With a dedupe key already recorded for the task, records nothing and returns
-- false, so a retried activity does not write the event twice.
create or replace function public.jo_record_task_event(
  p_task_id    text,
  p_kind       text,
  p_guild_id   text default null,
  p_actor_id   text default null,
  p_outcome    text default null,
  p_detail     jsonb default '{}'::jsonb,
  p_dedupe_key text default null
)
returns boolean
language sql
as $$
  with inserted as (
    insert into public.task_events (task_id, guild_id, actor_id, kind, outcome, detail, dedupe_key)
    values (
      p_task_id,
      coalesce(p_guild_id, (select t.guild_id from public.tasks t where t.id = p_task_id)),
      p_actor_id,
      p_kind,
      p_outcome,
      coalesce(p_detail, '{}'::jsonb),
      p_dedupe_key
    )
    on conflict (task_id, dedupe_key) where dedupe_key is not null do nothing
    returning 1
  )
  select exists (select 1 from inserted);
$$;

select public.jo_secure_functions();
