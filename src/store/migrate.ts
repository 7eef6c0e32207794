import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from './errors';
import type { SqlExecutor } from './sql-executor';

/** `supabase/migrations` of this package, resolved from this file so the cwd does not matter. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../supabase/migrations/', import.meta.url));

/** The Supabase CLI's file name pattern: `<version>_<name>.sql`, version being digits (a timestamp). */
const MIGRATION_FILE = /^(\d+)_(.*)\.sql$/;

/**
 * Serialises concurrent runners (a worker and an ingress starting together against one Postgres).
 * An arbitrary constant; transaction-scoped, so it is released with each commit or rollback.
 */
const MIGRATION_LOCK_KEY = 4_731_902_118;

/**
 * The Supabase CLI's own history table (`supabase migration list`, `supabase db push`), created the way the
 * CLI creates it, so both tools agree on what is applied.
 */
const HISTORY_TABLE_SQL = `
  create schema if not exists supabase_migrations;
  create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
  alter table supabase_migrations.schema_migrations add column if not exists statements text[];
  alter table supabase_migrations.schema_migrations add column if not exists name text;
`;

/** A dollar-quote opener (`$$`, `$body$`); sticky, so it matches only where it is asked to. */
const DOLLAR_TAG = /\$[A-Za-z_]*\$/y;

/** One migration file. */
export interface MigrationFile {
  readonly version: string;
  readonly name: string;
  readonly file: string;
  readonly sql: string;
}

/** The migration files of `dir` in the order they apply (by file name, as the Supabase CLI does). */
export async function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const files = (await readdir(dir)).filter((file) => MIGRATION_FILE.test(file)).sort();
  return Promise.all(
    files.map(async (file) => {
      const [, version = '', name = ''] = MIGRATION_FILE.exec(file) ?? [];
      return { version, name, file, sql: await readFile(join(dir, file), 'utf8') };
    }),
  );
}

/**
 * Applies the migrations of `migrationsDir` not yet recorded in `supabase_migrations.schema_migrations`, each
 * in its own transaction, and returns the versions applied (empty when the schema is up to date).
 * Throws MigrationError when one fails; the ones before it stay applied.
 */
export async function migrate(executor: SqlExecutor, migrationsDir: string = DEFAULT_MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir);
  if (await allRecorded(executor, migrations)) return [];
  await executor.transaction(async (tx) => {
    // `create schema if not exists` is not safe against a concurrent create; the lock makes it so.
    await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.exec(HISTORY_TABLE_SQL);
  });

  const applied: string[] = [];
  for (const migration of migrations) {
    const didApply = await executor
      .transaction(async (tx) => {
        await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
        // Checked under the lock: another runner may have applied it while this one waited.
        const done = await tx.query('select 1 from supabase_migrations.schema_migrations where version = $1', [
          migration.version,
        ]);
        if (done.length > 0) return false;
        await tx.exec(migration.sql);
        await tx.query(
          'insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)',
          [migration.version, migration.name, splitStatements(migration.sql)],
        );
        return true;
      })
      .catch((error: unknown) => {
        throw new MigrationError(migration.version, migration.file, error);
      });
    if (didApply) applied.push(migration.version);
  }
  return applied;
}

/** Postgres' codes for a missing schema or table: a database no migration runner has touched yet. */
const NO_HISTORY_CODES = new Set(['3F000', '42P01']);

/**
 * Whether the history records every one of `migrations`: one read, no transaction and no lock, so each command on
 * an up-to-date database pays one query for the check. False on a new database (no history table), and whenever
 * one is missing: the full run then applies it under the lock.
 */
async function allRecorded(executor: SqlExecutor, migrations: readonly MigrationFile[]): Promise<boolean> {
  try {
    const [row] = await executor.query<{ recorded: number }>(
      'select count(*)::int as recorded from supabase_migrations.schema_migrations where version = any($1::text[])',
      [migrations.map((migration) => migration.version)],
    );
    return row?.recorded === migrations.length;
  } catch (error) {
    if (NO_HISTORY_CODES.has((error as { code?: unknown }).code as string)) return false;
    throw error;
  }
}

/**
 * Splits a SQL script into statements for the history's `statements` column, as the Supabase CLI records
 * them (comments kept, comment-only chunks dropped). Understands quotes, dollar quotes and comments well
 * enough for migration files; execution does not depend on it (the whole file runs as one script).
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let hasCode = false;
  let i = 0;
  /** Index just past the first `closer` at or after `from` (or the end of the script). */
  const skipTo = (closer: string, from: number): number => {
    const end = script.indexOf(closer, from);
    return end === -1 ? script.length : end + closer.length;
  };
  while (i < script.length) {
    const char = script[i] ?? '';
    if (script.startsWith('--', i)) {
      i = skipTo('\n', i + 2);
      continue;
    }
    if (script.startsWith('/*', i)) {
      i = skipTo('*/', i + 2);
      continue;
    }
    hasCode ||= !/\s/.test(char) && char !== ';';
    DOLLAR_TAG.lastIndex = i;
    const dollarTag = char === '$' ? DOLLAR_TAG.exec(script)?.[0] : undefined;
    if (dollarTag !== undefined) {
      i = skipTo(dollarTag, i + dollarTag.length);
      continue;
    }
    if (char === "'" || char === '"') {
      // A doubled quote inside a literal is an escaped quote: skipping pairs handles it.
      let j = i + 1;
      while (j < script.length && !(script[j] === char && script[j + 1] !== char)) {
        j += script[j] === char ? 2 : 1;
      }
      i = j + 1;
      continue;
    }
    i += 1;
    if (char === ';') {
      if (hasCode) statements.push(script.slice(start, i - 1).trim());
      start = i;
      hasCode = false;
    }
  }
  if (hasCode) statements.push(script.slice(start).trim());
  return statements;
}
