import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ToolError } from './errors';
import { findLockDrift, type LockDriftInput, type ManifestDependencies } from './lockfile-drift';
import { runCommand } from './tool-cache';

/**
 * The lockfile-lint policy: every package from the npm registry, over HTTPS, under its own name, with a
 * sha512 integrity; no entry without a host. (The lock records no `resolved` URL for registry packages here,
 * since npm is told to omit them; an entry that points elsewhere, a git or http URL, is then what stands out.)
 * @see https://github.com/lirantal/lockfile-lint#cli-command-line-arguments
 */
export const LOCKFILE_LINT_ARGS = [
  '--type', 'npm',
  '--allowed-hosts', 'npm',
  '--validate-https',
  '--validate-integrity',
  '--validate-package-names',
  '--empty-hostname', 'false',
  '--format', 'plain',
] as const;

/** What {@link lintLockfile} found. */
export interface LockfileReport {
  /** Package entries in the lock (the root project not counted). */
  packages: number;
  /** One line per problem: lockfile-lint's, then entries without any integrity, then drift (lockfile-drift.ts). */
  issues: string[];
}

/**
 * Lints an npm lockfile with lockfile-lint's policy above, and checks what lockfile-lint does not: that every
 * package entry has an integrity at all (lockfile-lint checks the hash type of those that have one; linked
 * workspace packages and packages bundled inside another carry none by design and are skipped), and that the
 * lock has not drifted from `manifestPath` (default: the package.json beside it) or from itself, so `npm ci`
 * takes it.
 */
export async function lintLockfile(
  lockfilePath: string,
  manifestPath: string = join(dirname(lockfilePath), 'package.json'),
): Promise<LockfileReport> {
  const require = createRequire(import.meta.url);
  const toolManifestPath = require.resolve('lockfile-lint/package.json');
  const toolManifest = require(toolManifestPath) as { bin: Record<string, string> };
  const bin = join(dirname(toolManifestPath), toolManifest.bin['lockfile-lint'] ?? 'bin/lockfile-lint.js');
  const result = await runCommand(process.execPath, [bin, '--path', lockfilePath, ...LOCKFILE_LINT_ARGS]);
  const output = `${result.stdout}\n${result.stderr}`;
  const issues = output
    .split(/\n\s*\n/)
    .map((block) => block.trim().replace(/\s*\n\s*/g, '; '))
    .filter((block) => block.startsWith('detected'));
  if (!result.ok && issues.length === 0) throw new ToolError('run-failed', `lockfile-lint failed on ${lockfilePath}: ${result.detail}`);

  const lock = JSON.parse(await readFile(lockfilePath, 'utf8')) as { packages?: Record<string, LockEntry> };
  const entries = Object.entries(lock.packages ?? {}).filter(([key]) => key !== '');
  for (const [key, entry] of entries) {
    if (entry.link || entry.inBundle || entry.integrity) continue;
    issues.push(`missing integrity for package: ${key.replace(/^.*node_modules\//, '')}@${entry.version ?? '?'}`);
  }
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ManifestDependencies;
  issues.push(...findLockDrift(lock as LockDriftInput, manifest));
  return { packages: entries.length, issues };
}

/** The fields of a lockfile v2/v3 `packages` entry read here. */
interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
}
