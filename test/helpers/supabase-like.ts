import pg from 'pg';

/**
 * What a Supabase project has before any migration of ours runs, on a plain PostgreSQL: the fixture splinter's
 * own CI lints against (an `auth` schema with `auth.users` and `auth.uid()`, the roles the Data API runs as)
 * plus Supabase's default grants of everything in `public` to those roles. The roles are cluster-wide, so
 * they are created only when missing.
 */
const SUPABASE_LIKE = `
  do $$
  declare
    role_name text;
  begin
    foreach role_name in array array['anon', 'authenticated', 'service_role'] loop
      if not exists (select 1 from pg_roles where rolname = role_name) then
        execute format('create role %I nologin noinherit', role_name);
      end if;
    end loop;
  end
  $$;
  alter role service_role bypassrls;
  create schema auth;
  create table auth.users (id uuid primary key, email text, raw_user_meta_data jsonb);
  create function auth.uid() returns uuid language sql stable as $fn$ select null::uuid $fn$;
  grant usage on schema public to anon, authenticated, service_role;
  alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
  alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
  alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
`;

/**
 * Prepares the empty database at `url` like a Supabase project whose Data API exposes `public`
 * (`pgrst.db_schemas`, which Supabase sets for PostgREST and the lint queries read), then runs `extra` SQL.
 */
export async function prepareSupabaseLike(url: string, extra = ''): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(SUPABASE_LIKE);
    await client.query(`alter database ${client.database} set pgrst.db_schemas = 'public'`);
    if (extra) await client.query(extra);
  } finally {
    await client.end();
  }
}

/** The server's version, as `show server_version` says it. */
export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  } finally {
    await client.end();
  }
}
