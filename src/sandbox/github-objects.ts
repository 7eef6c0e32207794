/**
 * The GitHub emulator's state and how it looks on the wire. The same renderers serve REST responses and
 * webhook payloads, as GitHub's own objects are the same in both (reference/github.md §2, §4), trimmed to
 * the fields this service and its tests read.
 * @see https://docs.github.com/en/rest?apiVersion=2022-11-28
 */
import { createHash } from 'node:crypto';

/** A check run's or suite's conclusion, as GitHub names them. */
export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | 'stale';
export type CommitState = 'pending' | 'success' | 'failure' | 'error';
export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface CommentState {
  readonly id: number;
  readonly body: string;
  readonly user: string;
  readonly createdAt: string;
}

export interface ReviewState {
  readonly user: string;
  readonly state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
}

export interface PullState {
  headRef: string;
  headSha: string;
  readonly baseRef: string;
  baseSha: string;
  draft: boolean;
  merged: boolean;
  mergedBy?: string;
  mergedAt?: string;
  mergeCommitSha: string | null;
  readonly reviews: ReviewState[];
}

/** An issue, or a pull request when `pull` is set: they share one number space, as on GitHub. */
export interface IssueState {
  readonly number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  readonly labels: string[];
  readonly user: string;
  readonly comments: CommentState[];
  readonly createdAt: string;
  updatedAt: string;
  closedAt?: string;
  /** Deleted by a maintainer: GitHub answers 410 for it and lists it no more; its number is not reused. */
  deleted?: boolean;
  readonly pull?: PullState;
}

export interface CheckRunState {
  readonly id: number;
  readonly name: string;
  readonly headSha: string;
  readonly suiteId: number;
  readonly app: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: CheckConclusion | null;
  output: { title: string | null; summary: string | null };
  readonly startedAt: string;
  completedAt: string | null;
}

export interface CheckSuiteState {
  readonly id: number;
  readonly headSha: string;
  readonly headBranch: string | null;
  readonly app: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: CheckConclusion | null;
}

export interface CommitStatusState {
  readonly id: number;
  readonly sha: string;
  readonly context: string;
  readonly state: CommitState;
  readonly description: string | null;
  readonly targetUrl: string | null;
  readonly createdAt: string;
}

/** Required status checks of one branch, from classic protection or a ruleset. */
export interface RequiredChecksState {
  readonly contexts: readonly string[];
  readonly strict: boolean;
  /** Classic protection only: approving reviews needed to merge. */
  readonly requiredApprovals?: number;
}

export interface RepoState {
  readonly id: number;
  readonly owner: string;
  readonly name: string;
  readonly defaultBranch: string;
  readonly private: boolean;
  /** Branch name → head sha. */
  readonly branches: Map<string, string>;
  readonly issues: Map<number, IssueState>;
  readonly checkSuites: CheckSuiteState[];
  readonly checkRuns: CheckRunState[];
  readonly statuses: CommitStatusState[];
  /** Classic branch protection by branch. */
  readonly protection: Map<string, RequiredChecksState>;
  /** Active rulesets with a `required_status_checks` rule, by the branch they target. */
  readonly rulesets: { readonly id: number; readonly branch: string; readonly checks: RequiredChecksState }[];
  readonly mergeMethods: Set<MergeMethod>;
}

/** Renders state as GitHub's JSON, with links under `apiUrl` (the emulator) and `htmlUrl` (github.com). */
export interface Renderer {
  repository(repo: RepoState): Record<string, unknown>;
  issue(repo: RepoState, issue: IssueState): Record<string, unknown>;
  pull(repo: RepoState, issue: IssueState): Record<string, unknown>;
  comment(repo: RepoState, issue: IssueState, comment: CommentState): Record<string, unknown>;
  checkRun(repo: RepoState, run: CheckRunState): Record<string, unknown>;
  checkSuite(repo: RepoState, suite: CheckSuiteState): Record<string, unknown>;
  status(repo: RepoState, status: CommitStatusState): Record<string, unknown>;
  user(login: string): Record<string, unknown>;
  htmlUrlOf(repo: RepoState, path: string): string;
}

/** A sha that looks like git's, unique per input. */
export function fakeSha(...parts: readonly (string | number)[]): string {
  return createHash('sha1').update(parts.join('\0')).digest('hex');
}

/** A stable numeric id for a login, as GitHub's user ids are. */
function userId(login: string): number {
  return Number.parseInt(fakeSha('user', login).slice(0, 7), 16);
}

/** Open pull requests whose head is `sha`, in the minimal form check payloads carry. */
function pullsAt(repo: RepoState, sha: string, render: Renderer): Record<string, unknown>[] {
  const minimal = render.repository(repo);
  return [...repo.issues.values()]
    .filter((issue) => issue.pull && issue.state === 'open' && issue.pull.headSha === sha)
    .map((issue) => ({
      number: issue.number,
      head: { ref: issue.pull!.headRef, sha: issue.pull!.headSha, repo: { id: minimal.id, name: minimal.name } },
      base: { ref: issue.pull!.baseRef, sha: issue.pull!.baseSha, repo: { id: minimal.id, name: minimal.name } },
    }));
}

/** `apiUrl` is read late: the emulator knows its port only once it listens. */
export function createRenderer(apiUrlOf: () => string, htmlBaseUrl: string): Renderer {
  const render: Renderer = {
    htmlUrlOf: (repo, path) => `${htmlBaseUrl}/${repo.owner}/${repo.name}${path}`,
    user: (login) => ({ login, id: userId(login), type: login.endsWith('[bot]') ? 'Bot' : 'User' }),
    repository: (repo) => ({
      id: repo.id,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      owner: render.user(repo.owner),
      private: repo.private,
      default_branch: repo.defaultBranch,
      html_url: render.htmlUrlOf(repo, ''),
      url: `${apiUrlOf()}/repos/${repo.owner}/${repo.name}`,
    }),
    issue: (repo, issue) => ({
      id: userId(`issue:${repo.id}:${issue.number}`),
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      labels: issue.labels.map((name) => ({ name })),
      user: render.user(issue.user),
      comments: issue.comments.length,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      closed_at: issue.closedAt ?? null,
      html_url: render.htmlUrlOf(repo, `/${issue.pull ? 'pull' : 'issues'}/${issue.number}`),
      url: `${apiUrlOf()}/repos/${repo.owner}/${repo.name}/issues/${issue.number}`,
      ...(issue.pull
        ? {
            pull_request: {
              url: `${apiUrlOf()}/repos/${repo.owner}/${repo.name}/pulls/${issue.number}`,
              html_url: render.htmlUrlOf(repo, `/pull/${issue.number}`),
              merged_at: issue.pull.mergedAt ?? null,
            },
          }
        : {}),
    }),
    pull: (repo, issue) => {
      const pull = issue.pull!;
      const repository = render.repository(repo);
      return {
        ...render.issue(repo, issue),
        html_url: render.htmlUrlOf(repo, `/pull/${issue.number}`),
        url: `${apiUrlOf()}/repos/${repo.owner}/${repo.name}/pulls/${issue.number}`,
        pull_request: undefined,
        draft: pull.draft,
        merged: pull.merged,
        merged_at: pull.mergedAt ?? null,
        merged_by: pull.mergedBy ? render.user(pull.mergedBy) : null,
        merge_commit_sha: pull.mergeCommitSha,
        mergeable: issue.state === 'open' ? true : null,
        mergeable_state: issue.state === 'open' ? 'clean' : 'unknown',
        head: { ref: pull.headRef, sha: pull.headSha, label: `${repo.owner}:${pull.headRef}`, repo: repository },
        base: { ref: pull.baseRef, sha: pull.baseSha, label: `${repo.owner}:${pull.baseRef}`, repo: repository },
      };
    },
    comment: (repo, issue, comment) => ({
      id: comment.id,
      body: comment.body,
      user: render.user(comment.user),
      created_at: comment.createdAt,
      html_url: render.htmlUrlOf(repo, `/${issue.pull ? 'pull' : 'issues'}/${issue.number}#issuecomment-${comment.id}`),
      author_association: comment.user === repo.owner ? 'OWNER' : 'CONTRIBUTOR',
    }),
    checkSuite: (repo, suite) => ({
      id: suite.id,
      head_sha: suite.headSha,
      head_branch: suite.headBranch,
      status: suite.status,
      conclusion: suite.conclusion,
      app: { slug: suite.app, name: suite.app },
      latest_check_runs_count: repo.checkRuns.filter((run) => run.suiteId === suite.id).length,
      pull_requests: pullsAt(repo, suite.headSha, render),
    }),
    checkRun: (repo, run) => ({
      id: run.id,
      name: run.name,
      head_sha: run.headSha,
      status: run.status,
      conclusion: run.conclusion,
      started_at: run.startedAt,
      completed_at: run.completedAt,
      output: { ...run.output, text: null, annotations_count: 0 },
      html_url: render.htmlUrlOf(repo, `/runs/${run.id}`),
      app: { slug: run.app, name: run.app },
      check_suite: { id: run.suiteId },
      pull_requests: pullsAt(repo, run.headSha, render),
    }),
    status: (repo, status) => ({
      id: status.id,
      sha: status.sha,
      context: status.context,
      state: status.state,
      description: status.description,
      target_url: status.targetUrl,
      created_at: status.createdAt,
      updated_at: status.createdAt,
      branches: [...repo.branches].filter(([, sha]) => sha === status.sha).map(([name, sha]) => ({ name, commit: { sha } })),
    }),
  };
  return render;
}
