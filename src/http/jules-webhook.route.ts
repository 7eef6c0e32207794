import type { FastifyInstance } from 'fastify';
import { signHmacSha256, verifyHmacSha256 } from '../crypto/hmac';
import { isFinalStatus } from '../shared/task-status';
import type { JulesEvent } from '../shared/task';
import type { DeliveryLog } from '../store/delivery-log';
import type { Store } from '../store/store';
import type { TaskControl } from '../temporal/task-control';
import { StaleTimestampError } from './errors';
import type { ServiceMetrics } from '../metrics/service-metrics';
import { HTTP_LIMITS } from './limits';
import { requires } from './openapi';
import { DELIVERY_ID_SCHEMA, headerOf, registerSignedWebhook, type WebhookReply } from './signed-webhook';

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

/** What the route needs; `buildApp` registers it only when these are given (the secret is set). */
export interface JulesWebhookDeps {
  /** `JULES_WEBHOOK_SECRET`. */
  readonly secret: string;
  readonly deliveries: DeliveryLog;
  /** Counts deliveries by outcome (`jules_webhook_deliveries_total`). */
  readonly metrics?: Pick<ServiceMetrics, 'webhookDeliveries'>;
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

const SIGNATURE_HEADER = /^sha256=([0-9a-f]{64})$/i;
const UNIX_SECONDS = /^\d{1,12}$/;

const bodySchema = {
  type: 'object',
  required: ['session'],
  properties: {
    id: DELIVERY_ID_SCHEMA,
    // `sessions/123`, or the bare id `123` (normalised below).
    session: { type: 'string', pattern: '^(sessions/)?[^/\\s]+$', maxLength: 200 },
    state: { type: 'string', minLength: 1, maxLength: 64 },
    type: { type: 'string', maxLength: 200 },
    activity: {},
  },
} as const;

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
 * Registers `POST /webhook/jules` on the signed-webhook seam. The signature and the timestamp are checked over the
 * raw bytes before anything is parsed (401), the body is validated (400), then the delivery is recorded once and
 * the task's workflow signalled (202). A delivery already recorded answers 200 `duplicate` and does nothing; a
 * failure to signal answers 503 and un-records the delivery so the relay's retry goes through.
 */
export function registerJulesWebhookRoute(app: FastifyInstance, deps: JulesWebhookDeps): void {
  const now = deps.now ?? Date.now;
  registerSignedWebhook<JulesWebhookBody>(app, {
    path: JULES_WEBHOOK_PATH,
    source: JULES_DELIVERY_SOURCE,
    deliveries: deps.deliveries,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    memoryMs: DELIVERY_MEMORY_MS,
    // The default: a session event is a few kilobytes.
    bodyLimit: HTTP_LIMITS.bodyBytes,
    contentTypes: ['application/json'],
    now,
    verify: (raw, headers) => {
      const timestamp = headerOf(headers, JULES_WEBHOOK_HEADERS.timestamp);
      const signature = SIGNATURE_HEADER.exec(headerOf(headers, JULES_WEBHOOK_HEADERS.signature) ?? '')?.[1];
      if (timestamp === undefined || !UNIX_SECONDS.test(timestamp) || !verifyHmacSha256(deps.secret, signedBytes(timestamp, raw), signature)) return false;
      // Checked after the signature, so "stale" is only ever said about a genuine request (a relay whose
      // clock drifted, or a replay), which is what an operator reading it needs to know.
      const skewSeconds = Math.abs(now() / 1000 - Number(timestamp));
      if (skewSeconds > JULES_WEBHOOK_MAX_SKEW_SECONDS) throw new StaleTimestampError(Math.round(skewSeconds));
      return true;
    },
    openapi: { summary: 'A Jules relay pushes a session event', security: requires('julesSignature', 'julesTimestamp') },
    schema: { headers: { type: 'object', properties: { [JULES_WEBHOOK_HEADERS.delivery]: DELIVERY_ID_SCHEMA } }, body: bodySchema },
    deliveryId: (headers, body) => headerOf(headers, JULES_WEBHOOK_HEADERS.delivery) ?? body.id,
    deliveryIdWhere: `the ${JULES_WEBHOOK_HEADERS.delivery} header or the body's id`,
    handle: async (body, delivery) => {
      const session = normaliseSessionName(body.session);
      const task = await deps.store.findTaskBySession(session);
      if (!task) {
        delivery.log.debug({ deliveryId: delivery.id, session }, 'Jules push for a session no task knows: ignored');
        return ignored('unknown_session');
      }
      if (task.endedAt !== null || isFinalStatus(task.status)) return ignored('task_ended');

      const event: JulesEvent = { deliveryId: delivery.id, session, ...(body.state !== undefined ? { state: body.state } : {}) };
      const signalled = await deps.tasks.notifyJulesEvent(task.id, event);
      return signalled ? { code: 202, answer: { status: 'accepted' } } : ignored('task_ended');
    },
  });
}

/** Why a push changed nothing, answered 202. */
function ignored(reason: 'unknown_session' | 'task_ended'): WebhookReply {
  return { code: 202, answer: { status: 'ignored', reason } };
}

/** The bytes the signature covers: `<timestamp>.<raw body>`. */
function signedBytes(timestamp: string, rawBody: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody]);
}
