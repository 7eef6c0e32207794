/**
 * bench/security-checks: the figures of CI's security checks in one JSON, for a note or for bench/reliability.
 *
 *   node bin/run-ts.mjs bench/security-checks.ts
 *
 * - splinter (Supabase's database linter, through @postgrestools/postgrestools) on the migrated schema on a real
 *   PostgreSQL (15 where installed), prepared like a Supabase project: findings by level and by lint.
 * - gitleaks over HEAD's history with .gitleaks.toml: commits and bytes read, findings; how gitleaks was had
 *   (cache or a build, with its time).
 * - lockfile-lint's policy over package-lock.json: packages, issues.
 *
 * Saves the JSON under .data/bench/ as well, for bench/reliability. The tests assert the verdicts (test/schema-lints, test/secret-scan, test/lockfile-lint); this only measures
 * and prints. Never passes or fails on a figure; exits non-zero only when a tool cannot run.
 */
import { join } from 'node:path';
import { migrate } from '../src/store/migrate';
import { createPgExecutor } from '../src/store/sql-executor';
import { GITLEAKS, resolveGoTool } from '../src/tools/go-tool';
import { runGitleaks } from '../src/tools/gitleaks';
import { lintLockfile } from '../src/tools/lockfile-lint';
import { lintSchema } from '../src/tools/schema-lints';
import { PROJECT_ROOT } from '../src/tools/tool-cache';
import { startPostgres } from '../test/helpers/postgres';
import { prepareSupabaseLike, serverVersion } from '../test/helpers/supabase-like';
import { round } from './embedded-stack';
import { saveBenchJson } from './jules-requests';

const seconds = (since: number) => round((Date.now() - since) / 1000);

/** Counts of `values` by value. */
function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

async function splinterFigures() {
  const server = await startPostgres({ majorVersion: 15 });
  try {
    const url = await server.createDatabase();
    await prepareSupabaseLike(url);
    const executor = createPgExecutor(url);
    try {
      await migrate(executor);
    } finally {
      await executor.close();
    }
    const started = Date.now();
    const lints = await lintSchema(url);
    return {
      postgres: await serverVersion(url),
      lintSeconds: seconds(started),
      byLevel: { ERROR: 0, WARN: 0, INFO: 0, ...countBy(lints.map((l) => l.level)) },
      byLint: countBy(lints.map((l) => `${l.level} ${l.id}`)),
    };
  } finally {
    await server.stop();
  }
}

async function gitleaksFigures() {
  const tool = await resolveGoTool(GITLEAKS, { explicitPath: process.env.GITLEAKS_PATH, env: process.env, log: (msg) => console.error(`[gitleaks] ${msg}`) });
  const started = Date.now();
  const report = await runGitleaks(tool.path, { kind: 'git', repo: PROJECT_ROOT });
  return {
    version: GITLEAKS.version,
    source: tool.source,
    installSeconds: round(tool.installMs / 1000),
    history: { commits: report.commits, bytes: report.bytes, findings: report.findings.length, seconds: seconds(started), byRule: countBy(report.findings.map((f) => f.ruleId)) },
  };
}

async function lockfileFigures() {
  const started = Date.now();
  const report = await lintLockfile(join(PROJECT_ROOT, 'package-lock.json'));
  return { packages: report.packages, issues: report.issues.length, seconds: seconds(started) };
}

const figures = { splinter: await splinterFigures(), gitleaks: await gitleaksFigures(), lockfile: await lockfileFigures() };
saveBenchJson('security', figures);
console.log(JSON.stringify(figures, null, 2));
