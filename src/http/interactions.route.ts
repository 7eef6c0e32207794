import type { FastifyInstance } from 'fastify';
import type { APIInteraction } from '@discordjs/core/http-only';
import type { InteractionDispatcher } from '../discord/dispatcher';
import { addVerifiedJsonParser, headerOf } from './signed-webhook';

/** Checks Discord's Ed25519 signature over the timestamp and the raw body. */
export type SignatureVerifier = (rawBody: Buffer, signature: string | undefined, timestamp: string | undefined) => boolean;

const interactionSchema = {
  type: 'object',
  required: ['id', 'application_id', 'type', 'token', 'version'],
  properties: {
    id: { type: 'string', pattern: '^\\d{1,25}$' },
    application_id: { type: 'string', pattern: '^\\d{1,25}$' },
    type: { type: 'integer', enum: [1, 2, 3, 4, 5] },
    token: { type: 'string', minLength: 1 },
    version: { type: 'integer' },
    guild_id: { type: 'string', pattern: '^\\d{1,25}$' },
    data: { type: 'object' },
    member: {
      type: 'object',
      required: ['user', 'roles'],
      properties: {
        user: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^\\d{1,25}$' } } },
        roles: { type: 'array', items: { type: 'string' } },
      },
    },
  },
  allOf: [
    { if: { properties: { type: { enum: [2, 4] } } }, then: { required: ['data'], properties: { data: { type: 'object', required: ['name'] } } } },
    { if: { properties: { type: { const: 3 } } }, then: { required: ['data'], properties: { data: { type: 'object', required: ['custom_id'], properties: { custom_id: { type: 'string' } } } } } },
  ],
} as const;

/**
 * `POST /interactions`: Discord's HTTP interactions endpoint. The signature is checked over the raw bytes
 * before anything is parsed or started (401 otherwise); a body that is not an interaction is a 400; the
 * dispatcher answers inline, inside Discord's 3 s deadline.
 * @see https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint
 */
export function registerInteractionsRoute(app: FastifyInstance, deps: { verify: SignatureVerifier; dispatch: InteractionDispatcher }): void {
  void app.register(async (scope) => {
    // Scoped to this plugin: only this route keeps the raw body, because only it checks a signature.
    addVerifiedJsonParser(scope, {
      contentTypes: ['application/json'],
      verify: (raw, headers) => deps.verify(raw, headerOf(headers, 'x-signature-ed25519'), headerOf(headers, 'x-signature-timestamp')),
    });

    scope.post('/interactions', { schema: { body: interactionSchema } }, async (request, reply) => {
      const response = await deps.dispatch(request.body as APIInteraction);
      return reply.code(200).send(response);
    });
  });
}
