-- A guild's daily-plan settings (`guild set --plan-label …`). The defaults are those of PLAN_DEFAULTS in
-- src/shared/plan.ts; a guild that never sets them plans its `ready` issues, at most ten a plan, with one approver,
-- ships only on `/ship`, and leaves failing checks to people.
--
-- Labels: the GitHub label `/plan` gathers by, and the one put on an issue while Jules works on it. GitHub caps
-- label names at 50 characters, and its issue list takes labels comma-separated, so a comma could never match.
alter table public.guilds add column if not exists plan_label text not null default 'ready'
  constraint guilds_plan_label_shape check (
    char_length(plan_label) between 1 and 50 and plan_label = btrim(plan_label) and position(',' in plan_label) = 0
  );
alter table public.guilds add column if not exists in_progress_label text not null default 'jules-in-progress'
  constraint guilds_in_progress_label_shape check (
    char_length(in_progress_label) between 1 and 50 and in_progress_label = btrim(in_progress_label)
      and position(',' in in_progress_label) = 0
  );
-- The most issues one plan takes (its card lists them all, and each becomes a Jules session).
alter table public.guilds add column if not exists plan_max_items integer not null default 10
  constraint guilds_plan_max_items_range check (plan_max_items between 1 and 50);
-- Whether a plan needs a confirmer other than the member who proposed it.
alter table public.guilds add column if not exists two_person_rule boolean not null default false;
-- Whether a running plan merges each item as soon as it is green, without `/ship`.
alter table public.guilds add column if not exists auto_ship boolean not null default false;
-- Whether failing checks go back to the item's Jules session, at most max_fix_attempts times per item.
alter table public.guilds add column if not exists fix_failing_checks boolean not null default false;
alter table public.guilds add column if not exists max_fix_attempts integer not null default 2
  constraint guilds_max_fix_attempts_range check (max_fix_attempts between 0 and 10);

-- An issue labelled in progress would still carry the plan label if the two were one: it would be planned again.
alter table public.guilds drop constraint if exists guilds_plan_labels_differ;
alter table public.guilds add constraint guilds_plan_labels_differ check (lower(plan_label) <> lower(in_progress_label));
