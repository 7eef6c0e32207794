/**
 * Issues, their labels and their comments, as thin wrappers over the REST endpoints: no retries here
 * (octokit.ts). The only logic is reading a deleted issue (410) as "not there", and a label that is already
 * off an issue as done.
 * @see https://docs.github.com/en/rest/issues?apiVersion=2022-11-28
 */
import { GitHubNoAccessError, type GitHubError, type GitHubErrorOptions } from './errors';
import type { GitHubComment, GitHubIssue, IssuesApi, RepoRef } from './github-client';
import { withSignal, type RunGitHubCall } from './octokit';

/** The fields of GitHub's issue object this module reads. */
interface IssueData {
  readonly number: number;
  readonly title: string;
  readonly body?: string | null;
  readonly state: string;
  readonly html_url: string;
  readonly created_at: string;
  readonly labels: readonly (string | { readonly name?: string | undefined })[];
  readonly user?: { readonly login: string } | null;
  readonly pull_request?: unknown;
}

/** A label as GitHub returns it: an object with a name (older payloads: the bare name). */
type LabelData = string | { readonly name?: string | undefined };

const namesOf = (labels: readonly LabelData[]): string[] =>
  labels.map((label) => (typeof label === 'string' ? label : label.name ?? '')).filter(Boolean);

/** The issues endpoints answer pull requests too, marked by a `pull_request` key. */
const isPullRequest = (data: IssueData): boolean => data.pull_request !== undefined && data.pull_request !== null;

function toIssue(data: IssueData): GitHubIssue {
  return {
    number: data.number,
    title: data.title,
    body: data.body ?? null,
    state: data.state === 'closed' ? 'closed' : 'open',
    labels: namesOf(data.labels),
    htmlUrl: data.html_url,
    ...(data.user ? { user: data.user.login } : {}),
    pullRequest: isPullRequest(data),
    createdAt: data.created_at,
  };
}

/**
 * 410 is GitHub's answer for a deleted issue: it is as gone as a 404, so it gets the same typed error, in
 * words that say so. A 404 keeps the general reading (not there, or the credentials cannot see it).
 */
function deletedIssue(repo: RepoRef, issueNumber: number) {
  return (status: number, error: GitHubErrorOptions): GitHubError | undefined =>
    status === 410
      ? new GitHubNoAccessError({
          ...error,
          message: `Issue #${issueNumber} in ${repo.owner}/${repo.repo} was deleted on GitHub (410: ${error.githubMessage ?? 'Gone'}), so there is nothing left to act on.`,
        })
      : undefined;
}

/** GitHub's words when the label asked to be removed is not on the issue; a missing issue says `Not Found`. */
const LABEL_NOT_ON_ISSUE = /label does not exist/i;

function isLabelNotOnIssue(error: unknown): boolean {
  const { status, response } = error as { status?: unknown; response?: { data?: { message?: unknown } } };
  return status === 404 && typeof response?.data?.message === 'string' && LABEL_NOT_ON_ISSUE.test(response.data.message);
}

/** The issues wrappers of one client. */
export function createIssuesApi(run: RunGitHubCall): IssuesApi {
  return {
    /**
     * Pages through the issues with `label`, oldest first; GitHub lists pull requests here too (with a
     * `pull_request` key), and they are dropped.
     * @see https://docs.github.com/en/rest/issues/issues?apiVersion=2022-11-28#list-repository-issues
     */
    listWithLabel(repo, label, options = {}) {
      return run(
        repo,
        `list the issues labelled "${label}"`,
        async (octokit, request) => {
          const params = { ...repo, labels: label, state: options.state ?? 'open', sort: 'created', direction: 'asc', per_page: 100 } as const;
          const items = await octokit.paginate(withSignal(octokit.rest.issues.listForRepo, request), params);
          return items.map(toIssue).filter((issue) => !issue.pullRequest);
        },
        options,
      );
    },

    /** @see https://docs.github.com/en/rest/issues/issues?apiVersion=2022-11-28#get-an-issue */
    get(repo, issueNumber, options = {}) {
      return run(
        repo,
        `read issue #${issueNumber}`,
        async (octokit, request) => toIssue((await octokit.rest.issues.get({ ...repo, issue_number: issueNumber, request })).data),
        { ...options, interpret: deletedIssue(repo, issueNumber) },
      );
    },

    /** @see https://docs.github.com/en/rest/issues/labels?apiVersion=2022-11-28#add-labels-to-an-issue */
    addLabels(repo, issueNumber, labels, options = {}) {
      return run(
        repo,
        `label #${issueNumber} ${labels.map((label) => `"${label}"`).join(', ')}`,
        async (octokit, request) => {
          const { data } = await octokit.rest.issues.addLabels({ ...repo, issue_number: issueNumber, labels: [...labels], request });
          return namesOf(data);
        },
        { ...options, interpret: deletedIssue(repo, issueNumber) },
      );
    },

    /** @see https://docs.github.com/en/rest/issues/labels?apiVersion=2022-11-28#remove-a-label-from-an-issue */
    removeLabel(repo, issueNumber, label, options = {}) {
      return run(
        repo,
        `remove the label "${label}" from #${issueNumber}`,
        async (octokit, request) => {
          try {
            await octokit.rest.issues.removeLabel({ ...repo, issue_number: issueNumber, name: label, request });
          } catch (error) {
            // Already off (a retried attempt, or someone else removed it): the state asked for holds.
            if (!isLabelNotOnIssue(error)) throw error;
          }
        },
        { ...options, interpret: deletedIssue(repo, issueNumber) },
      );
    },

    /** @see https://docs.github.com/en/rest/issues/comments?apiVersion=2022-11-28#create-an-issue-comment */
    createComment(repo, issueNumber, body, options = {}): Promise<GitHubComment> {
      return run(
        repo,
        `comment on #${issueNumber}`,
        async (octokit, request) => {
          const { data } = await octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body, request });
          return { id: Number(data.id), body: data.body ?? body, htmlUrl: data.html_url };
        },
        { ...options, interpret: deletedIssue(repo, issueNumber) },
      );
    },

    /** @see https://docs.github.com/en/rest/issues/comments?apiVersion=2022-11-28#list-issue-comments */
    listComments(repo, issueNumber, options = {}): Promise<GitHubComment[]> {
      return run(
        repo,
        `read the comments on #${issueNumber}`,
        async (octokit, request) => {
          const comments = await octokit.paginate(withSignal(octokit.rest.issues.listComments, request), { ...repo, issue_number: issueNumber, per_page: 100 });
          return comments.map((comment) => ({ id: Number(comment.id), body: comment.body ?? '', htmlUrl: comment.html_url }));
        },
        { ...options, interpret: deletedIssue(repo, issueNumber) },
      );
    },
  };
}
