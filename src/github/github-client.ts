/**
 * The GitHub port: the few REST operations the task and plan flows need, grouped by resource like
 * `@discordjs/core`'s API, independent of Octokit. Shapes are trimmed to the fields those flows read
 * (reference/github.md §2–§4); every call takes an optional AbortSignal and holds no retry policy: the
 * adapter's library plugins retry rate limits and 5xx, and Temporal retries what is left.
 * @see https://docs.github.com/en/rest?apiVersion=2022-11-28
 */

/** A repository, as `owner/repo` parts. */
export interface RepoRef {
  readonly owner: string;
  readonly repo: string;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/**
 * An open or closed issue. GitHub's issues endpoints serve pull requests too (they share one number space);
 * `pullRequest` says when the number is one, so a caller that wants issues only can drop it.
 */
export interface GitHubIssue {
  readonly number: number;
  readonly title: string;
  readonly body: string | null;
  readonly state: 'open' | 'closed';
  readonly labels: readonly string[];
  readonly htmlUrl: string;
  readonly user?: string;
  /** True when this number is a pull request's; {@link IssuesApi.listWithLabel} never returns one. */
  readonly pullRequest: boolean;
  /** ISO 8601, as GitHub sends it; what the listing is ordered by. */
  readonly createdAt: string;
}

/** A comment on an issue or a pull request's conversation. */
export interface GitHubComment {
  readonly id: number;
  readonly body: string;
  readonly htmlUrl: string;
}

/** A pull request. `mergeable` is null while GitHub is still computing it. */
export interface GitHubPullRequest {
  readonly number: number;
  readonly title: string;
  readonly body: string | null;
  readonly state: 'open' | 'closed';
  readonly draft: boolean;
  readonly merged: boolean;
  readonly mergedBy?: string;
  readonly mergeCommitSha: string | null;
  readonly mergeable: boolean | null;
  readonly mergeableState?: string;
  readonly head: { readonly ref: string; readonly sha: string };
  readonly base: { readonly ref: string; readonly sha: string };
  readonly htmlUrl: string;
  readonly user?: string;
  /** When anything about it last changed (ISO 8601): pushes, comments, reviews, labels. */
  readonly updatedAt?: string;
}

/** A review of a pull request; only the latest of each reviewer counts. */
export interface GitHubReview {
  readonly user: string;
  /** APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING. */
  readonly state: string;
}

/** Filters of {@link PullsApi.list}. `head` is `owner:branch`, as GitHub wants it. */
export interface ListPullsOptions extends CallOptions {
  readonly state?: 'open' | 'closed' | 'all';
  readonly head?: string;
  readonly base?: string;
}

/** The merge methods GitHub offers. */
export type MergeMethod = 'merge' | 'squash' | 'rebase';

/** Input of {@link PullsApi.merge}. `sha` is required: a merge is always guarded by the head the caller judged. */
export interface MergeInput extends RepoRef {
  readonly pullNumber: number;
  readonly sha: string;
  readonly mergeMethod: MergeMethod;
  readonly commitTitle?: string;
  readonly commitMessage?: string;
}

/** What a successful merge returns. */
export interface MergeResult {
  readonly merged: boolean;
  readonly sha: string;
  readonly message: string;
}

/** A check run, the latest per name unless asked otherwise. */
export interface GitHubCheckRun {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  /** success, failure, neutral, cancelled, skipped, timed_out, action_required, stale; null until completed. */
  readonly conclusion: string | null;
  readonly htmlUrl?: string;
  readonly appSlug?: string;
  readonly output?: { readonly title?: string | null; readonly summary?: string | null };
  readonly completedAt?: string | null;
}

/** One commit status context, the latest of its kind. */
export interface GitHubCommitStatus {
  readonly context: string;
  readonly state: 'pending' | 'success' | 'failure' | 'error';
  readonly description: string | null;
  readonly targetUrl: string | null;
}

/**
 * The combined commit status. GitHub says `pending` when there are no statuses at all, so read
 * `totalCount === 0` as "no status CI", not "waiting" (reference/github.md §3.3).
 */
export interface GitHubCombinedStatus {
  readonly state: 'pending' | 'success' | 'failure' | 'error';
  readonly totalCount: number;
  readonly statuses: readonly GitHubCommitStatus[];
}

/** Whether a source of required checks could be read: `unknown` when the credentials may not read it. */
export type RequiredChecksSource = 'read' | 'none' | 'unknown';

/** The checks a branch requires, from classic branch protection and from rulesets together. */
export interface GitHubRequiredChecks {
  /** Every required context name (check run name or status context), deduplicated. */
  readonly contexts: readonly string[];
  /** The branch must be up to date with its base before merging. */
  readonly strict: boolean;
  readonly branchProtection: RequiredChecksSource;
  readonly rulesets: RequiredChecksSource;
}

/** Issues, their labels and their conversation. */
export interface IssuesApi {
  /** Open issues carrying `label`, oldest first (by creation), pull requests left out. */
  listWithLabel(repo: RepoRef, label: string, options?: CallOptions & { readonly state?: 'open' | 'closed' | 'all' }): Promise<GitHubIssue[]>;
  /**
   * One issue as it is now, e.g. re-read before a plan item starts. A pull request's number is answered with
   * `pullRequest: true`, not refused.
   * @throws GitHubNoAccessError (404, or 410 for a deleted issue) saying the issue is not there
   */
  get(repo: RepoRef, issueNumber: number, options?: CallOptions): Promise<GitHubIssue>;
  /** Adds labels (GitHub creates a repository label it does not know); adding one already there changes nothing. Returns the issue's labels after. */
  addLabels(repo: RepoRef, issueNumber: number, labels: readonly string[], options?: CallOptions): Promise<string[]>;
  /**
   * Removes one label. A label that is not on the issue is success, so a retried activity does not fail on
   * its own earlier attempt; a missing issue or repository still throws.
   */
  removeLabel(repo: RepoRef, issueNumber: number, label: string, options?: CallOptions): Promise<void>;
  /** Comments on an issue or a pull request's conversation. */
  createComment(repo: RepoRef, issueNumber: number, body: string, options?: CallOptions): Promise<GitHubComment>;
  /** The comments on an issue or a pull request's conversation, oldest first, e.g. to tell whether one was made already. */
  listComments(repo: RepoRef, issueNumber: number, options?: CallOptions): Promise<GitHubComment[]>;
}

/** Pull requests. */
export interface PullsApi {
  get(repo: RepoRef, pullNumber: number, options?: CallOptions): Promise<GitHubPullRequest>;
  list(repo: RepoRef, options?: ListPullsOptions): Promise<GitHubPullRequest[]>;
  /** @throws GitHubHeadMovedError (409), GitHubNotMergeableError (405, with GitHub's reason) */
  merge(input: MergeInput, options?: CallOptions): Promise<MergeResult>;
  /** Every review of a pull request, oldest first. */
  listReviews(repo: RepoRef, pullNumber: number, options?: CallOptions): Promise<GitHubReview[]>;
  /** Merges the base into the head; `expectedHeadSha` guards it like a merge's `sha`. */
  updateBranch(repo: RepoRef, pullNumber: number, expectedHeadSha?: string, options?: CallOptions): Promise<void>;
}

/** Check runs, commit statuses and what a branch requires of them. */
export interface ChecksApi {
  /** The latest check run of each name for a commit. */
  listForRef(repo: RepoRef, ref: string, options?: CallOptions): Promise<GitHubCheckRun[]>;
  combinedStatus(repo: RepoRef, ref: string, options?: CallOptions): Promise<GitHubCombinedStatus>;
  /** Never throws for a source the credentials cannot read: that source is `unknown`. */
  requiredForBranch(repo: RepoRef, branch: string, options?: CallOptions): Promise<GitHubRequiredChecks>;
}

/** The operations this service needs from GitHub, for one set of credentials. */
export interface GitHubClient {
  readonly issues: IssuesApi;
  readonly pulls: PullsApi;
  readonly checks: ChecksApi;
}
