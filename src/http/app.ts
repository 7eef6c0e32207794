import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { InteractionDispatcher } from '../discord/dispatcher';
import { registerCodecRoutes, type CodecRouteOptions } from './codec.route';
import { BodyTooLargeError, HttpRequestError, MalformedBodyError, MethodNotAllowedError, UnsupportedContentTypeError } from './errors';
import { registerGitHubWebhookRoute, type GitHubWebhookDeps } from './github-webhook.route';
import { registerInteractionsRoute, type SignatureVerifier } from './interactions.route';
import { parseJsonBody } from './json-body';
import { registerJulesWebhookRoute, type JulesWebhookDeps } from './jules-webhook.route';
import { HTTP_LIMITS } from './limits';
import { ERROR_RESPONSES, registerOpenApi, registerOpenApiRoute } from './openapi';
import { createRouteTable } from './route-table';

export { HTTP_LIMITS, type HttpLimits } from './limits';
import { registerMetricsRoute, type MetricsRouteOptions } from './metrics.route';
import type { Readiness } from '../lifecycle/readiness';
import { registerDrain, registerReadinessRoute } from './readiness.route';

/** What the HTTP ingress needs. `main` wires real ones; tests pass the same with emulator-backed parts. */
export interface AppDeps {
  readonly verifyDiscordSignature: SignatureVerifier;
  readonly dispatch: InteractionDispatcher;
  /** `POST /webhook/jules`, registered only when given (`JULES_WEBHOOK_SECRET` is set); otherwise it is a 404. */
  readonly julesWebhook?: JulesWebhookDeps;
  /** `POST /webhook/github`, registered only when given (`GITHUB_WEBHOOK_SECRET` is set); otherwise it is a 404. */
  readonly githubWebhook?: GitHubWebhookDeps;
  /** `POST /codec/decode` and `/codec/encode` for the Temporal Web UI, registered only when given; otherwise a 404. */
  readonly codec?: CodecRouteOptions;
  /** `GET /metrics` (Prometheus), registered only when given; otherwise a 404. */
  readonly metrics?: MetricsRouteOptions;
  /** `GET /readyz` and the 503s while the process stops, registered only when given; otherwise `/readyz` is a 404. */
  readonly readiness?: Readiness;
  /** Fastify's logger option: a pino instance, or false. */
  readonly logger?: FastifyServerOptions['loggerInstance'] | false;
  /** How long a client has to send its request; default `HTTP_LIMITS.requestTimeoutMs` (tests shorten it). */
  readonly requestTimeoutMs?: number;
}

/** Fastify's own errors a client causes, answered in the app's words and codes rather than fastify's. */
function clientErrorOf(error: FastifyError, bodyLimit: number): HttpRequestError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedContentTypeError('this route takes JSON: send the body with Content-Type: application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BodyTooLargeError(bodyLimit);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MalformedBodyError(error);
    default:
      return undefined;
  }
}

/**
 * Builds the ingress without listening, so tests use `inject()` and `main` decides where to listen.
 * Routes: `POST /interactions`, `POST /webhook/jules` and `POST /webhook/github` (each when configured),
 * `POST /codec/{decode,encode}` (when configured), `GET /metrics` (when configured), `GET /healthz` (liveness),
 * `GET /readyz` (when configured), `GET /openapi.json`. A known path asked with another method is 405 with `Allow`;
 * the limits are {@link HTTP_LIMITS}.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const requestTimeoutMs = deps.requestTimeoutMs ?? HTTP_LIMITS.requestTimeoutMs;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger, logController: new LogController({ disableRequestLogging: true }) } : { logger: false }),
    bodyLimit: HTTP_LIMITS.bodyBytes,
    // Node's server answers 408 and closes the socket when a request is not in by then. It checks once per
    // `connectionsCheckingInterval` (a fraction of the timeout here), and only while `headersTimeout` (Node's
    // default 60 s) is not longer than the request timeout.
    requestTimeout: requestTimeoutMs,
    http: { headersTimeout: Math.min(60_000, requestTimeoutMs), connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(requestTimeoutMs / 4))) },
    // A schema says what a client must send: "1" is not the integer 1, and nothing is filled in or removed.
    ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false } },
  });
  const routes = createRouteTable(app);

  // One error handler: clients see the status and a short reason, never internals of a 5xx.
  app.setErrorHandler((raw: FastifyError, request, reply) => {
    if (request.is404) return answerNotFound(request, reply);
    const error: Error & { statusCode?: number; code?: string } = clientErrorOf(raw, request.routeOptions.bodyLimit ?? HTTP_LIMITS.bodyBytes) ?? raw;
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message = status >= 500 ? 'internal error' : error.message;
    void reply.code(status).send({ error: message, ...(status < 500 && error.code ? { code: error.code } : {}) });
  });
  // A known path with another method is 405; fastify routes an unknown method (QUERY, or one it refused a body
  // for) through here or through the error handler of its not-found route.
  const answerNotFound = (request: FastifyRequest, reply: FastifyReply) => {
    const allowed = routes.methodsAt(request.url);
    if (allowed.length > 0) {
      const error = new MethodNotAllowedError(request.method, allowed);
      return reply.code(405).header('allow', allowed.join(', ')).send({ error: error.message, code: error.code });
    }
    return reply.code(404).send({ error: `nothing here: ${request.method} ${request.url.split('?')[0]}`, code: 'NOT_FOUND' });
  };
  app.setNotFoundHandler(answerNotFound);
  // Unsigned routes (the codec) take JSON only, parsed the same way the signed ones do, with the same refusals.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, async (_request: FastifyRequest, raw: Buffer) => parseJsonBody(raw));

  // First, so its drain hook covers every route.
  if (deps.readiness) registerDrain(app, deps.readiness);
  registerOpenApi(app);
  registerInteractionsRoute(app, { verify: deps.verifyDiscordSignature, dispatch: deps.dispatch });
  if (deps.julesWebhook) registerJulesWebhookRoute(app, deps.julesWebhook);
  if (deps.githubWebhook) registerGitHubWebhookRoute(app, deps.githubWebhook);
  if (deps.codec) registerCodecRoutes(app, deps.codec);

  // Inside a plugin, so they are added after the document's generator is loaded and it sees them. Routes of the
  // service itself (health, readiness, metrics) go here.
  void app.register(async (scope) => {
    scope.get(
      '/healthz',
      { schema: { summary: 'Liveness: the process answers', response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } }, ...ERROR_RESPONSES } } },
      async () => ({ status: 'ok' }),
    );
    if (deps.readiness) registerReadinessRoute(scope, deps.readiness);
    if (deps.metrics) registerMetricsRoute(scope, deps.metrics);
    registerOpenApiRoute(scope);
  });

  return app;
}
