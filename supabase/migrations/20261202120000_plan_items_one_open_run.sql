-- An issue is on one open plan run at a time. `/plan` leaves out the issues of open runs (jo_issues_in_open_plans),
-- but two `/plan`s of one repository at the same moment each read that list before either saved its items. So the
-- insert decides: it waits for any other insert of items of the same repository (a lock held to the end of its
-- transaction), then leaves out, without an error, each issue that another open run holds and has neither dropped
-- nor failed. The statements inside a plpgsql function read what was committed before each of them starts, so the
-- second insert sees the first one's items. A retried save of the same run is an update, as before.
create or replace function public.jo_plan_items_one_open_run()
returns trigger
language plpgsql
as $$
declare
  v_repo text;
begin
  select lower(r.repo) into v_repo from public.plan_runs r where r.id = new.run_id;
  perform pg_advisory_xact_lock(hashtextextended('jo_plan_items:' || coalesce(v_repo, ''), 0));
  if exists (
    select 1
    from public.plan_runs r
    join public.plan_items i on i.run_id = r.id
    where lower(r.repo) = v_repo
      and r.ended_at is null
      and r.id <> new.run_id
      and i.issue_number = new.issue_number
      and i.status not in ('dropped', 'failed')
  ) then
    return null;
  end if;
  return new;
end
$$;

create or replace trigger plan_items_one_open_run before insert on public.plan_items
  for each row execute function public.jo_plan_items_one_open_run();

select public.jo_secure_functions();
