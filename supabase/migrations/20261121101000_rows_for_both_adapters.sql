-- What lets the supabase-js adapter (PostgREST) read and write the same rows as the SQL adapter, with no
-- logic of its own: a row says itself whether a guild has a default key, and the database stamps
-- updated_at, whichever client wrote.

-- Read by both adapters instead of the ciphertext, so listing a guild never moves a sealed key.
alter table public.guilds
  add column if not exists has_default_key boolean generated always as (default_jules_key is not null) stored;

-- Strictly increasing per row even when two writes share a clock tick (PGlite's clock is coarse).
create or replace function public.jo_touch_updated_at()
returns trigger
language plpgsql
as $$
begin
  new.updated_at := greatest(now(), old.updated_at + interval '1 microsecond');
  return new;
end
$$;

create or replace trigger guilds_touch_updated_at before update on public.guilds
  for each row execute function public.jo_touch_updated_at();
create or replace trigger users_touch_updated_at before update on public.users
  for each row execute function public.jo_touch_updated_at();
create or replace trigger tasks_touch_updated_at before update on public.tasks
  for each row execute function public.jo_touch_updated_at();

-- The request quotas count a requester's and a guild's recent tasks.
create index if not exists tasks_guild_requester_created_idx on public.tasks (guild_id, requester_id, created_at);
create index if not exists tasks_guild_created_idx on public.tasks (guild_id, created_at);

select public.jo_secure_functions();
