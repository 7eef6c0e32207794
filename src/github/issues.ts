/**
 * Issues and their comments, as thin wrappers over the REST endpoints: no retries here (octokit.ts).
 * @see https://docs.github.com/en/rest/issues?apiVersion=2022-11-28
 */
import type { GitHubComment, GitHubIssue, IssuesApi } from './github-client';
import { withSignal, type RunGitHubCall } from './octokit';

/** The fields of GitHub's issue object this module reads. */
interface IssueData {
  readonly number: number;
  readonly title: string;
  readonly body?: string | null;
  readonly state: string;
  readonly html_url: string;
  readonly labels: readonly (string | { readonly name?: string | undefined })[];
  readonly user?: { readonly login: string } | null;
  readonly pull_request?: unknown;
}

function toIssue(data: IssueData): GitHubIssue {
  return {
    number: data.number,
    title: data.title,
    body: data.body ?? null,
    state: data.state === 'closed' ? 'closed' : 'open',
    labels: data.labels.map((label) => (typeof label === 'string' ? label : label.name ?? '')).filter(Boolean),
    htmlUrl: data.html_url,
    ...(data.user ? { user: data.user.login } : {}),
  };
}

/** The issues wrappers of one client. */
export function createIssuesApi(run: RunGitHubCall): IssuesApi {
  return {
    /**
     * Pages through the issues with `label`; GitHub lists pull requests here too (with a `pull_request`
     * key), and they are dropped.
     * @see https://docs.github.com/en/rest/issues/issues?apiVersion=2022-11-28#list-repository-issues
     */
    listWithLabel(repo, label, options = {}) {
      return run(
        repo,
        `list the issues labelled "${label}"`,
        async (octokit, request) => {
          const params = { ...repo, labels: label, state: options.state ?? 'open', per_page: 100 } as const;
          const items = await octokit.paginate(withSignal(octokit.rest.issues.listForRepo, request), params);
          return items.filter((item) => item.pull_request === undefined || item.pull_request === null).map(toIssue);
        },
        options,
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
        options,
      );
    },
  };
}
