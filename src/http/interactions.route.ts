import type { FastifyInstance } from 'fastify';
import type { APIInteraction } from '@discordjs/core/http-only';
import type { InteractionDispatcher } from '../discord/dispatcher';
import { ERROR_RESPONSES, requires } from './openapi';
import { addVerifiedJsonParser, headerOf } from './signed-webhook';

/** Checks Discord's Ed25519 signature over the timestamp and the raw body. */
export type SignatureVerifier = (rawBody: Buffer, signature: string | undefined, timestamp: string | undefined) => boolean;

const SNOWFLAKE = { type: 'string', pattern: '^\\d{1,25}$' } as const;

/** What every interaction carries, whatever its type. */
const commonProperties = {
  id: SNOWFLAKE,
  application_id: SNOWFLAKE,
  token: { type: 'string', minLength: 1 },
  // Bounded, like every integer a route reads: JSON.parse rounds 9007199254740993 without a word, and whatever
  // it rounds to lies past this maximum, so an overflowing value is a 400 instead of a silent change.
  version: { type: 'integer', minimum: 1, maximum: 1000 },
  guild_id: SNOWFLAKE,
  member: {
    type: 'object',
    required: ['user', 'roles'],
    properties: {
      user: { type: 'object', required: ['id'], properties: { id: SNOWFLAKE } },
      roles: { type: 'array', items: { type: 'string' } },
    },
  },
} as const;

/** One interaction type's schema: its `type` value and what its `data` must hold (none for PING). */
function interactionOfType(type: number, data?: object) {
  return {
    type: 'object',
    required: ['id', 'application_id', 'type', 'token', 'version', ...(data ? ['data'] : [])],
    properties: { ...commonProperties, type: { type: 'integer', enum: [type] }, ...(data ? { data } : { data: { type: 'object' } }) },
  } as const;
}

const NAMED = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 32 } } } as const;
const WITH_CUSTOM_ID = { type: 'object', required: ['custom_id'], properties: { custom_id: { type: 'string', maxLength: 100 } } } as const;

/**
 * A component of a submitted modal: its type, and the id and text a text input carries. The type is bounded like
 * every integer a route reads (Discord's component types are small numbers); unbounded, a value past 2^53 was
 * schema-valid yet refused by the shape check (schemathesis ST202).
 */
const modalComponent = <Extra extends object>(extra: Extra) =>
  ({ type: 'object', required: ['type'], properties: { type: { type: 'integer', minimum: 0, maximum: 1000 }, custom_id: { type: 'string' }, value: { type: 'string' }, ...extra } }) as const;
const MODAL_INPUT = modalComponent({});
/**
 * MODAL_SUBMIT's data: the modal's rows or labels, each holding the inputs (src/discord/interaction-shape.ts checks
 * the same two levels; a Label's `type` is 18, an action row's 1).
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-modal-submit-data-structure
 */
const MODAL_SUBMIT = {
  type: 'object',
  required: ['custom_id', 'components'],
  properties: {
    custom_id: { type: 'string', maxLength: 100 },
    components: { type: 'array', items: modalComponent({ component: MODAL_INPUT, components: { type: 'array', items: MODAL_INPUT } }) },
  },
} as const;

/**
 * The body per interaction type: PING (1), APPLICATION_COMMAND (2) and its AUTOCOMPLETE (4) name a command,
 * MESSAGE_COMPONENT (3) and MODAL_SUBMIT (5) carry the `custom_id` the service gave them.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type
 */
const interactionSchema = {
  oneOf: [interactionOfType(1), interactionOfType(2, NAMED), interactionOfType(3, WITH_CUSTOM_ID), interactionOfType(4, NAMED), interactionOfType(5, MODAL_SUBMIT)],
} as const;

/** The answer: an interaction response (a PONG, a message, a deferral, a modal…). `data` is passed on as it is. */
const interactionResponseSchema = { type: 'object', required: ['type'], properties: { type: { type: 'integer' }, data: {} } } as const;

/**
 * `POST /interactions`: Discord's HTTP interactions endpoint. The signature is checked over the raw bytes
 * before anything is parsed or started (401 otherwise); a body that is not an interaction is a 400; the
 * dispatcher answers inline, inside Discord's 3 s deadline (counting the time the request already spent here).
 * @see https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint
 */
export function registerInteractionsRoute(app: FastifyInstance, deps: { verify: SignatureVerifier; dispatch: InteractionDispatcher }): void {
  void app.register(async (scope) => {
    // Scoped to this plugin: only this route keeps the raw body, because only it checks a signature.
    addVerifiedJsonParser(scope, {
      contentTypes: ['application/json'],
      verify: (raw, headers) => deps.verify(raw, headerOf(headers, 'x-signature-ed25519'), headerOf(headers, 'x-signature-timestamp')),
    });

    const schema = {
      summary: "Discord's HTTP interactions endpoint",
      security: requires('discordSignature', 'discordTimestamp'),
      body: interactionSchema,
      response: { 200: interactionResponseSchema, ...ERROR_RESPONSES },
    };
    scope.post('/interactions', { schema }, async (request, reply) => {
      // `elapsedTime`: since fastify took the request, so the time queued, read and verified under load counts.
      const response = await deps.dispatch(request.body as APIInteraction, { waitedMs: reply.elapsedTime });
      return reply.code(200).send(response);
    });
  });
}
