import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GITHUB_WEBHOOK_HEADERS, mapGitHubEvent, type GitHubEvent, type GitHubEventSink } from '../src/github/webhook-events';
import { signGitHubWebhook, verifyGitHubSignature } from '../src/github/webhook-signature';
import { buildApp } from '../src/http/app';
import { GITHUB_DELIVERY_MEMORY_MS, GITHUB_DELIVERY_SOURCE, GITHUB_WEBHOOK_PATH } from '../src/http/github-webhook.route';
import { signJulesWebhookRequest } from '../src/sandbox/jules-relay';
import { createPostgresDeliveryLog, type DeliveryLog } from '../src/store/delivery-log';
import type { SqlExecutor } from '../src/store/sql-executor';
import type { Store } from '../src/store/store';
import { eventually } from './helpers/stack';
import { openMigratedStore } from './helpers/migrated-store';

const SECRET = 'gh-whsec-current-0123456789';
const PREVIOUS_SECRET = 'gh-whsec-previous-9876543210';
const HEAD = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
const DAY_MS = 24 * 60 * 60_000;
/** GitHub's payload cap, written out rather than imported, so a wrong limit in the route fails the test. */
const TWENTY_FIVE_MB = 26_214_400;

let store: Store & { executor: SqlExecutor };
let deliveries: DeliveryLog;

beforeAll(async () => {
  store = await openMigratedStore();
  deliveries = createPostgresDeliveryLog(store.executor);
});

afterAll(async () => {
  await store?.close();
});

/** The text of a payload under test/fixtures/github/, as GitHub would send it. */
function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/github/${name}.json`, import.meta.url), 'utf8');
}

/** A fake of our own sink port that records what it is handed and answers as told. */
function recordingSink(answers: ('accepted' | 'ignored' | Error)[] = []) {
  const delivered: { event: GitHubEvent; deliveryId: string }[] = [];
  const sink: GitHubEventSink & { delivered: typeof delivered } = {
    delivered,
    async deliver(event, deliveryId) {
      delivered.push({ event, deliveryId });
      const answer = answers.shift() ?? 'accepted';
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return sink;
}

function appWith(sink: GitHubEventSink, options: { secrets?: readonly string[] | null; jules?: boolean } = {}): FastifyInstance {
  return buildApp({
    verifyDiscordSignature: () => false,
    dispatch: async () => {
      throw new Error('no interactions in these tests');
    },
    ...(options.secrets === null ? {} : { githubWebhook: { secrets: options.secrets ?? [SECRET], deliveries, sink } }),
    ...(options.jules ? { julesWebhook: { secret: 'jules-secret', deliveries, store, tasks: { notifyJulesEvent: async () => true } } } : {}),
    logger: false,
  });
}

interface DeliveryOptions {
  readonly secret?: string;
  /** Replaces the computed signature; `null` leaves the header out. */
  readonly signature?: string | null;
  readonly deliveryId?: string;
  readonly contentType?: string;
}

/** POSTs `raw` as GitHub does: its headers, and the signature over exactly these bytes. */
async function deliver(app: FastifyInstance, event: string, raw: string | Buffer, options: DeliveryOptions = {}) {
  const deliveryId = options.deliveryId ?? randomUUID();
  const signature = options.signature === undefined ? signGitHubWebhook(options.secret ?? SECRET, raw) : options.signature;
  const response = await app.inject({
    method: 'POST',
    url: GITHUB_WEBHOOK_PATH,
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'user-agent': 'GitHub-Hookshot/044aadd',
      [GITHUB_WEBHOOK_HEADERS.event]: event,
      [GITHUB_WEBHOOK_HEADERS.delivery]: deliveryId,
      [GITHUB_WEBHOOK_HEADERS.hookId]: '109948940',
      ...(signature === null ? {} : { [GITHUB_WEBHOOK_HEADERS.signature]: signature }),
    },
    payload: raw,
  });
  return { status: response.statusCode, body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : undefined, deliveryId };
}

/** Whether `webhook_deliveries` holds this GitHub delivery. */
async function recorded(deliveryId: string): Promise<boolean> {
  const rows = await store.executor.query('select 1 from webhook_deliveries where source = $1 and delivery_id = $2', [GITHUB_DELIVERY_SOURCE, deliveryId]);
  return rows.length === 1;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('POST /webhook/github', () => {
  it('hands a merged pull request to the sink as a normalised event and answers 202 accepted', async () => {
    const sink = recordingSink();
    app = appWith(sink);

    const answer = await deliver(app, 'pull_request', fixture('pull_request.closed-merged'));

    expect(answer).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(sink.delivered).toEqual([
      {
        deliveryId: answer.deliveryId,
        event: {
          kind: 'pull_request',
          repo: 'acme/widgets',
          action: 'closed',
          sender: 'octolead',
          installationId: null,
          number: 42,
          headSha: HEAD,
          headRef: 'jules/health-check-17',
          baseRef: 'main',
          merged: true,
          mergedBy: 'octolead',
          mergeCommitSha: 'e5bd3914e2e596debea16f433f57875b5b90bcd6',
          draft: false,
          author: 'google-labs-jules[bot]',
          label: null,
        },
      },
    ]);
    expect(await recorded(answer.deliveryId)).toBe(true);
  });

  it('maps a label added to a pull request, with the label that changed', async () => {
    const sink = recordingSink();
    app = appWith(sink);

    expect((await deliver(app, 'pull_request', fixture('pull_request.labeled'))).status).toBe(202);
    expect(sink.delivered[0]?.event).toMatchObject({ kind: 'pull_request', action: 'labeled', number: 42, merged: false, mergedBy: null, mergeCommitSha: null, label: 'ready' });
  });

  it('maps a failed check suite with its conclusion, app and pull requests', async () => {
    const sink = recordingSink();
    app = appWith(sink);

    expect((await deliver(app, 'check_suite', fixture('check_suite.completed-failure'))).status).toBe(202);
    expect(sink.delivered[0]?.event).toEqual({
      kind: 'check_suite',
      repo: 'acme/widgets',
      action: 'completed',
      sender: 'github-actions[bot]',
      installationId: null,
      headSha: HEAD,
      headBranch: 'jules/health-check-17',
      status: 'completed',
      conclusion: 'failure',
      app: 'github-actions',
      pullRequests: [42],
    });
  });

  it("maps a check run from a fork's PR by its head sha and name, with no pull requests", async () => {
    const sink = recordingSink();
    app = appWith(sink);

    expect((await deliver(app, 'check_run', fixture('check_run.completed-fork'))).status).toBe(202);
    expect(sink.delivered[0]?.event).toEqual({
      kind: 'check_run',
      repo: 'acme/widgets',
      action: 'completed',
      sender: 'github-actions[bot]',
      installationId: null,
      headSha: HEAD,
      name: 'test (22.x)',
      status: 'completed',
      conclusion: 'success',
      checkSuiteId: 118578147,
      pullRequests: [],
    });
  });

  it('maps a failing commit status, which has no action', async () => {
    const sink = recordingSink();
    app = appWith(sink);

    expect((await deliver(app, 'status', fixture('status.failure'))).status).toBe(202);
    expect(sink.delivered[0]?.event).toEqual({
      kind: 'status',
      repo: 'acme/widgets',
      action: null,
      sender: 'legacy-ci',
      installationId: null,
      sha: HEAD,
      state: 'failure',
      context: 'ci/legacy',
      targetUrl: 'https://ci.example.com/acme/widgets/builds/811',
      description: 'Build failed: 3 tests',
      branches: ['jules/health-check-17'],
    });
  });

  it('maps an issue labelled ready, with the label and every label it has', async () => {
    const sink = recordingSink();
    app = appWith(sink);

    expect((await deliver(app, 'issues', fixture('issues.labeled'))).status).toBe(202);
    expect(sink.delivered[0]?.event).toEqual({
      kind: 'issues',
      repo: 'acme/widgets',
      action: 'labeled',
      sender: 'octolead',
      installationId: null,
      number: 17,
      title: 'Add a health check endpoint',
      state: 'open',
      label: 'ready',
      labels: ['bug', 'ready'],
    });
  });

  it("maps a comment on a PR's conversation, with its author", async () => {
    const sink = recordingSink();
    app = appWith(sink);

    expect((await deliver(app, 'issue_comment', fixture('issue_comment.created-on-pr'))).status).toBe(202);
    expect(sink.delivered[0]?.event).toEqual({
      kind: 'issue_comment',
      repo: 'acme/widgets',
      action: 'created',
      sender: 'octolead',
      installationId: null,
      number: 42,
      onPullRequest: true,
      commentId: 1023,
      body: 'Please also cover the readiness probe.',
      author: 'octolead',
      authorType: 'User',
      authorAssociation: 'MEMBER',
    });
  });

  it('refuses a forged signature with 401, and records and delivers nothing', async () => {
    const sink = recordingSink();
    app = appWith(sink);
    const raw = fixture('pull_request.closed-merged');

    const forged = await deliver(app, 'pull_request', raw, { secret: 'not-the-secret' });
    expect(forged).toMatchObject({ status: 401, body: { code: 'INVALID_SIGNATURE' } });
    expect(await recorded(forged.deliveryId)).toBe(false);
    expect(sink.delivered).toHaveLength(0);

    // The same delivery, genuinely signed, is a first delivery: the forgery left no record behind.
    expect((await deliver(app, 'pull_request', raw, { deliveryId: forged.deliveryId })).body).toEqual({ status: 'accepted' });
  });

  it('refuses a missing, malformed or legacy signature, a changed body and an empty POST with 401', async () => {
    const sink = recordingSink();
    app = appWith(sink);
    const raw = fixture('issues.labeled');
    const signature = signGitHubWebhook(SECRET, raw);

    const refused = [
      await deliver(app, 'issues', raw, { signature: null }),
      await deliver(app, 'issues', raw, { signature: '' }),
      await deliver(app, 'issues', raw, { signature: signature.slice('sha256='.length) }),
      await deliver(app, 'issues', raw, { signature: `sha1=${signature.slice('sha256='.length, 47)}` }),
      await deliver(app, 'issues', raw, { signature: signature.toUpperCase().replace('SHA256=', 'sha256=zz') }),
      await deliver(app, 'issues', raw.replace('"ready"', '"shipped"'), { signature }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401]);
    expect((await app.inject({ method: 'POST', url: GITHUB_WEBHOOK_PATH, headers: { [GITHUB_WEBHOOK_HEADERS.event]: 'issues', [GITHUB_WEBHOOK_HEADERS.delivery]: randomUUID() } })).statusCode).toBe(401);
    for (const r of refused) expect(await recorded(r.deliveryId)).toBe(false);
    expect(sink.delivered).toHaveLength(0);
  });

  it("refuses a form-encoded delivery with 415 and says to set the webhook's content type to application/json", async () => {
    const sink = recordingSink();
    app = appWith(sink);
    const form = `payload=${encodeURIComponent(fixture('issues.labeled'))}`;

    const answer = await deliver(app, 'issues', form, { contentType: 'application/x-www-form-urlencoded' });

    expect(answer).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_CONTENT_TYPE' } });
    expect(answer.body?.error).toContain("set the webhook's content type to application/json");
    expect(await recorded(answer.deliveryId)).toBe(false);
    expect(sink.delivered).toHaveLength(0);
    // Only a genuine sender is told why: an unsigned form is refused like any other forgery.
    expect((await deliver(app, 'issues', form, { contentType: 'application/x-www-form-urlencoded', signature: null })).status).toBe(401);
  });

  it('answers the ping GitHub sends when a hook is created with 200', async () => {
    const sink = recordingSink();
    app = appWith(sink);

    const answer = await deliver(app, 'ping', fixture('ping'));

    expect(answer).toMatchObject({ status: 200, body: { status: 'pong' } });
    expect((await deliver(app, 'ping', fixture('ping'), { contentType: 'application/json; charset=utf-8' })).status).toBe(200);
    expect(sink.delivered).toHaveLength(0);
  });

  it('answers a redelivery with the same X-GitHub-Delivery 200 duplicate, with one effect only', async () => {
    const sink = recordingSink();
    app = appWith(sink);
    const raw = fixture('check_suite.completed-failure');

    const first = await deliver(app, 'check_suite', raw);
    const again = await deliver(app, 'check_suite', raw, { deliveryId: first.deliveryId });

    expect(first).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(again).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    expect(sink.delivered.map((d) => d.deliveryId)).toEqual([first.deliveryId]);
  });

  it('acknowledges an event it does not use with 202 ignored, without recording or delivering it', async () => {
    const sink = recordingSink();
    app = appWith(sink);

    const answer = await deliver(app, 'workflow_run', fixture('workflow_run.completed'));

    expect(answer).toMatchObject({ status: 202, body: { status: 'ignored', reason: 'event' } });
    expect(await recorded(answer.deliveryId)).toBe(false);
    expect(sink.delivered).toHaveLength(0);
  });

  it('answers 202 ignored when no task or plan follows the pull request', async () => {
    const sink = recordingSink(['ignored']);
    app = appWith(sink);

    const answer = await deliver(app, 'pull_request', fixture('pull_request.labeled').replaceAll('"number": 42', '"number": 4242'));

    expect(answer).toMatchObject({ status: 202, body: { status: 'ignored', reason: 'untracked' } });
    expect(sink.delivered.map((d) => d.event)).toMatchObject([{ kind: 'pull_request', number: 4242 }]);
  });

  it('accepts either secret while one is being rotated, and refuses any other', async () => {
    const sink = recordingSink();
    app = appWith(sink, { secrets: [SECRET, PREVIOUS_SECRET] });
    const raw = fixture('status.failure');

    expect((await deliver(app, 'status', raw, { secret: SECRET })).status).toBe(202);
    expect((await deliver(app, 'status', raw, { secret: PREVIOUS_SECRET })).status).toBe(202);
    const third = await deliver(app, 'status', raw, { secret: 'a-third-secret' });
    expect(third.status).toBe(401);
    expect(await recorded(third.deliveryId)).toBe(false);
    expect(sink.delivered).toHaveLength(2);
  });

  it('refuses everything when no usable secret is configured', async () => {
    const sink = recordingSink();
    app = appWith(sink, { secrets: [''] });

    expect((await deliver(app, 'status', fixture('status.failure'), { secret: '' })).status).toBe(401);
    expect(sink.delivered).toHaveLength(0);
  });

  it('takes a body of exactly 25 MB and refuses a larger one with 413, recording nothing', async () => {
    const sink = recordingSink();
    app = appWith(sink);
    // A ping padded to the byte: GitHub does not deliver more than 25 MB, so the route takes up to that.
    const padded = (size: number) => {
      const head = '{"zen":"Keep it logically awesome.","hook_id":109948940,"padding":"';
      return `${head}${'x'.repeat(size - head.length - 2)}"}`;
    };

    const atLimit = await deliver(app, 'ping', padded(TWENTY_FIVE_MB));
    expect(atLimit).toMatchObject({ status: 200, body: { status: 'pong' } });

    const tooLarge = await deliver(app, 'issues', padded(TWENTY_FIVE_MB + 1));
    expect(tooLarge.status).toBe(413);
    expect(await recorded(tooLarge.deliveryId)).toBe(false);
    expect(sink.delivered).toHaveLength(0);
  });

  it('refuses a correctly signed body that is not JSON with 400 and records nothing', async () => {
    const sink = recordingSink();
    app = appWith(sink);

    const malformed = await deliver(app, 'issues', fixture('issues.labeled').slice(0, 200));

    expect(malformed).toMatchObject({ status: 400, body: { code: 'MALFORMED_BODY' } });
    expect(await recorded(malformed.deliveryId)).toBe(false);
    expect(sink.delivered).toHaveLength(0);
  });

  it('refuses signed JSON that is not an object, or lacks what its event must carry, with 400 and records nothing', async () => {
    const sink = recordingSink();
    app = appWith(sink);
    const withoutNumber = JSON.parse(fixture('pull_request.closed-merged')) as { pull_request: Record<string, unknown> };
    delete withoutNumber.pull_request.number;

    const notObject = await deliver(app, 'pull_request', '[]');
    const incomplete = await deliver(app, 'pull_request', JSON.stringify(withoutNumber));

    expect(notObject.status).toBe(400);
    expect(incomplete).toMatchObject({ status: 400, body: { code: 'INVALID_PAYLOAD', error: 'not a pull_request payload: pull_request.number is missing' } });
    expect(await recorded(incomplete.deliveryId)).toBe(false);
    expect(sink.delivered).toHaveLength(0);
  });

  it('refuses a signed delivery without its event or delivery header with 400', async () => {
    const sink = recordingSink();
    app = appWith(sink);
    const raw = fixture('issues.labeled');
    const headers = { 'content-type': 'application/json', [GITHUB_WEBHOOK_HEADERS.signature]: signGitHubWebhook(SECRET, raw) };

    const noEvent = await app.inject({ method: 'POST', url: GITHUB_WEBHOOK_PATH, headers: { ...headers, [GITHUB_WEBHOOK_HEADERS.delivery]: randomUUID() }, payload: raw });
    const noDelivery = await app.inject({ method: 'POST', url: GITHUB_WEBHOOK_PATH, headers: { ...headers, [GITHUB_WEBHOOK_HEADERS.event]: 'issues' }, payload: raw });

    expect([noEvent.statusCode, noDelivery.statusCode]).toEqual([400, 400]);
    expect(sink.delivered).toHaveLength(0);
  });

  it('answers 503 when the sink fails, and a redelivery then goes through', async () => {
    const sink = recordingSink([new Error('Temporal is unreachable')]);
    app = appWith(sink);
    const raw = fixture('issue_comment.created-on-pr');

    const failed = await deliver(app, 'issue_comment', raw);
    expect(failed.status).toBe(503);
    expect(JSON.stringify(failed.body)).not.toContain('Temporal is unreachable');
    expect(await recorded(failed.deliveryId)).toBe(false);

    expect(await deliver(app, 'issue_comment', raw, { deliveryId: failed.deliveryId })).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(sink.delivered).toHaveLength(2);
  });

  it('remembers which task a delivery was about, so its follow-through can count them', async () => {
    const [one, two, other] = [randomUUID(), randomUUID(), randomUUID()];
    const [task, quiet] = [`task-${randomUUID()}`, `task-${randomUUID()}`];
    for (const id of [one, two, other]) await deliveries.recordDelivery(GITHUB_DELIVERY_SOURCE, id);
    await deliveries.noteSubject(GITHUB_DELIVERY_SOURCE, one, task);
    expect(await deliveries.countDeliveries(GITHUB_DELIVERY_SOURCE, [task, quiet])).toEqual(new Map([[task, 1]]));
    await deliveries.noteSubject(GITHUB_DELIVERY_SOURCE, two, task);
    expect(await deliveries.countDeliveries(GITHUB_DELIVERY_SOURCE, [task, quiet])).toEqual(new Map([[task, 2]]));
    expect(await deliveries.countDeliveries('jules', [task])).toEqual(new Map());
  });

  it('is not there when no secret is configured (404)', async () => {
    const sink = recordingSink();
    app = appWith(sink, { secrets: null });

    expect((await deliver(app, 'ping', fixture('ping'))).status).toBe(404);
  });

  it("remembers a delivery for GitHub's three-day redelivery window, even when the Jules route prunes its own", async () => {
    const sink = recordingSink();
    app = appWith(sink, { jules: true });
    const twoDaysOld = randomUUID();
    const julesStale = randomUUID();
    const githubStale = randomUUID();
    const at = (ageMs: number) => new Date(Date.now() - ageMs).toISOString();
    await store.executor.query('insert into webhook_deliveries (source, delivery_id, received_at) values ($1, $2, $3), ($4, $5, $6), ($1, $7, $8)', [
      GITHUB_DELIVERY_SOURCE,
      twoDaysOld,
      at(2 * DAY_MS),
      'jules',
      julesStale,
      at(2 * DAY_MS),
      githubStale,
      at(GITHUB_DELIVERY_MEMORY_MS + 60_000),
    ]);
    expect(GITHUB_DELIVERY_MEMORY_MS).toBeGreaterThanOrEqual(3 * DAY_MS);

    // A Jules push makes the Jules route forget its deliveries older than a day (the session is unknown: no task needed).
    const push = signJulesWebhookRequest('jules-secret', JSON.stringify({ session: 'sessions/nobody' }), { timestamp: Math.floor(Date.now() / 1000) });
    expect((await app.inject({ method: 'POST', url: '/webhook/jules', headers: push.headers, payload: push.body })).statusCode).toBe(202);
    // And a GitHub delivery makes the GitHub route forget its own older than its memory.
    expect((await deliver(app, 'status', fixture('status.failure'))).status).toBe(202);
    const julesRemembers = async () => (await store.executor.query('select 1 from webhook_deliveries where delivery_id = $1', [julesStale])).length === 1;
    await eventually(async () => !(await recorded(githubStale)) && !(await julesRemembers()), 'both routes to prune');

    expect(await recorded(twoDaysOld)).toBe(true);
    expect(await deliver(app, 'status', fixture('status.failure'), { deliveryId: twoDaysOld })).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    expect(sink.delivered).toHaveLength(1);
  });
});

describe('GitHub webhook signatures', () => {
  it("verify GitHub's published test vector", async () => {
    // From docs.github.com, "Validating webhook deliveries".
    const secret = "It's a Secret to Everybody";
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

    expect(signGitHubWebhook(secret, 'Hello, World!')).toBe(signature);
    expect(await verifyGitHubSignature([secret], Buffer.from('Hello, World!'), signature)).toBe(true);
    expect(await verifyGitHubSignature([secret], Buffer.from('Hello, World?'), signature)).toBe(false);
    expect(await verifyGitHubSignature(['another secret', secret], Buffer.from('Hello, World!'), signature)).toBe(true);
    expect(await verifyGitHubSignature([], Buffer.from('Hello, World!'), signature)).toBe(false);
    expect(await verifyGitHubSignature([secret], Buffer.from('Hello, World!'), undefined)).toBe(false);
  });
});

describe('GitHub event mapping', () => {
  it('tolerates missing optional fields, giving null or empty values', () => {
    const minimal = { action: 'opened', repository: { full_name: 'acme/widgets' }, pull_request: { number: 7, head: { sha: HEAD } } };

    expect(mapGitHubEvent('pull_request', minimal)).toEqual({
      ok: true,
      event: {
        kind: 'pull_request',
        repo: 'acme/widgets',
        action: 'opened',
        sender: null,
        installationId: null,
        number: 7,
        headSha: HEAD,
        headRef: null,
        baseRef: null,
        merged: false,
        mergedBy: null,
        mergeCommitSha: null,
        draft: false,
        author: null,
        label: null,
      },
    });
    expect(mapGitHubEvent('check_suite', { repository: { full_name: 'acme/widgets' }, check_suite: { head_sha: HEAD, pull_requests: null, conclusion: null } })).toMatchObject({
      ok: true,
      event: { headBranch: null, conclusion: null, app: null, pullRequests: [] },
    });
    expect(mapGitHubEvent('issue_comment', { repository: { full_name: 'acme/widgets' }, issue: { number: 3 }, installation: { id: 55 } })).toMatchObject({
      ok: true,
      event: { onPullRequest: false, body: '', author: null, installationId: 55 },
    });
  });

  it('says which identifying field a payload lacks', () => {
    expect(mapGitHubEvent('status', { repository: { full_name: 'acme/widgets' }, sha: HEAD, state: 'success' })).toEqual({ ok: false, missing: 'context' });
    expect(mapGitHubEvent('check_run', { check_run: { head_sha: HEAD, name: 'build' } })).toEqual({ ok: false, missing: 'repository.full_name' });
    expect(mapGitHubEvent('issues', 'not an object')).toEqual({ ok: false, missing: 'repository.full_name' });
  });
});
