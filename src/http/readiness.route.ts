import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../lifecycle/readiness';

/** Seconds a client is told to wait before it tries again while this process stops (another one takes over). */
export const DRAINING_RETRY_AFTER_S = 5;

/** Paths answered while draining: the probes that tell a load balancer this process is stopping. */
const PROBES = new Set(['/healthz', '/readyz']);

const reportSchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/**
 * While the process stops, 503 with `Retry-After` for everything but the probes: new interactions and webhooks go
 * to a process that is not stopping. Registered first, so the hook covers every route.
 */
export function registerDrain(app: FastifyInstance, readiness: Readiness): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!readiness.draining || PROBES.has(request.url.split('?')[0]!)) return;
    await reply
      .code(503)
      .header('retry-after', String(DRAINING_RETRY_AFTER_S))
      .header('connection', 'close')
      .send({ error: 'this server is shutting down; try again in a few seconds' });
  });
}

/** `GET /readyz`: 200 when every check is `ok`, else 503 with each reason. */
export function registerReadinessRoute(app: FastifyInstance, readiness: Readiness): void {
  app.get('/readyz', { schema: { summary: 'Readiness: Temporal, the store and the worker answer', response: { 200: reportSchema, 503: reportSchema } } }, async (_request, reply) => {
    const { ready, checks } = await readiness.report();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
}
