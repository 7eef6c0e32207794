-- The task counts a metrics scrape reads (GET /metrics): one grouped pass over `tasks`, by status, the Jules
-- session's last state and whether the task is open. A function, so the SQL adapter and the supabase-js adapter
-- (PostgREST has no GROUP BY without aggregates turned on) share one query. The groups are few (statuses times
-- session states), so the answer stays small however many tasks there are.
create or replace function public.jo_task_counts()
returns table (status text, jules_state text, open boolean, count integer)
language sql
stable
as $$
  select t.status, t.jules_state, t.ended_at is null, count(*)::integer
  from public.tasks t
  group by 1, 2, 3;
$$;

select public.jo_secure_functions();
