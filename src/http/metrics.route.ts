import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createBearerCheck } from './bearer-token';

/** Where Prometheus scrapes. */
export const METRICS_PATH = '/metrics';

/** What `GET /metrics` serves. */
export interface MetricsRouteOptions {
  /** The process's one registry (`createServiceMetrics().registry`). */
  readonly registry: Registry;
  /** `METRICS_TOKEN`: when set, a scrape must send `Authorization: Bearer <token>` (401 otherwise). */
  readonly token?: string;
}

/**
 * `GET /metrics`: the registry in Prometheus' text format. Task counts are read from the store while scraping,
 * so a scrape costs one grouped query.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  const authorized = options.token ? createBearerCheck(options.token) : () => true;
  app.get(
    METRICS_PATH,
    {
      schema: {
        summary: 'Prometheus metrics of this process',
        response: {
          200: { description: "Prometheus' text format", content: { 'text/plain': { schema: { type: 'string' } } } },
          401: { type: 'object', properties: { error: { type: 'string' }, code: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      if (!authorized(request.headers.authorization)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ error: 'a valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)', code: 'METRICS_UNAUTHORIZED' });
      }
      const text = await options.registry.metrics();
      return reply.header('content-type', options.registry.contentType).send(text);
    },
  );
}

/**
 * A server of `GET /metrics` alone, for a worker-only process (`METRICS_PORT`): its activities count Jules, Discord
 * and GitHub requests that no ingress sees. Not listening yet: the caller listens and closes.
 */
export function buildMetricsApp(options: MetricsRouteOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  registerMetricsRoute(app, options);
  return app;
}
