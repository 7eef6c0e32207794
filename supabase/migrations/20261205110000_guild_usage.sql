-- What `/jules-usage` reports, in two functions both adapters call (PostgREST has no GROUP BY of its own).
--
-- jo_guild_usage: a guild's tasks requested since p_since, one row per requester and one for the whole guild
-- (requester_id null): how many, how many opened a pull request and how many were merged, whether a personal key
-- paid for any, and the median time from the request to its pull request. A task's PR time is when its `completed`
-- event was recorded, the moment the workflow read the PR from Jules.
create or replace function public.jo_guild_usage(p_guild_id text, p_since timestamptz)
returns table (
  requester_id          text,
  tasks                 integer,
  prs_opened            integer,
  prs_merged            integer,
  personal_key          boolean,
  median_seconds_to_pr  double precision
)
language sql
stable
as $$
  with week as (
    select t.id, t.requester_id, t.pr_url, t.pr_state, t.merged_at, t.key_source, t.created_at,
      (select min(e.created_at) from public.task_events e where e.task_id = t.id and e.kind = 'completed') as completed_at
    from public.tasks t
    where t.guild_id = p_guild_id and t.created_at >= p_since
  )
  select w.requester_id,
    count(*)::integer,
    count(*) filter (where w.pr_url is not null)::integer,
    count(*) filter (where w.pr_state = 'merged' or w.merged_at is not null)::integer,
    bool_or(w.key_source = 'personal'),
    percentile_cont(0.5) within group (order by extract(epoch from (w.completed_at - w.created_at)))
      filter (where w.pr_url is not null and w.completed_at is not null)
  from week w
  group by grouping sets ((w.requester_id), ())
  order by 1 nulls first;
$$;

-- jo_key_sessions_used: Jules sessions each key owner (`user:<id>`, `guild:<id>`) took in the rolling day before
-- p_now, the same window the daily session limit counts in jo_try_acquire_session_slot.
create or replace function public.jo_key_sessions_used(p_key_owners text[], p_now timestamptz default now())
returns table (key_owner text, used integer)
language sql
stable
as $$
  select o.key_owner, (select count(*)::integer from public.session_slots s where s.key_owner = o.key_owner and s.acquired_at > p_now - interval '1 day')
  from unnest(p_key_owners) as o(key_owner)
  order by 1;
$$;

select public.jo_secure_functions();
