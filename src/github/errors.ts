/**
 * Errors of the GitHub module. Each says what a person can do about it. Messages carry GitHub's own words
 * (its `message` field) but never a token or key: the adapter scrubs a configured token from anything GitHub
 * echoes, and Octokit's request errors already redact the `authorization` header they keep in `cause`.
 * @see https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
 */

/** The stable machine-readable kinds of failure. */
export type GitHubErrorCode =
  | 'BAD_CREDENTIALS'
  | 'NO_ACCESS'
  | 'NOT_MERGEABLE'
  | 'HEAD_MOVED'
  | 'RATE_LIMITED'
  | 'VALIDATION'
  | 'SERVER_ERROR'
  | 'NETWORK'
  | 'HTTP_ERROR';

/** What every {@link GitHubError} is built from. */
export interface GitHubErrorOptions {
  /** HTTP status; 0 when no HTTP answer arrived (network failure). */
  readonly status: number;
  readonly message: string;
  /** GitHub's own `message` field, e.g. `Head branch was modified. Review and try the merge again.` */
  readonly githubMessage?: string;
  /** `owner/repo` the call was about. */
  readonly repo?: string;
  /** Human words for the call, e.g. `merge pull request #7`. */
  readonly operation?: string;
  readonly cause?: unknown;
}

/**
 * Thrown by the GitHub adapter when a call does not succeed after the library's own retries (5xx, rate
 * limits). `retryable` tells an activity whether the same call may succeed later.
 */
export class GitHubError extends Error {
  override readonly name: string = 'GitHubError';
  readonly code: GitHubErrorCode = 'HTTP_ERROR';
  readonly status: number;
  readonly githubMessage?: string;
  readonly repo?: string;
  readonly operation?: string;

  constructor(options: GitHubErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    if (options.githubMessage !== undefined) this.githubMessage = options.githubMessage;
    if (options.repo !== undefined) this.repo = options.repo;
    if (options.operation !== undefined) this.operation = options.operation;
  }

  /** True when the same call may succeed later (rate limits, 5xx, network); false for every other 4xx. */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

/** 401: the token is wrong, revoked or expired, or the App's JWT was refused. */
export class GitHubBadCredentialsError extends GitHubError {
  override readonly name = 'GitHubBadCredentialsError';
  override readonly code = 'BAD_CREDENTIALS';
}

/** 403 or 404 on a repository: the credentials cannot see it (or the thing asked for does not exist). */
export class GitHubNoAccessError extends GitHubError {
  override readonly name = 'GitHubNoAccessError';
  override readonly code = 'NO_ACCESS';
}

/** 405 on merge: GitHub refused, and `reason` is its own explanation (failing checks, required reviews, …). */
export class GitHubNotMergeableError extends GitHubError {
  override readonly name = 'GitHubNotMergeableError';
  override readonly code = 'NOT_MERGEABLE';
  /** GitHub's words, e.g. `At least 1 approving review is required by reviewers with write access.` */
  get reason(): string {
    return this.githubMessage ?? 'GitHub gave no reason';
  }
}

/** 409 on merge (422 on update-branch): the head is no longer the sha the caller checked. */
export class GitHubHeadMovedError extends GitHubError {
  override readonly name = 'GitHubHeadMovedError';
  override readonly code = 'HEAD_MOVED';
}

/** A primary or secondary rate limit that outlasted the library's bounded waits. */
export class GitHubRateLimitedError extends GitHubError {
  override readonly name = 'GitHubRateLimitedError';
  override readonly code = 'RATE_LIMITED';
  /** Seconds GitHub asked us to wait (`retry-after`, or until `x-ratelimit-reset`), when it said. */
  readonly retryAfterSeconds?: number;
  readonly limit: 'primary' | 'secondary';

  constructor(options: GitHubErrorOptions & { readonly limit: 'primary' | 'secondary'; readonly retryAfterSeconds?: number }) {
    super(options);
    this.limit = options.limit;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  override get retryable(): boolean {
    return true;
  }
}

/** 422: GitHub rejected the request's content. */
export class GitHubValidationError extends GitHubError {
  override readonly name = 'GitHubValidationError';
  override readonly code = 'VALIDATION';
}

/** 5xx after the retries, or no answer at all (status 0). */
export class GitHubUnavailableError extends GitHubError {
  override readonly name = 'GitHubUnavailableError';
  override readonly code: GitHubErrorCode = 'SERVER_ERROR';

  constructor(options: GitHubErrorOptions) {
    super(options);
    if (options.status === 0) this.code = 'NETWORK';
  }
}
