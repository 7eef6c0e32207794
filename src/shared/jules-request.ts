/**
 * What a Jules request may name, checked the same way by the `/jules` command, the daily plan's commands and the
 * CLI's guild settings. Plain data and functions, so the CLI checks its flags without loading discord.js.
 */

/** Limits shared by the command definition and the handler's validation, so they never disagree. */
export const JULES_LIMITS = { promptMax: 4000, repoMax: 100, branchMax: 255 } as const;

/** A GitHub repository as `owner/name`. */
export const REPO_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * Whether `name` is a branch name git would take (`git check-ref-format --branch`): no spaces, control characters,
 * `~ ^ : ? * [ \\`, `..`, `@{` or `//`; no part starting with `.` or ending in `.lock`; not starting with `-` or `/`,
 * not ending with `/` or `.`; not `@`. At most {@link JULES_LIMITS}.branchMax characters.
 * @see https://git-scm.com/docs/git-check-ref-format
 */
export function isBranchName(name: string): boolean {
  if (name.length === 0 || name.length > JULES_LIMITS.branchMax || name === '@') return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]|\.\.|@\{|\/\//.test(name)) return false;
  if (/^[-/]|[/.]$/.test(name)) return false;
  return name.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}
