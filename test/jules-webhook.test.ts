import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signHmacSha256, verifyHmacSha256 } from '../src/crypto/hmac';
import { buildApp } from '../src/http/app';
import { DELIVERY_MEMORY_MS, JULES_DELIVERY_SOURCE } from '../src/http/jules-webhook.route';
import { createJulesRelay, signJulesWebhookRequest, type SignOptions } from '../src/sandbox/jules-relay';
import type { JulesEvent } from '../src/shared/task';
import type { TaskStatus } from '../src/shared/task-status';
import { createPostgresDeliveryLog, type DeliveryLog } from '../src/store/delivery-log';
import type { Store } from '../src/store/store';
import type { SqlExecutor } from '../src/store/sql-executor';
import { eventually, MEMBERS, startTestStack, type TestStack } from './helpers/stack';
import { openMigratedStore } from './helpers/migrated-store';

const SECRET = 'whsec-test-0123456789abcdef';
/** The route's clock in these tests: a fixed instant, so "five minutes" is exact. */
const NOW_MS = Date.UTC(2026, 10, 21, 12, 0, 0);
const NOW_S = NOW_MS / 1000;

let store: Store & { executor: SqlExecutor };
let deliveries: DeliveryLog;
let sequence = 0;

beforeAll(async () => {
  store = await openMigratedStore();
  deliveries = createPostgresDeliveryLog(store.executor);
});

afterAll(async () => {
  await store?.close();
});

/** A fake of the task-control port that records every signal and answers as told. */
function fakeTasks(answers: (boolean | Error)[] = []) {
  const calls: { taskId: string; event: JulesEvent }[] = [];
  return {
    calls,
    async notifyJulesEvent(taskId: string, event: JulesEvent): Promise<boolean> {
      calls.push({ taskId, event });
      const answer = answers.shift() ?? true;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

function appWith(tasks: ReturnType<typeof fakeTasks>, options: { secret?: string | null } = {}): FastifyInstance {
  return buildApp({
    verifyDiscordSignature: () => false,
    dispatch: async () => {
      throw new Error('no interactions in these tests');
    },
    ...(options.secret === null ? {} : { julesWebhook: { secret: options.secret ?? SECRET, deliveries, store, tasks, now: () => NOW_MS } }),
    logger: false,
  });
}

/** A task whose Jules session is `sessions/<n>`, in the given status; returns its ids. */
async function taskWithSession(status: TaskStatus = 'in_progress'): Promise<{ taskId: string; session: string }> {
  sequence += 1;
  const taskId = `task-webhook-${process.pid}-${sequence}`;
  const session = `sessions/${9000 + sequence}`;
  await store.createTask({ id: taskId, guildId: 'g-1', channelId: 'c-1', requesterId: 'u-1', prompt: 'Fix it', repo: 'acme/widgets', branch: null, status, keySource: 'guild' });
  await store.updateTask(taskId, { julesSessionId: session });
  return { taskId, session };
}

async function push(app: FastifyInstance, body: unknown, options: SignOptions & { secret?: string; raw?: string; headers?: Record<string, string | undefined> } = {}) {
  const signed = signJulesWebhookRequest(options.secret ?? SECRET, options.raw ?? JSON.stringify(body), { timestamp: NOW_S, ...options });
  const headers: Record<string, string> = { ...signed.headers };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  const response = await app.inject({ method: 'POST', url: '/webhook/jules', headers, payload: signed.body });
  return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined, deliveryId: signed.deliveryId };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('POST /webhook/jules', () => {
  it('signals the running task of a signed push and answers 202 accepted, tolerating extra fields', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { taskId, session } = await taskWithSession();

    const answer = await push(app, { session, state: 'COMPLETED', type: 'sessionCompleted', activity: { id: 'a1' }, relay: 'v2' });

    expect(answer).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(tasks.calls).toEqual([{ taskId, event: { deliveryId: answer.deliveryId, session, state: 'COMPLETED' } }]);
  });

  it('normalises a bare session id to sessions/<id>', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { taskId, session } = await taskWithSession();

    const answer = await push(app, { session: session.slice('sessions/'.length) });

    expect(answer.status).toBe(202);
    expect(tasks.calls).toEqual([{ taskId, event: { deliveryId: answer.deliveryId, session } }]);
  });

  it('refuses a push signed with another secret with 401 and records nothing', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();

    const forged = await push(app, { session }, { secret: 'not-the-secret', deliveryId: 'forged-1' });
    expect(forged).toMatchObject({ status: 401, body: { code: 'INVALID_SIGNATURE' } });
    expect(tasks.calls).toHaveLength(0);

    // The same delivery id, genuinely signed, is a first delivery: the forgery left no record behind.
    expect((await push(app, { session }, { deliveryId: 'forged-1' })).body).toEqual({ status: 'accepted' });
  });

  it('refuses a body changed after signing with 401', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();
    const signed = signJulesWebhookRequest(SECRET, JSON.stringify({ session, state: 'FAILED' }), { timestamp: NOW_S });

    const response = await app.inject({ method: 'POST', url: '/webhook/jules', headers: signed.headers, payload: JSON.stringify({ session, state: 'COMPLETED' }) });

    expect(response.statusCode).toBe(401);
    expect(tasks.calls).toHaveLength(0);
  });

  it('refuses a push without its signature or timestamp header with 401', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();

    expect((await push(app, { session }, { headers: { 'x-jules-signature': undefined } })).status).toBe(401);
    expect((await push(app, { session }, { headers: { 'x-jules-timestamp': undefined } })).status).toBe(401);
    expect((await push(app, { session }, { headers: { 'x-jules-signature': 'deadbeef' } })).status).toBe(401);
    // No body and no content type: fastify would skip the parser, yet the answer is still 401, not 400.
    expect((await app.inject({ method: 'POST', url: '/webhook/jules' })).statusCode).toBe(401);
    expect(tasks.calls).toHaveLength(0);
  });

  it('refuses a timestamp more than five minutes old as stale with 401', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();

    const stale = await push(app, { session }, { timestamp: NOW_S - 301 });
    expect(stale).toMatchObject({ status: 401, body: { code: 'STALE_TIMESTAMP' } });
    expect(stale.body.error).toContain('stale');
    expect(tasks.calls).toHaveLength(0);

    expect((await push(app, { session }, { timestamp: NOW_S - 299 })).status).toBe(202);
  });

  it('refuses a timestamp more than five minutes in the future as stale with 401', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();

    const future = await push(app, { session }, { timestamp: NOW_S + 301 });
    expect(future).toMatchObject({ status: 401, body: { code: 'STALE_TIMESTAMP' } });
    expect(tasks.calls).toHaveLength(0);

    expect((await push(app, { session }, { timestamp: NOW_S + 299 })).status).toBe(202);
  });

  it('answers a redelivery 200 duplicate and signals the task only once', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();

    const first = await push(app, { session, state: 'COMPLETED' }, { deliveryId: `dup-${sequence}` });
    // A relay's retry re-signs with a new timestamp but keeps the delivery id.
    const again = await push(app, { session, state: 'COMPLETED' }, { deliveryId: `dup-${sequence}`, timestamp: NOW_S + 60 });

    expect(first).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(again).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    expect(tasks.calls).toHaveLength(1);
  });

  it("dedupes by the body's id when the delivery header is absent", async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();
    const event = { id: `evt-${sequence}`, session };

    expect((await push(app, event, { deliveryId: null })).body).toEqual({ status: 'accepted' });
    expect((await push(app, event, { deliveryId: null })).body).toEqual({ status: 'duplicate' });
    expect(tasks.calls.map((c) => c.event.deliveryId)).toEqual([event.id]);
  });

  it('accepts and ignores a push for a session no task knows (202)', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);

    const answer = await push(app, { session: 'sessions/unknown-404', state: 'COMPLETED' });

    expect(answer).toMatchObject({ status: 202, body: { status: 'ignored', reason: 'unknown_session' } });
    expect(tasks.calls).toHaveLength(0);
  });

  it('ignores a push for a task whose projection says it ended, without signalling', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession('completed');

    expect(await push(app, { session })).toMatchObject({ status: 202, body: { status: 'ignored', reason: 'task_ended' } });
    expect(tasks.calls).toHaveLength(0);
  });

  it('ignores a push for a task whose workflow no longer runs (202)', async () => {
    const tasks = fakeTasks([false]);
    app = appWith(tasks);
    const { session } = await taskWithSession('in_progress');

    expect(await push(app, { session })).toMatchObject({ status: 202, body: { status: 'ignored', reason: 'task_ended' } });
    expect(tasks.calls).toHaveLength(1);
  });

  it('rejects a correctly signed body that is not JSON with 400 and records nothing', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();

    const malformed = await push(app, undefined, { raw: '{"session": "sessions/1",', deliveryId: `bad-${sequence}` });
    expect(malformed).toMatchObject({ status: 400, body: { code: 'MALFORMED_BODY' } });

    expect((await push(app, { session }, { deliveryId: `bad-${sequence}` })).body).toEqual({ status: 'accepted' });
  });

  it('rejects a body without a session, or with a malformed one, with 400', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);

    expect((await push(app, { state: 'COMPLETED' })).status).toBe(400);
    expect((await push(app, { session: 'sessions/1/activities/2' })).status).toBe(400);
    expect((await push(app, { session: {} })).status).toBe(400);
    expect((await push(app, [])).status).toBe(400);
    expect(tasks.calls).toHaveLength(0);
  });

  it('rejects a push with no delivery id at all with 400', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks);
    const { session } = await taskWithSession();

    expect(await push(app, { session }, { deliveryId: null })).toMatchObject({ status: 400, body: { code: 'MISSING_DELIVERY_ID' } });
    expect(tasks.calls).toHaveLength(0);
  });

  it("answers 503 when the task cannot be signalled, and the relay's retry then goes through", async () => {
    const tasks = fakeTasks([new Error('Temporal is unreachable')]);
    app = appWith(tasks);
    const { session } = await taskWithSession();
    const deliveryId = `retry-${sequence}`;

    const failed = await push(app, { session }, { deliveryId });
    expect(failed.status).toBe(503);
    expect(JSON.stringify(failed.body)).not.toContain('Temporal is unreachable');

    const retried = await push(app, { session }, { deliveryId, timestamp: NOW_S + 5 });
    expect(retried).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(tasks.calls).toHaveLength(2);
  });

  it('is not there when no secret is configured (404)', async () => {
    const tasks = fakeTasks();
    app = appWith(tasks, { secret: null });
    const { session } = await taskWithSession();

    expect((await push(app, { session })).status).toBe(404);
    expect(tasks.calls).toHaveLength(0);
  });
});

describe('the delivery log', () => {
  it('says "first time" to exactly one of many concurrent records of one delivery', async () => {
    const id = `concurrent-${process.pid}`;
    const firsts = await Promise.all(Array.from({ length: 5 }, () => deliveries.recordDelivery(JULES_DELIVERY_SOURCE, id)));
    expect(firsts.filter(Boolean)).toHaveLength(1);
  });

  it('keeps sources apart and forgets a delivery on request', async () => {
    const id = `shared-${process.pid}`;
    expect(await deliveries.recordDelivery('jules', id)).toBe(true);
    expect(await deliveries.recordDelivery('github', id)).toBe(true);
    await deliveries.forgetDelivery('jules', id);
    expect(await deliveries.recordDelivery('jules', id)).toBe(true);
    expect(await deliveries.recordDelivery('github', id)).toBe(false);
  });

  it('forgets deliveries received before the cutoff, of every source, and keeps the rest', async () => {
    const old = `old-${process.pid}`;
    const recent = `recent-${process.pid}`;
    await store.executor.query("insert into webhook_deliveries (source, delivery_id, received_at) values ('jules', $1, now() - interval '2 days'), ('github', $1, now() - interval '2 days')", [old]);
    expect(await deliveries.recordDelivery('jules', recent)).toBe(true);
    expect(await deliveries.pruneDeliveries(new Date(Date.now() - DELIVERY_MEMORY_MS))).toBe(2);
    expect(await deliveries.recordDelivery('jules', old)).toBe(true);
    expect(await deliveries.recordDelivery('jules', recent)).toBe(false);
  });

  it('is pruned by the route itself, off the request’s path, so the table does not grow forever', async () => {
    const stale = `stale-${process.pid}`;
    await store.executor.query("insert into webhook_deliveries (source, delivery_id, received_at) values ('jules', $1, $2)", [stale, new Date(NOW_MS - DELIVERY_MEMORY_MS - 60_000).toISOString()]);
    const { session } = await taskWithSession();
    const app = appWith(fakeTasks());
    expect((await push(app, { session })).status).toBe(202);
    await eventually(async () => (await store.executor.query('select 1 from webhook_deliveries where delivery_id = $1', [stale])).length === 0 || undefined, 'the stale delivery pruned');
  });
});

describe('HMAC-SHA256 helpers', () => {
  it('match the RFC 4231 test vector and verify their own signatures in either case', () => {
    // RFC 4231 test case 2.
    const mac = signHmacSha256('Jefe', 'what do ya want for nothing?');
    expect(mac).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(verifyHmacSha256('Jefe', Buffer.from('what do ya want for nothing?'), mac.toUpperCase())).toBe(true);
  });

  it('refuse a wrong, truncated or missing signature and an empty secret', () => {
    const mac = signHmacSha256('k', 'm');
    expect(verifyHmacSha256('k', 'm.', mac)).toBe(false);
    expect(verifyHmacSha256('other', 'm', mac)).toBe(false);
    expect(verifyHmacSha256('k', 'm', mac.slice(0, 62))).toBe(false);
    expect(verifyHmacSha256('k', 'm', undefined)).toBe(false);
    expect(verifyHmacSha256('', 'm', signHmacSha256('', 'm'))).toBe(false);
  });
});

describe('a webhook-delivered completion', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('reaches Discord without waiting for the poll interval', async () => {
    // Ten minutes between polls: within this test only the push can make the workflow notice the end.
    stack = await startTestStack({ julesWebhookSecret: SECRET, settings: { pollIntervalMs: 600_000 } });
    const s = stack;
    const asked = await s.ask(MEMBERS.lead, { prompt: 'Add a health check endpoint' });
    expect(asked.status).toBe(200);

    const session = await eventually(() => s.jules.sessions()[0], 'the Jules session');
    await eventually(async () => (await s.store.findTaskBySession(session.name))?.id === asked.taskId, 'the session in the projection');
    await eventually(() => s.jules.sessions()[0]?.state === 'COMPLETED', 'the emulated session to complete');
    expect(s.discord.allMessagesText()).not.toContain('PR ready');

    const relay = createJulesRelay({ baseUrl: await s.app.listen({ host: '127.0.0.1', port: 0 }), secret: SECRET });
    const pushed = await relay.push({ session: session.name, state: 'COMPLETED', type: 'sessionCompleted' });
    expect(pushed).toMatchObject({ status: 202, body: { status: 'accepted' } });

    await eventually(() => s.discord.allMessagesText().includes('PR ready'), '"PR ready" in the channel', 5_000);
    expect((await s.outcome(asked.taskId)).status).toBe('completed');
  });
});
