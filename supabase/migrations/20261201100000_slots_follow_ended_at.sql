-- A task holds its Jules session slot, or its place in line, until its row says it ended (`tasks.ended_at`),
-- not until its status is in a list: `stalled` is both a running task's alert and an end, and a list written
-- here twice drifts from the one in the code. A task whose workflow was terminated or timed out never writes
-- its end itself; the task reconciler (src/temporal/task-reconciler.ts) ends such rows, and with them their
-- slots. A slot with no task row at all still counts, as before.

create or replace function public.jo_try_acquire_session_slot(
  p_key_owner   text,
  p_task_id     text,
  p_limit       integer,
  p_daily_limit integer default null,
  p_now         timestamptz default now()
)
returns table (acquired boolean, queue_position integer, waiting_for text, retry_at timestamptz)
language plpgsql
as $$
declare
  mine public.session_slots;
  ahead integer;
  held integer;
  taken_today integer;
begin
  perform pg_advisory_xact_lock(hashtextextended('jules-orchestrator:session-slots:' || p_key_owner, 0));
  perform public.jo_enqueue_session_slot(p_key_owner, p_task_id);
  select * into mine from public.session_slots s where s.task_id = p_task_id and s.released_at is null;
  if mine.acquired_at is not null then
    return query select true, 0, null::text, null::timestamptz;
    return;
  end if;

  select count(*) into ahead
  from public.session_slots s left join public.tasks t on t.id = s.task_id
  where s.key_owner = mine.key_owner and s.released_at is null and s.acquired_at is null and s.id < mine.id
    and t.ended_at is null;
  if ahead > 0 then
    return query select false, ahead + 1, 'queue'::text, null::timestamptz;
    return;
  end if;

  select count(*) into held
  from public.session_slots s left join public.tasks t on t.id = s.task_id
  where s.key_owner = mine.key_owner and s.released_at is null and s.acquired_at is not null
    and t.ended_at is null;
  if held >= p_limit then
    return query select false, 1, 'concurrent'::text, null::timestamptz;
    return;
  end if;

  if p_daily_limit is not null then
    select count(*) into taken_today from public.session_slots s
    where s.key_owner = mine.key_owner and s.acquired_at > p_now - interval '1 day';
    if taken_today >= p_daily_limit then
      return query
      select false, 1, 'daily'::text, s.acquired_at + interval '1 day'
      from public.session_slots s
      where s.key_owner = mine.key_owner and s.acquired_at > p_now - interval '1 day'
      order by s.acquired_at
      offset taken_today - p_daily_limit
      limit 1;
      return;
    end if;
  end if;

  update public.session_slots s set acquired_at = p_now where s.id = mine.id;
  return query select true, 0, null::text, null::timestamptz;
end
$$;

select public.jo_secure_functions();
