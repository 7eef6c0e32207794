-- The Jules session queue goes in the order the requests were admitted (`tasks.created_at`, then the task id),
-- not the order their workflows reached the queue: the ingress admits a `/jules` request and answers before a
-- worker runs the task, so two requests asked one after the other could reach the queue the other way round.
-- A running task admitted earlier (in the last two minutes) that has not reached the queue yet is counted ahead
-- too; a task still waiting for its confirmer is not, and takes its place by admission time once confirmed. A slot
-- without a task row keeps its enqueue time. A task takes a free slot when one stays free for each task ahead of
-- it, so a burst admitted at once is not held to one task at a time while its workflows reach the queue.

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
  mine_admitted_at timestamptz;
begin
  perform pg_advisory_xact_lock(hashtextextended('jules-orchestrator:session-slots:' || p_key_owner, 0));
  perform public.jo_enqueue_session_slot(p_key_owner, p_task_id);
  select * into mine from public.session_slots s where s.task_id = p_task_id and s.released_at is null;
  if mine.acquired_at is not null then
    return query select true, 0, null::text, null::timestamptz;
    return;
  end if;

  select t.created_at into mine_admitted_at from public.tasks t where t.id = p_task_id;
  mine_admitted_at := coalesce(mine_admitted_at, mine.enqueued_at);
  -- Ahead: the owner's waiting tasks admitted before this one (the slot's id breaks a tie), and its running tasks
  -- admitted before this one that are on their way to the queue (no slot row yet, admitted in the last two
  -- minutes: a row whose workflow never started, Temporal being down, must not hold the queue until the
  -- reconciler ends it). A task on its way is not asking, so no two tasks ever wait for each other.
  select count(*) into ahead
  from public.session_slots s left join public.tasks t on t.id = s.task_id
  where s.key_owner = mine.key_owner and s.released_at is null and s.acquired_at is null and s.id <> mine.id
    and t.ended_at is null
    and (coalesce(t.created_at, s.enqueued_at), s.id) < (mine_admitted_at, mine.id);
  select ahead + count(*) into ahead
  from public.tasks t
  where t.ended_at is null and t.status = 'in_progress' and t.id <> p_task_id
    and (case when t.key_source = 'personal' then 'user:' || t.requester_id else 'guild:' || t.guild_id end) = mine.key_owner
    and (t.created_at, t.id) < (mine_admitted_at, mine.task_id)
    and t.created_at > p_now - interval '2 minutes'
    and not exists (select 1 from public.session_slots s where s.task_id = t.id);

  select count(*) into held
  from public.session_slots s left join public.tasks t on t.id = s.task_id
  where s.key_owner = mine.key_owner and s.released_at is null and s.acquired_at is not null
    and t.ended_at is null;
  -- A free slot is this task's when one stays free for each task ahead of it: a burst admitted at once takes every
  -- slot the limit allows, whichever of its workflows asks first.
  if held + ahead >= p_limit then
    if ahead > 0 then
      return query select false, ahead + 1, 'queue'::text, null::timestamptz;
    else
      return query select false, 1, 'concurrent'::text, null::timestamptz;
    end if;
    return;
  end if;

  if p_daily_limit is not null then
    select count(*) into taken_today from public.session_slots s
    where s.key_owner = mine.key_owner and s.acquired_at > p_now - interval '1 day';
    if taken_today + ahead >= p_daily_limit then
      if ahead > 0 then
        return query select false, ahead + 1, 'queue'::text, null::timestamptz;
        return;
      end if;
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
