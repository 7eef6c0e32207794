import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signGitHubWebhook } from '../src/github/webhook-signature';
import { buildApp, HTTP_LIMITS } from '../src/http/app';
import { parseJsonBody } from '../src/http/json-body';
import { buildPing, buildSlashCommand } from '../src/sandbox/interaction-signer';
import { signJulesWebhookRequest } from '../src/sandbox/jules-relay';
import { CODEC, GITHUB, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

const JULES_SECRET = 'bad-bodies-jules-secret';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ worker: false, github: true, julesWebhookSecret: JULES_SECRET });
});

afterAll(async () => {
  await stack?.stop();
});

/** POSTs `raw` to /interactions signed with the stack's Discord key, as Discord would. */
async function interaction(raw: string, headers: Record<string, string> = {}) {
  const signed = stack.signer.sign(raw);
  const response = await stack.app.inject({ method: 'POST', url: '/interactions', headers: { ...signed.headers, ...headers }, payload: raw });
  return { status: response.statusCode, body: response.json() as { error?: string; code?: string; type?: number } };
}

/** POSTs `raw` to /webhook/jules with a valid signature. */
async function julesPush(raw: string) {
  const signed = signJulesWebhookRequest(JULES_SECRET, raw);
  const response = await stack.app.inject({ method: 'POST', url: '/webhook/jules', headers: signed.headers, payload: raw });
  return { status: response.statusCode, body: response.json() as { error?: string; code?: string } };
}

/** A slash command as Discord sends it, with `patch` merged in at the top level. */
function command(patch: Record<string, unknown> = {}): Record<string, unknown> {
  const built = buildSlashCommand({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.developer, name: 'jules', options: { prompt: 'hi' } });
  return { ...(built as unknown as Record<string, unknown>), ...patch };
}

function ping(): Record<string, unknown> {
  return buildPing({ applicationId: stack.discord.applicationId }) as unknown as Record<string, unknown>;
}

async function rowCount(table: 'webhook_deliveries' | 'tasks'): Promise<number> {
  const [row] = await stack.sql.query<{ n: number | string }>(`select count(*) as n from ${table}`);
  return Number(row?.n ?? 0);
}

/** `depth` nested arrays around a 1: `[[[1]]]` is depth 3. */
function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

describe('a wrong method or path', () => {
  it('is 405 with Allow on a known path, and 404 elsewhere', async () => {
    const get = await stack.app.inject({ method: 'GET', url: '/interactions' });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(get.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED', error: 'GET is not allowed here; use POST' });

    const put = await stack.app.inject({ method: 'PUT', url: '/healthz?x=1' });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD');

    const tokenPath = await stack.app.inject({ method: 'GET', url: `/codec/${CODEC.token}/decode` });
    expect(tokenPath.statusCode).toBe(405);
    expect(tokenPath.headers.allow).toBe('OPTIONS, POST');

    const nowhere = await stack.app.inject({ method: 'GET', url: '/nowhere' });
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json()).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('POST /interactions', () => {
  it('answers an unsigned empty POST 401, with or without a content type', async () => {
    for (const headers of [{}, { 'content-type': 'application/json' }]) {
      const response = await stack.app.inject({ method: 'POST', url: '/interactions', headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(response.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
    }
  });

  it('takes a signed PING', async () => {
    expect(await interaction(JSON.stringify(ping()))).toMatchObject({ status: 200, body: { type: 1 } });
  });

  it('does not coerce types: a string "1" where an integer is expected is 400', async () => {
    for (const patch of [{ version: '1' }, { type: '2' }]) {
      const answer = await interaction(JSON.stringify(command(patch)));
      expect(answer.status, JSON.stringify(patch)).toBe(400);
      expect(answer.body.code).toBe('FST_ERR_VALIDATION');
    }
  });

  it('checks the body per interaction type', async () => {
    const withoutName = await interaction(JSON.stringify(command({ data: { options: [] } })));
    expect(withoutName.status).toBe(400);
    const buttonWithoutCustomId = await interaction(JSON.stringify(command({ type: 3, data: { component_type: 2 } })));
    expect(buttonWithoutCustomId.status).toBe(400);
    const unknownType = await interaction(JSON.stringify(command({ type: 9 })));
    expect(unknownType.status).toBe(400);
  });

  it('drops __proto__ and constructor.prototype keys, so nothing downstream can pollute a prototype', async () => {
    const proto = JSON.stringify(ping()).replace(/^\{/, '{"__proto__":{"admin":true},');
    expect(await interaction(proto)).toMatchObject({ status: 200, body: { type: 1 } });
    const ctor = JSON.stringify({ ...ping(), data: { constructor: { prototype: { admin: true } } } });
    expect(await interaction(ctor)).toMatchObject({ status: 200, body: { type: 1 } });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(parseJsonBody('{"a":{"__proto__":{"admin":true}},"constructor":{"prototype":{"x":1},"name":"n"}}')).toEqual({ a: {}, constructor: { name: 'n' } });
  });

  it('refuses NUL characters with 400', async () => {
    const answer = await interaction(JSON.stringify(command({ token: 'abc\u0000def' })));
    expect(answer).toMatchObject({ status: 400, body: { code: 'JSON_NUL_CHARACTER' } });
    expect(answer.body.error).toContain('"token"');
  });

  it('refuses an integer that overflows (past 2^53, or past a double) with 400 instead of rounding it', async () => {
    for (const [version, code] of [
      ['9007199254740993', 'FST_ERR_VALIDATION'],
      ['-1e20', 'FST_ERR_VALIDATION'],
      ['1e400', 'JSON_NUMBER_TOO_LARGE'],
    ] as const) {
      const raw = JSON.stringify(command()).replace(/"version":1/, `"version":${version}`);
      expect(raw).toContain(version);
      expect(await interaction(raw), version).toMatchObject({ status: 400, body: { code } });
    }
    // A modal's component type too: the schema bounds it, as the shape check does (schemathesis found it unbounded).
    const modal = { ...command({ type: 5 }), data: { custom_id: 'jules:reply:task-1', components: [{ type: 1, components: [{ type: 275947382467518272, custom_id: 'text', value: 'hi' }] }] } };
    expect(await interaction(JSON.stringify(modal))).toMatchObject({ status: 400, body: { code: 'FST_ERR_VALIDATION' } });
  });

  it(`refuses JSON nested deeper than ${HTTP_LIMITS.jsonDepth} with 400 JSON_TOO_DEEP, and takes ${HTTP_LIMITS.jsonDepth}`, async () => {
    // The root object and `data` are two levels; the rest is the array under data.extra. (A PING answers at once.)
    const at = (depth: number) => JSON.stringify({ ...ping(), data: { extra: 'X' } }).replace('"X"', nested(depth - 2));
    expect(await interaction(at(HTTP_LIMITS.jsonDepth + 1))).toMatchObject({ status: 400, body: { code: 'JSON_TOO_DEEP' } });
    expect(await interaction(at(HTTP_LIMITS.jsonDepth))).toMatchObject({ status: 200, body: { type: 1 } });
    // Brackets inside strings do not count.
    expect(await interaction(JSON.stringify({ ...ping(), token: '['.repeat(500) }))).toMatchObject({ status: 200, body: { type: 1 } });
  });

  it('answers a wrong content type 415 with what to send instead', async () => {
    const answer = await interaction(JSON.stringify(command()), { 'content-type': 'text/plain' });
    expect(answer.status).toBe(415);
    expect(answer.body).toMatchObject({ code: 'UNSUPPORTED_CONTENT_TYPE' });
    expect(answer.body.error).toContain('Content-Type: application/json');
  });

  it(`refuses a body over ${HTTP_LIMITS.bodyBytes} bytes with 413`, async () => {
    const raw = JSON.stringify(command({ token: 'x'.repeat(HTTP_LIMITS.bodyBytes) }));
    const answer = await interaction(raw);
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(answer.body.error).toContain(String(HTTP_LIMITS.bodyBytes));
  });
});

describe('the webhooks', () => {
  it('refuse deep, NUL-bearing, overflowing and oversized bodies without writing a row', async () => {
    const before = await rowCount('webhook_deliveries');
    const session = (extra: string) => `{"session":"sessions/1","extra":${extra}}`;
    expect(await julesPush(session(nested(HTTP_LIMITS.jsonDepth)))).toMatchObject({ status: 400, body: { code: 'JSON_TOO_DEEP' } });
    expect(await julesPush(session('"a\\u0000b"'))).toMatchObject({ status: 400, body: { code: 'JSON_NUL_CHARACTER' } });
    expect(await julesPush(session('1e999'))).toMatchObject({ status: 400, body: { code: 'JSON_NUMBER_TOO_LARGE' } });
    expect(await julesPush(session(`"${'x'.repeat(HTTP_LIMITS.bodyBytes)}"`))).toMatchObject({ status: 413, body: { code: 'BODY_TOO_LARGE' } });

    const raw = `{"zen":"x","hook_id":1,"deep":${nested(HTTP_LIMITS.jsonDepth + 5)}}`;
    const github = await stack.app.inject({
      method: 'POST',
      url: '/webhook/github',
      headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': 'bad-bodies-1', 'x-hub-signature-256': signGitHubWebhook(GITHUB.webhookSecret, raw) },
      payload: raw,
    });
    expect(github.statusCode).toBe(400);
    expect(github.json()).toMatchObject({ code: 'JSON_TOO_DEEP' });
    expect(await rowCount('webhook_deliveries')).toBe(before);
  });
});

describe('the codec route', () => {
  it('checks its token before the Origin, so a foreign page without it learns nothing about origins', async () => {
    const payload = { payloads: [] };
    const foreign = { origin: 'https://evil.example' };
    const noToken = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: foreign, payload });
    expect(noToken.statusCode).toBe(401);
    expect(noToken.json()).toMatchObject({ code: 'CODEC_UNAUTHORIZED' });
    const withToken = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: { ...foreign, authorization: `Bearer ${CODEC.token}` }, payload });
    expect(withToken.statusCode).toBe(403);
    expect(withToken.json()).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED' });
  });

  it('parses JSON with the same refusals as the signed routes', async () => {
    const headers = { authorization: `Bearer ${CODEC.token}`, 'content-type': 'application/json' };
    const deep = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers, payload: `{"payloads":${nested(HTTP_LIMITS.jsonDepth)}}` });
    expect(deep.json()).toMatchObject({ code: 'JSON_TOO_DEEP' });
    const nul = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers, payload: '{"payloads":[{"data":"\\u0000"}]}' });
    expect(nul.statusCode).toBe(400);
    expect(nul.json()).toMatchObject({ code: 'JSON_NUL_CHARACTER' });
    const proto = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers, payload: '{"payloads":[],"__proto__":{"x":1}}' });
    expect(proto.statusCode).toBe(200);
    expect(proto.json()).toEqual({ payloads: [] });
    const text = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: { ...headers, 'content-type': 'text/plain' }, payload: '{"payloads":[]}' });
    expect(text.statusCode).toBe(415);
  });
});

describe('a slow body', () => {
  let app: FastifyInstance | undefined;
  afterAll(async () => {
    await app?.close();
  });

  it('gets 408 and a closed socket once the request timeout passes', async () => {
    app = buildApp({ verifyDiscordSignature: () => false, dispatch: async () => ({ type: 1 }), logger: false, requestTimeoutMs: 1_000 });
    const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let received = '';
      socket.on('data', (chunk) => (received += String(chunk)));
      socket.on('close', () => resolve(received));
      socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')));
      socket.on('error', reject);
      // Headers promise 100 bytes; one arrives, the rest never does.
      socket.write('POST /interactions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});
