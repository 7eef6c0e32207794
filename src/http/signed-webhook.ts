import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceMetrics } from '../metrics/service-metrics';
import type { DeliveryLog } from '../store/delivery-log';
import { InvalidSignatureError, MissingDeliveryIdError, UnsupportedContentTypeError } from './errors';
import { parseJsonBody } from './json-body';
import { ERROR_RESPONSES, type SecurityRequirements } from './openapi';

/**
 * The seam every signed inbound request goes through (`/interactions`, `/webhook/jules`, `/webhook/github`):
 * the raw body kept only where a signature is checked, the signature checked over those bytes before anything
 * is parsed, and, for webhooks, a delivery acted on at most once.
 */

/** The request headers as Node presents them (lowercase names). */
export type RequestHeaders = FastifyRequest['headers'];

/**
 * Says whether the raw bytes carry a valid signature. May throw an error with a 4xx `statusCode` to refuse a
 * genuine request for a reason of its own (a stale timestamp); `false` is answered 401.
 */
export type RawBodyVerifier = (rawBody: Buffer, headers: RequestHeaders) => boolean | Promise<boolean>;

/** How a scope's bodies are verified and parsed. */
export interface VerifiedJsonParserOptions {
  /** Content types parsed as JSON once verified, e.g. `['application/json']`. */
  readonly contentTypes: readonly string[];
  /**
   * Content types refused with 415, mapped to the words that tell the sender what to change. Checked after the
   * signature, so only a genuine sender (a misconfigured one) is told. Anything in neither list is a plain 415.
   */
  readonly refusedContentTypes?: Readonly<Record<string, string>>;
  readonly verify: RawBodyVerifier;
}

/** What a webhook route answers when nothing failed: the body of a 200 or 202. */
export interface WebhookAnswer {
  readonly status: string;
  readonly reason?: string;
}

/** A status code with its answer. */
export interface WebhookReply {
  readonly code: 200 | 202;
  readonly answer: WebhookAnswer;
}

/** What a verified body comes to before it is recorded: an answer at once (no effect to dedupe), or work to do. */
export type PreparedDelivery<Work> = { readonly reply: WebhookReply } | { readonly work: Work };

/** A route built by {@link registerSignedWebhook}. `Work` is what `prepare` makes of the body (by default the body). */
export interface SignedWebhookOptions<Body, Work = Body> extends VerifiedJsonParserOptions {
  readonly path: string;
  /** `webhook_deliveries.source` of this route's deliveries, e.g. `jules`. */
  readonly source: string;
  readonly deliveries: DeliveryLog;
  /** The sender's id of this delivery, the same on every redelivery of it; undefined is answered 400. */
  readonly deliveryId: (headers: RequestHeaders, body: Body) => string | undefined;
  /** Where the delivery id should have been, for the 400's words, e.g. "the X-GitHub-Delivery header". */
  readonly deliveryIdWhere: string;
  /** How long a delivery id is remembered: at least as long as the sender may redeliver. */
  readonly memoryMs: number;
  /** The largest body taken, in bytes; above it 413 before anything is read into memory or verified. */
  readonly bodyLimit: number;
  /** JSON schemas of the headers and the body (fastify validates them, 400, after the signature). */
  readonly schema?: { readonly headers?: object; readonly body?: object };
  /** The OpenAPI description of the route: what it is for, and the security requirement its signature meets. */
  readonly openapi: { readonly summary: string; readonly security: SecurityRequirements };
  /**
   * Pure, no I/O: turns a verified, validated body into the work to do, or answers it at once without recording
   * it (a ping, an event nobody uses). May throw a 4xx error (nothing is recorded). Default: the body is the work.
   */
  readonly prepare?: (body: Body, headers: RequestHeaders) => PreparedDelivery<Work>;
  /** Acts on a first delivery. Throwing answers 503 and un-records it, so the sender's retry goes through. */
  readonly handle: (work: Work, delivery: { readonly id: string; readonly headers: RequestHeaders; readonly log: FastifyBaseLogger }) => Promise<WebhookReply>;
  /** The clock, in milliseconds since the epoch (tests move it). Default `Date.now`. */
  readonly now?: () => number;
  /** Counts each delivery by `source` and outcome (`accepted`, `duplicate`, `invalid_signature`, …). */
  readonly metrics?: Pick<ServiceMetrics, 'webhookDeliveries'>;
}

/**
 * A delivery's outcome for `jules_webhook_deliveries_total`: the answer's own status when the route answered
 * (`accepted`, `ignored`, `duplicate`, `pong`), else what the status code says. Signature failures stand apart:
 * many of them mean someone is probing, or a secret was rotated on one side only.
 */
function deliveryOutcome(statusCode: number, answered: string | undefined): string {
  if (answered) return answered;
  if (statusCode === 401) return 'invalid_signature';
  if (statusCode === 503) return 'failed';
  if (statusCode >= 500) return 'error';
  if (statusCode >= 400) return 'refused';
  return 'other';
}

/** The JSON schema of a delivery id, in a header or a body. */
export const DELIVERY_ID_SCHEMA = { type: 'string', minLength: 1, maxLength: 200 } as const;

/** How often at most a route forgets the deliveries it no longer needs to remember. */
const PRUNE_EVERY_MS = 60 * 60_000;

const answerSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' }, reason: { type: 'string' } },
} as const;

/**
 * Makes `scope` (a plugin's encapsulated instance) keep the raw body of its requests, verify it, and only then
 * parse it as JSON: a wrong signature is 401 (`InvalidSignatureError`), verified bytes that are not JSON 400
 * (`MalformedBodyError` and the other refusals of {@link parseJsonBody}). Fastify's own parsers are removed from
 * the scope, so no body reaches a route here without its signature checked; content types not listed are 415.
 * A POST without a body never reaches a parser, so it would skip the signature check and get a 400 from
 * validation instead of the 401 it deserves: a hook refuses it first.
 */
export function addVerifiedJsonParser(scope: FastifyInstance, options: VerifiedJsonParserOptions): void {
  const verified = async (request: FastifyRequest, raw: Buffer): Promise<void> => {
    if (!(await options.verify(raw, request.headers))) throw new InvalidSignatureError();
  };
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser([...options.contentTypes], { parseAs: 'buffer' }, async (request: FastifyRequest, raw: Buffer) => {
    await verified(request, raw);
    return parseJsonBody(raw);
  });
  scope.addHook('preValidation', async (request) => {
    if (request.body === undefined) throw new InvalidSignatureError();
  });
  for (const [contentType, words] of Object.entries(options.refusedContentTypes ?? {})) {
    scope.addContentTypeParser(contentType, { parseAs: 'buffer' }, async (request: FastifyRequest, raw: Buffer) => {
      await verified(request, raw);
      throw new UnsupportedContentTypeError(words);
    });
  }
}

/**
 * Registers a signed webhook at `options.path`, in its own scope. In order: the body limit (413), the signature
 * over the raw bytes (401), JSON (400), the schemas (400), the delivery id (400), `prepare`; then the delivery is
 * recorded in `webhook_deliveries` before acting, so a concurrent redelivery sees it: a delivery already there
 * is answered 200 `duplicate` and does nothing. A failure to act answers 503 and un-records the delivery.
 * Delivery ids older than `memoryMs` are forgotten now and then, off the request's path.
 */
export function registerSignedWebhook<Body, Work = Body>(app: FastifyInstance, options: SignedWebhookOptions<Body, Work>): void {
  const now = options.now ?? Date.now;
  const { deliveries, source } = options;
  let nextPruneAt = 0;
  // Keeps webhook_deliveries from growing forever; a failure only waits for the next time.
  const pruneNowAndThen = (log: FastifyBaseLogger) => {
    if (now() < nextPruneAt) return;
    nextPruneAt = now() + PRUNE_EVERY_MS;
    deliveries.pruneDeliveries(new Date(now() - options.memoryMs), source).then(
      (pruned) => log.debug({ pruned, source }, 'forgot old webhook deliveries'),
      (err: unknown) => log.warn({ err, source }, 'could not forget old webhook deliveries; trying again later'),
    );
  };
  // Without `prepare` the body is the work, as the type's default says.
  const prepare = options.prepare ?? ((body: Body): PreparedDelivery<Work> => ({ work: body as unknown as Work }));

  void app.register(async (scope) => {
    addVerifiedJsonParser(scope, options);
    // What the handler answered, for the count once the response is sent (errors never reach the handler).
    const answered = new WeakMap<FastifyRequest, string>();
    const { metrics } = options;
    if (metrics) {
      scope.addHook('onResponse', async (request, reply) => {
        metrics.webhookDeliveries.inc({ source, outcome: deliveryOutcome(reply.statusCode, answered.get(request)) });
      });
    }

    scope.post(
      options.path,
      {
        bodyLimit: options.bodyLimit,
        schema: {
          ...(options.schema?.headers ? { headers: options.schema.headers } : {}),
          ...(options.schema?.body ? { body: options.schema.body } : {}),
          summary: options.openapi.summary,
          security: options.openapi.security,
          response: { 200: answerSchema, 202: answerSchema, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const body = request.body as Body;
        const deliveryId = options.deliveryId(request.headers, body);
        if (deliveryId === undefined) throw new MissingDeliveryIdError(options.deliveryIdWhere);
        const prepared = prepare(body, request.headers);
        const send = ({ code, answer }: WebhookReply) => {
          answered.set(request, answer.status);
          return reply.code(code).send(answer);
        };
        if ('reply' in prepared) return send(prepared.reply);

        // Recorded before acting, so a concurrent redelivery sees it and does nothing; un-recorded when acting
        // fails. (A transaction around the action would hold a connection, and on PGlite the whole database,
        // for as long as the action takes.)
        let recorded = false;
        try {
          recorded = await deliveries.recordDelivery(source, deliveryId);
          if (!recorded) return send({ code: 200, answer: { status: 'duplicate' } });
          pruneNowAndThen(request.log);
          return send(await options.handle(prepared.work, { id: deliveryId, headers: request.headers, log: request.log }));
        } catch (err) {
          request.log.error({ err, deliveryId, source }, 'webhook delivery could not be handled; it stays retryable');
          if (recorded) {
            await deliveries.forgetDelivery(source, deliveryId).catch((forgetErr: unknown) => {
              // The sender's retry will now be taken for a duplicate.
              request.log.error({ err: forgetErr, deliveryId, source }, 'could not un-record a failed webhook delivery');
            });
          }
          return reply.code(503).header('retry-after', '5').send({ error: 'temporarily unavailable: retry the delivery later', code: 'UNAVAILABLE' });
        }
      },
    );
  });
}

/** One header's value; a repeated header (an array) counts as missing rather than guessing which is meant. */
export function headerOf(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
