import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { InteractionDispatcher } from '../discord/dispatcher';
import { registerCodecRoutes, type CodecRouteOptions } from './codec.route';
import { registerGitHubWebhookRoute, type GitHubWebhookDeps } from './github-webhook.route';
import { registerInteractionsRoute, type SignatureVerifier } from './interactions.route';
import { registerJulesWebhookRoute, type JulesWebhookDeps } from './jules-webhook.route';
import type { Readiness } from '../lifecycle/readiness';
import { registerReadinessRoutes } from './readiness.route';

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
  /** `GET /readyz` and the 503s while the process stops, registered only when given; otherwise `/readyz` is a 404. */
  readonly readiness?: Readiness;
  /** Fastify's logger option: a pino instance, or false. */
  readonly logger?: FastifyServerOptions['loggerInstance'] | false;
}

/**
 * Builds the ingress without listening, so tests use `inject()` and `main` decides where to listen.
 * Routes: `POST /interactions`, `POST /webhook/jules` and `POST /webhook/github` (each when configured),
 * `POST /codec/{decode,encode}` (when configured), `GET /healthz` (liveness), `GET /readyz` (when configured).
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = deps.logger ? Fastify({ loggerInstance: deps.logger, logController: new LogController({ disableRequestLogging: true }) }) : Fastify({ logger: false });

  // One error handler: clients see the status and a short reason, never internals of a 5xx.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message = status >= 500 ? 'internal error' : error.message;
    void reply.code(status).send({ error: message, ...(status < 500 && error.code ? { code: error.code } : {}) });
  });

  // First, so its drain hook covers every route.
  if (deps.readiness) registerReadinessRoutes(app, deps.readiness);
  registerInteractionsRoute(app, { verify: deps.verifyDiscordSignature, dispatch: deps.dispatch });
  if (deps.julesWebhook) registerJulesWebhookRoute(app, deps.julesWebhook);
  if (deps.githubWebhook) registerGitHubWebhookRoute(app, deps.githubWebhook);
  if (deps.codec) registerCodecRoutes(app, deps.codec);

  app.get('/healthz', { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

  return app;
}
