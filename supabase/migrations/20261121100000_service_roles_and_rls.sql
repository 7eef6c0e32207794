-- The roles Supabase's Data API (PostgREST) runs requests as, and one rule for every table of this service:
-- Row Level Security on, the service role allowed what the service does, `anon` and `authenticated`
-- allowed nothing, so a dashboard built on these tables starts from "deny" and opens only what it adds.
--
-- Supabase has the three roles already (service_role with BYPASSRLS). Plain Postgres and PGlite have none:
-- they are created here the way Supabase's local stack has them (no login), so the same SQL, grants and
-- policies run and are tested everywhere. A connection that may not create roles (a managed Postgres'
-- limited owner) skips them with a notice: the service connects as the table owner there, which needs no
-- role, and every grant and policy below is made only for roles that exist.
do $$
declare
  role_name text;
begin
  foreach role_name in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = role_name) then
      begin
        execute format('create role %I nologin noinherit', role_name);
      exception when insufficient_privilege then
        raise notice 'jules-orchestrator: may not create role %, skipped', role_name;
      end;
    end if;
  end loop;
end
$$;

-- Secures one table of this service. Later migrations call it for each table they create, so "RLS on
-- every table, service role only" is written once:
--   * RLS enabled, not forced: the table owner (the service's own DATABASE_URL connection and
--     `jules-orchestrator migrate`) bypasses it, as it must to run migrations.
--   * anon and authenticated: every privilege revoked. Supabase's default privileges grant them all on
--     new tables in `public`; with no grant and no policy they get "permission denied", not an empty list.
--   * service_role: the privileges the service needs and a policy allowing them. Supabase's service_role
--     bypasses RLS anyway; the policy makes the same rule hold where it does not (the roles created above).
--     `p_append_only` grants select and insert only (the audit trail).
create or replace function public.jo_secure_table(p_table regclass, p_append_only boolean default false)
returns void
language plpgsql
as $$
begin
  execute format('alter table %s enable row level security', p_table);
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute format('revoke all on table %s from anon', p_table);
  end if;
  if exists (select 1 from pg_roles where rolname = 'authenticated') then
    execute format('revoke all on table %s from authenticated', p_table);
  end if;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    execute format('revoke all on table %s from service_role', p_table);
    execute format('drop policy if exists jo_service_role_all on %s', p_table);
    execute format('drop policy if exists jo_service_role_read on %s', p_table);
    execute format('drop policy if exists jo_service_role_append on %s', p_table);
    if p_append_only then
      execute format('grant select, insert on table %s to service_role', p_table);
      execute format('create policy jo_service_role_read on %s for select to service_role using (true)', p_table);
      execute format('create policy jo_service_role_append on %s for insert to service_role with check (true)', p_table);
    else
      execute format('grant select, insert, update, delete on table %s to service_role', p_table);
      execute format('create policy jo_service_role_all on %s for all to service_role using (true) with check (true)', p_table);
    end if;
  end if;
end
$$;

-- Functions are executable by PUBLIC by default, and Supabase also grants new functions in `public` to
-- anon and authenticated, which would put every `jo_` function on the Data API for anyone with the
-- project's anon key. This takes that away and gives the service role what it calls. Each migration that
-- creates `jo_` functions ends with `select public.jo_secure_functions();`. The jo_secure_ helpers stay
-- with the owner: they alter tables, which only the owner may do anyway.
create or replace function public.jo_secure_functions()
returns void
language plpgsql
as $$
declare
  fn regprocedure;
begin
  for fn in
    select p.oid::regprocedure from pg_proc p
    where p.pronamespace = 'public'::regnamespace and p.proname like 'jo\_%'
  loop
    execute format('revoke all on function %s from public', fn);
    if exists (select 1 from pg_roles where rolname = 'anon') then
      execute format('revoke all on function %s from anon', fn);
    end if;
    if exists (select 1 from pg_roles where rolname = 'authenticated') then
      execute format('revoke all on function %s from authenticated', fn);
    end if;
    if exists (select 1 from pg_roles where rolname = 'service_role') and fn::text not like 'jo\_secure\_%' then
      execute format('grant execute on function %s to service_role', fn);
    end if;
  end loop;
end
$$;

-- The tables so far. Listed by name, not "every table in public": on a Supabase project shared with
-- another app, that app's tables are not ours to lock.
select public.jo_secure_table(t)
from unnest(array['public.guilds', 'public.users', 'public.tasks', 'public.webhook_deliveries']::regclass[]) as t;

select public.jo_secure_functions();
