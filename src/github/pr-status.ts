import type { GitHubCheckRun, GitHubCombinedStatus, GitHubPullRequest, GitHubRequiredChecks, GitHubReview } from './github-client';

/**
 * Whether a pull request is green, and what a person reads about it. Pure: the follow-through reads the PR, its
 * head's check runs and commit statuses and the branch's required checks, and this decides (reference/github.md
 * §3.2–3.4): success, neutral and skipped pass; every required context must be present and passing; a repo with
 * no CI at all is `no_checks` (mergeable), never pending forever; GitHub's combined status of a commit with no
 * statuses is `pending` and means nothing.
 */

/** How a pull request's checks stand at its current head. */
export type ChecksVerdict = 'no_checks' | 'pending' | 'passed' | 'failed';

/** One check run or commit status as a line a person reads. */
export interface CheckLine {
  readonly name: string;
  readonly state: 'pending' | 'passed' | 'failed';
  /** The check's conclusion or status state as GitHub gave it. */
  readonly detail: string;
  readonly url?: string;
  /** A short excerpt of the check's output (its title and summary), for people and for Jules. */
  readonly summary?: string;
  readonly required: boolean;
}

/** The follow-through's reading of a pull request. */
export interface PullRequestStatus {
  readonly number: number;
  readonly url: string;
  readonly state: 'open' | 'merged' | 'closed';
  readonly headSha: string;
  readonly mergedBy?: string;
  readonly verdict: ChecksVerdict;
  readonly checks: readonly CheckLine[];
  /** Required contexts that have not reported at the head at all: they block green. */
  readonly missingRequired: readonly string[];
  /** Whether the required checks could be read (a token without Administration read cannot). */
  readonly requiredKnown: boolean;
  /** Reviewers whose latest review asks for changes, and those whose latest approves. */
  readonly changesRequestedBy: readonly string[];
  readonly approvedBy: readonly string[];
}

const PASSING_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);
const SUMMARY_MAX = 300;

/** Decides how a pull request stands from what GitHub reported about it. */
export function judgePullRequest(
  pr: GitHubPullRequest,
  runs: readonly GitHubCheckRun[],
  combined: GitHubCombinedStatus,
  required: GitHubRequiredChecks,
  reviews: readonly GitHubReview[] = [],
): PullRequestStatus {
  // A reviewer's latest approving or change-requesting review counts; a comment changes neither, a dismissal ends it.
  const latest = new Map<string, string>();
  for (const review of reviews) if (review.state !== 'COMMENTED' && review.state !== 'PENDING') latest.set(review.user, review.state);
  const byState = (state: string) => [...latest].filter(([, s]) => s === state).map(([user]) => user);
  const requiredSet = new Set(required.contexts);
  const lines: CheckLine[] = [
    ...runs.map((run) => ({
      name: run.name,
      state: run.status !== 'completed' || run.conclusion === null ? ('pending' as const) : PASSING_CONCLUSIONS.has(run.conclusion) ? ('passed' as const) : ('failed' as const),
      detail: run.conclusion ?? run.status,
      ...(run.htmlUrl ? { url: run.htmlUrl } : {}),
      ...summaryOf([run.output?.title, run.output?.summary]),
      required: requiredSet.has(run.name),
    })),
    ...(combined.totalCount === 0 ? [] : combined.statuses).map((status) => ({
      name: status.context,
      state: status.state === 'success' ? ('passed' as const) : status.state === 'pending' ? ('pending' as const) : ('failed' as const),
      detail: status.state,
      ...(status.targetUrl ? { url: status.targetUrl } : {}),
      ...summaryOf([status.description]),
      required: requiredSet.has(status.context),
    })),
  ];
  const reported = new Set(lines.map((line) => line.name));
  const missingRequired = required.contexts.filter((context) => !reported.has(context));
  const verdict: ChecksVerdict = lines.some((l) => l.state === 'failed')
    ? 'failed'
    : lines.some((l) => l.state === 'pending') || missingRequired.length > 0
      ? 'pending'
      : lines.length > 0
        ? 'passed'
        : 'no_checks';
  return {
    number: pr.number,
    url: pr.htmlUrl,
    state: pr.merged ? 'merged' : pr.state === 'closed' ? 'closed' : 'open',
    headSha: pr.head.sha,
    ...(pr.mergedBy ? { mergedBy: pr.mergedBy } : {}),
    verdict,
    checks: lines,
    missingRequired,
    requiredKnown: required.branchProtection !== 'unknown' && required.rulesets !== 'unknown',
    changesRequestedBy: byState('CHANGES_REQUESTED'),
    approvedBy: byState('APPROVED'),
  };
}

/** Whether a merge may be offered: open, and green (or no CI at all) at its current head. */
export function isMergeable(status: PullRequestStatus): boolean {
  return status.state === 'open' && (status.verdict === 'passed' || status.verdict === 'no_checks');
}

function summaryOf(parts: readonly (string | null | undefined)[]): { summary?: string } {
  const text = parts.filter((p): p is string => Boolean(p?.trim())).join(': ').replace(/\s+/g, ' ').trim();
  if (!text) return {};
  return { summary: text.length > SUMMARY_MAX ? `${text.slice(0, SUMMARY_MAX - 1)}…` : text };
}
