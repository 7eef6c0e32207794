import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GITHUB_DELIVERY_SOURCE, GITHUB_EVENT_NAMES, GITHUB_WEBHOOK_HEADERS, mapGitHubEvent, type GitHubEvent } from '../src/github/webhook-events';
import { signGitHubWebhook } from '../src/github/webhook-signature';
import { buildApp } from '../src/http/app';
import { GITHUB_WEBHOOK_PATH } from '../src/http/github-webhook.route';
import { JULES_DELIVERY_SOURCE, JULES_WEBHOOK_PATH } from '../src/http/jules-webhook.route';
import { signJulesWebhookRequest } from '../src/sandbox/jules-relay';
import { createPostgresDeliveryLog } from '../src/store/delivery-log';
import type { SqlExecutor } from '../src/store/sql-executor';
import type { Store } from '../src/store/store';
import { createTally } from './helpers/reliability-tally';
import { bend } from './helpers/bend';
import { openMigratedStore } from './helpers/migrated-store';

/**
 * Signed webhook bodies, recorded GitHub payloads bent out of shape and plain noise, through the real routes on a
 * real (embedded) store: every answer is a 2xx or a 4xx, never a 5xx, and a refused delivery leaves no row.
 */

const GITHUB_SECRET = 'fuzz-github-webhook-secret';
const JULES_SECRET = 'fuzz-jules-webhook-secret';
const FIXTURES = new URL('./fixtures/github/', import.meta.url);
const fixtures = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.json'))
  .map((name) => ({ event: name.split('.')[0]!, payload: JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as unknown }));

let store: Store & { executor: SqlExecutor };
let app: FastifyInstance;
const handed: GitHubEvent[] = [];
const tally = createTally('fuzz-webhooks');

beforeAll(async () => {
  store = await openMigratedStore();
  const deliveries = createPostgresDeliveryLog(store.executor);
  app = buildApp({
    verifyDiscordSignature: () => false,
    dispatch: async () => {
      throw new Error('no interactions in these tests');
    },
    githubWebhook: { secrets: [GITHUB_SECRET], deliveries, sink: { deliver: async (event) => (handed.push(event), 'accepted') } },
    julesWebhook: { secret: JULES_SECRET, deliveries, store, tasks: { notifyJulesEvent: async () => true } },
    logger: false,
  });
  await app.ready();
});

afterAll(async () => {
  const written = tally.write();
  await app?.close();
  await store?.close();
  expect(written.status5xx).toBe(0);
});

/** Whether a delivery left its row in `webhook_deliveries`. */
async function recorded(source: string, deliveryId: string): Promise<boolean> {
  return (await store.executor.query('select 1 from webhook_deliveries where source = $1 and delivery_id = $2', [source, deliveryId])).length === 1;
}

/** Paths GitHub's mappers read, and some they do not. */
const PATHS = [
  ['repository'], ['repository', 'full_name'], ['repository', 'owner'], ['pull_request'], ['pull_request', 'number'], ['pull_request', 'head'],
  ['pull_request', 'head', 'sha'], ['pull_request', 'merged'], ['issue', 'number'], ['issue', 'pull_request'], ['check_suite', 'head_sha'],
  ['check_run', 'name'], ['check_run', 'check_suite'], ['sha'], ['state'], ['label', 'name'], ['installation', 'id'], ['action'], ['sender'],
].map((path) => path as readonly string[]);
const oddValue = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, '', 0, -1, 1.5, 2 ** 53, '1', [], {}, '\u0000', 'x'.repeat(5000)));
const bentFixture = fc.tuple(fc.constantFrom(...fixtures), fc.array(fc.record({ path: fc.constantFrom(...PATHS), replacement: oddValue }), { maxLength: 4 }));
const eventName = fc.oneof(fc.constantFrom(...GITHUB_EVENT_NAMES, 'ping', 'workflow_run', 'push'), fc.string({ minLength: 1, maxLength: 30 }).filter((name) => /^[\x21-\x7e]+$/.test(name)));

describe('GitHub payloads', () => {
  it('map to an event or name what is missing, whatever the shape', () => {
    fc.assert(
      fc.property(fc.constantFrom(...GITHUB_EVENT_NAMES), fc.oneof(bentFixture.map(([fixture, edits]) => bend(fixture.payload, edits)), fc.jsonValue({ maxDepth: 4 })), (name, payload) => {
        const mapped = mapGitHubEvent(name, payload);
        tally.record('github mapper', mapped.ok ? 'accepted' : 'refused');
        if (!mapped.ok) expect(mapped.missing).toMatch(/^[a-z_.]+$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('signed and delivered, answer 2xx or 4xx and record only what they accept', async () => {
    await fc.assert(
      fc.asyncProperty(
        eventName,
        fc.oneof(
          bentFixture.map(([fixture, edits]) => JSON.stringify(bend(fixture.payload, edits))),
          fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
          fc.string({ maxLength: 200 }),
        ),
        async (event, raw) => {
          const deliveryId = randomUUID();
          const response = await app.inject({
            method: 'POST',
            url: GITHUB_WEBHOOK_PATH,
            headers: {
              'content-type': 'application/json',
              [GITHUB_WEBHOOK_HEADERS.event]: event,
              [GITHUB_WEBHOOK_HEADERS.delivery]: deliveryId,
              [GITHUB_WEBHOOK_HEADERS.signature]: signGitHubWebhook(GITHUB_SECRET, raw),
            },
            payload: raw,
          });
          tally.recordStatus('github route signed', response.statusCode);
          expect(response.statusCode, `${event} ${raw.slice(0, 200)}`).toBeLessThan(500);
          if (response.statusCode >= 400) expect(await recorded(GITHUB_DELIVERY_SOURCE, deliveryId)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('unsigned, badly signed or signed with another secret, answer 401 and record nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(bentFixture.map(([fixture]) => JSON.stringify(fixture.payload)), fc.string({ maxLength: 100 })),
        fc.oneof(fc.constant(undefined), fc.string({ maxLength: 80 }), fc.constant('sha256='), fc.stringMatching(/^sha256=[0-9a-f]{64}$/), fc.constant('other')),
        async (raw, signature) => {
          const deliveryId = randomUUID();
          const header = signature === 'other' ? signGitHubWebhook('another-secret', raw) : signature;
          const response = await app.inject({
            method: 'POST',
            url: GITHUB_WEBHOOK_PATH,
            headers: {
              'content-type': 'application/json',
              [GITHUB_WEBHOOK_HEADERS.event]: 'pull_request',
              [GITHUB_WEBHOOK_HEADERS.delivery]: deliveryId,
              ...(header === undefined ? {} : { [GITHUB_WEBHOOK_HEADERS.signature]: header }),
            },
            payload: raw,
          });
          tally.recordStatus('github route unsigned', response.statusCode);
          expect(response.statusCode).toBe(401);
          expect(await recorded(GITHUB_DELIVERY_SOURCE, deliveryId)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('Jules relay pushes', () => {
  const session = fc.oneof(fc.stringMatching(/^(sessions\/)?[0-9]{1,20}$/), fc.string({ maxLength: 40 }), fc.constantFrom('sessions/', 'sessions//1', ' 1', '1\n', 'a'.repeat(300)));
  const body = fc.oneof(
    fc.record({ id: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), session, state: fc.option(fc.oneof(fc.string({ maxLength: 70 }), fc.jsonValue({ maxDepth: 1 })), { nil: undefined }), type: fc.option(fc.jsonValue({ maxDepth: 1 }), { nil: undefined }), activity: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }) }, { requiredKeys: ['session'] }).map((value) => JSON.stringify(value)),
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 100 }),
  );

  it('signed and delivered, answer 2xx or 4xx and record only what they accept', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: -400, max: 400 }), weight: 1 }), async (raw, withDeliveryHeader, skewSeconds) => {
        const deliveryId = randomUUID();
        const signed = signJulesWebhookRequest(JULES_SECRET, raw, { timestamp: Math.floor(Date.now() / 1000) + skewSeconds, deliveryId: withDeliveryHeader ? deliveryId : null });
        const response = await app.inject({ method: 'POST', url: JULES_WEBHOOK_PATH, headers: signed.headers, payload: signed.body });
        tally.recordStatus('jules route signed', response.statusCode);
        expect(response.statusCode, raw.slice(0, 200)).toBeLessThan(500);
        if (Math.abs(skewSeconds) > 301) expect(response.statusCode).toBe(401);
        if (response.statusCode >= 400 && withDeliveryHeader) expect(await recorded(JULES_DELIVERY_SOURCE, deliveryId)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
