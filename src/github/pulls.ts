/**
 * Pull requests: read, list, merge with a head-sha guard, update the branch. Thin wrappers over the REST
 * endpoints; the only logic here is reading 405/409/422 as the typed errors a person acts on.
 * @see https://docs.github.com/en/rest/pulls/pulls?apiVersion=2022-11-28
 */
import { GitHubHeadMovedError, GitHubNotMergeableError } from './errors';
import type { GitHubPullRequest, PullsApi } from './github-client';
import { withSignal, type RunGitHubCall } from './octokit';

/** The fields of GitHub's pull request object this module reads. */
interface PullData {
  readonly number: number;
  readonly title: string;
  readonly body: string | null;
  readonly state: string;
  readonly draft?: boolean;
  readonly merged?: boolean;
  readonly merged_at?: string | null;
  readonly merged_by?: { readonly login: string } | null;
  readonly merge_commit_sha: string | null;
  readonly mergeable?: boolean | null;
  readonly mergeable_state?: string;
  readonly head: { readonly ref: string; readonly sha: string };
  readonly base: { readonly ref: string; readonly sha: string };
  readonly html_url: string;
  readonly user?: { readonly login: string } | null;
  readonly updated_at?: string;
}

function toPullRequest(data: PullData): GitHubPullRequest {
  return {
    number: data.number,
    title: data.title,
    body: data.body,
    state: data.state === 'closed' ? 'closed' : 'open',
    draft: data.draft ?? false,
    // the list endpoint has no `merged`; `merged_at` says the same
    merged: data.merged ?? Boolean(data.merged_at),
    ...(data.merged_by ? { mergedBy: data.merged_by.login } : {}),
    mergeCommitSha: data.merge_commit_sha,
    mergeable: data.mergeable ?? null,
    ...(data.mergeable_state === undefined ? {} : { mergeableState: data.mergeable_state }),
    head: { ref: data.head.ref, sha: data.head.sha },
    base: { ref: data.base.ref, sha: data.base.sha },
    htmlUrl: data.html_url,
    ...(data.user ? { user: data.user.login } : {}),
    ...(data.updated_at ? { updatedAt: data.updated_at } : {}),
  };
}

/** The pull request wrappers of one client. */
export function createPullsApi(run: RunGitHubCall): PullsApi {
  return {
    /** @see https://docs.github.com/en/rest/pulls/pulls?apiVersion=2022-11-28#get-a-pull-request */
    get(repo, pullNumber, options = {}) {
      return run(
        repo,
        `read pull request #${pullNumber}`,
        async (octokit, request) => toPullRequest((await octokit.rest.pulls.get({ ...repo, pull_number: pullNumber, request })).data),
        options,
      );
    },

    /** @see https://docs.github.com/en/rest/pulls/reviews?apiVersion=2022-11-28#list-reviews-for-a-pull-request */
    listReviews(repo, pullNumber, options = {}) {
      return run(
        repo,
        `list the reviews of pull request #${pullNumber}`,
        async (octokit, request) => {
          const reviews = await octokit.paginate(withSignal(octokit.rest.pulls.listReviews, request), { ...repo, pull_number: pullNumber, per_page: 100 });
          return reviews.map((review) => ({ user: review.user?.login ?? 'someone', state: review.state }));
        },
        options,
      );
    },

    /** @see https://docs.github.com/en/rest/pulls/pulls?apiVersion=2022-11-28#list-pull-requests */
    list(repo, options = {}) {
      const { state = 'open', head, base } = options;
      return run(
        repo,
        'list pull requests',
        async (octokit, request) => {
          const params = { ...repo, state, per_page: 100, ...(head ? { head } : {}), ...(base ? { base } : {}) };
          return (await octokit.paginate(withSignal(octokit.rest.pulls.list, request), params)).map(toPullRequest);
        },
        options,
      );
    },

    /**
     * Merges only if the head is still `sha`: 409 means it moved, 405 carries GitHub's reason.
     * @see https://docs.github.com/en/rest/pulls/pulls?apiVersion=2022-11-28#merge-a-pull-request
     */
    merge(input, options = {}) {
      const { owner, repo, pullNumber, sha, mergeMethod, commitTitle, commitMessage } = input;
      return run(
        { owner, repo },
        `merge pull request #${pullNumber}`,
        async (octokit, request) => {
          const { data } = await octokit.rest.pulls.merge({
            owner,
            repo,
            pull_number: pullNumber,
            sha,
            merge_method: mergeMethod,
            ...(commitTitle === undefined ? {} : { commit_title: commitTitle }),
            ...(commitMessage === undefined ? {} : { commit_message: commitMessage }),
            request,
          });
          return { merged: data.merged, sha: data.sha, message: data.message };
        },
        {
          ...options,
          interpret: (status, error) => {
            if (status === 409) {
              return new GitHubHeadMovedError({
                ...error,
                message: `Pull request #${pullNumber} in ${owner}/${repo} was not merged: new commits arrived after ${sha.slice(0, 7)}, so its checks run again. (${error.githubMessage ?? 'HTTP 409'})`,
              });
            }
            if (status === 405) {
              return new GitHubNotMergeableError({
                ...error,
                message: `GitHub will not merge pull request #${pullNumber} in ${owner}/${repo}: ${error.githubMessage ?? 'it is not mergeable'}`,
              });
            }
            return undefined;
          },
        },
      );
    },

    /** @see https://docs.github.com/en/rest/pulls/pulls?apiVersion=2022-11-28#update-a-pull-request-branch */
    updateBranch(repo, pullNumber, expectedHeadSha, options = {}) {
      return run(
        repo,
        `update the branch of pull request #${pullNumber}`,
        async (octokit, request) => {
          await octokit.rest.pulls.updateBranch({
            ...repo,
            pull_number: pullNumber,
            ...(expectedHeadSha === undefined ? {} : { expected_head_sha: expectedHeadSha }),
            request,
          });
        },
        {
          ...options,
          // GitHub answers a stale expected_head_sha with 422, where a merge says 409.
          interpret: (status, error) =>
            status === 422 && /expected.head.sha|head sha/i.test(error.githubMessage ?? '')
              ? new GitHubHeadMovedError({
                  ...error,
                  message: `The branch of pull request #${pullNumber} in ${repo.owner}/${repo.repo} was not updated: its head moved past ${expectedHeadSha?.slice(0, 7)}. (${error.githubMessage})`,
                })
              : undefined,
        },
      );
    },
  };
}
