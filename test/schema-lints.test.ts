import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/store/migrate';
import { createPgExecutor } from '../src/store/sql-executor';
import { lintSchema, type SchemaLint } from '../src/tools/schema-lints';
import { startPostgres, type PostgresServer } from './helpers/postgres';
import { prepareSupabaseLike, serverVersion } from './helpers/supabase-like';

/**
 * Supabase's database linter (splinter, the dashboard's Security and Performance Advisors) over the schema the
 * migrations build, on a real PostgreSQL 15 set up the way splinter's own CI sets one up: an `auth` schema
 * with `auth.users`, the roles the Data API runs as, Supabase's default grants on `public`, and
 * `pgrst.db_schemas` naming the schemas PostgREST exposes. No ERROR may fire; a WARN or INFO that does must
 * be listed below with the reason it is accepted. A database seeded with one mistake per lint shows each of
 * them firing, so a lint that stays quiet on our schema is known to be able to speak.
 */

/**
 * Findings accepted on the migrated schema, by lint id, with why. Every other finding fails the test.
 * (WARN 0011 function_search_path_mutable fired on all 16 jo_ functions until migration
 * 20261203100000_function_search_path pinned their search_path.)
 */
const ACCEPTED: Readonly<Record<string, string>> = {
  // INFO, performance: "index has not been used". A database just migrated has run no query, so every index
  // is unused; the lint means something only on a production database's statistics.
  '0005_unused_index': 'no queries have run on a freshly migrated database',
};

/** One mistake per lint, each where the Data API would expose it. */
const MISTAKES = `
  -- 0013 rls_disabled_in_public, and 0023 sensitive_columns_exposed for its password and api_key columns.
  create table public.bait_accounts (id int primary key, email text, password text, api_key text);
  -- 0007 policy_exists_rls_disabled: a policy written, RLS never enabled.
  create table public.bait_notes (id int primary key, body text);
  create policy bait_notes_read on public.bait_notes for select to anon using (true);
  -- 0008 rls_enabled_no_policy.
  create table public.bait_locked (id int primary key);
  alter table public.bait_locked enable row level security;
  -- 0024 rls_policy_always_true: any signed-in user may update every row.
  create table public.bait_profiles (id int primary key, name text);
  alter table public.bait_profiles enable row level security;
  create policy bait_profiles_update on public.bait_profiles for update to authenticated using (true) with check (true);
  -- 0010 security_definer_view: a view without security_invoker reads with its owner's rights.
  create view public.bait_notes_view as select id, body from public.bait_notes;
  -- 0002 auth_users_exposed: auth.users through a view the anon role can read.
  create view public.bait_users as select id, email from auth.users;
  -- 0011 function_search_path_mutable.
  create function public.bait_touch() returns int language sql as $fn$ select 1 $fn$;
`;

/** The lints {@link MISTAKES} must set off, with their level. */
const EXPECTED_ON_MISTAKES: readonly [string, SchemaLint['level']][] = [
  ['0002_auth_users_exposed', 'ERROR'],
  ['0007_policy_exists_rls_disabled', 'ERROR'],
  ['0010_security_definer_view', 'ERROR'],
  ['0013_rls_disabled_in_public', 'ERROR'],
  ['0023_sensitive_columns_exposed', 'ERROR'],
  ['0011_function_search_path_mutable', 'WARN'],
  ['0024_rls_policy_always_true', 'WARN'],
  ['0008_rls_enabled_no_policy', 'INFO'],
];

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres({ majorVersion: 15 });
});
afterAll(async () => {
  await server?.stop();
});

/** A new database prepared like a Supabase project exposing `public`, with `extra` SQL run after. */
async function supabaseLikeDatabase(extra = ''): Promise<string> {
  const url = await server.createDatabase();
  await prepareSupabaseLike(url, extra);
  return url;
}

const summary = (lints: readonly SchemaLint[]) => lints.map((l) => `${l.level} ${l.id}: ${l.detail}`).join('\n');

describe('the migrated schema, linted by Supabase’s splinter on PostgreSQL 15', () => {
  it('has no ERROR lint, and no WARN or INFO beyond the accepted ones', async () => {
    const url = await supabaseLikeDatabase();
    const executor = createPgExecutor(url);
    try {
      await migrate(executor);
    } finally {
      await executor.close();
    }

    const lints = await lintSchema(url);

    console.log(`[schema-lints] PostgreSQL ${await serverVersion(url)} (${server.source}): ${lints.length} findings`);
    expect(lints.filter((l) => l.level === 'ERROR'), summary(lints)).toEqual([]);
    expect(lints.filter((l) => !(l.id in ACCEPTED)), summary(lints)).toEqual([]);
    // It read our tables: the accepted INFO names our indexes.
    expect(lints.some((l) => l.id === '0005_unused_index' && l.detail.includes('public.tasks'))).toBe(true);
  });

  it('sets off each security lint on a database seeded with its mistake', async () => {
    const url = await supabaseLikeDatabase(MISTAKES);

    const lints = await lintSchema(url);

    for (const [id, level] of EXPECTED_ON_MISTAKES) {
      expect(lints.filter((l) => l.id === id && l.detail.includes('bait_')).map((l) => l.level), `${id}\n${summary(lints)}`).toContain(level);
    }
    expect(lints.filter((l) => l.id === '0023_sensitive_columns_exposed').map((l) => l.detail).join('\n')).toMatch(/password|api_key/);
  });
});
