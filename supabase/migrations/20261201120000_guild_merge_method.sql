-- How a Merge click in Discord merges a guild's pull requests (`guild set --merge-method`).
alter table public.guilds add column if not exists merge_method text not null default 'squash'
  constraint guilds_merge_method_known check (merge_method in ('merge', 'squash', 'rebase'));
