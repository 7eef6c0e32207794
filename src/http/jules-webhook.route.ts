import type { FastifyInstance, FastifyRequest } from 'fastify';
import { signHmacSha256, verifyHmacSha256 } from '../crypto/hmac';
import { isFinalStatus } from '../shared/task-status';
import type { JulesEvent } from '../shared/task';
import type { DeliveryLog } from '../store/delivery-log';
import type { Store } from '../store/store';
import type { TaskControl } from '../temporal/task-control';
import { InvalidSignatureError, MalformedBodyError, StaleTimestampError } from './errors';

/**
 * `POST /webhook/jules`: pushes from a relay that watches Jules sessions (the Jules API itself has no
 * webhooks, reference/jules-api.md §5). A push only wakes the task's workflow, which then polls Jules at
 * once; the push is never trusted as the session's state, so a lost or forged-but-valid push costs at most
 * one early poll.
 */

/** The route's path. */
export const JULES_WEBHOOK_PATH = '/webhook/jules';

/** Header names of the contract (lowercase, as Node presents them). */
export const JULES_WEBHOOK_HEADERS = {
  /** Unix seconds when the relay signed the request. */
  timestamp: 'x-jules-timestamp',
  /** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
  signature: 'x-jules-signature',
  /** A unique id per delivery, the same on every retry of it. */
  delivery: 'x-jules-delivery',
} as const;

/** How far a request's timestamp may be from the server clock, either way, before it is refused as stale. */
export const JULES_WEBHOOK_MAX_SKEW_SECONDS = 300;

/** The `webhook_deliveries.source` of this route's deliveries. */
export const JULES_DELIVERY_SOURCE = 'jules';

/**
 * How long a delivery id is remembered. The signature refuses anything older than five minutes, so a day covers
 * every retry a relay makes with its original timestamp and a wide margin for ones it signs afresh.
 */
export const DELIVERY_MEMORY_MS = 24 * 60 * 60_000;

/** How often at most the route forgets deliveries past {@link DELIVERY_MEMORY_MS}. */
const PRUNE_EVERY_MS = 60 * 60_000;

/** What the route needs; `buildApp` registers it only when these are given (the secret is set). */
export interface JulesWebhookDeps {
  /** `JULES_WEBHOOK_SECRET`. */
  readonly secret: string;
  readonly deliveries: DeliveryLog;
  readonly store: Pick<Store, 'findTaskBySession'>;
  readonly tasks: Pick<TaskControl, 'notifyJulesEvent'>;
  /** The clock, in milliseconds since the epoch (tests move it). Default `Date.now`. */
  readonly now?: () => number;
}

/** The body as the schema lets it through; other fields are tolerated and ignored. */
interface JulesWebhookBody {
  readonly id?: string;
  readonly session: string;
  readonly state?: string;
  readonly type?: string;
  readonly activity?: unknown;
}

/** What the route answers on success, and why an event changed nothing. */
type WebhookAnswer =
  | { readonly status: 'accepted' }
  | { readonly status: 'duplicate' }
  | { readonly status: 'ignored'; readonly reason: 'unknown_session' | 'task_ended' };

const SIGNATURE_HEADER = /^sha256=([0-9a-f]{64})$/i;
const UNIX_SECONDS = /^\d{1,12}$/;
const DELIVERY_ID = { type: 'string', minLength: 1, maxLength: 200 } as const;

const bodySchema = {
  type: 'object',
  required: ['session'],
  properties: {
    id: DELIVERY_ID,
    // `sessions/123`, or the bare id `123` (normalised below).
    session: { type: 'string', pattern: '^(sessions/)?[^/\\s]+$', maxLength: 200 },
    state: { type: 'string', minLength: 1, maxLength: 64 },
    type: { type: 'string', maxLength: 200 },
    activity: {},
  },
} as const;

const answerSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' }, reason: { type: 'string' } },
} as const;

const errorSchema = { type: 'object', properties: { error: { type: 'string' }, code: { type: 'string' } } } as const;

/**
 * The signature header value for a request: `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<raw body>`
 * under the shared secret. Relays (and src/sandbox/jules-relay.ts) sign with it; the route checks with it.
 */
export function signJulesWebhook(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return `sha256=${signHmacSha256(secret, signedBytes(timestamp, rawBody))}`;
}

/** The session resource name for a pushed `sessions/123` or bare `123`. */
export function normaliseSessionName(session: string): string {
  return session.startsWith('sessions/') ? session : `sessions/${session}`;
}

/**
 * Registers `POST /webhook/jules`. The signature and the timestamp are checked over the raw bytes before
 * anything is parsed (401), the body is validated (400), then the delivery is recorded once and the task's
 * workflow signalled (202). A delivery already recorded answers 200 `duplicate` and does nothing; a failure
 * to signal answers 503 and un-records the delivery so the relay's retry goes through.
 */
export function registerJulesWebhookRoute(app: FastifyInstance, deps: JulesWebhookDeps): void {
  const now = deps.now ?? Date.now;
  let nextPruneAt = 0;
  // Keeps webhook_deliveries from growing forever; off the request's path, and a failure only waits for the next time.
  const pruneNowAndThen = (log: FastifyRequest['log']) => {
    if (now() < nextPruneAt) return;
    nextPruneAt = now() + PRUNE_EVERY_MS;
    deps.deliveries.pruneDeliveries(new Date(now() - DELIVERY_MEMORY_MS)).then(
      (pruned) => log.debug({ pruned }, 'forgot old webhook deliveries'),
      (err: unknown) => log.warn({ err }, 'could not forget old webhook deliveries; trying again later'),
    );
  };

  void app.register(async (scope) => {
    // Scoped to this plugin: only signed routes keep the raw body.
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      const raw = body as Buffer;
      const timestamp = headerOf(request, JULES_WEBHOOK_HEADERS.timestamp);
      const signature = SIGNATURE_HEADER.exec(headerOf(request, JULES_WEBHOOK_HEADERS.signature) ?? '')?.[1];
      if (timestamp === undefined || !UNIX_SECONDS.test(timestamp) || !verifyHmacSha256(deps.secret, signedBytes(timestamp, raw), signature)) {
        done(new InvalidSignatureError(), undefined);
        return;
      }
      // Checked after the signature, so "stale" is only ever said about a genuine request (a relay whose
      // clock drifted, or a replay), which is what an operator reading it needs to know.
      const skewSeconds = Math.abs(now() / 1000 - Number(timestamp));
      if (skewSeconds > JULES_WEBHOOK_MAX_SKEW_SECONDS) {
        done(new StaleTimestampError(Math.round(skewSeconds)), undefined);
        return;
      }
      try {
        done(null, JSON.parse(raw.toString('utf8')));
      } catch (err) {
        done(new MalformedBodyError(err), undefined);
      }
    });

    scope.post(
      JULES_WEBHOOK_PATH,
      {
        schema: {
          headers: { type: 'object', properties: { [JULES_WEBHOOK_HEADERS.delivery]: DELIVERY_ID } },
          body: bodySchema,
          response: { 200: answerSchema, 202: answerSchema, 400: errorSchema, 503: errorSchema },
        },
        // A POST without a body never reaches the parser above, so it would skip the signature check and
        // get a 400 from validation instead of the 401 it deserves.
        preValidation: async (request) => {
          if (request.body === undefined) throw new InvalidSignatureError();
        },
      },
      async (request, reply) => {
        const body = request.body as JulesWebhookBody;
        const deliveryId = headerOf(request, JULES_WEBHOOK_HEADERS.delivery) ?? body.id;
        if (deliveryId === undefined) {
          return reply.code(400).send({ error: `a delivery id is required: the ${JULES_WEBHOOK_HEADERS.delivery} header or the body's id`, code: 'MISSING_DELIVERY_ID' });
        }
        const session = normaliseSessionName(body.session);
        const answer = (code: 200 | 202, payload: WebhookAnswer) => reply.code(code).send(payload);

        // Recorded before acting, so a concurrent redelivery sees it and does nothing; un-recorded when
        // acting fails. (A transaction around the signal would hold a connection, and on PGlite the whole
        // database, for as long as Temporal takes to answer.)
        let recorded = false;
        try {
          recorded = await deps.deliveries.recordDelivery(JULES_DELIVERY_SOURCE, deliveryId);
          if (!recorded) return answer(200, { status: 'duplicate' });
          pruneNowAndThen(request.log);

          const task = await deps.store.findTaskBySession(session);
          if (!task) {
            request.log.debug({ deliveryId, session }, 'Jules push for a session no task knows: ignored');
            return answer(202, { status: 'ignored', reason: 'unknown_session' });
          }
          if (task.endedAt !== null || isFinalStatus(task.status)) return answer(202, { status: 'ignored', reason: 'task_ended' });

          const event: JulesEvent = { deliveryId, session, ...(body.state !== undefined ? { state: body.state } : {}) };
          const signalled = await deps.tasks.notifyJulesEvent(task.id, event);
          return signalled ? answer(202, { status: 'accepted' }) : answer(202, { status: 'ignored', reason: 'task_ended' });
        } catch (err) {
          request.log.error({ err, deliveryId }, 'Jules push could not be handled; the delivery stays retryable');
          if (recorded) {
            await deps.deliveries.forgetDelivery(JULES_DELIVERY_SOURCE, deliveryId).catch((forgetErr: unknown) => {
              // The relay's retry will now be taken for a duplicate; the task still notices at its next poll.
              request.log.error({ err: forgetErr, deliveryId }, 'could not un-record a failed Jules delivery');
            });
          }
          return reply.code(503).header('retry-after', '5').send({ error: 'temporarily unavailable: retry the delivery later', code: 'UNAVAILABLE' });
        }
      },
    );
  });
}

/** The bytes the signature covers: `<timestamp>.<raw body>`. */
function signedBytes(timestamp: string, rawBody: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody]);
}

/** One header's value; a repeated header (an array) counts as missing rather than guessing which is meant. */
function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
