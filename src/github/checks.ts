/**
 * Check runs, commit statuses and the required checks of a branch, as thin wrappers over the REST
 * endpoints. Judging "green" is the caller's: these only read (reference/github.md §3).
 * @see https://docs.github.com/en/rest/checks/runs?apiVersion=2022-11-28
 * @see https://docs.github.com/en/rest/commits/statuses?apiVersion=2022-11-28
 */
import type { ChecksApi, GitHubCheckRun, GitHubCommitStatus, GitHubRequiredChecks, RequiredChecksSource } from './github-client';
import { withSignal, type RunGitHubCall } from './octokit';

type StatusState = GitHubCommitStatus['state'];
const STATUS_STATES: readonly string[] = ['pending', 'success', 'failure', 'error'];
const stateOf = (state: string): StatusState => (STATUS_STATES.includes(state) ? (state as StatusState) : 'pending');

/** Required contexts from one source, or why there are none. */
interface RequiredPart {
  readonly source: RequiredChecksSource;
  readonly contexts: readonly string[];
  readonly strict: boolean;
}

/**
 * Reads one source of required checks; a 403 or 404 means the credentials may not read it (classic
 * protection needs Administration read), so it is `unknown`, except GitHub's own "Branch not protected".
 */
async function readPart(read: () => Promise<RequiredPart>): Promise<RequiredPart> {
  try {
    return await read();
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (status !== 403 && status !== 404) throw error;
    const message = String((error as { response?: { data?: { message?: unknown } } }).response?.data?.message ?? '');
    return { source: /not protected/i.test(message) ? 'none' : 'unknown', contexts: [], strict: false };
  }
}

/** The checks wrappers of one client. */
export function createChecksApi(run: RunGitHubCall): ChecksApi {
  return {
    /** @see https://docs.github.com/en/rest/checks/runs?apiVersion=2022-11-28#list-check-runs-for-a-git-reference */
    listForRef(repo, ref, options = {}) {
      return run(
        repo,
        `list the check runs of ${ref}`,
        async (octokit, request) => {
          const params = { ...repo, ref, filter: 'latest', per_page: 100 } as const;
          const runs = await octokit.paginate(withSignal(octokit.rest.checks.listForRef, request), params);
          return runs.map(
            (item): GitHubCheckRun => ({
              id: Number(item.id),
              name: item.name,
              status: item.status,
              conclusion: item.conclusion,
              ...(item.html_url ? { htmlUrl: item.html_url } : {}),
              ...(item.app?.slug ? { appSlug: item.app.slug } : {}),
              output: { title: item.output.title, summary: item.output.summary },
              completedAt: item.completed_at,
            }),
          );
        },
        options,
      );
    },

    /** @see https://docs.github.com/en/rest/commits/statuses?apiVersion=2022-11-28#get-the-combined-status-for-a-specific-reference */
    combinedStatus(repo, ref, options = {}) {
      return run(
        repo,
        `read the commit status of ${ref}`,
        async (octokit, request) => {
          const { data } = await octokit.rest.repos.getCombinedStatusForRef({ ...repo, ref, per_page: 100, request });
          return {
            state: stateOf(data.state),
            totalCount: data.total_count,
            statuses: data.statuses.map((status) => ({
              context: status.context,
              state: stateOf(status.state),
              description: status.description,
              targetUrl: status.target_url,
            })),
          };
        },
        options,
      );
    },

    /**
     * Classic protection and rulesets together; a source the credentials cannot read is `unknown`.
     * @see https://docs.github.com/en/rest/branches/branch-protection?apiVersion=2022-11-28#get-status-checks-protection
     * @see https://docs.github.com/en/rest/repos/rules?apiVersion=2022-11-28#get-rules-for-a-branch
     */
    requiredForBranch(repo, branch, options = {}): Promise<GitHubRequiredChecks> {
      return run(
        repo,
        `read the required checks of ${branch}`,
        async (octokit, request) => {
          const [classic, rulesets] = await Promise.all([
            readPart(async () => {
              const { data } = await octokit.rest.repos.getStatusChecksProtection({ ...repo, branch, request });
              const contexts = [...(data.contexts ?? []), ...(data.checks ?? []).map((check) => check.context)];
              return { source: 'read', contexts, strict: data.strict ?? false };
            }),
            readPart(async () => {
              const rules = await octokit.paginate(withSignal(octokit.rest.repos.getBranchRules, request), { ...repo, branch, per_page: 100 });
              const required = rules.flatMap((rule) => (rule.type === 'required_status_checks' ? [rule.parameters] : []));
              return {
                source: required.length > 0 ? 'read' : 'none',
                contexts: required.flatMap((parameters) => (parameters?.required_status_checks ?? []).map((check) => check.context)),
                strict: required.some((parameters) => parameters?.strict_required_status_checks_policy === true),
              };
            }),
          ]);
          return {
            contexts: [...new Set([...classic.contexts, ...rulesets.contexts])],
            strict: classic.strict || rulesets.strict,
            branchProtection: classic.source,
            rulesets: rulesets.source,
          };
        },
        options,
      );
    },
  };
}
