-- Quotas and rate limits, counted in the database so that every worker shares the counts.
--
-- Requests: a member's `/jules` per hour and a guild's per day, counted over the `tasks` rows themselves
-- (rolling windows; every recorded request counts, whatever became of it).
-- Jules sessions: at most N at once and M a day per key owner (the personal key's member, or the guild
-- whose default key pays), through a first-come-first-served queue in `session_slots`.

-- Per-guild settings; a missing row or a null column means the default, which lives in
-- jo_guild_quotas() only. The defaults are Jules' free plan: 3 sessions at once, 15 a day.
create table if not exists public.guild_quotas (
  guild_id                    text primary key,
  user_requests_per_hour      integer null constraint guild_quotas_user_hourly_positive check (user_requests_per_hour >= 1),
  guild_requests_per_day      integer null constraint guild_quotas_guild_daily_positive check (guild_requests_per_day >= 1),
  concurrent_sessions_per_key integer null constraint guild_quotas_concurrent_positive check (concurrent_sessions_per_key >= 1),
  daily_sessions_per_key      integer null constraint guild_quotas_daily_sessions_positive check (daily_sessions_per_key >= 1),
  created_at                  timestamptz not null default now(),
  updated_at                  timestamptz not null default now()
);

create or replace trigger guild_quotas_touch_updated_at before update on public.guild_quotas
  for each row execute function public.jo_touch_updated_at();

select public.jo_secure_table('public.guild_quotas');

-- The quotas in force for a guild: its settings over the defaults. Always one row; `customised` says
-- whether any setting of its own is in force.
create or replace function public.jo_guild_quotas(p_guild_id text)
returns table (
  user_requests_per_hour      integer,
  guild_requests_per_day      integer,
  concurrent_sessions_per_key integer,
  daily_sessions_per_key      integer,
  customised                  boolean
)
language sql
stable
as $$
  select
    coalesce(q.user_requests_per_hour, 5),
    coalesce(q.guild_requests_per_day, 50),
    coalesce(q.concurrent_sessions_per_key, 3),
    coalesce(q.daily_sessions_per_key, 15),
    coalesce(q.user_requests_per_hour, q.guild_requests_per_day, q.concurrent_sessions_per_key, q.daily_sessions_per_key) is not null
  from (select p_guild_id as guild_id) as wanted
  left join public.guild_quotas q on q.guild_id = wanted.guild_id;
$$;

-- Whether a member may make one more request in the guild at `p_now`. When not, says which limit and
-- when the request would be allowed: when enough of the counted tasks have left the window that the
-- count drops below the limit, i.e. the (count - limit + 1)th oldest task in the window, plus the window.
-- Tasks stamped after `p_now` count too: created_at is its transaction's start, so a concurrent admission
-- that committed first can carry a later stamp than this one's clock, and must not slip past the count.
create or replace function public.jo_check_request_quota(
  p_guild_id text,
  p_user_id  text,
  p_now      timestamptz default now()
)
returns table (allowed boolean, limit_name text, retry_at timestamptz, quota integer)
language plpgsql
stable
as $$
declare
  quotas record;
  used integer;
begin
  select * into quotas from public.jo_guild_quotas(p_guild_id);

  select count(*) into used from public.tasks t
  where t.guild_id = p_guild_id and t.requester_id = p_user_id
    and t.created_at > p_now - interval '1 hour';
  if used >= quotas.user_requests_per_hour then
    return query
    select false, 'user_hourly'::text, t.created_at + interval '1 hour', quotas.user_requests_per_hour
    from public.tasks t
    where t.guild_id = p_guild_id and t.requester_id = p_user_id
      and t.created_at > p_now - interval '1 hour'
    order by t.created_at
    offset used - quotas.user_requests_per_hour
    limit 1;
    return;
  end if;

  select count(*) into used from public.tasks t
  where t.guild_id = p_guild_id
    and t.created_at > p_now - interval '1 day';
  if used >= quotas.guild_requests_per_day then
    return query
    select false, 'guild_daily'::text, t.created_at + interval '1 day', quotas.guild_requests_per_day
    from public.tasks t
    where t.guild_id = p_guild_id
      and t.created_at > p_now - interval '1 day'
    order by t.created_at
    offset used - quotas.guild_requests_per_day
    limit 1;
    return;
  end if;

  return query select true, null::text, null::timestamptz, null::integer;
end
$$;

-- Records a new task only if the requester and the guild are within their request quotas, atomically:
-- admissions in one guild take turns on an advisory lock, so two workers cannot both take the last
-- request of a window. A task already recorded (a retried admission) is allowed again and not re-counted.
-- Returns the decision; on `allowed` the task row exists.
create or replace function public.jo_create_task_within_quota(
  p_id           text,
  p_guild_id     text,
  p_channel_id   text,
  p_requester_id text,
  p_prompt       text,
  p_repo         text,
  p_branch       text,
  p_status       text,
  p_key_source   text,
  p_now          timestamptz default now()
)
returns table (allowed boolean, limit_name text, retry_at timestamptz, quota integer)
language plpgsql
as $$
declare
  decision record;
begin
  perform pg_advisory_xact_lock(hashtextextended('jules-orchestrator:request-quota:' || p_guild_id, 0));
  if exists (select 1 from public.tasks t where t.id = p_id) then
    return query select true, null::text, null::timestamptz, null::integer;
    return;
  end if;
  -- Under the lock, so this count sees every admission committed before it.
  select * into decision from public.jo_check_request_quota(p_guild_id, p_requester_id, p_now);
  if not decision.allowed then
    return query select decision.allowed, decision.limit_name, decision.retry_at, decision.quota;
    return;
  end if;
  insert into public.tasks (id, guild_id, channel_id, requester_id, prompt, repo, branch, status, key_source)
  values (p_id, p_guild_id, p_channel_id, p_requester_id, p_prompt, p_repo, p_branch, p_status, p_key_source);
  return query select true, null::text, null::timestamptz, null::integer;
end
$$;

-- The Jules session queue: one row per wait-then-hold of a slot, in arrival order (`id`). A row is
-- waiting (acquired_at null), holding (acquired_at set) or done (released_at set). Done rows stay: they are
-- the daily count. A task has at most one open row.
create table if not exists public.session_slots (
  id          bigint generated always as identity primary key,
  -- `user:<discord id>` for a personal key, `guild:<guild id>` for a guild's default key.
  key_owner   text not null
    constraint session_slots_key_owner_shape check (key_owner ~ '^(user|guild):[A-Za-z0-9_-]{1,64}$'),
  task_id     text not null,
  enqueued_at timestamptz not null default now(),
  acquired_at timestamptz null,
  released_at timestamptz null
);

create unique index if not exists session_slots_open_task_idx on public.session_slots (task_id)
  where released_at is null;
create index if not exists session_slots_owner_open_idx on public.session_slots (key_owner, id)
  where released_at is null;
create index if not exists session_slots_owner_acquired_idx on public.session_slots (key_owner, acquired_at)
  where acquired_at is not null;

select public.jo_secure_table('public.session_slots');

-- Puts a task in its key owner's queue; nothing when it is already waiting or holding.
create or replace function public.jo_enqueue_session_slot(p_key_owner text, p_task_id text)
returns void
language sql
as $$
  insert into public.session_slots (key_owner, task_id) values (p_key_owner, p_task_id)
  on conflict (task_id) where released_at is null do nothing;
$$;

-- Gives the task a session slot if it is its turn: it is first among its owner's waiting tasks, fewer
-- than `p_limit` slots are held, and (with `p_daily_limit`) fewer than that many were taken in the last
-- day. Enqueues the task first when it is not queued. Attempts for one owner take turns on an advisory
-- lock, so concurrent workers never hand out more than `p_limit` slots. Idempotent for a holder.
--
-- Tasks whose projection is final (completed, failed, cancelled, …) neither hold a slot nor wait in
-- line, even if their workflow never released: a terminated workflow cannot block its owner's queue.
-- Returns acquired, or the task's 1-based place among the waiting, what it waits for (`queue`: tasks
-- ahead of it; `concurrent`: a slot; `daily`: the daily cap) and, for the daily cap, when it lifts.
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
    and (t.status is null or t.status not in ('completed', 'rejected', 'failed', 'cancelled', 'expired', 'needs_attention'));
  if ahead > 0 then
    return query select false, ahead + 1, 'queue'::text, null::timestamptz;
    return;
  end if;

  select count(*) into held
  from public.session_slots s left join public.tasks t on t.id = s.task_id
  where s.key_owner = mine.key_owner and s.released_at is null and s.acquired_at is not null
    and (t.status is null or t.status not in ('completed', 'rejected', 'failed', 'cancelled', 'expired', 'needs_attention'));
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

-- Gives the task's slot back, or takes it out of the queue. Idempotent: true only for the call that did it.
create or replace function public.jo_release_session_slot(p_task_id text, p_now timestamptz default now())
returns boolean
language sql
as $$
  with released as (
    update public.session_slots s set released_at = greatest(p_now, coalesce(s.acquired_at, p_now))
    where s.task_id = p_task_id and s.released_at is null
    returning 1
  )
  select exists (select 1 from released);
$$;

select public.jo_secure_functions();
