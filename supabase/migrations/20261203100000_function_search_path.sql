-- Every jo_ function runs with a fixed search_path (Supabase's database linter, splinter lint 0011
-- function_search_path_mutable, warned on all 16). Without one, a function finds the tables and functions it
-- names through the search_path of whoever calls it, so a caller able to put an object earlier on that path
-- could make `tasks` or `now()` mean something of its own. The fixed path is pg_catalog, then public (where
-- every table and function of this service lives), then pg_temp last: unless it is named, Postgres looks in
-- pg_temp first for tables, so a temporary table could otherwise stand in for one of ours.
--
-- The path is set by jo_secure_functions(), which every migration that creates jo_ functions already ends
-- with: `create or replace function` drops a function's settings, so a function replaced later gets the
-- path again from that same call. test/schema-lints.test.ts fails if one is left without it.
create or replace function public.jo_secure_functions()
returns void
language plpgsql
set search_path = pg_catalog, public, pg_temp
as $$
declare
  fn regprocedure;
begin
  for fn in
    select p.oid::regprocedure from pg_proc p
    where p.pronamespace = 'public'::regnamespace and p.proname like 'jo\_%'
  loop
    execute format('alter function %s set search_path = pg_catalog, public, pg_temp', fn);
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

select public.jo_secure_functions();
