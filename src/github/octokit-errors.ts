/**
 * Turns what Octokit throws (a `RequestError` with `status` and `response`, or a fetch failure) into the
 * module's typed errors with words a person can act on. Only the adapter calls it.
 * @see https://github.com/octokit/request-error.js
 */
import {
  GitHubBadCredentialsError,
  GitHubError,
  GitHubNoAccessError,
  GitHubRateLimitedError,
  GitHubUnavailableError,
  GitHubValidationError,
  type GitHubErrorOptions,
} from './errors';

/** What the adapter knows of the call that failed. */
export interface FailedCall {
  /** `owner/repo`. */
  readonly repo: string;
  /** Human words, e.g. `merge pull request #7`. */
  readonly operation: string;
  /** Which credentials were used, so a 401 can say what to fix. */
  readonly auth: 'token' | 'app';
  /** Removes secrets from text GitHub sent back. */
  readonly scrub: (text: string) => string;
  /** Per-call reading of a status, e.g. 409 on merge is "head moved"; undefined falls back to the general rules. */
  readonly interpret?: (status: number, options: GitHubErrorOptions) => GitHubError | undefined;
}

interface OctokitLikeError {
  readonly status: number;
  readonly message: string;
  readonly response?: { readonly headers?: Record<string, string | undefined>; readonly data?: unknown };
}

function isOctokitError(error: unknown): error is OctokitLikeError {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

/** GitHub's `message` field, or undefined when the body had none. */
function githubMessageOf(error: OctokitLikeError): string | undefined {
  const data = error.response?.data;
  if (typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message.slice(0, 500);
  }
  return undefined;
}

/** A limit in seconds from `retry-after`, else from `x-ratelimit-reset` (epoch seconds). */
function retryAfterOf(headers: Record<string, string | undefined>): number | undefined {
  const retryAfter = Number(headers['retry-after']);
  if (headers['retry-after'] !== undefined && Number.isFinite(retryAfter)) return retryAfter;
  const reset = Number(headers['x-ratelimit-reset']);
  if (headers['x-ratelimit-reset'] !== undefined && Number.isFinite(reset)) return Math.max(0, Math.ceil(reset - Date.now() / 1000));
  return undefined;
}

/** Maps any failure of a call to a {@link GitHubError}; an abort is passed through untouched. */
export function toGitHubError(error: unknown, call: FailedCall): unknown {
  if (error instanceof GitHubError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const where = `${call.operation} in ${call.repo}`;
  if (!isOctokitError(error) || error.response === undefined) {
    // No HTTP answer: Octokit wraps fetch failures as status 500 without a response.
    const detail = error instanceof Error ? call.scrub(error.message).slice(0, 200) : String(error);
    return new GitHubUnavailableError({ status: 0, message: `Could not reach GitHub to ${where} (${detail}).`, repo: call.repo, operation: call.operation, cause: error });
  }
  const status = error.status;
  const headers = error.response.headers ?? {};
  const githubMessage = githubMessageOf(error);
  const said = githubMessage === undefined ? `HTTP ${status}` : call.scrub(githubMessage);
  const base = { status, repo: call.repo, operation: call.operation, cause: error, ...(githubMessage === undefined ? {} : { githubMessage: said }) };

  const specific = call.interpret?.(status, { ...base, message: `GitHub refused to ${where} (${status}): ${said}` });
  if (specific) return specific;

  const secondary = /\bsecondary rate\b/i.test(said);
  if (status === 429 || (status === 403 && (secondary || headers['x-ratelimit-remaining'] === '0'))) {
    const retryAfterSeconds = retryAfterOf(headers);
    return new GitHubRateLimitedError({
      ...base,
      limit: secondary ? 'secondary' : 'primary',
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      message:
        `GitHub rate-limited the request to ${where} (${status}: ${said}).` +
        (retryAfterSeconds === undefined ? ' Try again in a few minutes.' : ` Try again in ${retryAfterSeconds} s.`),
    });
  }
  if (status === 401) {
    const fix =
      call.auth === 'app'
        ? 'Check GITHUB_APP_ID and the App private key (GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE) match the GitHub App.'
        : 'GITHUB_TOKEN is wrong, expired or revoked: create a new token and set it again.';
    return new GitHubBadCredentialsError({ ...base, message: `GitHub rejected the credentials (401 ${said}) trying to ${where}. ${fix}` });
  }
  if (status === 403 || status === 404) {
    const fix =
      call.auth === 'app'
        ? `Install the GitHub App on ${call.repo} and grant it the permissions listed in the README ("GitHub").`
        : `Give the token access to ${call.repo} (README, "GitHub", lists the scopes).`;
    return new GitHubNoAccessError({
      ...base,
      message: `GitHub answered ${status} (${said}) to ${where}: either it does not exist or the credentials cannot see it. ${fix}`,
    });
  }
  if (status === 422) return new GitHubValidationError({ ...base, message: `GitHub rejected the request to ${where} (422): ${said}` });
  if (status >= 500) return new GitHubUnavailableError({ ...base, message: `GitHub failed to ${where} (${status}: ${said}); it may be having an outage, try again later.` });
  return new GitHubError({ ...base, message: `GitHub refused to ${where} (${status}): ${said}` });
}
