/**
 * The rules a guild's settings must follow, said once: `guild set` and `guild set-quotas` on the command line and
 * `/jules-setup`'s forms in Discord check what they are given with these (a key's shape: src/shared/jules-key.ts), so both refuse the same
 * values. Each check returns undefined for a good value, or the problem in words (without the value, so a
 * mistyped key is never echoed).
 */

/** Limits of a repository and a branch name, as `/jules` takes them. */
export const SETTING_LIMITS = { repoMax: 100, branchMax: 255 } as const;

/** A GitHub repository as `owner/name`. */
export const REPO_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * Whether `name` is a branch name git would take (`git check-ref-format --branch`): no spaces, control characters,
 * `~ ^ : ? * [ \\`, `..`, `@{` or `//`; no part starting with `.` or ending in `.lock`; not starting with `-` or `/`,
 * not ending with `/` or `.`; not `@`. At most {@link SETTING_LIMITS}.branchMax characters.
 * @see https://git-scm.com/docs/git-check-ref-format
 */
export function isBranchName(name: string): boolean {
  if (name.length === 0 || name.length > SETTING_LIMITS.branchMax || name === '@') return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]|\.\.|@\{|\/\//.test(name)) return false;
  if (/^[-/]|[/.]$/.test(name)) return false;
  return name.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

/** Why `repo` cannot be a default repository, or undefined when it can. */
export function repoProblem(repo: string): string | undefined {
  return repo.length > SETTING_LIMITS.repoMax || !REPO_PATTERN.test(repo) ? 'must be a GitHub repository of the form owner/name' : undefined;
}

/** Why `branch` cannot be a default branch, or undefined when it can. */
export function branchProblem(branch: string): string | undefined {
  return isBranchName(branch)
    ? undefined
    : `must be a git branch name (no spaces, no ~ ^ : ? * [ \\ or .., at most ${SETTING_LIMITS.branchMax} characters)`;
}

/** A Discord id (a snowflake). */
export const SNOWFLAKE = /^\d{15,25}$/;

/**
 * A quota setting as written: a whole number from 1 sets it, `default` returns it to the default (null); anything
 * else is refused (undefined).
 */
export function parseQuotaSetting(value: string): number | null | undefined {
  if (value === 'default') return null;
  if (/^\d{1,9}$/.test(value) && Number(value) >= 1) return Number(value);
  return undefined;
}
