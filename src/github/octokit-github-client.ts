/**
 * The Octokit adapter of the GitHub port. The resource wrappers (issues.ts, pulls.ts, checks.ts) hold no
 * retry policy: the plugins configured in octokit.ts retry within their bounds, and whatever outlasts them
 * becomes a typed error (errors.ts) for Temporal to retry or not.
 * @see https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api
 */
import type { Config } from '../config';
import { createAppOctokits } from './app-installations';
import { createChecksApi } from './checks';
import type { GitHubClient, RepoRef } from './github-client';
import { createIssuesApi } from './issues';
import { GitHubOctokit, octokitOptionsOf, type GitHubOctokitInstance, type OctokitGitHubClientOptions, type RunGitHubCall } from './octokit';
import { toGitHubError } from './octokit-errors';
import { createPullsApi } from './pulls';

/**
 * A {@link GitHubClient} over the REST API. With a token every call uses it; with an App, the installation
 * of each repository is found once (`GET /repos/{owner}/{repo}/installation`) and its token is minted and
 * cached by `@octokit/auth-app` until shortly before it expires.
 */
export function createOctokitGitHubClient(options: OctokitGitHubClientOptions): GitHubClient {
  const common = octokitOptionsOf(options);
  const { auth } = options;
  const secret = 'token' in auth ? auth.token : undefined;
  const scrub = (text: string): string => (secret && secret.length >= 4 ? text.split(secret).join('[redacted]') : text);

  let octokitFor: (repo: RepoRef, signal?: AbortSignal) => Promise<GitHubOctokitInstance>;
  let forget: (repo: RepoRef) => void = () => undefined;
  if ('token' in auth) {
    const octokit = new GitHubOctokit({ ...common, auth: auth.token });
    octokitFor = async () => octokit;
  } else {
    const app = createAppOctokits(common, auth.appId, auth.privateKey);
    octokitFor = app.forRepo;
    forget = app.forget;
  }

  const run: RunGitHubCall = async (repo, operation, call, callOptions = {}) => {
    const { signal, interpret } = callOptions;
    try {
      const octokit = await octokitFor(repo, signal);
      return await call(octokit, signal ? { signal } : {});
    } catch (error) {
      // The caller gave up: hand back its own reason, not a GitHub failure.
      if (signal?.aborted) throw signal.reason;
      const status = (error as { status?: unknown }).status;
      // An App uninstalled (or reinstalled under a new id) must be looked up again next time.
      if (status === 401 || status === 404) forget(repo);
      throw toGitHubError(error, {
        repo: `${repo.owner}/${repo.repo}`,
        operation,
        auth: 'token' in auth ? 'token' : 'app',
        scrub,
        ...(interpret ? { interpret } : {}),
      });
    }
  };

  return { issues: createIssuesApi(run), pulls: createPullsApi(run), checks: createChecksApi(run) };
}

/** Client options for the configured token or App (config refuses both); undefined when neither is set. */
export function gitHubClientOptionsOf(github: Config['github']): OctokitGitHubClientOptions | undefined {
  const auth = github.app ?? (github.token ? { token: github.token } : undefined);
  return auth ? { baseUrl: github.apiUrl, auth } : undefined;
}
