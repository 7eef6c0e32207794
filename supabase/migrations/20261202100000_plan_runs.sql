-- The daily plan's projection: one `plan_runs` row per plan (`/plan`, or a schedule's morning proposal) and one
-- `plan_items` row per issue on it. Written only by the plan workflow's activities; read by `/status`, by
-- autocomplete of `/approve run_id:` and `/ship run_id:`, by the GitHub webhook (an event → its item) and by
-- `/plan` itself, which never plans an issue that an open plan already holds. Temporal history stays the record.
--
-- Issue titles and urls are kept (the plan card shows them anyway); issue bodies and prompts never are.
-- Statuses are exactly those of src/shared/plan.ts; add values with a new migration, never rename.

create table if not exists public.plan_runs (
  -- The run id people type, also the plan workflow's id: `plan-<yyyymmdd>-<repo name>-<4 hex>`. Checked for
  -- shape only, loosely, so that a newer id format needs no migration; the CHECK keeps autocomplete's prefix
  -- match free of LIKE wildcards.
  id               text primary key
    constraint plan_runs_id_shape check (id ~ '^plan-[a-z0-9-]{1,80}$'),
  guild_id         text not null,
  channel_id       text not null,
  repo             text not null
    constraint plan_runs_repo_shape check (repo ~ '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$'),
  -- The GitHub label the issues were gathered by (GitHub allows 50 characters).
  label            text not null
    constraint plan_runs_label_length check (char_length(label) between 1 and 50),
  status           text not null default 'proposed'
    constraint plan_runs_status_known check (status in ('proposed', 'running', 'completed', 'cancelled', 'expired')),
  -- The Discord member who asked; null when a schedule proposed the plan.
  proposed_by      text null,
  approved_by      text null,
  -- Which stored key pays for the plan's Jules sessions; the key itself never appears here. Null until it is
  -- known: a scheduled proposal has nobody's personal key, so it is decided when someone approves.
  key_source       text null
    constraint plan_runs_key_source_known check (key_source in ('personal', 'guild')),
  card_message_id  text null,
  thread_id        text null,
  -- Bumped each time items are dropped before approval, so an Approve click on an older card is told apart.
  revision         integer not null default 0
    constraint plan_runs_revision_nonnegative check (revision >= 0),
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  approved_at      timestamptz null,
  -- When the run ended (completed, cancelled, expired); null while it is open, like tasks.ended_at.
  ended_at         timestamptz null
);

-- `/status` and autocomplete: a guild's runs, newest first, all or open only.
create index if not exists plan_runs_guild_created_idx on public.plan_runs (guild_id, created_at desc, id desc);
create index if not exists plan_runs_open_by_guild on public.plan_runs (guild_id, created_at desc) where ended_at is null;
-- `/plan`: the open runs of a repository. GitHub names are case-insensitive, so the lookup is too.
create index if not exists plan_runs_open_by_repo on public.plan_runs (lower(repo)) where ended_at is null;

create table if not exists public.plan_items (
  run_id        text not null references public.plan_runs (id) on delete cascade,
  issue_number  integer not null
    constraint plan_items_issue_number_positive check (issue_number >= 1),
  -- The item's place on the plan (issue order); items run and are shown in this order.
  position      integer not null
    constraint plan_items_position_nonnegative check (position >= 0),
  -- GitHub caps titles at 256 characters; the margin keeps a longer title from another host from failing a plan.
  title         text not null
    constraint plan_items_title_length check (char_length(title) <= 1000),
  issue_url     text not null
    constraint plan_items_issue_url_shape check (issue_url ~ '^https?://'),
  status        text not null default 'planned'
    constraint plan_items_status_known check (status in (
      'planned', 'dropped', 'queued', 'in_jules', 'waiting', 'pr_open', 'green', 'red', 'merged', 'failed'
    )),
  -- The child task workflow's id (`task-<run id>-<issue number>`), once it started; its `tasks` row has the rest.
  task_id       text null,
  pr_number     integer null
    constraint plan_items_pr_number_positive check (pr_number >= 1),
  pr_url        text null,
  pr_head_sha   text null,
  checks_state  text null
    constraint plan_items_checks_state_known check (checks_state in ('no_checks', 'pending', 'passed', 'failed')),
  -- How many times failing checks were sent back to Jules (bounded by guilds.max_fix_attempts).
  fix_attempts  integer not null default 0
    constraint plan_items_fix_attempts_nonnegative check (fix_attempts >= 0),
  -- Why the item failed, was dropped or was skipped by `/ship`, in a line; never an issue body or a prompt.
  reason        text null
    constraint plan_items_reason_short check (char_length(reason) <= 500),
  merged_at     timestamptz null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  primary key (run_id, issue_number)
);

-- A child task belongs to one item: its id is derived from the run and the issue.
create unique index if not exists plan_items_task_id_idx on public.plan_items (task_id) where task_id is not null;
-- The GitHub webhook finds an item by PR number, or by head sha for commit statuses that name only a sha.
create index if not exists plan_items_by_pull_request on public.plan_items (pr_number) where pr_number is not null;
create index if not exists plan_items_by_pr_head on public.plan_items (pr_head_sha) where pr_head_sha is not null;

create or replace trigger plan_runs_touch_updated_at before update on public.plan_runs
  for each row execute function public.jo_touch_updated_at();
-- Items are saved whole again by a retried activity or a revised card: an item that such a save leaves as it was
-- keeps its updated_at too, so "saving the same list again changes nothing" holds for every column.
create or replace function public.jo_touch_updated_at_if_changed()
returns trigger
language plpgsql
as $$
begin
  if (to_jsonb(new) - 'updated_at') = (to_jsonb(old) - 'updated_at') then
    new.updated_at := old.updated_at;
  else
    new.updated_at := greatest(now(), old.updated_at + interval '1 microsecond');
  end if;
  return new;
end
$$;

create or replace trigger plan_items_touch_updated_at before update on public.plan_items
  for each row execute function public.jo_touch_updated_at_if_changed();

select public.jo_secure_table(t)
from unnest(array['public.plan_runs', 'public.plan_items']::regclass[]) as t;

-- The issues `/plan` must leave out for a repository: those on an open run (ended_at null) that are neither
-- dropped nor failed, ascending. A function, so both adapters (SQL and PostgREST) ask the same join; one array,
-- not a set of rows, so PostgREST answers it as a plain JSON array whatever its version does with one-column sets.
create or replace function public.jo_issues_in_open_plans(p_repo text)
returns integer[]
language sql
stable
as $$
  select coalesce(array_agg(distinct i.issue_number order by i.issue_number), '{}')
  from public.plan_runs r
  join public.plan_items i on i.run_id = r.id
  where lower(r.repo) = lower(p_repo) and r.ended_at is null and i.status not in ('dropped', 'failed');
$$;

-- The newest item following a pull request of a repository, by PR number or (when no number is given) by head
-- sha: how a GitHub webhook event reaches its plan item. Two branches, so each uses its own index.
create or replace function public.jo_find_plan_item_by_pull_request(
  p_repo      text,
  p_pr_number integer default null,
  p_head_sha  text default null
)
returns setof public.plan_items
language plpgsql
stable
as $$
begin
  if p_pr_number is not null then
    return query
    select i.* from public.plan_items i join public.plan_runs r on r.id = i.run_id
    where i.pr_number = p_pr_number and lower(r.repo) = lower(p_repo)
    order by i.created_at desc, i.run_id desc
    limit 1;
  elsif p_head_sha is not null then
    return query
    select i.* from public.plan_items i join public.plan_runs r on r.id = i.run_id
    where i.pr_head_sha = p_head_sha and lower(r.repo) = lower(p_repo)
    order by i.created_at desc, i.run_id desc
    limit 1;
  else
    raise exception 'jo_find_plan_item_by_pull_request: give a PR number or a head sha'
      using errcode = 'invalid_parameter_value';
  end if;
end
$$;

-- Plan events go to the audit trail under the run id (task_events has no foreign key to tasks). An event
-- recorded without a guild now takes the plan run's, as a task's event takes the task's.
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
      coalesce(
        p_guild_id,
        (select t.guild_id from public.tasks t where t.id = p_task_id),
        (select r.guild_id from public.plan_runs r where r.id = p_task_id)
      ),
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
