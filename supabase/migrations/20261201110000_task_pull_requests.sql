-- A task keeps following its pull request after Jules opens it: which PR, its head, whether it is open,
-- merged or closed, how its checks stand at that head, and when it was merged. Written by the PR
-- follow-through's activity; the GitHub webhook finds the task of an event by (repo, PR number) or, for
-- commit statuses that name only a sha, by (repo, head sha).
alter table public.tasks add column if not exists pr_number integer null;
alter table public.tasks add column if not exists pr_head_sha text null;
alter table public.tasks add column if not exists pr_state text null
  constraint tasks_pr_state_known check (pr_state in ('open', 'merged', 'closed'));
alter table public.tasks add column if not exists checks_state text null
  constraint tasks_checks_state_known check (checks_state in ('no_checks', 'pending', 'passed', 'failed'));
alter table public.tasks add column if not exists merged_at timestamptz null;

create index if not exists tasks_by_pull_request on public.tasks (repo, pr_number) where pr_number is not null;
create index if not exists tasks_by_pr_head on public.tasks (repo, pr_head_sha) where pr_head_sha is not null;
