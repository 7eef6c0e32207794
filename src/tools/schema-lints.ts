import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ToolError } from './errors';
import { runCommand } from './tool-cache';

/**
 * Supabase's database linter (splinter: the Security and Performance Advisors of the Supabase dashboard), run
 * against a live database by the Postgres Language Server's `dblint` command, from the npm package
 * `@postgrestools/postgrestools` (a devDependency; its binary has splinter's lint queries compiled in, so
 * nothing is copied into this project).
 * @see https://supabase.github.io/splinter/
 * @see https://pg-language-server.com/
 */

/** Splinter's lint numbers by lint name, as its docs list them (`0011_function_search_path_mutable`). */
const SPLINTER_NUMBERS: Readonly<Record<string, string>> = {
  unindexed_foreign_keys: '0001',
  auth_users_exposed: '0002',
  auth_rls_initplan: '0003',
  no_primary_key: '0004',
  unused_index: '0005',
  multiple_permissive_policies: '0006',
  policy_exists_rls_disabled: '0007',
  rls_enabled_no_policy: '0008',
  duplicate_index: '0009',
  security_definer_view: '0010',
  function_search_path_mutable: '0011',
  rls_disabled_in_public: '0013',
  extension_in_public: '0014',
  rls_references_user_metadata: '0015',
  materialized_view_in_api: '0016',
  foreign_table_in_api: '0017',
  unsupported_reg_types: '0018',
  insecure_queue_exposed_in_api: '0019',
  table_bloat: '0020',
  fkey_to_auth_unique: '0021',
  extension_versions_outdated: '0022',
  sensitive_columns_exposed: '0023',
  rls_policy_always_true: '0024',
  public_bucket_allows_listing: '0025',
  pg_graphql_anon_table_exposed: '0026',
  pg_graphql_authenticated_table_exposed: '0027',
  anon_security_definer_function_executable: '0028',
  authenticated_security_definer_function_executable: '0029',
};

/** Splinter's levels: ERROR must be fixed, WARN should be, INFO is advice. */
export type SchemaLintLevel = 'ERROR' | 'WARN' | 'INFO';

/** One lint that fired on one database object. */
export interface SchemaLint {
  /** Splinter's id: number and name (`0013_rls_disabled_in_public`), or the name alone for a lint not in the list above. */
  id: string;
  /** `security` or `performance`. */
  category: string;
  level: SchemaLintLevel;
  /** Splinter's detail, naming the object (`Table \`public.x\` is public, but RLS has not been enabled.`). */
  detail: string;
}

/**
 * Runs every splinter lint against the database at `connectionString` and returns what fired. Lints about
 * what the Data API exposes look only at the schemas in the database's `pgrst.db_schemas` setting (Supabase
 * sets it for PostgREST; set it yourself elsewhere), and the Supabase-only lints run only where the roles
 * anon, authenticated and service_role exist. Throws {@link ToolError} when the linter cannot run.
 */
export async function lintSchema(connectionString: string): Promise<SchemaLint[]> {
  const bin = linterScript();
  // Run from the temp folder, so no postgres-language-server.jsonc of a checkout changes which rules run.
  const result = await runCommand(
    process.execPath,
    [bin, 'dblint', `--connection-string=${connectionString}`, '--reporter=json', '--max-diagnostics=none', '--colors=off'],
    { cwd: tmpdir(), timeoutMs: 120_000 },
  );
  let report: DbLintReport;
  try {
    report = JSON.parse(result.stdout.trim()) as DbLintReport;
  } catch (err) {
    throw new ToolError('run-failed', `postgrestools dblint gave no report: ${result.detail || result.stdout.slice(0, 500)}`, { cause: err });
  }
  return report.diagnostics.map(toLint);
}

/** The `bin` script of `@postgrestools/postgrestools`, which starts this platform's binary. */
function linterScript(): string {
  const require = createRequire(import.meta.url);
  let manifestPath: string;
  try {
    manifestPath = require.resolve('@postgrestools/postgrestools/package.json');
  } catch (err) {
    throw new ToolError('not-found', 'The schema linter is missing: run `npm install` (@postgrestools/postgrestools is a devDependency).', { cause: err });
  }
  const manifest = require(manifestPath) as { bin: Record<string, string> };
  return join(dirname(manifestPath), manifest.bin.postgrestools ?? 'bin/postgrestools');
}

function toLint(diagnostic: DbLintDiagnostic): SchemaLint {
  // `splinter/security/functionSearchPathMutable`: the group, then the lint name in camelCase.
  const [, category = 'unknown', rule = diagnostic.category] = diagnostic.category.split('/');
  const name = rule.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  const number = SPLINTER_NUMBERS[name];
  return {
    id: number ? `${number}_${name}` : name,
    category,
    level: diagnostic.severity === 'error' ? 'ERROR' : diagnostic.severity === 'warning' ? 'WARN' : 'INFO',
    // The JSON reporter escapes the backticks splinter puts around object names.
    detail: diagnostic.message.replace(/\\`/g, '`'),
  };
}

/** The fields of `dblint --reporter=json` read here. */
interface DbLintReport {
  diagnostics: DbLintDiagnostic[];
}

interface DbLintDiagnostic {
  severity: string;
  message: string;
  category: string;
}
