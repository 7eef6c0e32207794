-- When a task's workflow ended; null while it runs. The status alone cannot say whether a task is open:
-- `stalled` is both a state of a running task (no change for a while, confirmers alerted) and an end
-- (stalled twice in a row). `/jules-status` lists the tasks with no end.
alter table public.tasks add column if not exists ended_at timestamptz null;

-- Tasks that ended before this column existed: every final status but `stalled`, whose rows cannot be told
-- apart from running ones and stay listed until an operator sets ended_at.
update public.tasks
set ended_at = updated_at
where ended_at is null
  and status in ('completed', 'rejected', 'failed', 'cancelled', 'expired', 'needs_attention');

create index if not exists tasks_open_by_guild on public.tasks (guild_id, created_at desc) where ended_at is null;

-- The transition may now stamp ended_at, in the same update as the final status.
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
    'pr_url', 'last_error', 'ended_at'
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
      last_error        = case when patch ? 'last_error' then patch ->> 'last_error' else t.last_error end,
      ended_at          = case when patch ? 'ended_at' then (patch ->> 'ended_at')::timestamptz else t.ended_at end
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

select public.jo_secure_functions();
