-- A guild may ask for plan approval on every task by default; `/jules plan_approval:` overrides it per task.
alter table public.guilds add column if not exists plan_approval_default boolean not null default false;
