import { afterEach, describe, expect, it } from 'vitest';
import { JulesApiError } from '../src/jules/errors';
import { createHttpJulesClient, createHttpJulesClientFactory } from '../src/jules/http-jules-client';
import type { JulesActivity, JulesClient, JulesSession } from '../src/jules/jules-client';
import { askingScript, failingScript, startJulesEmulator } from '../src/sandbox/jules-emulator';
import type { JulesEmulator, JulesEmulatorOptions } from '../src/sandbox/jules-emulator';

const KEY = 'AIzaSy-test-key-0123456789';
const SOURCE = 'sources/github/acme/widgets';

const emulators: JulesEmulator[] = [];

afterEach(async () => {
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
});

async function setup(options: JulesEmulatorOptions = {}): Promise<{ emulator: JulesEmulator; jules: JulesClient }> {
  const emulator = await startJulesEmulator({ keys: [KEY], timeScale: 0.01, ...options });
  emulators.push(emulator);
  return { emulator, jules: createHttpJulesClient({ baseUrl: emulator.url, apiKey: KEY }) };
}

async function caught(promise: Promise<unknown>): Promise<JulesApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JulesApiError);
  return error as JulesApiError;
}

async function waitForState(jules: JulesClient, name: string, state: string): Promise<JulesSession> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const session = await jules.getSession(name);
    if (session.state === state) return session;
    if (Date.now() > deadline) throw new Error(`session stayed ${session.state}, expected ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function allActivities(jules: JulesClient, session: string, createTimeAfter?: string): Promise<JulesActivity[]> {
  const items: JulesActivity[] = [];
  let pageToken: string | undefined;
  do {
    const page = await jules.listActivities(session, { pageToken, ...(createTimeAfter ? { createTimeAfter } : {}) });
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return items;
}

function input(overrides: Partial<Parameters<JulesClient['createSession']>[0]> = {}) {
  return { prompt: 'Fix the null check in login.ts', title: 'fix login [jo:42]', source: SOURCE, startingBranch: 'main', ...overrides };
}

describe('HTTP Jules client against the emulator', () => {
  it('lists sources a page at a time and finds a repo on a later page whatever its case', async () => {
    const { emulator, jules } = await setup({
      pageSize: 2,
      sources: ['widgets', 'gizmos', 'gadgets', 'sprockets', 'Cogs'].map((repo) => ({ owner: 'acme', repo })),
    });

    const first = await jules.listSources();
    expect(first.items.map((s) => s.githubRepo?.repo)).toEqual(['widgets', 'gizmos']);
    expect(first.nextPageToken).toBeTruthy();
    const second = await jules.listSources(first.nextPageToken);
    expect(second.items.map((s) => s.githubRepo?.repo)).toEqual(['gadgets', 'sprockets']);

    const before = emulator.requests.length;
    const found = await jules.findSource('ACME', 'cogs');
    expect(found?.name).toBe('sources/github/acme/Cogs');
    expect(found?.githubRepo?.defaultBranch?.displayName).toBe('main');
    expect(emulator.requests.length - before).toBe(3);
    expect(await jules.findSource('acme', 'missing')).toBeUndefined();
  });

  it('creates a session that echoes the request and can be read by name or bare id', async () => {
    const { emulator, jules } = await setup();
    const created = await jules.createSession(input({ requirePlanApproval: true, automationMode: 'AUTO_CREATE_PR' }));

    expect(created.name).toMatch(/^sessions\/\d{15,}$/);
    expect(created.state).toBe('QUEUED');
    expect(created.title).toBe('fix login [jo:42]');
    expect(created.prompt).toBe('Fix the null check in login.ts');
    expect(created.url).toBe(`https://jules.google.com/session/${created.id}`);
    expect((created as unknown as { sourceContext: unknown }).sourceContext).toEqual({
      source: SOURCE,
      githubRepoContext: { startingBranch: 'main' },
    });
    expect(emulator.sessions()[0]?.input).toMatchObject({ requirePlanApproval: true, automationMode: 'AUTO_CREATE_PR' });

    expect((await jules.getSession(created.name)).id).toBe(created.id);
    expect((await jules.getSession(created.id!)).name).toBe(created.name);
    expect(emulator.requests.every((request) => request.apiKey === KEY)).toBe(true);
  });

  it('lists sessions newest first, and only the ones of the same key', async () => {
    const { emulator, jules } = await setup({ keys: [KEY, 'other-key-000'] });
    const a = await jules.createSession(input({ title: 'first' }));
    const b = await jules.createSession(input({ title: 'second' }));
    const other = createHttpJulesClient({ baseUrl: emulator.url, apiKey: 'other-key-000' });
    await other.createSession(input({ title: 'someone else' }));

    const page = await jules.listSessions();
    expect(page.items.map((s) => s.name)).toEqual([b.name, a.name]);
    expect(page.nextPageToken).toBeUndefined();
    expect((await caught(other.getSession(a.name))).status).toBe(404);
  });

  it('does not send requirePlanApproval false, which Jules answers with FAILED_PRECONDITION', async () => {
    const { emulator, jules } = await setup();
    const session = await jules.createSession(input({ requirePlanApproval: false }));
    expect(session.state).toBe('QUEUED');
    expect(emulator.sessions()[0]?.input).not.toHaveProperty('requirePlanApproval');
  });

  it('a finished session gives the pull request url in its outputs', async () => {
    const { jules } = await setup();
    const created = await jules.createSession(input());
    const done = await waitForState(jules, created.name, 'COMPLETED');

    expect(done.outputs?.[0]?.pullRequest?.url).toMatch(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/);
    const activities = await allActivities(jules, created.name);
    const plan = activities.find((a) => a.planGenerated)?.planGenerated?.plan;
    expect(plan?.steps).toHaveLength(2);
    expect(activities.some((a) => a.planApproved)).toBe(true);
    expect(activities.filter((a) => a.progressUpdated).length).toBeGreaterThanOrEqual(2);
    expect(activities.at(-1)?.sessionCompleted).toEqual({});
    expect(activities.every((a) => a.name.startsWith(`${created.name}/activities/`))).toBe(true);
  });

  it('a failing session ends FAILED with the reason in a sessionFailed activity', async () => {
    const { emulator, jules } = await setup();
    emulator.setScript(() => failingScript('Could not build the project'));
    const created = await jules.createSession(input());
    await waitForState(jules, created.name, 'FAILED');

    const activities = await allActivities(jules, created.name);
    expect(activities.at(-1)?.sessionFailed?.reason).toBe('Could not build the project');
  });

  it('waits for plan approval when asked to, and approving lets the session finish', async () => {
    const { jules } = await setup();
    const created = await jules.createSession(input({ requirePlanApproval: true }));
    await waitForState(jules, created.name, 'AWAITING_PLAN_APPROVAL');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await jules.getSession(created.name)).state).toBe('AWAITING_PLAN_APPROVAL');

    await jules.approvePlan(created.id!);
    await waitForState(jules, created.name, 'COMPLETED');
    const approved = (await allActivities(jules, created.name)).find((a) => a.planApproved);
    expect(approved?.originator).toBe('user');
    expect(approved?.planApproved?.planId).toBe('plan-1');

    const error = await caught(jules.approvePlan(created.name));
    expect(error.code).toBe('FAILED_PRECONDITION');
    expect(error.permanent).toBe(true);
  });

  it('a message to a waiting session is recorded as userMessaged and unblocks it', async () => {
    const { emulator, jules } = await setup();
    emulator.setScript(() => askingScript('Which test framework should I use?'));
    const created = await jules.createSession(input());
    await waitForState(jules, created.name, 'AWAITING_USER_FEEDBACK');
    const question = (await allActivities(jules, created.name)).find((a) => a.agentMessaged);
    expect(question?.agentMessaged?.agentMessage).toBe('Which test framework should I use?');

    await jules.sendMessage(created.name, 'Use vitest');
    await waitForState(jules, created.name, 'COMPLETED');
    const reply = (await allActivities(jules, created.name)).find((a) => a.userMessaged);
    expect(reply?.userMessaged?.userMessage).toBe('Use vitest');
    expect(reply?.originator).toBe('user');
    expect(emulator.sessions()[0]?.messages).toEqual(['Use vitest']);
  });

  it('pages through activities and returns only newer ones after a create time', async () => {
    const { emulator, jules } = await setup({ activityPageSize: 2 });
    const created = await jules.createSession(input());
    await waitForState(jules, created.name, 'COMPLETED');

    const all = await allActivities(jules, created.name);
    expect(all.length).toBeGreaterThan(4);
    expect(new Set(all.map((a) => a.id)).size).toBe(all.length);
    const firstPage = await jules.listActivities(created.name);
    expect(firstPage.items).toHaveLength(2);
    expect(firstPage.nextPageToken).toBeTruthy();

    const mark = all[2]!.createTime!;
    expect(mark).toMatch(/\.\d{6}Z$/);
    const newer = await allActivities(jules, created.name, mark);
    expect(newer.map((a) => a.id)).toEqual(all.slice(3).map((a) => a.id));
    const filtered = emulator.requests.find((r) => r.query.includes('filter'));
    expect(new URLSearchParams(filtered?.query).get('filter')).toBe(`create_time>"${mark}"`);
  });

  it('refuses a create time that is not RFC 3339 before calling Jules', async () => {
    const { emulator, jules } = await setup();
    const before = emulator.requests.length;
    const error = await caught(jules.listActivities('sessions/1', { createTimeAfter: '" OR true' }));
    expect(error.permanent).toBe(true);
    expect(emulator.requests.length).toBe(before);
  });

  it('a wrong key gets a permanent error that names the problem but not the key', async () => {
    const { emulator } = await setup();
    const wrongKey = 'AIzaSy-wrong-key-9876543210';
    const jules = createHttpJulesClientFactory(emulator.url)(wrongKey);
    const error = await caught(jules.listSources());

    expect(error.status).toBe(401);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.keyRejected).toBe(true);
    expect(error.permanent).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/Jules rejected the API key/);
    expect(error.message).not.toContain(wrongKey);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(wrongKey);
    expect(emulator.requests.at(-1)).toMatchObject({ apiKey: wrongKey, status: 401 });
  });

  it('a 429 with Retry-After is retryable and says how long to wait', async () => {
    const { emulator, jules } = await setup();
    emulator.injectFault({ status: 429, retryAfterSeconds: 7, match: { method: 'GET', path: /\/sources$/ } });
    const error = await caught(jules.listSources());

    expect(error.status).toBe(429);
    expect(error.code).toBe('RESOURCE_EXHAUSTED');
    expect(error.retryable).toBe(true);
    expect(error.permanent).toBe(false);
    expect(error.retryAfterMs).toBe(7000);
    expect((await jules.listSources()).items).toHaveLength(1);
  });

  it('reads the delay from a google.rpc.RetryInfo detail when there is no Retry-After header', async () => {
    const body = {
      error: {
        code: 429,
        message: 'Quota exceeded.',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2.5s' }],
      },
    };
    const fetchStub: typeof fetch = async () => new Response(JSON.stringify(body), { status: 429 });
    const jules = createHttpJulesClient({ baseUrl: 'http://127.0.0.1:1', apiKey: KEY, fetch: fetchStub });
    const error = await caught(jules.listSessions());
    expect(error.retryAfterMs).toBe(2500);
    expect(error.message).toContain('Quota exceeded.');
  });

  it('never repeats the key in a message even when the server echoes it', async () => {
    const body = { error: { code: 400, message: `Bad key ${KEY} in request`, status: 'INVALID_ARGUMENT' } };
    const fetchStub: typeof fetch = async () => new Response(JSON.stringify(body), { status: 400 });
    const jules = createHttpJulesClient({ baseUrl: 'http://127.0.0.1:1', apiKey: KEY, fetch: fetchStub });
    const error = await caught(jules.listSources());
    expect(error.message).toContain('Bad key [redacted] in request');
    expect(error.message).not.toContain(KEY);
  });

  it('a 503 is retryable and the next call succeeds', async () => {
    const { emulator, jules } = await setup();
    const created = await jules.createSession(input());
    emulator.injectFault({ status: 503, times: 2, match: { path: /^\/v1alpha\/sessions\/\d+$/ } });

    for (let i = 0; i < 2; i++) {
      const error = await caught(jules.getSession(created.name));
      expect(error).toMatchObject({ status: 503, code: 'UNAVAILABLE', retryable: true, permanent: false });
    }
    expect((await jules.getSession(created.name)).name).toBe(created.name);
  });

  it('a create without a prompt is a permanent INVALID_ARGUMENT', async () => {
    const { jules } = await setup();
    const error = await caught(jules.createSession(input({ prompt: '' })));
    expect(error).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', permanent: true, retryable: false });
  });

  it('a create on a repo Jules cannot see says to install the GitHub app', async () => {
    const { jules } = await setup();
    const error = await caught(jules.createSession(input({ source: 'sources/github/acme/secret' })));
    expect(error.status).toBe(404);
    expect(error.permanent).toBe(true);
    expect(error.message).toBe(
      'Jules has no access to acme/secret: install the Jules GitHub app on it (https://jules.google.com).',
    );
  });

  it('a session just created may answer 404 for a moment, then is found', async () => {
    const { emulator, jules } = await setup();
    emulator.notFoundAfterCreateMs = 150;
    const created = await jules.createSession(input());

    expect((await caught(jules.getSession(created.name))).code).toBe('NOT_FOUND');
    expect((await caught(jules.listActivities(created.name))).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await jules.getSession(created.name)).name).toBe(created.name);
  });

  it('a server that is gone gives a retryable network error with status 0', async () => {
    const { emulator, jules } = await setup();
    await jules.listSources();
    await emulator.close();
    emulators.splice(emulators.indexOf(emulator), 1);

    const error = await caught(jules.listSources());
    expect(error).toMatchObject({ status: 0, code: 'NETWORK', retryable: true, permanent: false });
    expect(error.message).toContain(emulator.url);
    expect(error.message).not.toContain(KEY);
  });

  it('a server that does not answer in time gives a retryable TIMEOUT', async () => {
    const { emulator } = await setup();
    emulator.injectFault({ status: 503, delayMs: 2000 });
    const jules = createHttpJulesClient({ baseUrl: emulator.url, apiKey: KEY, timeoutMs: 100 });
    const error = await caught(jules.listSources());
    expect(error).toMatchObject({ status: 0, code: 'TIMEOUT', retryable: true });
  });
});

describe('sessions that are no longer wanted', () => {
  it('can be archived (hidden from the list) and deleted (gone, and deleting again is fine)', async () => {
    const { jules } = await setup();
    const kept = await jules.createSession(input({ title: 'kept' }));
    const archived = await jules.createSession(input({ title: 'archived' }));
    await jules.archiveSession(archived.name);
    expect((await jules.listSessions()).items.map((s) => s.title)).toEqual(['kept']);

    await jules.deleteSession(kept.name);
    expect((await caught(jules.getSession(kept.name))).status).toBe(404);
    await expect(jules.deleteSession(kept.name)).resolves.toBeUndefined();
  });
});

describe('finding a source through the factory', () => {
  it("lists sources once per key's account and remembers the name exactly as returned", async () => {
    const emulator = await startJulesEmulator({ keys: [KEY, 'AIzaSy-other-key-9876543210'], timeScale: 0.01, sources: [{ owner: 'acme', repo: 'widgets' }, { owner: 'acme', repo: 'gadgets' }, { owner: 'Other', repo: 'Thing' }] });
    emulators.push(emulator);
    const factory = createHttpJulesClientFactory(emulator.url);
    const listCalls = () => emulator.requests.filter((r) => r.method === 'GET' && r.path === '/v1alpha/sources').length;

    const first = await factory(KEY).findSource('other', 'thing');
    const callsAfterFirst = listCalls();
    expect(first?.name).toBeDefined();
    expect(await factory(KEY).findSource('Other', 'Thing')).toEqual(first);
    expect(listCalls()).toBe(callsAfterFirst);

    // Another key is another account: its own lookup.
    await factory('AIzaSy-other-key-9876543210').findSource('other', 'thing');
    expect(listCalls()).toBeGreaterThan(callsAfterFirst);

    const uncached = createHttpJulesClientFactory(emulator.url, { sourceCacheTtlMs: 0 });
    const before = listCalls();
    await uncached(KEY).findSource('other', 'thing');
    await uncached(KEY).findSource('other', 'thing');
    // Without the cache each lookup pages through the sources again.
    expect(listCalls() - before).toBe(2 * callsAfterFirst);
  });
});
