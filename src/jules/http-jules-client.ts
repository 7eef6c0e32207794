import { createHash } from 'node:crypto';
/**
 * The HTTP adapter of the Jules port: `fetch` against `${baseUrl}/v1alpha/...` with the key in
 * `X-Goog-Api-Key`. It never retries (Temporal activities own retries) and turns every failure into a
 * {@link JulesApiError}. Responses are read loosely: unknown fields, states and activity kinds pass through.
 * @see https://developers.google.com/jules/api/reference/rest
 */
import { JulesApiError, KEY_REJECTED_TEXT, canonicalCodeOf } from './errors';
import type {
  CreateSessionInput,
  JulesActivity,
  JulesClient,
  JulesClientFactory,
  JulesSession,
  JulesSource,
  Page,
} from './jules-client';

/** Options of {@link createHttpJulesClient}. */
export interface CreateHttpJulesClientOptions {
  /** API origin, e.g. `https://jules.googleapis.com` (a trailing `/v1alpha` is tolerated). */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Injected for tests and proxies; defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * Per-request deadline, covering headers and body. Default 10 s (the official SDK uses 30 s): a third of the
   * session watcher's 30 s heartbeat timeout, so one slow request never makes a healthy watch look dead.
   */
  readonly timeoutMs?: number;
  /** Remembers owner/repo → source between calls (the factory shares one per key); omitted: no cache. */
  readonly sourceCache?: SourceCache;
  /** Told of every request's answer, e.g. to count them; ids in the path are replaced, the key is never given. */
  readonly observe?: JulesRequestObserver;
}

/** What {@link CreateHttpJulesClientOptions.observe} hears: `endpoint` like `sessions/{id}:sendMessage`, `status` the HTTP code or `network` / `timeout`. */
export type JulesRequestObserver = (request: { readonly method: string; readonly endpoint: string; readonly status: string }) => void;

/** `sessions/123/activities` → `sessions/{id}/activities`: the path's shape without the ids, for a bounded label. */
export function endpointOf(path: string): string {
  return path.replace(/^(sessions|sources)\/[^/:]+/, '$1/{id}').replace(/\/activities\/[^/:]+/, '/activities/{id}');
}

/**
 * Sources found by owner/repo, for one key's account, kept for a while: a task's source rarely changes and
 * listing every source page on each task would cost the key's rate. Names are kept exactly as Jules returned them.
 */
export interface SourceCache {
  get(ownerRepo: string): JulesSource | undefined;
  set(ownerRepo: string, source: JulesSource): void;
}

/** A {@link SourceCache} whose entries expire after `ttlMs`. */
export function createSourceCache(ttlMs: number, now: () => number = Date.now): SourceCache {
  const entries = new Map<string, { source: JulesSource; until: number }>();
  return {
    get(ownerRepo) {
      const entry = entries.get(ownerRepo);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(ownerRepo);
        return undefined;
      }
      return entry.source;
    },
    set(ownerRepo, source) {
      entries.set(ownerRepo, { source, until: now() + ttlMs });
    },
  };
}

/** Options shared by every client a {@link createHttpJulesClientFactory} factory makes. */
export type CreateHttpJulesClientFactoryOptions = Omit<CreateHttpJulesClientOptions, 'baseUrl' | 'apiKey' | 'sourceCache'> & {
  /** How long a found source is remembered per key (default 10 minutes; 0 turns the cache off). */
  readonly sourceCacheTtlMs?: number;
};

const DEFAULT_TIMEOUT_MS = 10_000;
/** The API's maximum page size; asking for it keeps polling and source lookups to few round trips. */
const MAX_PAGE_SIZE = '100';
/** Guards `findSource` against a server that hands back page tokens forever. */
const MAX_SOURCE_PAGES = 1000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

type Json = Record<string, unknown>;

interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path below `/v1alpha`, already encoded. */
  readonly path: string;
  readonly query?: Record<string, string | undefined>;
  readonly body?: unknown;
  /** Human words for the operation, used in error messages ("create a session"). */
  readonly operation: string;
  /** Rewrites an HTTP error into a more useful one (e.g. 404 on create means "no access to the repo"). */
  readonly onHttpError?: (error: JulesApiError) => JulesApiError;
}

/**
 * A {@link JulesClient} for one API key over HTTP.
 * @see https://developers.google.com/jules/api/reference/rest/v1alpha/sessions
 */
export function createHttpJulesClient(options: CreateHttpJulesClientOptions): JulesClient {
  const apiBase = `${options.baseUrl.replace(/\/+$/, '').replace(/\/v1alpha$/, '')}/v1alpha`;
  const origin = safeOrigin(apiBase);
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { apiKey } = options;

  /** Removes the key from any text that goes into an error, in case a server or proxy echoes it. */
  const scrub = (text: string): string => (apiKey.length >= 4 ? text.split(apiKey).join('[redacted]') : text);

  async function request(spec: RequestSpec): Promise<Json> {
    const url = new URL(`${apiBase}/${spec.path}`);
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const context = { method: spec.method, path: url.pathname };
    const headers: Record<string, string> = { 'X-Goog-Api-Key': apiKey, Accept: 'application/json' };
    if (spec.body !== undefined) headers['Content-Type'] = 'application/json';

    let status: number;
    let responseHeaders: Headers;
    let text: string;
    const observed = (outcome: string) => options.observe?.({ method: spec.method, endpoint: endpointOf(spec.path), status: outcome });
    try {
      const response = await doFetch(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (cause) {
      const error = transportError(cause, spec.operation, context);
      observed(error.code === 'TIMEOUT' ? 'timeout' : 'network');
      throw error;
    }
    observed(String(status));

    if (status < 200 || status >= 300) {
      const error = httpError(status, responseHeaders, text, spec.operation, context);
      throw spec.onHttpError ? spec.onHttpError(error) : error;
    }
    if (text.trim() === '') return {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (isObject(parsed)) return parsed;
    } catch {
      // fall through: a 2xx that is not a JSON object is a broken proxy or API change, not our bug
    }
    throw new JulesApiError({
      status: 0,
      code: 'INVALID_RESPONSE',
      message: `Jules answered ${spec.operation} with something other than a JSON object (HTTP ${status}).`,
      ...context,
    });
  }

  function transportError(cause: unknown, operation: string, context: { method: string; path: string }): JulesApiError {
    const name = cause instanceof Error ? cause.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new JulesApiError({
        status: 0,
        code: 'TIMEOUT',
        message: `Jules did not answer ${operation} within ${timeoutMs} ms.`,
        cause,
        ...context,
      });
    }
    const detail = networkDetail(cause);
    return new JulesApiError({
      status: 0,
      code: 'NETWORK',
      message: scrub(`Could not reach Jules at ${origin} to ${operation}${detail ? ` (${detail})` : ''}.`),
      cause,
      ...context,
    });
  }

  function httpError(
    status: number,
    headers: Headers,
    text: string,
    operation: string,
    context: { method: string; path: string },
  ): JulesApiError {
    const body = parseGoogleError(text);
    const code = body.status ?? canonicalCodeOf(status);
    const retryAfterMs = parseRetryAfter(headers.get('retry-after')) ?? body.retryDelayMs;
    const googleMessage = body.message ? scrub(body.message) : `HTTP ${status}`;
    const keyRejected = status === 401 || status === 403 || body.reason === 'API_KEY_INVALID';
    const message = keyRejected
      ? `${KEY_REJECTED_TEXT} (${status} ${code}: ${googleMessage}). Check that the key is current at ` +
        'https://jules.google.com/settings#api and set it again.'
      : `Jules could not ${operation} (${status} ${code}): ${googleMessage}`;
    return new JulesApiError({
      status,
      code,
      message,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(body.reason === undefined ? {} : { reason: body.reason }),
      ...context,
    });
  }

  async function listSources(pageToken?: string, pageSize?: string): Promise<Page<JulesSource>> {
    const json = await request({
      method: 'GET',
      path: 'sources',
      query: { pageSize, pageToken },
      operation: 'list sources',
    });
    return toPage(json, 'sources', toSource);
  }

  return {
    /** @see https://developers.google.com/jules/api/reference/rest/v1alpha/sources/list */
    listSources: (pageToken) => listSources(pageToken),

    /** @see https://developers.google.com/jules/api/reference/rest/v1alpha/sources/list */
    async findSource(owner, repo) {
      const wantedOwner = owner.toLowerCase();
      const wantedRepo = repo.toLowerCase();
      const cacheKey = `${wantedOwner}/${wantedRepo}`;
      const cached = options.sourceCache?.get(cacheKey);
      if (cached) return cached;
      const wantedName = `sources/github/${wantedOwner}/${wantedRepo}`;
      const seenTokens = new Set<string>();
      let pageToken: string | undefined;
      for (let pages = 0; pages < MAX_SOURCE_PAGES; pages++) {
        const page = await listSources(pageToken, MAX_PAGE_SIZE);
        const found = page.items.find((source) =>
          source.githubRepo
            ? source.githubRepo.owner.toLowerCase() === wantedOwner && source.githubRepo.repo.toLowerCase() === wantedRepo
            : // a source without githubRepo details can still be recognised by the documented name shape
              source.name.toLowerCase() === wantedName,
        );
        if (found) {
          options.sourceCache?.set(cacheKey, found);
          return found;
        }
        if (!page.nextPageToken || seenTokens.has(page.nextPageToken)) return undefined;
        seenTokens.add(page.nextPageToken);
        pageToken = page.nextPageToken;
      }
      return undefined;
    },

    /** @see https://developers.google.com/jules/api/reference/rest/v1alpha/sessions/create */
    async createSession(input: CreateSessionInput) {
      const body: Json = {
        prompt: input.prompt,
        title: input.title,
        sourceContext: {
          source: input.source,
          ...(input.startingBranch ? { githubRepoContext: { startingBranch: input.startingBranch } } : {}),
        },
      };
      // `false` means the same as leaving it out (plans are auto-approved), but the API has been seen to
      // answer 400 FAILED_PRECONDITION to an explicit false (jules-sdk#18), so only `true` is ever sent.
      if (input.requirePlanApproval === true) body.requirePlanApproval = true;
      if (input.automationMode !== undefined) body.automationMode = input.automationMode;
      const json = await request({
        method: 'POST',
        path: 'sessions',
        body,
        operation: 'create a session',
        onHttpError: (error) => (error.status === 404 ? noAccessError(error, input.source) : error),
      });
      return toSession(json, 'create a session');
    },

    /** @see https://developers.google.com/jules/api/reference/rest/v1alpha/sessions/get */
    async getSession(name) {
      const path = sessionPath(name);
      const json = await request({ method: 'GET', path, operation: `get ${path}` });
      return toSession(json, `get ${path}`);
    },

    /** @see https://developers.google.com/jules/api/reference/rest/v1alpha/sessions/list */
    async listSessions(pageToken) {
      const json = await request({
        method: 'GET',
        path: 'sessions',
        query: { pageSize: MAX_PAGE_SIZE, pageToken },
        operation: 'list sessions',
      });
      return toPage(json, 'sessions', (item) => (isObject(item) ? normaliseSession(item) : undefined));
    },

    /** @see https://developers.google.com/jules/api/reference/rest/v1alpha/sessions.activities/list */
    async listActivities(session, listOptions = {}) {
      const path = `${sessionPath(session)}/activities`;
      const { createTimeAfter, pageToken } = listOptions;
      if (createTimeAfter !== undefined && !RFC3339.test(createTimeAfter)) {
        // validated here because the value is spliced into a filter expression between quotes
        throw new JulesApiError({
          status: 400,
          code: 'INVALID_ARGUMENT',
          message: `createTimeAfter must be an RFC 3339 timestamp, got ${JSON.stringify(createTimeAfter.slice(0, 40))}.`,
        });
      }
      const json = await request({
        method: 'GET',
        path,
        query: {
          pageSize: MAX_PAGE_SIZE,
          pageToken,
          // AIP-160 filter, as the official SDK's stream() uses it; the timestamp is passed through
          // untouched so sub-millisecond precision is not lost.
          filter: createTimeAfter === undefined ? undefined : `create_time>"${createTimeAfter}"`,
        },
        operation: `list the activities of ${sessionPath(session)}`,
      });
      return toPage(json, 'activities', toActivity);
    },

    /** @see https://developers.google.com/jules/api/reference/rest/v1alpha/sessions/approvePlan */
    async approvePlan(session) {
      const path = sessionPath(session);
      await request({ method: 'POST', path: `${path}:approvePlan`, body: {}, operation: `approve the plan of ${path}` });
    },

    /** @see https://developers.google.com/jules/api/reference/rest/v1alpha/sessions/sendMessage */
    async sendMessage(session, prompt) {
      const path = sessionPath(session);
      await request({
        method: 'POST',
        path: `${path}:sendMessage`,
        body: { prompt },
        operation: `send a message to ${path}`,
      });
    },

    /** Not in the reference pages; the official SDK's route (added 2026-02-25). */
    async archiveSession(session) {
      const path = sessionPath(session);
      await request({ method: 'POST', path: `${path}:archive`, body: {}, operation: `archive ${path}` });
    },

    /** Not in the reference pages; the official SDK's route (added 2026-03-16). A 404 means already deleted. */
    async deleteSession(session) {
      const path = sessionPath(session);
      try {
        await request({ method: 'DELETE', path, operation: `delete ${path}` });
      } catch (err) {
        if (err instanceof JulesApiError && err.status === 404) return;
        throw err;
      }
    },
  };
}

/** Makes one {@link createHttpJulesClient} per decrypted key, sharing the base URL and options. */
export function createHttpJulesClientFactory(
  baseUrl: string,
  opts: CreateHttpJulesClientFactoryOptions = {},
): JulesClientFactory {
  const { sourceCacheTtlMs = 10 * 60_000, ...clientOptions } = opts;
  // One cache per key's account: another key may see other repositories. Keyed by a digest, never the key.
  const caches = new Map<string, SourceCache>();
  return (apiKey) => {
    const account = createHash('sha256').update(apiKey).digest('hex');
    let sourceCache = caches.get(account);
    if (!sourceCache && sourceCacheTtlMs > 0) caches.set(account, (sourceCache = createSourceCache(sourceCacheTtlMs)));
    return createHttpJulesClient({ ...clientOptions, baseUrl, apiKey, ...(sourceCache ? { sourceCache } : {}) });
  };
}

/** `sessions/123` or `123` → `sessions/123`, with the id encoded so it cannot escape its path segment. */
function sessionPath(nameOrId: string): string {
  const id = nameOrId.startsWith('sessions/') ? nameOrId.slice('sessions/'.length) : nameOrId;
  if (id === '' || id.includes('/')) {
    throw new JulesApiError({
      status: 400,
      code: 'INVALID_ARGUMENT',
      message: `Not a Jules session name or id: ${JSON.stringify(nameOrId.slice(0, 80))}.`,
    });
  }
  return `sessions/${encodeURIComponent(id)}`;
}

/** The message a user can act on when Jules cannot see the repository of a create. */
function noAccessError(error: JulesApiError, source: string): JulesApiError {
  const match = /^sources\/github\/([^/]+)\/([^/]+)$/.exec(source);
  const repo = match ? `${match[1]}/${match[2]}` : source;
  return new JulesApiError({
    status: error.status,
    code: error.code,
    message: `Jules has no access to ${repo}: install the Jules GitHub app on it (https://jules.google.com).`,
    ...(error.method === undefined ? {} : { method: error.method }),
    ...(error.path === undefined ? {} : { path: error.path }),
    cause: error,
  });
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toPage<T>(json: Json, key: string, map: (item: unknown) => T | undefined): Page<T> {
  const raw = json[key];
  const items = Array.isArray(raw) ? raw.map(map).filter((item): item is T => item !== undefined) : [];
  const token = json.nextPageToken;
  return typeof token === 'string' && token !== '' ? { items, nextPageToken: token } : { items };
}

/** Items without a usable name are dropped: callers could not address them anyway. */
function toSource(item: unknown): JulesSource | undefined {
  if (!isObject(item) || typeof item.name !== 'string') return undefined;
  const repo = item.githubRepo;
  if (repo !== undefined && !(isObject(repo) && typeof repo.owner === 'string' && typeof repo.repo === 'string')) {
    const { githubRepo: _dropped, ...rest } = item;
    return rest as unknown as JulesSource;
  }
  return item as unknown as JulesSource;
}

function normaliseSession(item: Json): JulesSession | undefined {
  if (typeof item.name === 'string' && item.name !== '') return item as unknown as JulesSession;
  // one doc example shows a bare id; give every session the documented `sessions/{id}` name
  if (typeof item.id === 'string' && item.id !== '') return { ...item, name: `sessions/${item.id}` } as JulesSession;
  return undefined;
}

function toSession(json: Json, operation: string): JulesSession {
  const session = normaliseSession(json);
  if (!session) {
    throw new JulesApiError({
      status: 0,
      code: 'INVALID_RESPONSE',
      message: `Jules answered ${operation} with a session that has no name or id.`,
    });
  }
  return session;
}

function toActivity(item: unknown): JulesActivity | undefined {
  if (!isObject(item)) return undefined;
  if (typeof item.name === 'string') return item as unknown as JulesActivity;
  if (typeof item.id === 'string') return { ...item, name: item.id } as JulesActivity;
  return undefined;
}

interface GoogleErrorBody {
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly retryDelayMs?: number;
}

/** Reads `{ error: { code, message, status, details } }`; anything else yields an empty result. */
function parseGoogleError(text: string): GoogleErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  const error = isObject(parsed) ? parsed.error : undefined;
  if (!isObject(error)) return {};
  const result: { status?: string; message?: string; reason?: string; retryDelayMs?: number } = {};
  if (typeof error.status === 'string' && error.status !== '') result.status = error.status;
  if (typeof error.message === 'string' && error.message !== '') result.message = error.message.slice(0, 500);
  for (const detail of Array.isArray(error.details) ? error.details : []) {
    if (!isObject(detail) || typeof detail['@type'] !== 'string') continue;
    if (detail['@type'].endsWith('google.rpc.RetryInfo')) {
      const delay = parseDuration(detail.retryDelay);
      if (delay !== undefined) result.retryDelayMs = delay;
    } else if (detail['@type'].endsWith('google.rpc.ErrorInfo') && typeof detail.reason === 'string') {
      result.reason = detail.reason;
    }
  }
  return result;
}

/** A protobuf Duration in JSON (`"1.5s"`) or object form (`{ seconds, nanos }`), in ms. */
function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
    return match ? Math.round(Number(match[1]) * 1000) : undefined;
  }
  if (isObject(value)) {
    const seconds = Number(value.seconds ?? 0);
    const nanos = Number(value.nanos ?? 0);
    if (Number.isFinite(seconds) && Number.isFinite(nanos)) return Math.round(seconds * 1000 + nanos / 1e6);
  }
  return undefined;
}

/** `Retry-After` as delta-seconds or an HTTP date, in ms from now. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** What failed on the wire, e.g. `ECONNREFUSED`, from undici's `TypeError('fetch failed', { cause })`. */
function networkDetail(cause: unknown): string {
  let current: unknown = cause;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return cause instanceof Error ? cause.message.slice(0, 200) : '';
}

/** The origin only: a base URL with credentials in it must not reach a message. */
function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the configured JULES_API_URL';
  }
}
