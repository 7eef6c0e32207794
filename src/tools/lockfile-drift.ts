/**
 * Whether package-lock.json still says everything `npm ci` needs, checked without the network: the root entry
 * lists the same dependencies as package.json (`npm ci` refuses a lock that disagrees with package.json), and
 * every dependency and optional dependency of every entry resolves, as Node's lookup does, to an entry of its own
 * (`npm ci` refuses "Missing: @swc/core-darwin-arm64@… from lock file" otherwise). A lock written by an
 * `npm install` that could not see other platforms' optional packages fails the second check; the fix is the
 * one-liner in README ("Regenerating the lock").
 */

/** The package.json fields compared with the lock's root entry. */
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/** The fields of a lockfile v2/v3 `packages` entry read here. */
export interface LockDriftEntry {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  link?: boolean;
}

/** A parsed package-lock.json, as far as this check reads it. */
export interface LockDriftInput {
  packages?: Record<string, LockDriftEntry>;
}

/** A parsed package.json, as far as this check reads it. */
export type ManifestDependencies = Partial<Record<(typeof DEPENDENCY_FIELDS)[number], Record<string, string>>>;

/** One line per way the lock has drifted from package.json or from itself; empty when `npm ci` will take it. */
export function findLockDrift(lock: LockDriftInput, manifest: ManifestDependencies): string[] {
  const packages = lock.packages ?? {};
  const issues: string[] = [];
  const root = packages[''] ?? {};
  for (const field of DEPENDENCY_FIELDS) {
    const wanted = manifest[field] ?? {};
    const locked = root[field] ?? {};
    for (const name of new Set([...Object.keys(wanted), ...Object.keys(locked)])) {
      if (wanted[name] === locked[name]) continue;
      issues.push(
        `lock out of date: package.json ${field} has ${name}@${wanted[name] ?? '(none)'}, the lock ${locked[name] ?? '(none)'}`,
      );
    }
  }
  for (const [path, entry] of Object.entries(packages)) {
    if (entry.link) continue;
    const from = path === '' ? 'the project' : path.replace(/^.*node_modules\//, '');
    for (const field of ['dependencies', 'optionalDependencies'] as const) {
      for (const name of Object.keys(entry[field] ?? {})) {
        if (resolveInLock(packages, path, name) === undefined) {
          issues.push(`lock incomplete: ${name} (${field === 'optionalDependencies' ? 'optional dependency' : 'dependency'} of ${from}) has no entry`);
        }
      }
    }
  }
  return issues;
}

/** Where Node would find `name` from the package at `path`: its own node_modules, then each folder above. */
function resolveInLock(packages: Record<string, LockDriftEntry>, path: string, name: string): string | undefined {
  let base = path;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (candidate in packages) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}
