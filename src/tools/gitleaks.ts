import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError } from './errors';
import { PROJECT_ROOT, runCommand } from './tool-cache';

/** The project's gitleaks config: the default rules, a Discord bot token rule, and the allow-listed test fixtures. */
export const GITLEAKS_CONFIG = join(PROJECT_ROOT, '.gitleaks.toml');

/** One secret gitleaks found, as its JSON report has it (the fields this project reads). */
export interface GitleaksFinding {
  /** The rule that matched (`github-pat`, `gcp-api-key`, `discord-bot-token`…). */
  ruleId: string;
  file: string;
  line: number;
  /** The commit that added it (`git` scans only). */
  commit?: string;
  /** The secret itself: compare it, never print it. */
  secret: string;
  /** gitleaks' stable id of the finding (commit:file:rule:line), what a `.gitleaksignore` would list. */
  fingerprint: string;
}

/** What to scan: the history reachable from a git revision, or the files under a folder. */
export type GitleaksScan = { kind: 'git'; repo: string; revision?: string } | { kind: 'dir'; path: string };

/** A scan's findings and how much it read. */
export interface GitleaksReport {
  findings: GitleaksFinding[];
  /** Commits scanned (`git` scans), from gitleaks' summary line. */
  commits?: number;
  /** Bytes scanned, from gitleaks' summary line. */
  bytes?: number;
}

/**
 * Runs gitleaks over a repository's history or a folder with the given config (default the project's) and
 * returns every finding. A `git` scan reads only the history of `revision` (default HEAD), not every branch
 * of the clone: what is being submitted, not what other branches hold. Findings do not fail the run; what
 * does (a bad config, not a repository) throws {@link ToolError} with gitleaks' words.
 * @see https://github.com/gitleaks/gitleaks#usage
 */
export async function runGitleaks(binary: string, scan: GitleaksScan, config: string = GITLEAKS_CONFIG): Promise<GitleaksReport> {
  const scratch = await mkdtemp(join(tmpdir(), 'jo-gitleaks-'));
  const reportPath = join(scratch, 'report.json');
  try {
    const common = ['--config', config, '--report-format', 'json', '--report-path', reportPath, '--exit-code', '0', '--no-banner', '--no-color'];
    const args =
      scan.kind === 'git'
        ? ['git', scan.repo, `--log-opts=${scan.revision ?? 'HEAD'}`, ...common]
        : ['dir', scan.path, ...common];
    const result = await runCommand(binary, args, { cwd: scratch });
    if (!result.ok) throw new ToolError('run-failed', `gitleaks ${args[0]} failed: ${result.detail}`);
    const raw = JSON.parse(await readFile(reportPath, 'utf8')) as RawFinding[];
    const summary = result.stderr;
    const commits = /(\d+) commits scanned/.exec(summary)?.[1];
    const bytes = /scanned ~(\d+) bytes/.exec(summary)?.[1];
    return {
      findings: raw.map((f) => ({
        ruleId: f.RuleID,
        file: f.File,
        line: f.StartLine,
        ...(f.Commit ? { commit: f.Commit } : {}),
        secret: f.Secret,
        fingerprint: f.Fingerprint,
      })),
      ...(commits ? { commits: Number(commits) } : {}),
      ...(bytes ? { bytes: Number(bytes) } : {}),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A finding as words safe to print: where and which rule, never the secret. */
export function describeFinding(finding: GitleaksFinding): string {
  return `${finding.ruleId} at ${finding.file}:${finding.line}${finding.commit ? ` (commit ${finding.commit.slice(0, 12)})` : ''}`;
}

/** The fields of gitleaks' JSON report read here. */
interface RawFinding {
  RuleID: string;
  File: string;
  StartLine: number;
  Commit?: string;
  Secret: string;
  Fingerprint: string;
}
