-- A task's PR follow-through notices GitHub webhook deliveries about its pull request without a Temporal signal
-- per delivery (a signal is a workflow event, and a PR with five checks gets a dozen deliveries): the webhook
-- records which task each delivery was about (`webhook_deliveries.subject`, the task id), and the follow-through's
-- activity counts them (jo_count_deliveries), so a count that moved means "look again". The ingress and the
-- workers may be separate processes; the database is what they share.
--
-- `tasks.pr_follow_wakes` says how a task's follow-through is woken, written by its activity: `deliveries` (it
-- counts them), or `signal` / null (a signal per delivery, as follow-throughs started before this do).
alter table public.webhook_deliveries add column if not exists subject text null;
create index if not exists webhook_deliveries_by_subject on public.webhook_deliveries (source, subject) where subject is not null;

alter table public.tasks add column if not exists pr_follow_wakes text null
  constraint tasks_pr_follow_wakes_known check (pr_follow_wakes in ('signal', 'deliveries'));

-- How many recorded deliveries of `p_source` are about each of `p_subjects`; subjects without any are left out.
create or replace function public.jo_count_deliveries(p_source text, p_subjects text[])
returns table (subject text, deliveries integer)
language sql
stable
as $$
  select d.subject, count(*)::int
  from public.webhook_deliveries d
  where d.source = p_source and d.subject = any(p_subjects)
  group by d.subject
$$;

select public.jo_secure_functions();
