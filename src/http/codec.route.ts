import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerTokenOf, createTokenCheck } from './bearer-token';
import { HTTP_LIMITS } from './limits';
import { ERROR_RESPONSES, requires } from './openapi';

/**
 * `POST /codec/decode` and `POST /codec/encode`: the codec server the Temporal Web UI (and `temporal --codec-endpoint`)
 * calls to show encrypted payloads as plaintext. Only the configured UI origin gets a CORS allowance (others: 403),
 * and every request needs the codec token (401 otherwise), as `Authorization: Bearer <token>` or, for a Web UI that
 * cannot send a static bearer token (the embedded one has no login), as a path segment: `/codec/<token>/decode`.
 * The codec protocol looks only at the last path segment, so the UI's endpoint setting may carry it.
 * @see https://github.com/temporalio/samples-go/blob/main/codec-server/protocol.md
 * @see https://docs.temporal.io/production-deployment/data-encryption#codec-server-setup
 */

/** Where the routes live; the UI's codec endpoint is `<ingress>/codec` (or `<ingress>/codec/<token>`). */
export const CODEC_PATH_PREFIX = '/codec';
/** Headers the Web UI sends: the JSON body, the namespace it shows, and the bearer token when configured to. */
export const CODEC_ALLOWED_HEADERS = 'authorization, content-type, x-namespace';
/** Largest request body accepted (`HTTP_LIMITS.codecBodyBytes`). */
export const CODEC_BODY_LIMIT_BYTES = HTTP_LIMITS.codecBodyBytes;

/** What the codec routes need; `buildApp` registers them only when given. */
export interface CodecRouteOptions {
  /** The same codec every Client and Worker uses (`createEncryptionCodec`). */
  readonly codec: PayloadCodec;
  /** `CODEC_AUTH_TOKEN` (or the generated one): the bearer token every request must carry. */
  readonly authToken: string;
  /** Browser origins allowed to call (the Web UI's); a request without an Origin header (CLI, curl) is not a browser's. */
  readonly allowedOrigins: readonly string[];
}

/** A payload as proto3 JSON carries it: every bytes field base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

// Proto3 JSON parsers accept standard and URL-safe base64, padded or not; no length leaves a lone 6-bit group.
const base64 = { type: 'string', pattern: '^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$' } as const;
const payloadsSchema = {
  type: 'object',
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      items: {
        type: 'object',
        properties: { metadata: { type: 'object', additionalProperties: base64 }, data: base64 },
      },
    },
  },
} as const;
const tokenParams = { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1 } } } as const;

/** Registers `POST /codec/{decode,encode}`, their `/codec/<token>/…` forms and the CORS preflights. */
export function registerCodecRoutes(app: FastifyInstance, options: CodecRouteOptions): void {
  const allowed = new Set(options.allowedOrigins.map(normalizeOrigin));
  const tokenMatches = createTokenCheck(options.authToken);

  void app.register(
    async (scope) => {
      // Before the body is read: a caller without the token, or a foreign page, costs no parsing. The token is
      // checked first, so only a caller holding it learns which origins are allowed; a CORS preflight carries no
      // credentials (browsers never send them on one), so it is judged by its origin alone.
      scope.addHook('onRequest', async (request, reply) => {
        if (request.method !== 'OPTIONS' && !tokenMatches(presentedToken(request))) {
          return reply
            .code(401)
            .header('www-authenticate', 'Bearer realm="codec"')
            .send({ error: 'a valid codec token is required (Authorization: Bearer <CODEC_AUTH_TOKEN>)', code: 'CODEC_UNAUTHORIZED' });
        }
        const origin = request.headers.origin;
        if (origin !== undefined && !allowed.has(normalizeOrigin(origin))) {
          return reply.code(403).send({ error: 'this origin may not call the codec server', code: 'ORIGIN_NOT_ALLOWED' });
        }
        if (origin !== undefined) void reply.header('access-control-allow-origin', origin);
        void reply.header('vary', 'Origin');
        return undefined;
      });

      for (const action of ['decode', 'encode'] as const) {
        const convert = (payloads: Payload[]) => (action === 'decode' ? options.codec.decode(payloads) : options.codec.encode(payloads));
        for (const url of [`/${action}`, `/:token/${action}`]) {
          // The token rides in the path or in the Authorization header, never both.
          const auth = url.startsWith('/:token') ? { params: tokenParams } : { security: requires('codecToken') };
          scope.post(
            url,
            {
              bodyLimit: CODEC_BODY_LIMIT_BYTES,
              schema: { summary: `Temporal codec server: ${action} payloads`, ...auth, body: payloadsSchema, response: { 200: payloadsSchema, ...ERROR_RESPONSES } },
            },
            async (request) => {
              const body = request.body as { payloads: JsonPayload[] };
              const converted = await convert(body.payloads.map(fromJson));
              return { payloads: converted.map(toJson) };
            },
          );
          const params = url.startsWith('/:token') ? { params: tokenParams } : {};
          scope.options(url, { schema: { summary: 'CORS preflight of the Web UI', ...params, response: { 204: { type: 'null' }, ...ERROR_RESPONSES } } }, async (request, reply) => answerPreflight(request, reply));
        }
      }
    },
    { prefix: CODEC_PATH_PREFIX },
  );
}

/**
 * The Web UI origins allowed by default: the embedded UI's port on every loopback name a browser may use.
 * @param uiUrl the Web UI's URL, e.g. `http://127.0.0.1:8233`
 */
export function defaultUiOrigins(uiUrl: string): string[] {
  const { protocol, port } = new URL(uiUrl);
  const suffix = port ? `:${port}` : '';
  return ['127.0.0.1', 'localhost', '[::1]'].map((host) => `${protocol}//${host}${suffix}`);
}

/**
 * The codec token for the embedded defaults: when `CODEC_AUTH_TOKEN` is unset, one is generated once and kept beside
 * the data (`DATA_DIR/codec-auth.token`, mode 0600), like the local secrets key.
 */
export function loadOrCreateCodecAuthToken(dataDir: string): { token: string; created: boolean; file: string } {
  const file = join(dataDir, 'codec-auth.token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), created: false, file };
  mkdirSync(dataDir, { recursive: true });
  // base64url: the token may sit in a URL path (the Web UI's codec endpoint) without escaping.
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { token, created: true, file };
}

/** The codec endpoint to give the Web UI: the token rides in the path because the UI sends no static bearer token. */
export function codecEndpointForUi(ingressBaseUrl: string, authToken: string): string {
  return `${ingressBaseUrl.replace(/\/+$/, '')}${CODEC_PATH_PREFIX}/${encodeURIComponent(authToken)}`;
}

async function answerPreflight(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  // The onRequest hook already refused foreign origins; without an Origin this is not a CORS preflight.
  if (request.headers.origin !== undefined) {
    void reply
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', CODEC_ALLOWED_HEADERS)
      .header('access-control-max-age', '600');
  }
  await reply.code(204).header('allow', 'POST, OPTIONS').send();
}

function presentedToken(request: FastifyRequest): string | undefined {
  const fromPath = (request.params as { token?: string } | undefined)?.token;
  if (fromPath) return fromPath;
  return bearerTokenOf(request.headers.authorization);
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

function fromJson(payload: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) metadata[key] = Buffer.from(value, 'base64');
  return { metadata, data: Buffer.from(payload.data ?? '', 'base64') };
}

function toJson(payload: Payload): Required<JsonPayload> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) metadata[key] = base64Of(value);
  return { metadata, data: base64Of(payload.data ?? new Uint8Array(0)) };
}

function base64Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
