/**
 * A local GitHub (reference/github.md §1–§7) as a real HTTP server on 127.0.0.1, for tests and `demo`:
 * the REST routes the Octokit adapter calls, token and App auth, rate limits and 5xx on request, and signed
 * webhook deliveries to a configured URL, never retried. State lives in github-world.ts; this file is the
 * wire and the helpers tests script GitHub with.
 * @see https://docs.github.com/en/rest?apiVersion=2022-11-28
 */
import { createHash } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { createCredentials, type Caller, type EmulatedAppOptions, type TokenGrant } from './github-credentials';
import { createRenderer, type CheckConclusion, type CommitState, type IssueState, type MergeMethod, type RepoState } from './github-objects';
import { createWebhookSender, type DeliveryRecord, type WebhookTarget } from './github-webhooks';
import { createGitHubWorld, GitHubRefusal, sameLabel } from './github-world';

export type { DeliveryRecord, WebhookTarget } from './github-webhooks';
export type { EmulatedAppOptions } from './github-credentials';

/** Options of {@link startGitHubEmulator}. */
export interface GitHubEmulatorOptions {
  /** Repositories (`owner/repo`) with default branch `main`. Default: `acme/widgets`. */
  readonly repos?: readonly string[];
  /** Accepted tokens and what each may see. */
  readonly tokens?: Readonly<Record<string, Partial<Omit<TokenGrant, 'kind' | 'expiresAt'>>>>;
  readonly app?: EmulatedAppOptions;
  readonly webhook?: WebhookTarget;
  /** Where `html_url`s point. Default https://github.com, the shape Jules' PR links have. */
  readonly htmlBaseUrl?: string;
}

/** One request the emulator answered. */
export interface GitHubRequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
  /** Which kind of credential came with it. */
  readonly auth: 'anonymous' | 'token' | 'installation' | 'app' | 'rejected';
  /** The `X-GitHub-Api-Version` header, when sent. */
  readonly apiVersion?: string;
  /**
   * Whether GitHub counts it against the primary rate limit: every answer but a 304, which a conditional request
   * (`If-None-Match` with the ETag of an unchanged resource) gets for free (reference/github.md §4).
   */
  readonly counted: boolean;
}

/** Failures the next matching requests get instead of their answer. */
export interface GitHubFault {
  readonly kind: 'secondary-rate-limit' | 'primary-rate-limit' | 'server-error';
  /** How many requests fail. Default 1. */
  readonly times?: number;
  /** 500, 502 or 503 for `server-error`. Default 502. */
  readonly status?: number;
  /** `retry-after` of a secondary limit, or seconds until `x-ratelimit-reset` of a primary one. Default 1. */
  readonly retryAfterSeconds?: number;
  readonly match?: { readonly method?: string; readonly path?: RegExp };
  /** Holds the answer back this long first, to exercise client deadlines. */
  readonly delayMs?: number;
}

type RepoName = { readonly repo: string };
type PullRef = RepoName & { readonly number: number };

/** A running emulator. */
export interface GitHubEmulator {
  /** `http://127.0.0.1:PORT`, what clients use as `GITHUB_API_URL`. */
  readonly url: string;
  readonly requests: GitHubRequestRecord[];
  /** Every delivery attempt, oldest first, with the receiver's status. */
  readonly deliveries: DeliveryRecord[];
  addRepo(input: RepoName & { readonly defaultBranch?: string; readonly private?: boolean }): void;
  addToken(token: string, grant?: Partial<Omit<TokenGrant, 'kind' | 'expiresAt'>>): void;
  revokeToken(token: string): void;
  createIssue(input: RepoName & { readonly title: string; readonly body?: string; readonly labels?: readonly string[] }): { number: number; htmlUrl: string };
  /** Labels an issue or pull request as a maintainer would (`issues.labeled` / `pull_request.labeled`); a label it has already changes nothing. */
  addLabel(input: PullRef & { readonly label: string }): void;
  /** Takes a label off (`issues.unlabeled` / `pull_request.unlabeled`); a label it does not have changes nothing. */
  removeLabel(input: PullRef & { readonly label: string }): void;
  /** A maintainer closes an issue (`issues.closed`); a pull request closes unmerged. */
  closeIssue(input: PullRef): void;
  /** A maintainer deletes an issue (`issues.deleted`): the REST routes answer 410 for it from then on. */
  deleteIssue(input: PullRef): void;
  /** Opens a pull request from `headRef` (created if new) into the default branch, as Jules does when a session completes. */
  openPullRequest(input: RepoName & { readonly headRef: string; readonly title: string; readonly body?: string; readonly baseRef?: string }): {
    number: number;
    htmlUrl: string;
    headSha: string;
  };
  /** A new commit on `branch`; open pull requests from it get `synchronize`. Returns the new sha. */
  pushCommit(input: RepoName & { readonly branch: string }): string;
  closePullRequest(input: PullRef): void;
  /** A maintainer merges on GitHub (as through the API: the sha guard, 405 and 409 apply). Returns the merge commit. */
  mergePullRequest(input: PullRef & { readonly sha?: string; readonly method?: MergeMethod; readonly by?: string }): { sha: string };
  review(input: PullRef & { readonly user: string; readonly state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' }): void;
  /** Starts a check run (in progress), or records a finished one when `conclusion` is given. Returns its id. */
  addCheckRun(input: RepoName & { readonly sha: string; readonly name: string; readonly app?: string; readonly conclusion?: CheckConclusion }): number;
  completeCheckRun(input: RepoName & { readonly id: number; readonly conclusion: CheckConclusion; readonly title?: string; readonly summary?: string }): void;
  setCommitStatus(input: RepoName & { readonly sha: string; readonly context: string; readonly state: CommitState; readonly description?: string; readonly targetUrl?: string }): void;
  protectBranch(input: RepoName & { readonly branch: string; readonly contexts: readonly string[]; readonly strict?: boolean; readonly requiredApprovals?: number }): void;
  addRuleset(input: RepoName & { readonly branch: string; readonly contexts: readonly string[]; readonly strict?: boolean }): void;
  allowMergeMethods(input: RepoName & { readonly methods: readonly MergeMethod[] }): void;
  /** The pull request as `GET /repos/{owner}/{repo}/pulls/{number}` returns it. */
  pullRequest(input: PullRef): Record<string, any>;
  /** The issue (or pull request) as `GET /repos/{owner}/{repo}/issues/{number}` returns it. */
  issue(input: PullRef): Record<string, any>;
  /** The labels on an issue or pull request, in the order they were added. */
  labels(input: PullRef): string[];
  /** The comments on an issue or pull request, oldest first. */
  comments(input: PullRef): { body: string; user: string }[];
  failNext(fault: GitHubFault): void;
  setWebhook(target: WebhookTarget | undefined): void;
  /** Sends a past delivery again: same bytes, same `X-GitHub-Delivery`. */
  redeliver(deliveryId: string): Promise<DeliveryRecord>;
  /** Resolves when every delivery sent so far has been answered or has failed. */
  flushDeliveries(): Promise<void>;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';
/** The primary rate limit every answer reports, as for a token (reference/github.md §6.1). */
const RATE_LIMIT = 5000;
const ISSUE_STATES: readonly string[] = ['open', 'closed', 'all'];
const ISSUE_SORTS: readonly string[] = ['created', 'updated', 'comments'];
const DIRECTIONS: readonly string[] = ['asc', 'desc'];
const SECONDARY_LIMIT_MESSAGE =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:EMULATOR.';

/** The credential kind a request record shows. */
function authKind(caller: Caller): GitHubRequestRecord['auth'] {
  if (caller.kind === 'token') return caller.grant.kind;
  return caller.kind;
}

/** Pagination as GitHub does it: `per_page` (max 100), `page`, and a `Link` header with `next` and `last`. */
function page<T>(request: FastifyRequest, reply: FastifyReply, baseUrl: string, items: readonly T[]): T[] {
  const query = request.query as Record<string, string | undefined>;
  const perPage = Math.min(100, Math.max(1, Number(query.per_page ?? 30) || 30));
  const current = Math.max(1, Number(query.page ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const url = new URL(`${baseUrl}${request.url}`);
    url.searchParams.set('page', String(n));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  if (current < last) void reply.header('link', [link(current + 1, 'next'), link(last, 'last')].join(', '));
  return items.slice((current - 1) * perPage, current * perPage);
}

export async function startGitHubEmulator(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
  const app = Fastify({ logger: false, bodyLimit: 25 * 1024 * 1024 });
  // Known once listening, after the routes are added (Fastify refuses routes after listen()).
  let url = '';

  const credentials = createCredentials(options.app);
  for (const [token, grant] of Object.entries(options.tokens ?? {})) credentials.addToken(token, grant);
  const render = createRenderer(() => url, options.htmlBaseUrl ?? 'https://github.com');
  const sender = createWebhookSender(424242, options.webhook);
  const world = createGitHubWorld(render, (event, repo, payload, login) => {
    const installation = credentials.installationFor(`${repo.owner}/${repo.name}`);
    sender.emit(event, { ...payload, repository: render.repository(repo), sender: render.user(login), ...(installation ? { installation: { id: installation } } : {}) });
  });
  for (const fullName of options.repos ?? ['acme/widgets']) {
    const [owner, name] = fullName.split('/') as [string, string];
    world.addRepo({ owner, name });
  }

  const requests: GitHubRequestRecord[] = [];
  const faults: { fault: GitHubFault; remaining: number }[] = [];
  const callers = new WeakMap<FastifyRequest, Caller>();
  const callerOf = (request: FastifyRequest): Caller => callers.get(request) ?? { kind: 'anonymous' };

  // Octokit sends PUTs without a body; GitHub takes that as `{}`.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(body as string));
    } catch {
      done(new GitHubRefusal(400, 'Problems parsing JSON'), undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    callers.set(request, credentials.identify(request.headers.authorization));
    const path = request.url.split('?')[0]!;
    const armed = faults.find(({ fault }) => (!fault.match?.method || fault.match.method === request.method) && (!fault.match?.path || fault.match.path.test(path)));
    if (!armed) return;
    if (--armed.remaining <= 0) faults.splice(faults.indexOf(armed), 1);
    const { kind, retryAfterSeconds = 1, delayMs = 0 } = armed.fault;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (kind === 'server-error') return reply.code(armed.fault.status ?? 502).send({ message: 'Server Error' });
    if (kind === 'secondary-rate-limit') {
      return reply.code(403).header('retry-after', String(retryAfterSeconds)).send({ message: SECONDARY_LIMIT_MESSAGE, documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`, status: '403' });
    }
    return reply
      .code(403)
      .headers({ 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + retryAfterSeconds) })
      .send({ message: 'API rate limit exceeded for user ID 1.', documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`, status: '403' });
  });

  // Conditional requests as GitHub answers them: every 200 to a GET carries the ETag of its body, and a GET whose
  // If-None-Match names the current ETag gets 304 with no body, not counted against the rate limit. Every answer
  // reports the limit (`x-ratelimit-*`), unless a fault set its own.
  let rateLimitUsed = 0;
  app.addHook('onSend', async (request, reply, payload) => {
    let body = payload;
    if (request.method === 'GET' && reply.statusCode === 200 && typeof payload === 'string') {
      const etag = `W/"${createHash('sha256').update(payload).digest('hex')}"`;
      void reply.header('etag', etag);
      const asked = request.headers['if-none-match'];
      if (typeof asked === 'string' && asked.split(',').some((tag) => tag.trim() === etag)) {
        void reply.code(304);
        body = '';
      }
    }
    if (reply.statusCode !== 304) rateLimitUsed++;
    if (!reply.hasHeader('x-ratelimit-remaining')) {
      void reply.headers({
        'x-ratelimit-limit': String(RATE_LIMIT),
        'x-ratelimit-remaining': String(Math.max(0, RATE_LIMIT - rateLimitUsed)),
        'x-ratelimit-used': String(rateLimitUsed),
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
        'x-ratelimit-resource': 'core',
      });
    }
    return body;
  });

  app.addHook('onResponse', async (request, reply) => {
    const [path, query = ''] = request.url.split('?') as [string, string?];
    const apiVersion = request.headers['x-github-api-version'];
    requests.push({
      method: request.method,
      path,
      query,
      status: reply.statusCode,
      auth: authKind(callerOf(request)),
      ...(typeof apiVersion === 'string' ? { apiVersion } : {}),
      counted: reply.statusCode !== 304,
    });
  });

  app.setErrorHandler((error, _request, reply) => {
    const status = error instanceof GitHubRefusal ? error.status : 500;
    const message = error instanceof GitHubRefusal ? error.message : 'Server Error';
    return reply.code(status).send({ message, documentation_url: DOCS, status: String(status) });
  });

  /** The repository of a request, if its caller may see it (and write to it), else GitHub's refusal. */
  function access(request: FastifyRequest, need: 'read' | 'write' = 'read'): { repo: RepoState; login: string; grant?: TokenGrant } {
    const { owner, repo: name } = request.params as { owner: string; repo: string };
    const caller = callerOf(request);
    if (caller.kind === 'rejected') throw new GitHubRefusal(401, caller.message);
    if (caller.kind === 'app') throw new GitHubRefusal(403, 'Resource not accessible by integration');
    const repo = world.repos.get(`${owner}/${name}`.toLowerCase());
    if (caller.kind === 'anonymous') {
      if (!repo || repo.private) throw new GitHubRefusal(404, 'Not Found');
      if (need === 'write') throw new GitHubRefusal(401, 'Requires authentication');
      return { repo, login: 'anonymous' };
    }
    if (!repo || !credentials.canSee(caller.grant, `${owner}/${name}`)) throw new GitHubRefusal(404, 'Not Found');
    return { repo, login: caller.grant.login, grant: caller.grant };
  }

  function issueOf(repo: RepoState, request: FastifyRequest, pullOnly = false): IssueState {
    const issue = repo.issues.get(Number((request.params as { number: string }).number));
    if (!issue || (pullOnly && !issue.pull)) throw new GitHubRefusal(404, 'Not Found');
    if (issue.deleted) throw new GitHubRefusal(410, 'This issue was deleted');
    return issue;
  }

  function requireApp(request: FastifyRequest): void {
    const caller = callerOf(request);
    if (caller.kind === 'rejected') throw new GitHubRefusal(401, caller.message);
    if (caller.kind !== 'app') throw new GitHubRefusal(401, 'A JSON web token could not be decoded');
  }

  /** @see https://docs.github.com/en/rest/apps/apps?apiVersion=2022-11-28#get-a-repository-installation-for-the-authenticated-app */
  app.get('/repos/:owner/:repo/installation', async (request) => {
    requireApp(request);
    const { owner, repo } = request.params as { owner: string; repo: string };
    const id = credentials.installationFor(`${owner}/${repo}`);
    if (id === undefined || !world.repos.has(`${owner}/${repo}`.toLowerCase())) throw new GitHubRefusal(404, 'Not Found');
    return { id, app_id: credentials.app!.appId, app_slug: credentials.app!.slug, account: render.user(owner), repository_selection: 'selected', target_type: 'Organization' };
  });

  /** @see https://docs.github.com/en/rest/apps/apps?apiVersion=2022-11-28#create-an-installation-access-token-for-an-app */
  app.post('/app/installations/:id/access_tokens', async (request, reply) => {
    requireApp(request);
    const id = Number((request.params as { id: string }).id);
    if (!credentials.installationExists(id)) throw new GitHubRefusal(404, 'Not Found');
    const { token, expiresAt } = credentials.mintInstallationToken(id);
    const permissions = { contents: 'write', pull_requests: 'write', issues: 'write', checks: 'read', statuses: 'read', metadata: 'read' };
    return reply.code(201).send({ token, expires_at: expiresAt, permissions, repository_selection: 'selected' });
  });

  app.get('/repos/:owner/:repo', async (request) => render.repository(access(request).repo));

  /**
   * Issues and pull requests together, as GitHub lists them (a pull request carries a `pull_request` key);
   * `labels` must all match; newest first unless `sort` / `direction` say otherwise.
   * @see https://docs.github.com/en/rest/issues/issues?apiVersion=2022-11-28#list-repository-issues
   */
  app.get('/repos/:owner/:repo/issues', async (request, reply) => {
    const { repo } = access(request);
    const query = request.query as { labels?: string; state?: string; sort?: string; direction?: string };
    const { state = 'open', sort = 'created', direction = 'desc' } = query;
    if (!ISSUE_STATES.includes(state) || !ISSUE_SORTS.includes(sort) || !DIRECTIONS.includes(direction)) throw new GitHubRefusal(422, 'Validation Failed');
    const labels = (query.labels ?? '').split(',').map((label) => label.trim()).filter(Boolean);
    const key = (issue: IssueState): string | number => (sort === 'comments' ? issue.comments.length : sort === 'updated' ? issue.updatedAt : issue.createdAt);
    const sign = direction === 'asc' ? 1 : -1;
    const items = [...repo.issues.values()]
      .filter((issue) => !issue.deleted && (state === 'all' || issue.state === state))
      .filter((issue) => labels.every((label) => issue.labels.some((name) => sameLabel(name, label))))
      // numbers break ties: two issues opened in the same millisecond keep the order they were opened in
      .sort((a, b) => sign * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.number - b.number));
    return page(request, reply, url, items).map((issue) => render.issue(repo, issue));
  });

  /** An issue, or a pull request in its issue form. @see https://docs.github.com/en/rest/issues/issues?apiVersion=2022-11-28#get-an-issue */
  app.get('/repos/:owner/:repo/issues/:number', async (request) => {
    const { repo } = access(request);
    return render.issue(repo, issueOf(repo, request));
  });

  /**
   * Adds labels (`{labels: [...]}`, or a bare array, of names or `{name}`) and answers every label the issue
   * has now; one `labeled` delivery per label that was not there yet.
   * @see https://docs.github.com/en/rest/issues/labels?apiVersion=2022-11-28#add-labels-to-an-issue
   */
  app.post('/repos/:owner/:repo/issues/:number/labels', async (request) => {
    const { repo, login } = access(request, 'write');
    const issue = issueOf(repo, request);
    const body = request.body as unknown;
    const given: unknown = Array.isArray(body) ? body : (body as { labels?: unknown } | undefined)?.labels;
    const names = Array.isArray(given) ? given.map((item: unknown) => (typeof item === 'string' ? item : (item as { name?: unknown } | null)?.name)) : undefined;
    if (!names || !names.every((name): name is string => typeof name === 'string' && name.trim() !== '')) {
      throw new GitHubRefusal(422, 'Invalid request.\n\n"labels" must be an array of label names.');
    }
    for (const name of names) world.addLabel(repo, issue, name.trim(), login);
    return render.issue(repo, issue).labels;
  });

  /**
   * Removes one label and answers the labels left; 404 `Label does not exist` when the issue does not have it.
   * @see https://docs.github.com/en/rest/issues/labels?apiVersion=2022-11-28#remove-a-label-from-an-issue
   */
  app.delete('/repos/:owner/:repo/issues/:number/labels/:name', async (request) => {
    const { repo, login } = access(request, 'write');
    const issue = issueOf(repo, request);
    if (!world.removeLabel(repo, issue, (request.params as { name: string }).name, login)) throw new GitHubRefusal(404, 'Label does not exist');
    return render.issue(repo, issue).labels;
  });

  app.post('/repos/:owner/:repo/issues/:number/comments', async (request, reply) => {
    const { repo, login } = access(request, 'write');
    const body = (request.body as { body?: unknown } | undefined)?.body;
    if (typeof body !== 'string' || body === '') throw new GitHubRefusal(422, 'Invalid request.\n\n"body" wasn\'t supplied.');
    return reply.code(201).send(world.comment(repo, issueOf(repo, request), body, login));
  });

  /** An issue's (or a pull request's) comments, oldest first. @see https://docs.github.com/en/rest/issues/comments?apiVersion=2022-11-28#list-issue-comments */
  app.get('/repos/:owner/:repo/issues/:number/comments', async (request, reply) => {
    const { repo } = access(request);
    const issue = issueOf(repo, request);
    return page(request, reply, url, issue.comments).map((comment) => render.comment(repo, issue, comment));
  });

  app.get('/repos/:owner/:repo/pulls', async (request, reply) => {
    const { repo } = access(request);
    const query = request.query as { state?: string; head?: string; base?: string };
    const state = query.state ?? 'open';
    const items = [...repo.issues.values()]
      .filter((issue) => issue.pull && (state === 'all' || issue.state === state))
      .filter((issue) => !query.head || query.head === `${repo.owner}:${issue.pull!.headRef}`)
      .filter((issue) => !query.base || query.base === issue.pull!.baseRef)
      .sort((a, b) => b.number - a.number);
    return page(request, reply, url, items).map((issue) => render.pull(repo, issue));
  });

  app.get('/repos/:owner/:repo/pulls/:number', async (request) => {
    const { repo } = access(request);
    return render.pull(repo, issueOf(repo, request, true));
  });

  app.get('/repos/:owner/:repo/pulls/:number/reviews', async (request, reply) => {
    const { repo } = access(request);
    const reviews = issueOf(repo, request, true).pull!.reviews.map((review, index) => ({ id: index + 1, user: render.user(review.user), state: review.state }));
    return page(request, reply, url, reviews);
  });

  app.put('/repos/:owner/:repo/pulls/:number/merge', async (request) => {
    const { repo, login } = access(request, 'write');
    const body = (request.body ?? {}) as { sha?: string; merge_method?: MergeMethod };
    const { sha } = world.merge(repo, issueOf(repo, request, true), { ...(body.sha ? { sha: body.sha } : {}), method: body.merge_method ?? 'merge', by: login });
    return { sha, merged: true, message: 'Pull Request successfully merged' };
  });

  app.put('/repos/:owner/:repo/pulls/:number/update-branch', async (request, reply) => {
    const { repo, login } = access(request, 'write');
    const issue = issueOf(repo, request, true);
    world.updateBranch(repo, issue, (request.body as { expected_head_sha?: string } | undefined)?.expected_head_sha, login);
    return reply.code(202).send({ message: 'Updating pull request branch.', url: render.pull(repo, issue).html_url });
  });

  app.get('/repos/:owner/:repo/commits/:ref/check-runs', async (request, reply) => {
    const { repo } = access(request);
    const sha = world.resolveRef(repo, (request.params as { ref: string }).ref);
    if (!sha) throw new GitHubRefusal(422, 'No commit found for SHA');
    const all = (request.query as { filter?: string }).filter === 'all';
    const runs = all ? repo.checkRuns.filter((run) => run.headSha === sha) : world.latestCheckRuns(repo, sha);
    return { total_count: runs.length, check_runs: page(request, reply, url, runs).map((run) => render.checkRun(repo, run)) };
  });

  /** Combined status: failure if any context failed or errored, pending if none at all or any pending. */
  app.get('/repos/:owner/:repo/commits/:ref/status', async (request) => {
    const { repo } = access(request);
    const sha = world.resolveRef(repo, (request.params as { ref: string }).ref);
    if (!sha) throw new GitHubRefusal(422, 'No commit found for SHA');
    const statuses = world.latestStatuses(repo, sha);
    const states = statuses.map((status) => status.state);
    const state = states.some((s) => s === 'failure' || s === 'error') ? 'failure' : states.length === 0 || states.includes('pending') ? 'pending' : 'success';
    return { state, sha, total_count: statuses.length, statuses, repository: render.repository(repo) };
  });

  app.get('/repos/:owner/:repo/branches/:branch/protection/required_status_checks', async (request) => {
    const { repo, grant } = access(request);
    if (!grant?.admin) throw new GitHubRefusal(403, grant?.kind === 'installation' ? 'Resource not accessible by integration' : 'Must have admin rights to Repository.');
    const { branch } = request.params as { branch: string };
    if (!repo.branches.has(branch)) throw new GitHubRefusal(404, 'Branch not found');
    const protection = repo.protection.get(branch);
    if (!protection) throw new GitHubRefusal(404, 'Branch not protected');
    return { strict: protection.strict, contexts: protection.contexts, checks: protection.contexts.map((context) => ({ context, app_id: null })) };
  });

  /** Active rules for a branch; readable with read access, unlike classic protection. */
  app.get('/repos/:owner/:repo/rules/branches/:branch', async (request, reply) => {
    const { repo } = access(request);
    const { branch } = request.params as { branch: string };
    const rules = repo.rulesets
      .filter((ruleset) => ruleset.branch === branch)
      .map((ruleset) => ({
        type: 'required_status_checks',
        ruleset_source_type: 'Repository',
        ruleset_source: `${repo.owner}/${repo.name}`,
        ruleset_id: ruleset.id,
        parameters: {
          strict_required_status_checks_policy: ruleset.checks.strict,
          required_status_checks: ruleset.checks.contexts.map((context) => ({ context })),
        },
      }));
    return page(request, reply, url, rules);
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const repoOf = (input: RepoName) => world.repo(input.repo);
  const pullOf = (input: PullRef) => {
    const issue = repoOf(input).issues.get(input.number);
    if (!issue) throw new Error(`${input.repo} has no issue or pull request #${input.number}`);
    return issue;
  };
  let rulesetId = 1;

  return {
    url,
    requests,
    deliveries: sender.deliveries,
    addRepo(input) {
      const [owner, name] = input.repo.split('/') as [string, string];
      world.addRepo({ owner, name, ...(input.defaultBranch ? { defaultBranch: input.defaultBranch } : {}), private: input.private ?? false });
    },
    addToken: (token, grant) => credentials.addToken(token, grant),
    revokeToken: (token) => credentials.revokeToken(token),
    createIssue(input) {
      const repo = repoOf(input);
      const issue = world.createIssue(repo, { title: input.title, ...(input.body ? { body: input.body } : {}), labels: input.labels ?? [] });
      return { number: issue.number, htmlUrl: render.issue(repo, issue).html_url as string };
    },
    addLabel: (input) => void world.addLabel(repoOf(input), pullOf(input), input.label, repoOf(input).owner),
    removeLabel: (input) => void world.removeLabel(repoOf(input), pullOf(input), input.label, repoOf(input).owner),
    closeIssue: (input) => world.closeIssue(repoOf(input), pullOf(input), repoOf(input).owner),
    deleteIssue: (input) => world.deleteIssue(repoOf(input), pullOf(input), repoOf(input).owner),
    openPullRequest(input) {
      const repo = repoOf(input);
      const issue = world.openPull(repo, { headRef: input.headRef, title: input.title, ...(input.body ? { body: input.body } : {}), ...(input.baseRef ? { baseRef: input.baseRef } : {}) });
      return { number: issue.number, htmlUrl: render.pull(repo, issue).html_url as string, headSha: issue.pull!.headSha };
    },
    pushCommit: (input) => world.pushToBranch(repoOf(input), input.branch, 'google-labs-jules[bot]'),
    closePullRequest: (input) => world.closePull(repoOf(input), pullOf(input), repoOf(input).owner),
    mergePullRequest: (input) =>
      world.merge(repoOf(input), pullOf(input), { ...(input.sha ? { sha: input.sha } : {}), method: input.method ?? 'squash', by: input.by ?? repoOf(input).owner }),
    review: (input) => world.review(repoOf(input), pullOf(input), input.user, input.state),
    addCheckRun: (input) =>
      world.addCheckRun(repoOf(input), { sha: input.sha, name: input.name, ...(input.app ? { app: input.app } : {}), ...(input.conclusion ? { conclusion: input.conclusion } : {}) }).id,
    completeCheckRun: (input) =>
      world.completeCheckRun(repoOf(input), input.id, input.conclusion, { ...(input.title ? { title: input.title } : {}), ...(input.summary ? { summary: input.summary } : {}) }),
    setCommitStatus: (input) => world.setStatus(repoOf(input), input),
    protectBranch(input) {
      repoOf(input).protection.set(input.branch, { contexts: input.contexts, strict: input.strict ?? false, requiredApprovals: input.requiredApprovals ?? 0 });
    },
    addRuleset(input) {
      repoOf(input).rulesets.push({ id: rulesetId++, branch: input.branch, checks: { contexts: input.contexts, strict: input.strict ?? false } });
    },
    allowMergeMethods(input) {
      const methods = repoOf(input).mergeMethods;
      methods.clear();
      for (const method of input.methods) methods.add(method);
    },
    pullRequest: (input) => render.pull(repoOf(input), pullOf(input)),
    issue: (input) => render.issue(repoOf(input), pullOf(input)),
    labels: (input) => [...pullOf(input).labels],
    comments: (input) => pullOf(input).comments.map(({ body, user }) => ({ body, user })),
    failNext(fault) {
      faults.push({ fault, remaining: Math.max(1, fault.times ?? 1) });
    },
    setWebhook: (target) => sender.setTarget(target),
    redeliver: (deliveryId) => sender.redeliver(deliveryId),
    flushDeliveries: () => sender.flush(),
    async close() {
      await sender.flush();
      // fetch keeps sockets alive; without this close() would wait for them to idle out
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
