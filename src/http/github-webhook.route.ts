import type { FastifyInstance } from 'fastify';
import {
  GITHUB_DELIVERY_SOURCE,
  GITHUB_PING_EVENT,
  GITHUB_WEBHOOK_HEADERS,
  isMappedGitHubEvent,
  mapGitHubEvent,
  type GitHubEvent,
  type GitHubEventSink,
} from '../github/webhook-events';
import { verifyGitHubSignature } from '../github/webhook-signature';
import type { DeliveryLog } from '../store/delivery-log';
import { InvalidPayloadError } from './errors';
import type { ServiceMetrics } from '../metrics/service-metrics';
import { HTTP_LIMITS } from './limits';
import { requires } from './openapi';
import { DELIVERY_ID_SCHEMA, headerOf, registerSignedWebhook, type PreparedDelivery } from './signed-webhook';

/**
 * `POST /webhook/github`: a repository's, organisation's or GitHub App's webhook. GitHub waits 10 s for a 2xx and
 * never retries on its own, so the route only verifies, maps and hands the event to a {@link GitHubEventSink},
 * which wakes the follow-through of the PR it is about; a slow reconcile poll (elsewhere) covers what is lost.
 * @see https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks
 */

/** The route's path. */
export const GITHUB_WEBHOOK_PATH = '/webhook/github';

/** The `webhook_deliveries.source` of this route's deliveries. */
export { GITHUB_DELIVERY_SOURCE };

/**
 * How long a delivery id is remembered. GitHub lets anyone with access redeliver a delivery of the last 3 days, with
 * its original `X-GitHub-Delivery` (reference/github.md §1.5), so an id is kept that long and a day more, in case the
 * window is counted from a moment later than the one we recorded.
 */
export const GITHUB_DELIVERY_MEMORY_MS = 4 * 24 * 60 * 60_000;

/** The largest body taken (`HTTP_LIMITS.githubWebhookBodyBytes`). Above it: 413. */
export const GITHUB_WEBHOOK_BODY_LIMIT = HTTP_LIMITS.githubWebhookBodyBytes;

/** What a hook set to form encoding is told (GitHub's default content type is `form`). */
const FORM_REFUSED =
  "form-encoded deliveries are not accepted: set the webhook's content type to application/json (Settings → Webhooks → Content type)";

/** What the route needs; `buildApp` registers it only when these are given (the secret is set). */
export interface GitHubWebhookDeps {
  /** `GITHUB_WEBHOOK_SECRET`, split at commas: a delivery signed with any one of them is accepted (rotation). */
  readonly secrets: readonly string[];
  readonly deliveries: DeliveryLog;
  /** Counts deliveries by outcome (`jules_webhook_deliveries_total`). */
  readonly metrics?: Pick<ServiceMetrics, 'webhookDeliveries'>;
  readonly sink: GitHubEventSink;
  /** The clock, in milliseconds since the epoch (tests move it). Default `Date.now`. */
  readonly now?: () => number;
}

const headersSchema = {
  type: 'object',
  required: [GITHUB_WEBHOOK_HEADERS.event, GITHUB_WEBHOOK_HEADERS.delivery],
  properties: {
    [GITHUB_WEBHOOK_HEADERS.event]: { type: 'string', minLength: 1, maxLength: 100 },
    [GITHUB_WEBHOOK_HEADERS.delivery]: DELIVERY_ID_SCHEMA,
  },
} as const;

/**
 * Registers `POST /webhook/github` on the signed-webhook seam. `X-Hub-Signature-256` is checked over the raw bytes
 * (401, nothing recorded), form encoding is 415, a body that is not a JSON object or lacks what its event must carry
 * is 400. `ping` is 200 `pong`; events not in GITHUB_EVENT_NAMES are 202 `ignored` (`event`), unrecorded. A mapped
 * event is recorded by `X-GitHub-Delivery` and handed to the sink: 202 `accepted`, or `ignored` (`untracked`) when
 * nothing follows it; a redelivery is 200 `duplicate` with no second effect; a sink failure 503.
 */
export function registerGitHubWebhookRoute(app: FastifyInstance, deps: GitHubWebhookDeps): void {
  registerSignedWebhook<object, GitHubEvent>(app, {
    path: GITHUB_WEBHOOK_PATH,
    source: GITHUB_DELIVERY_SOURCE,
    deliveries: deps.deliveries,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    memoryMs: GITHUB_DELIVERY_MEMORY_MS,
    bodyLimit: GITHUB_WEBHOOK_BODY_LIMIT,
    contentTypes: ['application/json'],
    refusedContentTypes: { 'application/x-www-form-urlencoded': FORM_REFUSED },
    ...(deps.now ? { now: deps.now } : {}),
    verify: (raw, headers) => verifyGitHubSignature(deps.secrets, raw, headerOf(headers, GITHUB_WEBHOOK_HEADERS.signature)),
    openapi: { summary: "A GitHub webhook delivery (repository, organisation or App)", security: requires('githubSignature') },
    schema: { headers: headersSchema, body: { type: 'object' } },
    deliveryId: (headers) => headerOf(headers, GITHUB_WEBHOOK_HEADERS.delivery),
    deliveryIdWhere: `the ${GITHUB_WEBHOOK_HEADERS.delivery} header`,
    prepare: (body, headers): PreparedDelivery<GitHubEvent> => {
      // Required by the headers schema, so present here.
      const name = headerOf(headers, GITHUB_WEBHOOK_HEADERS.event) ?? '';
      if (name === GITHUB_PING_EVENT) return { reply: { code: 200, answer: { status: 'pong' } } };
      if (!isMappedGitHubEvent(name)) return { reply: { code: 202, answer: { status: 'ignored', reason: 'event' } } };
      const mapped = mapGitHubEvent(name, body);
      if (!mapped.ok) throw new InvalidPayloadError(`not a ${name} payload: ${mapped.missing} is missing`);
      return { work: mapped.event };
    },
    handle: async (event, delivery) => {
      const outcome = await deps.sink.deliver(event, delivery.id);
      return outcome === 'accepted' ? { code: 202, answer: { status: 'accepted' } } : { code: 202, answer: { status: 'ignored', reason: 'untracked' } };
    },
  });
}
