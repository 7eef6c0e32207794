/**
 * GitHub webhook deliveries as the orchestrator uses them: the header names of the transport, the events it
 * follows, each mapped from GitHub's large payload to a small normalised event, and the port that receives them.
 * Pure: no I/O here. Optional fields GitHub may leave out (or null) come out as `null`, never `undefined`.
 * @see https://docs.github.com/en/webhooks/webhook-events-and-payloads
 */

/** Header names of a delivery (lowercase, as Node presents them). */
export const GITHUB_WEBHOOK_HEADERS = {
  /** The event's name, e.g. `pull_request`. */
  event: 'x-github-event',
  /** The delivery's GUID, the same on every redelivery of it. */
  delivery: 'x-github-delivery',
  /** `sha256=<hex HMAC-SHA256 of the raw body>`, present only when the hook has a secret. */
  signature: 'x-hub-signature-256',
  /** The hook's id. */
  hookId: 'x-github-hook-id',
} as const;

/**
 * The `webhook_deliveries.source` of GitHub's deliveries: the webhook records them under it, and a PR's
 * follow-through counts those recorded about its task.
 */
export const GITHUB_DELIVERY_SOURCE = 'github';

/** The event GitHub sends when a hook is created, answered 200 and otherwise ignored. */
export const GITHUB_PING_EVENT = 'ping';

/** The events mapped below; every other event is acknowledged and ignored. */
export const GITHUB_EVENT_NAMES = ['pull_request', 'pull_request_review', 'check_suite', 'check_run', 'status', 'issues', 'issue_comment'] as const;

/** One of {@link GITHUB_EVENT_NAMES}. */
export type GitHubEventName = (typeof GITHUB_EVENT_NAMES)[number];

/** What every mapped event carries. */
interface GitHubEventBase {
  /** `owner/name`, from `repository.full_name`. */
  readonly repo: string;
  /** The payload's `action` (GitHub keeps adding actions: check it before acting); `null` for `status`. */
  readonly action: string | null;
  /** `sender.login`. */
  readonly sender: string | null;
  /** `installation.id`, for a GitHub App's deliveries. */
  readonly installationId: number | null;
}

/** `pull_request`: opened, closed (merged or not), synchronize (new head), labeled, … */
export interface PullRequestEvent extends GitHubEventBase {
  readonly kind: 'pull_request';
  readonly number: number;
  readonly headSha: string;
  readonly headRef: string | null;
  readonly baseRef: string | null;
  /** True only once merged (`closed` with `merged: true`); `closed` and not merged means abandoned. */
  readonly merged: boolean;
  readonly mergedBy: string | null;
  readonly mergeCommitSha: string | null;
  readonly draft: boolean;
  /** `pull_request.user.login`. */
  readonly author: string | null;
  /** The label that changed, for `labeled` / `unlabeled`. */
  readonly label: string | null;
}

/** `check_suite`: one app's checks on a commit (repository hooks get only `completed`). */
export interface CheckSuiteEvent extends GitHubEventBase {
  readonly kind: 'check_suite';
  readonly headSha: string;
  /** `null` for a head branch in a fork. */
  readonly headBranch: string | null;
  readonly status: string | null;
  /** success, failure, neutral, cancelled, timed_out, action_required, stale, skipped, startup_failure, or null. */
  readonly conclusion: string | null;
  /** `app.slug` of the app that ran the suite. */
  readonly app: string | null;
  /** Numbers of the PRs whose head this is; empty for forks (resolve by `headSha`). */
  readonly pullRequests: readonly number[];
}

/** `check_run`: one named check (repository hooks get `created` and `completed`). */
export interface CheckRunEvent extends GitHubEventBase {
  readonly kind: 'check_run';
  readonly headSha: string;
  /** The check's name, as required checks name it. */
  readonly name: string;
  readonly status: string | null;
  readonly conclusion: string | null;
  readonly checkSuiteId: number | null;
  /** As for {@link CheckSuiteEvent.pullRequests}. */
  readonly pullRequests: readonly number[];
}

/** `status`: a commit status from CI that is not a GitHub App. */
export interface StatusEvent extends GitHubEventBase {
  readonly kind: 'status';
  readonly sha: string;
  /** pending, success, failure or error. */
  readonly state: string;
  /** The status's name, as required checks name it. */
  readonly context: string;
  readonly targetUrl: string | null;
  readonly description: string | null;
  /** Names of up to ten branches containing the commit (not necessarily at their heads). */
  readonly branches: readonly string[];
}

/** `issues`: opened, closed, labeled, … (label changes on a PR arrive as `pull_request`). */
export interface IssuesEvent extends GitHubEventBase {
  readonly kind: 'issues';
  readonly number: number;
  readonly title: string | null;
  readonly state: string | null;
  /** The label that changed, for `labeled` / `unlabeled`. */
  readonly label: string | null;
  /** Every label the issue has now. */
  readonly labels: readonly string[];
}

/** `issue_comment`: a comment on an issue or on a PR's conversation. */
export interface IssueCommentEvent extends GitHubEventBase {
  readonly kind: 'issue_comment';
  /** The issue's or the PR's number. */
  readonly number: number;
  /** True when the comment is on a PR (the payload's issue has a `pull_request`). */
  readonly onPullRequest: boolean;
  readonly commentId: number | null;
  readonly body: string;
  readonly author: string | null;
  /** `User` or `Bot`. */
  readonly authorType: string | null;
  /** OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, … */
  readonly authorAssociation: string | null;
}

/** A delivery the orchestrator follows, normalised. */
/** A review submitted, edited or dismissed on a pull request (approved, changes requested, commented). */
export interface PullRequestReviewEvent extends GitHubEventBase {
  readonly kind: 'pull_request_review';
  readonly number: number;
  /** `approved`, `changes_requested`, `commented`, `dismissed`. */
  readonly state: string | null;
  readonly reviewer: string | null;
}

export type GitHubEvent = PullRequestEvent | PullRequestReviewEvent | CheckSuiteEvent | CheckRunEvent | StatusEvent | IssuesEvent | IssueCommentEvent;

/** The mapping's outcome: the event, or what the payload lacks for it. */
export type MappedGitHubEvent = { readonly ok: true; readonly event: GitHubEvent } | { readonly ok: false; readonly missing: string };

/**
 * The port the webhook hands mapped events to: whatever follows tasks and plans (it signals their workflows).
 * `ignored` when nothing follows that repository, PR or commit. It should only hand off: GitHub waits 10 s.
 */
export interface GitHubEventSink {
  deliver(event: GitHubEvent, deliveryId: string): Promise<'accepted' | 'ignored'>;
}

/** True for the events {@link mapGitHubEvent} maps. */
export function isMappedGitHubEvent(name: string): name is GitHubEventName {
  return (GITHUB_EVENT_NAMES as readonly string[]).includes(name);
}

/**
 * Maps a delivery's payload to its normalised event. Only what identifies the event is required (the
 * repository, the PR or issue number, the commit sha, the check's name); a payload without it is not that event.
 */
export function mapGitHubEvent(name: GitHubEventName, payload: unknown): MappedGitHubEvent {
  try {
    return { ok: true, event: MAPPERS[name](new Fields(payload)) };
  } catch (err) {
    if (err instanceof MissingField) return { ok: false, missing: err.path };
    throw err;
  }
}

const MAPPERS: { readonly [N in GitHubEventName]: (p: Fields) => Extract<GitHubEvent, { kind: N }> } = {
  pull_request: (p) => ({
    kind: 'pull_request',
    ...base(p),
    number: p.requiredNumber('pull_request.number'),
    headSha: p.requiredText('pull_request.head.sha'),
    headRef: p.text('pull_request.head.ref'),
    baseRef: p.text('pull_request.base.ref'),
    merged: p.value('pull_request.merged') === true,
    mergedBy: p.text('pull_request.merged_by.login'),
    mergeCommitSha: p.text('pull_request.merge_commit_sha'),
    draft: p.value('pull_request.draft') === true,
    author: p.text('pull_request.user.login'),
    label: p.text('label.name'),
  }),
  pull_request_review: (p) => ({
    kind: 'pull_request_review',
    ...base(p),
    number: p.requiredNumber('pull_request.number'),
    state: p.text('review.state'),
    reviewer: p.text('review.user.login'),
  }),
  check_suite: (p) => ({
    kind: 'check_suite',
    ...base(p),
    headSha: p.requiredText('check_suite.head_sha'),
    headBranch: p.text('check_suite.head_branch'),
    status: p.text('check_suite.status'),
    conclusion: p.text('check_suite.conclusion'),
    app: p.text('check_suite.app.slug'),
    pullRequests: p.numbersOf('check_suite.pull_requests', 'number'),
  }),
  check_run: (p) => ({
    kind: 'check_run',
    ...base(p),
    headSha: p.requiredText('check_run.head_sha'),
    name: p.requiredText('check_run.name'),
    status: p.text('check_run.status'),
    conclusion: p.text('check_run.conclusion'),
    checkSuiteId: p.number('check_run.check_suite.id'),
    pullRequests: p.numbersOf('check_run.pull_requests', 'number'),
  }),
  status: (p) => ({
    kind: 'status',
    ...base(p),
    sha: p.requiredText('sha'),
    state: p.requiredText('state'),
    context: p.requiredText('context'),
    targetUrl: p.text('target_url'),
    description: p.text('description'),
    branches: p.textsOf('branches', 'name'),
  }),
  issues: (p) => ({
    kind: 'issues',
    ...base(p),
    number: p.requiredNumber('issue.number'),
    title: p.text('issue.title'),
    state: p.text('issue.state'),
    label: p.text('label.name'),
    labels: p.textsOf('issue.labels', 'name'),
  }),
  issue_comment: (p) => ({
    kind: 'issue_comment',
    ...base(p),
    number: p.requiredNumber('issue.number'),
    onPullRequest: isObject(p.value('issue.pull_request')),
    commentId: p.number('comment.id'),
    body: p.text('comment.body') ?? '',
    author: p.text('comment.user.login'),
    authorType: p.text('comment.user.type'),
    authorAssociation: p.text('comment.author_association'),
  }),
};

function base(p: Fields): GitHubEventBase {
  return { repo: p.requiredText('repository.full_name'), action: p.text('action'), sender: p.text('sender.login'), installationId: p.number('installation.id') };
}

/** Thrown inside the mappers when an identifying field is absent; caught by {@link mapGitHubEvent}. */
class MissingField extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`${path} is missing`);
    this.path = path;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Typed reads of a payload by dotted path, tolerant of anything missing or of the wrong type. */
class Fields {
  private readonly payload: unknown;
  constructor(payload: unknown) {
    this.payload = payload;
  }

  value(path: string): unknown {
    let value: unknown = this.payload;
    for (const key of path.split('.')) value = isObject(value) ? value[key] : undefined;
    return value;
  }

  text(path: string): string | null {
    const value = this.value(path);
    return typeof value === 'string' ? value : null;
  }

  number(path: string): number | null {
    const value = this.value(path);
    return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
  }

  requiredText(path: string): string {
    const value = this.text(path);
    if (value === null || value.length === 0) throw new MissingField(path);
    return value;
  }

  requiredNumber(path: string): number {
    const value = this.number(path);
    if (value === null) throw new MissingField(path);
    return value;
  }

  /** `key` of each object in the array at `path`, skipping those without it. */
  numbersOf(path: string, key: string): number[] {
    return this.each(path, key).filter((value): value is number => typeof value === 'number' && Number.isSafeInteger(value));
  }

  /** As {@link numbersOf}, for text. */
  textsOf(path: string, key: string): string[] {
    return this.each(path, key).filter((value): value is string => typeof value === 'string');
  }

  private each(path: string, key: string): unknown[] {
    const items = this.value(path);
    return Array.isArray(items) ? items.map((item: unknown) => (isObject(item) ? item[key] : undefined)) : [];
  }
}
