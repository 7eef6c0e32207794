/**
 * A local emulator of the Jules v1alpha REST API (reference/jules-api.md §2–§4, §8) as a real HTTP server
 * on 127.0.0.1, for tests and `demo`. Sessions follow a script; their state is computed from the time
 * elapsed since create, so there are no background timers and a paused test cannot miss a step.
 * @see https://developers.google.com/jules/api/reference/rest
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A session create request as the emulator receives it (the wire shape, not the port's input). */
export interface EmulatedCreateInput {
  readonly prompt: string;
  readonly title?: string;
  readonly sourceContext?: {
    readonly source: string;
    readonly githubRepoContext?: { readonly startingBranch?: string };
  };
  readonly requirePlanApproval?: boolean;
  readonly automationMode?: string;
}

/** An activity payload a script step adds; the emulator fills in `name`, `id` and `createTime`. */
export interface ScriptActivity {
  readonly originator?: 'user' | 'agent' | 'system';
  readonly description?: string;
  readonly agentMessaged?: { readonly agentMessage: string };
  readonly planGenerated?: {
    readonly plan: { readonly id: string; readonly steps: readonly { id: string; index: number; title: string; description?: string }[] };
  };
  readonly progressUpdated?: { readonly title: string; readonly description?: string };
  readonly sessionCompleted?: Record<string, never>;
  readonly sessionFailed?: { readonly reason: string };
  readonly [key: string]: unknown;
}

/**
 * One step of a session's life. `afterMs` is the delay after the previous step (scaled by `timeScale`).
 * A step with state `AWAITING_PLAN_APPROVAL` waits for approvePlan when the create asked for
 * `requirePlanApproval: true` (otherwise the plan is approved on the spot); a step with state
 * `AWAITING_USER_FEEDBACK` waits for a sendMessage. Later steps are shifted by the wait.
 */
export interface ScriptStep {
  readonly afterMs: number;
  readonly state?: string;
  readonly activity?: ScriptActivity;
  /** Adds a pullRequest output. `{owner}`, `{repo}` and `{number}` are filled from the session's source and a PR counter. */
  readonly pullRequestUrl?: string;
  /** Adds a `sessionFailed` activity with this reason (unless the step's activity already is one). */
  readonly failureReason?: string;
}

/** The steps one session goes through. */
export type SessionScript = readonly ScriptStep[];

/** Builds the script of a session from its create request. */
export type SessionScriptFactory = (input: EmulatedCreateInput) => SessionScript;

/** Options of {@link startJulesEmulator}. */
export interface JulesEmulatorOptions {
  /** Accepted API keys; any other gets 401 UNAUTHENTICATED. Unset: any non-empty key is accepted. */
  readonly keys?: readonly string[];
  /** Connected repositories. Default: `acme/widgets` with default branch `main`. */
  readonly sources?: readonly EmulatedSourceInput[];
  /** Largest sources page the server returns (a client's smaller `pageSize` is honoured). Default 2. */
  readonly pageSize?: number;
  /** Largest activities page the server returns. Default 100, the API's maximum. */
  readonly activityPageSize?: number;
  /** The script of each new session. Default {@link defaultScript}. */
  readonly script?: SessionScriptFactory;
  /** Multiplies every script delay, e.g. 0.01 in tests. Default 1. */
  readonly timeScale?: number;
  /**
   * Opens a session's pull request somewhere real (the GitHub emulator), as Jules does on GitHub when a session
   * completes: called once per PR step, with a branch named after the session; its URL replaces the template's.
   */
  readonly openPullRequest?: (input: EmulatedPullRequestInput) => { readonly url: string };
  /**
   * A message to a session whose pull request is open (e.g. failing checks sent back): Jules pushes a fix commit to
   * the PR's branch, as it does on GitHub for PRs it created. Called once per such message, after a short delay.
   */
  readonly pushToPullRequest?: (input: { readonly owner: string; readonly repo: string; readonly branch: string; readonly prompt: string }) => void;
}

/** What a session's pull request is opened with. */
export interface EmulatedPullRequestInput {
  readonly owner: string;
  readonly repo: string;
  /** `jules/<session id>`. */
  readonly branch: string;
  readonly title: string;
  readonly body: string;
}

/** A repository the emulated account has connected. */
export interface EmulatedSourceInput {
  readonly owner: string;
  readonly repo: string;
  readonly defaultBranch?: string;
}

/** One request the emulator answered. */
export interface EmulatedRequest {
  readonly method: string;
  /** Path without query, e.g. `/v1alpha/sessions/123:approvePlan`. */
  readonly path: string;
  /** Raw query string without `?` ('' when none). */
  readonly query: string;
  readonly apiKey?: string;
  /** `Date.now()` when the request arrived. */
  readonly at: number;
  readonly status: number;
}

/** A session as the test sees it: what created it and where its script is now. */
export interface EmulatedSession {
  readonly id: string;
  readonly name: string;
  readonly input: EmulatedCreateInput;
  /** The key that created it; only that key can see the session. */
  readonly apiKey: string;
  readonly createdAt: number;
  readonly state: string;
  readonly planApprovedAt?: number;
  readonly messages: readonly string[];
}

/** A fault the next matching requests answer with instead of their normal response. */
export interface JulesEmulatorFault {
  readonly status: 400 | 404 | 429 | 500 | 503;
  /** Google's `error.status`, e.g. `FAILED_PRECONDITION` for a 400; by default the status's usual one. */
  readonly googleStatus?: string;
  /** How many matching requests fail. Default 1. */
  readonly times?: number;
  readonly match?: { readonly method?: string; readonly path?: RegExp };
  /** Sent as a `Retry-After` header (only there, so a test can tell it from a `google.rpc.RetryInfo` detail). */
  readonly retryAfterSeconds?: number;
  /** Holds the answer back this long, to exercise client timeouts. */
  readonly delayMs?: number;
}

/** A running emulator. */
export interface JulesEmulator {
  /** `http://127.0.0.1:PORT`, what clients use as `JULES_API_URL`. */
  readonly url: string;
  /** Every request answered, oldest first, with the key it carried. */
  readonly requests: EmulatedRequest[];
  /** The sessions created so far, oldest first. */
  sessions(): EmulatedSession[];
  addKey(key: string): void;
  /** Stops accepting a key, as when a user deletes it in Jules settings. */
  revokeKey(key: string): void;
  addSource(source: EmulatedSourceInput): void;
  /** Changes the script of sessions created from now on. */
  setScript(script: SessionScriptFactory): void;
  /**
   * A person acts in Jules' own app, not through the API: approves the waiting plan, or answers the waiting
   * question. Throws when the session waits for neither.
   */
  answerInJulesApp(sessionName: string, answer: { approvePlan: true } | { message: string }): void;
  injectFault(fault: JulesEmulatorFault): void;
  /** GET of a session or its activities answers 404 for this long after create (eventual consistency). Default 0. */
  notFoundAfterCreateMs: number;
  /**
   * Listing or getting a session's activities (only those: the session itself is found) answers 404 for this long
   * after create, as Jules' API notes describe for a new session's activities. Default 0.
   */
  activitiesNotFoundAfterCreateMs: number;
  close(): Promise<void>;
}

const PLAN_STEPS = [
  { id: 'step-1', index: 0, title: 'Read the code', description: 'Find where the change belongs' },
  { id: 'step-2', index: 1, title: 'Make the change and test it', description: 'Edit, add a unit test, run the suite' },
];

/** The first steps of every built-in script: queued, planning, a two-step plan, then plan approval. */
function planningSteps(): ScriptStep[] {
  return [
    { afterMs: 300, state: 'PLANNING', activity: { originator: 'system', description: 'Session started' } },
    {
      afterMs: 700,
      activity: {
        originator: 'agent',
        description: 'Plan generated',
        planGenerated: { plan: { id: 'plan-1', steps: PLAN_STEPS } },
      },
    },
    { afterMs: 0, state: 'AWAITING_PLAN_APPROVAL' },
    { afterMs: 200, state: 'IN_PROGRESS' },
  ];
}

/**
 * QUEUED → PLANNING (a two-step plan) → IN_PROGRESS (three progress updates) → COMPLETED with a pull
 * request in `outputs` and a `sessionCompleted` activity; about 3.5 s of script time.
 */
export function defaultScript(): SessionScript {
  return [
    ...planningSteps(),
    { afterMs: 600, activity: { originator: 'agent', progressUpdated: { title: 'Reading the code' } } },
    { afterMs: 600, activity: { originator: 'agent', progressUpdated: { title: 'Writing the change' } } },
    {
      afterMs: 600,
      activity: { originator: 'agent', progressUpdated: { title: 'Ran tests', description: 'All tests pass' } },
    },
    {
      afterMs: 500,
      state: 'COMPLETED',
      pullRequestUrl: 'https://github.com/{owner}/{repo}/pull/{number}',
      activity: { originator: 'system', sessionCompleted: {} },
    },
  ];
}

/** Like {@link defaultScript} until work starts, then FAILED with a `sessionFailed` activity carrying `reason`. */
export function failingScript(reason: string): SessionScript {
  return [
    ...planningSteps(),
    { afterMs: 600, activity: { originator: 'agent', progressUpdated: { title: 'Reading the code' } } },
    { afterMs: 500, state: 'FAILED', failureReason: reason },
  ];
}

/**
 * Like {@link defaultScript}, but the agent asks `question` and waits in AWAITING_USER_FEEDBACK until a
 * sendMessage arrives, then finishes with a pull request.
 */
export function askingScript(question: string): SessionScript {
  return [
    ...planningSteps(),
    { afterMs: 600, activity: { originator: 'agent', progressUpdated: { title: 'Reading the code' } } },
    { afterMs: 300, activity: { originator: 'agent', agentMessaged: { agentMessage: question } } },
    { afterMs: 0, state: 'AWAITING_USER_FEEDBACK' },
    { afterMs: 300, state: 'IN_PROGRESS' },
    { afterMs: 600, activity: { originator: 'agent', progressUpdated: { title: 'Writing the change' } } },
    {
      afterMs: 500,
      state: 'COMPLETED',
      pullRequestUrl: 'https://github.com/{owner}/{repo}/pull/{number}',
      activity: { originator: 'system', sessionCompleted: {} },
    },
  ];
}

interface EmulatedSource {
  readonly name: string;
  readonly id: string;
  readonly githubRepo: {
    owner: string;
    repo: string;
    isPrivate: boolean;
    defaultBranch: { displayName: string };
    branches: { displayName: string }[];
  };
}

interface SessionRecord {
  readonly seq: number;
  readonly id: string;
  readonly input: EmulatedCreateInput;
  readonly apiKey: string;
  readonly title: string;
  readonly owner: string;
  readonly repo: string;
  /** Create time in integer microseconds, so timestamps round-trip exactly through RFC 3339 strings. */
  readonly createdUs: number;
  readonly script: SessionScript;
  readonly prNumbers: Map<number, number>;
  /** PRs opened through `openPullRequest`, by script step. */
  readonly prUrls: Map<number, string>;
  planApprovedUs?: number;
  /** Archived sessions are hidden from lists unless the filter asks for them (`archived = true`). */
  archived?: boolean;
  readonly messages: { us: number; text: string }[];
}

interface Timeline {
  readonly state: string;
  readonly updatedUs: number;
  readonly activities: Record<string, unknown>[];
  readonly outputs: Record<string, unknown>[];
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

const GOOGLE_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const FAULT_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Precondition check failed.',
  404: 'Requested entity was not found.',
  429: 'Resource has been exhausted (e.g. check quota).',
  500: 'Internal error encountered.',
  503: 'The service is currently unavailable.',
};

const AUTOMATION_MODES = new Set(['AUTOMATION_MODE_UNSPECIFIED', 'AUTO_CREATE_PR']);
const MAX_BODY_BYTES = 1 << 20;

/** Starts the emulator on 127.0.0.1 with a random port. */
export async function startJulesEmulator(opts: JulesEmulatorOptions = {}): Promise<JulesEmulator> {
  // undefined: any non-empty key is accepted, so addKey has nothing to add to
  const allowedKeys: Set<string> | undefined = opts.keys ? new Set(opts.keys) : undefined;
  const revokedKeys = new Set<string>();
  const sources: EmulatedSource[] = (opts.sources ?? [{ owner: 'acme', repo: 'widgets', defaultBranch: 'main' }]).map(
    toEmulatedSource,
  );
  const sourcePageSize = Math.max(1, opts.pageSize ?? 2);
  const activityPageSize = Math.max(1, opts.activityPageSize ?? 100);
  const timeScale = opts.timeScale ?? 1;
  let scriptFactory: SessionScriptFactory = opts.script ?? (() => defaultScript());
  const sessions = new Map<string, SessionRecord>();
  const faults: { fault: JulesEmulatorFault; remaining: number }[] = [];
  const requests: EmulatedRequest[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();
  let sessionSeq = 0;
  let prCounter = 0;

  const nowUs = (): number => Date.now() * 1000;

  function googleError(status: number, message: string, googleStatus?: string): Reply {
    return {
      status,
      body: { error: { code: status, message, status: googleStatus ?? GOOGLE_STATUS[status] ?? 'UNKNOWN' } },
    };
  }

  function keyAccepted(key: string | undefined): key is string {
    if (!key || revokedKeys.has(key)) return false;
    return allowedKeys ? allowedKeys.has(key) : true;
  }

  /** Walks the script up to now; waits at approval and feedback steps shift everything after them. */
  function timelineOf(session: SessionRecord, atUs: number): Timeline {
    const activities: { us: number; body: Record<string, unknown> }[] = [];
    const outputs: Record<string, unknown>[] = [];
    let state = 'QUEUED';
    let t = session.createdUs;
    let updatedUs = session.createdUs;
    let planId: string | undefined;
    const add = (us: number, key: string, body: Record<string, unknown>): void => {
      activities.push({ us, body: { ...body, ...activityIdentity(session.id, key, us) } });
    };

    for (const message of session.messages) {
      if (message.us <= atUs) {
        add(message.us, `message-${message.us}`, { originator: 'user', userMessaged: { userMessage: message.text } });
      }
    }

    for (const [index, step] of session.script.entries()) {
      t += Math.round(Math.max(0, step.afterMs) * timeScale * 1000);
      if (t > atUs) break;
      updatedUs = t;
      if (step.activity) {
        add(t, `step-${index}`, { ...step.activity });
        const plan = step.activity.planGenerated?.plan;
        if (plan?.id) planId = plan.id;
      }
      if (step.failureReason !== undefined && !step.activity?.sessionFailed) {
        add(t, `failed-${index}`, { originator: 'system', sessionFailed: { reason: step.failureReason } });
      }
      if (step.pullRequestUrl !== undefined) {
        outputs.push({
          pullRequest: {
            url: fillPullRequestUrl(step.pullRequestUrl, session, index),
            title: session.title,
            description: `Changes for: ${session.input.prompt.slice(0, 200)}`,
          },
        });
      }
      if (step.state === 'AWAITING_PLAN_APPROVAL') {
        if (session.input.requirePlanApproval !== true) {
          add(t, `approval-${index}`, { originator: 'system', planApproved: { planId } });
          continue;
        }
        if (session.planApprovedUs === undefined || session.planApprovedUs > atUs) {
          state = 'AWAITING_PLAN_APPROVAL';
          break;
        }
        t = Math.max(t, session.planApprovedUs);
        updatedUs = t;
        add(t, `approval-${index}`, { originator: 'user', planApproved: { planId } });
        state = 'IN_PROGRESS';
        continue;
      }
      if (step.state === 'AWAITING_USER_FEEDBACK') {
        const reply = session.messages.find((message) => message.us >= t && message.us <= atUs);
        if (!reply) {
          state = 'AWAITING_USER_FEEDBACK';
          break;
        }
        t = Math.max(t, reply.us);
        updatedUs = t;
        state = 'IN_PROGRESS';
        continue;
      }
      if (step.state !== undefined) state = step.state;
    }

    for (const message of session.messages) if (message.us <= atUs) updatedUs = Math.max(updatedUs, message.us);
    activities.sort((a, b) => a.us - b.us);
    return { state, updatedUs, activities: activities.map((activity) => activity.body), outputs };
  }

  function fillPullRequestUrl(template: string, session: SessionRecord, stepIndex: number): string {
    if (opts.openPullRequest) {
      let opened = session.prUrls.get(stepIndex);
      if (opened === undefined) {
        opened = opts.openPullRequest({
          owner: session.owner,
          repo: session.repo,
          branch: `jules/${session.id}`,
          title: session.title ?? 'Changes by Jules',
          body: `Changes for: ${session.input.prompt.slice(0, 200)}`,
        }).url;
        session.prUrls.set(stepIndex, opened);
      }
      return opened;
    }
    let number = session.prNumbers.get(stepIndex);
    if (number === undefined) {
      number = ++prCounter;
      session.prNumbers.set(stepIndex, number);
    }
    return template
      .replaceAll('{owner}', session.owner)
      .replaceAll('{repo}', session.repo)
      .replaceAll('{number}', String(number));
  }

  function sessionJson(session: SessionRecord, atUs: number): Record<string, unknown> {
    const timeline = timelineOf(session, atUs);
    return {
      name: `sessions/${session.id}`,
      id: session.id,
      title: session.title,
      prompt: session.input.prompt,
      ...(session.input.sourceContext ? { sourceContext: session.input.sourceContext } : {}),
      state: timeline.state,
      url: `https://jules.google.com/session/${session.id}`,
      createTime: formatMicros(session.createdUs),
      updateTime: formatMicros(timeline.updatedUs),
      ...(timeline.outputs.length > 0 ? { outputs: timeline.outputs } : {}),
    };
  }

  /**
   * The caller's session, or the 404 a different account (key) or a just-created session would get: reads of the
   * session or of its activities are eventually consistent, writes are not.
   */
  function lookupSession(id: string, apiKey: string, read: 'session' | 'activities' | 'write'): SessionRecord | Reply {
    const session = sessions.get(id);
    if (!session || session.apiKey !== apiKey) return googleError(404, 'Requested entity was not found.');
    const age = nowUs() - session.createdUs;
    const invisibleForMs = read === 'write' ? 0 : Math.max(emulator.notFoundAfterCreateMs, read === 'activities' ? emulator.activitiesNotFoundAfterCreateMs : 0);
    if (age < invisibleForMs * 1000) return googleError(404, 'Requested entity was not found.');
    return session;
  }

  function createSession(body: unknown, apiKey: string): Reply {
    if (!isObject(body)) return googleError(400, 'Invalid JSON payload received.');
    if (typeof body.prompt !== 'string' || body.prompt.trim() === '') {
      return googleError(400, 'Request contains an invalid argument: prompt is required.');
    }
    if (body.automationMode !== undefined && !AUTOMATION_MODES.has(String(body.automationMode))) {
      return googleError(
        400,
        `Invalid value at 'session.automation_mode' (type.googleapis.com/google.labs.jules.v1alpha.AutomationMode), ${JSON.stringify(body.automationMode)}`,
      );
    }
    // Mirrors jules-sdk#18: an explicit `requirePlanApproval: false` without AUTO_CREATE_PR is rejected.
    if (body.requirePlanApproval === false && body.automationMode !== 'AUTO_CREATE_PR') {
      return googleError(400, 'Precondition check failed.', 'FAILED_PRECONDITION');
    }
    let owner = 'repoless';
    let repo = 'session';
    const context = body.sourceContext;
    if (context !== undefined) {
      if (!isObject(context) || typeof context.source !== 'string' || context.source === '') {
        return googleError(400, 'Request contains an invalid argument: sourceContext.source is required.');
      }
      const source = findSourceByName(context.source);
      if (!source) return googleError(404, 'Requested entity was not found.');
      owner = source.githubRepo.owner;
      repo = source.githubRepo.repo;
    }
    const input = structuredClone(body) as unknown as EmulatedCreateInput;
    const id = newSessionId();
    const title =
      typeof body.title === 'string' && body.title.trim() !== '' ? body.title : input.prompt.split('\n')[0]!.slice(0, 60);
    const session: SessionRecord = {
      seq: ++sessionSeq,
      id,
      input,
      apiKey,
      title,
      owner,
      repo,
      createdUs: nowUs(),
      script: scriptFactory(input),
      prNumbers: new Map(),
      prUrls: new Map(),
      messages: [],
    };
    sessions.set(id, session);
    return { status: 200, body: sessionJson(session, session.createdUs) };
  }

  function newSessionId(): string {
    for (;;) {
      // 64 random bits as a decimal string, like the ids the real API hands out (e.g. 14550388554331055113)
      const id = randomBytes(8).readBigUInt64BE().toString();
      if (id.length >= 15 && !sessions.has(id)) return id;
    }
  }

  function findSourceByName(name: string): EmulatedSource | undefined {
    const wanted = name.toLowerCase();
    return sources.find((source) => source.name.toLowerCase() === wanted);
  }

  function route(method: string, path: string, params: URLSearchParams, body: unknown, apiKey: string): Reply {
    const segments = path.split('/').filter((segment) => segment !== '');
    if (segments[0] !== 'v1alpha') return googleError(404, `Method not found: ${method} ${path}`);
    const [, collection, ...rest] = segments.map(safeDecode);

    if (collection === 'sources') {
      if (method !== 'GET') return googleError(404, `Method not found: ${method} ${path}`);
      if (rest.length === 0) {
        return paginate(params, sources, sourcePageSize, 30, 'sources');
      }
      const source = findSourceByName(`sources/${rest.join('/')}`);
      return source ? { status: 200, body: source } : googleError(404, 'Requested entity was not found.');
    }

    if (collection !== 'sessions') return googleError(404, `Method not found: ${method} ${path}`);
    if (rest.length === 0) {
      if (method === 'POST') return createSession(body, apiKey);
      if (method === 'GET') return listSessions(params, apiKey);
      return googleError(404, `Method not found: ${method} ${path}`);
    }

    const [idAndVerb, sub] = rest;
    const [id = '', verb] = idAndVerb!.split(':');
    if (rest.length === 1 && verb === undefined && method === 'GET') {
      const session = lookupSession(id, apiKey, 'session');
      return 'seq' in session ? { status: 200, body: sessionJson(session, nowUs()) } : session;
    }
    if (rest.length === 2 && sub === 'activities' && verb === undefined && method === 'GET') {
      const session = lookupSession(id, apiKey, 'activities');
      return 'seq' in session ? listActivities(session, params) : session;
    }
    if (rest.length === 3 && sub === 'activities' && verb === undefined && method === 'GET') {
      const session = lookupSession(id, apiKey, 'activities');
      if (!('seq' in session)) return session;
      const activity = timelineOf(session, nowUs()).activities.find((item) => item.id === rest[2]);
      return activity ? { status: 200, body: activity } : googleError(404, 'Requested entity was not found.');
    }
    if (rest.length === 1 && method === 'POST' && verb === 'approvePlan') {
      const session = lookupSession(id, apiKey, 'write');
      if (!('seq' in session)) return session;
      const at = nowUs();
      if (timelineOf(session, at).state !== 'AWAITING_PLAN_APPROVAL') {
        return googleError(400, 'Precondition check failed.', 'FAILED_PRECONDITION');
      }
      session.planApprovedUs = at;
      return { status: 200, body: {} };
    }
    if (rest.length === 1 && method === 'POST' && verb === 'sendMessage') {
      const session = lookupSession(id, apiKey, 'write');
      if (!('seq' in session)) return session;
      if (!isObject(body) || typeof body.prompt !== 'string' || body.prompt.trim() === '') {
        return googleError(400, 'Request contains an invalid argument: prompt is required.');
      }
      // strictly increasing times keep activity ids and order stable when two messages share a microsecond
      const last = session.messages.at(-1)?.us ?? 0;
      session.messages.push({ us: Math.max(nowUs(), last + 1), text: body.prompt });
      if (opts.pushToPullRequest && session.prUrls.size > 0 && timelineOf(session, nowUs()).state === 'COMPLETED') {
        const push = opts.pushToPullRequest;
        const input = { owner: session.owner, repo: session.repo, branch: `jules/${session.id}`, prompt: body.prompt };
        setTimeout(() => push(input), Math.max(10, 500 * (opts.timeScale ?? 1))).unref();
      }
      return { status: 200, body: {} };
    }
    // Archive and delete: in the official SDK, not in the reference pages (reference §2).
    if (rest.length === 1 && method === 'POST' && verb === 'archive') {
      const session = lookupSession(id, apiKey, 'write');
      if (!('seq' in session)) return session;
      session.archived = true;
      return { status: 200, body: {} };
    }
    if (rest.length === 1 && method === 'DELETE' && verb === undefined) {
      const session = lookupSession(id, apiKey, 'write');
      if (!('seq' in session)) return session;
      sessions.delete(session.id);
      return { status: 200, body: {} };
    }
    return googleError(404, `Method not found: ${method} ${path}`);
  }

  function listSessions(params: URLSearchParams, apiKey: string): Reply {
    const size = pageSizeOf(params, 30, 100);
    if (typeof size !== 'number') return size;
    const token = params.get('pageToken');
    let beforeSeq = Number.POSITIVE_INFINITY;
    if (token) {
      const decoded = decodeToken(token, 'sessions');
      if (decoded === undefined) return googleError(400, 'Invalid page token.');
      beforeSeq = decoded;
    }
    // newest first; the token is the last seq returned, so sessions created meanwhile do not shift pages
    const archived = /archived\s*=\s*true/i.test(params.get('filter') ?? '');
    const mine = [...sessions.values()]
      .filter((session) => session.apiKey === apiKey && session.seq < beforeSeq && Boolean(session.archived) === archived)
      .sort((a, b) => b.seq - a.seq);
    const page = mine.slice(0, size);
    const at = nowUs();
    const last = page.at(-1);
    return {
      status: 200,
      body: {
        sessions: page.map((session) => sessionJson(session, at)),
        ...(mine.length > size && last ? { nextPageToken: encodeToken('sessions', last.seq) } : {}),
      },
    };
  }

  function listActivities(session: SessionRecord, params: URLSearchParams): Reply {
    const filter = params.get('filter');
    let afterUs = Number.NEGATIVE_INFINITY;
    if (filter) {
      const match = /^\s*create_time\s*>\s*"([^"]+)"\s*$/.exec(filter);
      const parsed = match ? parseRfc3339Micros(match[1]!) : undefined;
      if (parsed === undefined) return googleError(400, `Invalid filter: ${filter.slice(0, 100)}`);
      afterUs = parsed;
    }
    const all = timelineOf(session, nowUs()).activities;
    const visible = all.filter((activity) => (parseRfc3339Micros(String(activity.createTime)) ?? 0) > afterUs);
    return paginate(params, visible, activityPageSize, 50, 'activities');
  }

  /** Offset pagination for lists that only grow at the end (sources, a session's activities). */
  function paginate(params: URLSearchParams, items: readonly unknown[], max: number, fallback: number, key: string): Reply {
    const size = pageSizeOf(params, Math.min(fallback, max), max);
    if (typeof size !== 'number') return size;
    const token = params.get('pageToken');
    let offset = 0;
    if (token) {
      const decoded = decodeToken(token, key);
      if (decoded === undefined) return googleError(400, 'Invalid page token.');
      offset = decoded;
    }
    const page = items.slice(offset, offset + size);
    const next = offset + size;
    return {
      status: 200,
      body: { [key]: page, ...(next < items.length ? { nextPageToken: encodeToken(key, next) } : {}) },
    };
  }

  function pageSizeOf(params: URLSearchParams, fallback: number, max: number): number | Reply {
    const raw = params.get('pageSize');
    if (raw === null || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) return googleError(400, `Invalid pageSize: ${raw.slice(0, 20)}`);
    return value === 0 ? fallback : Math.min(value, max);
  }

  function takeFault(method: string, path: string): JulesEmulatorFault | undefined {
    const index = faults.findIndex(
      ({ fault }) =>
        (fault.match?.method === undefined || fault.match.method.toUpperCase() === method) &&
        (fault.match?.path === undefined || fault.match.path.test(path)),
    );
    if (index < 0) return undefined;
    const entry = faults[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) faults.splice(index, 1);
    return entry.fault;
  }

  function faultReply(fault: JulesEmulatorFault): Reply {
    const reply = googleError(fault.status, FAULT_MESSAGES[fault.status] ?? 'Error.', fault.googleStatus);
    if (fault.retryAfterSeconds === undefined) return reply;
    return { ...reply, headers: { 'Retry-After': String(fault.retryAfterSeconds) } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const headerKey = req.headers['x-goog-api-key'];
    // Google APIs also take the key as `?key=`; accept it so a client that does so still works
    const apiKey = (Array.isArray(headerKey) ? headerKey[0] : headerKey) ?? url.searchParams.get('key') ?? undefined;

    let reply: Reply;
    let delayMs = 0;
    const raw = await readBody(req);
    const fault = takeFault(method, url.pathname);
    if (fault) {
      reply = faultReply(fault);
      delayMs = fault.delayMs ?? 0;
    } else if (raw === undefined) {
      reply = googleError(400, 'Request body too large.');
    } else if (!keyAccepted(apiKey)) {
      reply = apiKey
        ? googleError(401, 'API key not valid. Please pass a valid API key.')
        : googleError(401, 'The request is missing a valid API key.');
    } else {
      let body: unknown;
      let bodyOk = true;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          bodyOk = false;
        }
      }
      reply = bodyOk ? route(method, url.pathname, url.searchParams, body, apiKey) : googleError(400, 'Invalid JSON payload received.');
    }

    requests.push({
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      ...(apiKey === undefined ? {} : { apiKey }),
      at,
      status: reply.status,
    });
    const send = (): void => {
      if (res.destroyed) return;
      res.writeHead(reply.status, { 'Content-Type': 'application/json; charset=utf-8', ...reply.headers });
      res.end(JSON.stringify(reply.body));
    };
    if (delayMs > 0) {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        send();
      }, delayMs);
      pendingTimers.add(timer);
    } else {
      send();
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(googleError(500, 'Internal error encountered.').body));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const emulator: JulesEmulator = {
    url: `http://127.0.0.1:${port}`,
    requests,
    notFoundAfterCreateMs: 0,
    activitiesNotFoundAfterCreateMs: 0,
    answerInJulesApp(sessionName, answer) {
      const session = sessions.get(sessionName.replace(/^sessions\//, ''));
      const at = nowUs();
      const state = session && timelineOf(session, at).state;
      if (!session || state !== ('approvePlan' in answer ? 'AWAITING_PLAN_APPROVAL' : 'AWAITING_USER_FEEDBACK')) {
        throw new Error(`session ${sessionName} is not waiting for that (state ${state ?? 'unknown'})`);
      }
      if ('approvePlan' in answer) session.planApprovedUs = at;
      else session.messages.push({ us: Math.max(at, (session.messages.at(-1)?.us ?? 0) + 1), text: answer.message });
    },
    sessions() {
      const at = nowUs();
      return [...sessions.values()]
        .sort((a, b) => a.seq - b.seq)
        .map((session) => ({
          id: session.id,
          name: `sessions/${session.id}`,
          input: session.input,
          apiKey: session.apiKey,
          createdAt: Math.floor(session.createdUs / 1000),
          state: timelineOf(session, at).state,
          ...(session.planApprovedUs === undefined ? {} : { planApprovedAt: Math.floor(session.planApprovedUs / 1000) }),
          messages: session.messages.map((message) => message.text),
        }));
    },
    addKey(key) {
      revokedKeys.delete(key);
      allowedKeys?.add(key);
    },
    revokeKey(key) {
      allowedKeys?.delete(key);
      revokedKeys.add(key);
    },
    addSource(source) {
      sources.push(toEmulatedSource(source));
    },
    setScript(script) {
      scriptFactory = script;
    },
    injectFault(fault) {
      faults.push({ fault, remaining: Math.max(1, fault.times ?? 1) });
    },
    async close() {
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // fetch keeps sockets alive; without this close() would wait for them to idle out
      server.closeAllConnections();
      await closed;
    },
  };
  return emulator;
}

function toEmulatedSource(input: EmulatedSourceInput): EmulatedSource {
  const branch = input.defaultBranch ?? 'main';
  return {
    name: `sources/github/${input.owner}/${input.repo}`,
    id: `github/${input.owner}/${input.repo}`,
    githubRepo: {
      owner: input.owner,
      repo: input.repo,
      isPrivate: false,
      defaultBranch: { displayName: branch },
      branches: [{ displayName: branch }],
    },
  };
}

function activityIdentity(sessionId: string, key: string, us: number): Record<string, string> {
  const id = createHash('sha256').update(`${sessionId}:${key}`).digest('hex').slice(0, 32);
  return { name: `sessions/${sessionId}/activities/${id}`, id, createTime: formatMicros(us) };
}

/** RFC 3339 with six fractional digits, as the real API returns (`2025-10-03T05:43:42.801654Z`). */
function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = us - ms * 1000;
  return new Date(ms).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

/** Parses RFC 3339 to integer microseconds (digits past the sixth are dropped); undefined when malformed. */
function parseRfc3339Micros(text: string): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]!.toUpperCase()}`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
  return seconds * 1000 + fraction;
}

function encodeToken(kind: string, value: number): string {
  return Buffer.from(`${kind}:${value}`).toString('base64url');
}

function decodeToken(token: string, kind: string): number | undefined {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const [tokenKind, value] = text.split(':');
  const number = Number(value);
  return tokenKind === kind && Number.isInteger(number) && number >= 0 ? number : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The request body as text, or undefined when it is larger than the emulator accepts. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks).toString('utf8');
}
