/**
 * The Octokit this module builds on: `@octokit/core` with the REST endpoint methods, pagination, and the
 * retry and throttling plugins, so 5xx, primary limits (`x-ratelimit-reset`) and secondary limits
 * (`retry-after`) are waited out by the library, a bounded number of times; and conditional requests, so a read
 * of something unchanged is a 304 that GitHub does not count.
 * @see https://github.com/octokit/core.js
 * @see https://github.com/octokit/plugin-throttling.js
 * @see https://github.com/octokit/plugin-retry.js
 */
import { Octokit } from '@octokit/core';
import { paginateRest } from '@octokit/plugin-paginate-rest';
import { restEndpointMethods } from '@octokit/plugin-rest-endpoint-methods';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck';
import type { CallOptions, RepoRef } from './github-client';
import type { FailedCall } from './octokit-errors';

/** The REST API version sent on every request; GitHub keeps it supported until at least 2028. */
export const GITHUB_API_VERSION = '2022-11-28';

/** Sends `X-GitHub-Api-Version` on every request, auth-app's token requests included (core has no headers option). */
function pinApiVersion(octokit: Octokit): void {
  octokit.hook.before('request', (options) => {
    options.headers['x-github-api-version'] = GITHUB_API_VERSION;
  });
}

/** How many answers one Octokit keeps for conditional requests; the least recently used goes first. */
export const CONDITIONAL_CACHE_ENTRIES = 2_000;

type CachedResponse = Awaited<ReturnType<Octokit['request']>>;

/**
 * Conditional requests: a GET goes with the ETag of its last 200 (`If-None-Match`), and a 304 is answered from that
 * 200. GitHub does not count a 304 against the primary rate limit, so looking again at an unchanged pull request,
 * its checks and its reviews costs nothing. One cache per Octokit, so per token or App installation: an ETag is
 * only good for the credentials that got it. Registered before retry and throttling, so those never see a 304.
 * @see https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
 */
function conditionalRequests(octokit: Octokit): void {
  const cache = new Map<string, CachedResponse>();
  const remember = (key: string, response: CachedResponse) => {
    cache.delete(key);
    cache.set(key, response);
    if (cache.size > CONDITIONAL_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  };
  octokit.hook.wrap('request', async (request, options) => {
    if (options.method !== 'GET') return request(options);
    const parsed = octokit.request.endpoint.parse(options);
    const key = `${String(parsed.headers.accept ?? '')} ${parsed.url}`;
    const cached = cache.get(key);
    const etag = cached?.headers.etag;
    if (etag) options.headers = { ...options.headers, 'if-none-match': etag };
    try {
      const response = await request(options);
      if (response.status === 200 && response.headers.etag) remember(key, { ...response, data: structuredClone(response.data) });
      return response;
    } catch (error) {
      if (!cached || (error as { status?: unknown }).status !== 304) throw error;
      remember(key, cached);
      const headers = (error as { response?: { headers?: CachedResponse['headers'] } }).response?.headers ?? {};
      // A copy: callers may change what they get (pagination rewrites a list's `data` in place).
      return { ...cached, data: structuredClone(cached.data), headers: { ...cached.headers, ...headers } };
    }
  });
}

/** What {@link OctokitGitHubClientOptions.observe} hears of each attempt: `route` is Octokit's template (`/repos/{owner}/{repo}/pulls/{pull_number}`). */
export type GitHubRequestObserver = (request: {
  readonly method: string;
  readonly route: string;
  /** The HTTP status, or `network` when no answer came. */
  readonly status: string;
  /** `x-ratelimit-remaining` and `x-ratelimit-resource` of the answer, when GitHub sent them. */
  readonly rateLimit?: { readonly remaining: number; readonly resource: string };
}) => void;

/**
 * Tells `options.observe` of every attempt (retries and 304s included). First in the plugin list, so innermost:
 * it sees what went over the wire, not what retry and the conditional cache made of it.
 */
function observedRequests(octokit: Octokit, octokitOptions: NonNullable<ConstructorParameters<typeof Octokit>[0]>): void {
  const observe = (octokitOptions as { observe?: GitHubRequestObserver }).observe;
  if (!observe) return;
  octokit.hook.wrap('request', async (request, options) => {
    // A next page's absolute URL names the repository: the label keeps the shape only.
    const route = /^https?:/.test(options.url) ? 'next page' : options.url;
    const method = options.method;
    const tell = (status: string, headers?: Record<string, unknown>) => {
      const remaining = Number(headers?.['x-ratelimit-remaining']);
      const resource = headers?.['x-ratelimit-resource'];
      observe({ method, route, status, ...(Number.isFinite(remaining) && headers?.['x-ratelimit-remaining'] !== undefined ? { rateLimit: { remaining, resource: typeof resource === 'string' ? resource : 'core' } } : {}) });
    };
    try {
      const response = await request(options);
      tell(String(response.status), response.headers);
      return response;
    } catch (error) {
      const failed = error as { status?: unknown; response?: { headers?: Record<string, unknown> } };
      tell(typeof failed.status === 'number' ? String(failed.status) : 'network', failed.response?.headers);
      throw error;
    }
  });
}

/** Writes that someone is waiting on in Discord: a merge, or bringing a branch up to date before one. */
const URGENT_WRITE = /\/pulls\/[^/]+\/(merge|update-branch)$/;

/**
 * Urgent writes first. GitHub asks for writes a second apart, so the throttling plugin sends them one at a time, in
 * the order they came; a plan's twenty label moves and comments would then hold a `/ship`'s merge for twenty seconds.
 * Writes wait here, one at a time, and a merge or branch update goes ahead of the queue. Registered after the
 * throttling plugin, so it runs before it: the pacing itself is still the plugin's.
 */
function urgentWritesFirst(octokit: Octokit): void {
  const writes = new Bottleneck({ maxConcurrent: 1 });
  octokit.hook.wrap('request', (request, options) => {
    if (options.method === 'GET' || options.method === 'HEAD') return request(options);
    return writes.schedule({ priority: URGENT_WRITE.test(options.url) ? 0 : 5 }, async () => request(options));
  });
}

/** Octokit with the plugins this module relies on; a plugin's `request` hook runs inside the ones listed after it. */
export const GitHubOctokit = Octokit.plugin(observedRequests, pinApiVersion, conditionalRequests, restEndpointMethods, paginateRest, retry, throttling, urgentWritesFirst);
export type GitHubOctokitInstance = InstanceType<typeof GitHubOctokit>;
/** The options every Octokit of one client shares. */
export type GitHubOctokitOptions = NonNullable<ConstructorParameters<typeof GitHubOctokit>[0]>;

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/** A personal or fine-grained token, or a GitHub App (its installation per repository is looked up). */
export type GitHubAuth = { readonly token: string } | { readonly appId: string | number; readonly privateKey: string };

/** Where the library's warnings go (rate limits hit, retries). Never given a token. */
export interface GitHubLog {
  debug(message: string, extra?: object): void;
  info(message: string, extra?: object): void;
  warn(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
}

/** Options of {@link createOctokitGitHubClient}. */
export interface OctokitGitHubClientOptions {
  /** `GITHUB_API_URL`: https://api.github.com, `https://HOST/api/v3` for GHES, or the emulator. */
  readonly baseUrl?: string;
  readonly auth: GitHubAuth;
  /** Retries of a 5xx or network failure (plugin-retry). Default 3. */
  readonly serverErrorRetries?: number;
  /** Retries after a primary or secondary rate limit (plugin-throttling). Default 2. */
  readonly rateLimitRetries?: number;
  /** A limit asking for a longer wait fails at once as retryable, so an activity does not sleep an hour. Default 120 s. */
  readonly maxRateLimitWaitSeconds?: number;
  /** Milliseconds per second of `retry-after` and of the retry backoff. Default 1000; tests make it small. */
  readonly retryAfterBaseMs?: number;
  /**
   * Spacing between writes, notifying ones included (GitHub asks for ≥1 s: {@link GITHUB_WRITE_SPACING_MS}, in
   * queues shared by the process). Set it to give this client its own queues, as tests do.
   */
  readonly writeSpacingMs?: number;
  readonly log?: GitHubLog;
  readonly fetch?: typeof fetch;
  /** Deadline of each attempt (Octokit has none); a timed-out attempt is retried like a 5xx. Default 30 s. */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  /** Told of every attempt's answer (to count requests and watch the rate limit); never given a token. */
  readonly observe?: GitHubRequestObserver;
}

/** Runs one call of a resource wrapper with the octokit for its repository, turning failures into typed errors. */
export type RunGitHubCall = <T>(
  repo: RepoRef,
  operation: string,
  call: (octokit: GitHubOctokitInstance, request: { signal?: AbortSignal }) => Promise<T>,
  options?: CallOptions & Pick<FailedCall, 'interpret'>,
) => Promise<T>;

const NEVER_RETRIED = [400, 401, 403, 404, 405, 409, 410, 422, 451];

/**
 * `fetch` with a deadline per attempt, joined to the caller's signal. A timeout is a `TimeoutError`, which
 * Octokit wraps as a retryable failure; the caller's abort stays an `AbortError` and is not retried.
 */
function withDeadline(doFetch: typeof fetch, timeoutMs: number): typeof fetch {
  return (input, init = {}) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    return doFetch(input, { ...init, signal: init.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };
}

/**
 * The throttling plugin's queues, shaped like its defaults but for one thing: requests that notify people (comments,
 * merges) go `writeSpacingMs` apart like every other write, not three times that. GitHub's documented limits are a
 * write at least a second after the last and at most 80 content-creating requests a minute, so a second apart keeps
 * within both; the plugin's three seconds is its authors' guess from 2018, and would hold a `/ship` of twenty pull
 * requests for a minute.
 * @see https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits
 * @see https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#pause-between-mutative-requests
 */
function throttleGroups(writeSpacingMs: number) {
  return {
    global: new Bottleneck.Group({ maxConcurrent: 10 }),
    auth: new Bottleneck.Group({ maxConcurrent: 1 }),
    search: new Bottleneck.Group({ maxConcurrent: 1, minTime: 2 * writeSpacingMs }),
    write: new Bottleneck.Group({ maxConcurrent: 1, minTime: writeSpacingMs }),
    notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: writeSpacingMs }),
  };
}

/** GitHub's pace between writes: a second. */
export const GITHUB_WRITE_SPACING_MS = 1_000;

let processGroups: ReturnType<typeof throttleGroups> | undefined;
/** The queues every client of the process shares at GitHub's pace, as the plugin's own defaults are shared. */
const sharedThrottleGroups = () => (processGroups ??= throttleGroups(GITHUB_WRITE_SPACING_MS));

/** The Octokit options shared by every instance of one client (one per App installation). */
export function octokitOptionsOf(options: OctokitGitHubClientOptions): GitHubOctokitOptions {
  const { rateLimitRetries = 2, maxRateLimitWaitSeconds = 120, retryAfterBaseMs = 1000 } = options;
  const log = options.log;
  const shouldRetry = (limit: string) => (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
    const again = retryCount < rateLimitRetries && retryAfter <= maxRateLimitWaitSeconds;
    log?.warn(`GitHub ${limit} rate limit on ${request.method} ${request.url}: ${again ? `retrying in ${retryAfter} s` : 'giving up'}`);
    return again;
  };
  return {
    baseUrl: (options.baseUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, ''),
    userAgent: options.userAgent ?? 'jules-orchestrator',
    ...(log ? { log } : {}),
    ...(options.observe ? { observe: options.observe } : {}),
    request: { fetch: withDeadline(options.fetch ?? globalThis.fetch, options.timeoutMs ?? 30_000) },
    retry: { retries: options.serverErrorRetries ?? 3, doNotRetry: NEVER_RETRIED, retryAfterBaseValue: retryAfterBaseMs },
    throttle: {
      onRateLimit: shouldRetry('primary'),
      onSecondaryRateLimit: shouldRetry('secondary'),
      retryAfterBaseValue: retryAfterBaseMs,
      fallbackSecondaryRateRetryAfter: 60,
      ...(options.writeSpacingMs === undefined ? sharedThrottleGroups() : throttleGroups(options.writeSpacingMs)),
    },
  };
}

/**
 * `route` with the call's signal bound in. plugin-paginate-rest rebuilds each page's request from method,
 * url and headers only, dropping `request.signal`; a route whose defaults carry it keeps it on every page.
 */
export function withSignal<Route extends { defaults: (options: any) => unknown }>(route: Route, request: { signal?: AbortSignal }): Route {
  return request.signal ? (route.defaults({ request }) as Route) : route;
}
