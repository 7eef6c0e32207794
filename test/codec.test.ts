import { randomBytes, webcrypto } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { generateEncryptionKey } from '../src/crypto/secret-box';
import { buildApp } from '../src/http/app';
import { codecEndpointForUi, defaultUiOrigins } from '../src/http/codec.route';
import {
  createEncryptionCodec,
  createPayloadKeyring,
  derivePayloadKey,
  ENCRYPTED_ENCODING,
  InvalidPayloadKeyError,
  KEY_ID_METADATA_KEY,
  PAYLOAD_KEY_INFO,
  PayloadCodecError,
  type EncryptionCodec,
} from '../src/temporal/codec';
import { CODEC, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

const text = (value: string) => new TextEncoder().encode(value);
const json = (value: unknown): Payload => ({ metadata: { encoding: text('json/plain') }, data: text(JSON.stringify(value)) });

/** A payload as hex strings, so a mismatch shows where and a Buffer compares equal to a Uint8Array. */
function hexOf(payload: Payload) {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('hex')])),
    data: Buffer.from(payload.data ?? new Uint8Array(0)).toString('hex'),
  };
}

function codecFor(secretsKey = generateEncryptionKey()): EncryptionCodec {
  return createEncryptionCodec(createPayloadKeyring({ secretsKey }));
}

async function rejection(promise: Promise<unknown>): Promise<PayloadCodecError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(PayloadCodecError);
  return error as PayloadCodecError;
}

describe('the payload codec', () => {
  it('gives back exactly what it sealed: JSON, binary, empty and large payloads', async () => {
    const codec = codecFor();
    const payloads: Payload[] = [
      json({ prompt: 'Add input validation', n: 1 }),
      { metadata: { encoding: text('binary/plain'), messageType: text('x') }, data: randomBytes(257) },
      { metadata: { encoding: text('binary/null') }, data: new Uint8Array(0) },
      { metadata: { encoding: text('binary/plain') }, data: randomBytes(1_800_000) },
    ];
    const sealed = await codec.encode(payloads);
    expect(sealed).toHaveLength(payloads.length);
    for (const payload of sealed) {
      expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
      expect(Buffer.from(payload.metadata![KEY_ID_METADATA_KEY]!).toString()).toBe(codec.keyId);
      expect(Object.keys(payload.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA_KEY]);
    }
    expect(Buffer.from(sealed[0]!.data!).toString('latin1')).not.toContain('validation');
    const opened = await codec.decode(sealed);
    expect(opened.map(hexOf)).toEqual(payloads.map(hexOf));
    for (const payload of opened) expect(payload.data).toBeInstanceOf(Uint8Array);
  });

  it('seals the same payload differently every time (a fresh iv)', async () => {
    const codec = codecFor();
    const [a, b] = await codec.encode([json('same'), json('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
    expect(Buffer.from(a!.data!).subarray(0, 12).equals(Buffer.from(b!.data!).subarray(0, 12))).toBe(false);
  });

  it('refuses a payload whose ciphertext, iv or tag was altered', async () => {
    const codec = codecFor();
    const [sealed] = await codec.encode([json({ prompt: 'do not touch' })]);
    for (const index of [0, 20, sealed!.data!.length - 1]) {
      const data = Buffer.from(sealed!.data!);
      data[index] = data[index]! ^ 0x01;
      const error = await rejection(codec.decode([{ ...sealed!, data }]));
      expect(error.code).toBe('PAYLOAD_UNREADABLE');
      expect(error.message).toContain('altered');
    }
    const truncated = await rejection(codec.decode([{ ...sealed!, data: sealed!.data!.subarray(0, 10) }]));
    expect(truncated.code).toBe('PAYLOAD_UNREADABLE');
  });

  it('names the key id, and where to add the key, when a payload was sealed under a key it does not have', async () => {
    const writer = codecFor();
    const reader = codecFor();
    const [sealed] = await writer.encode([json('secret')]);
    const error = await rejection(reader.decode([sealed!]));
    expect(error.code).toBe('UNKNOWN_PAYLOAD_KEY');
    expect(error.keyId).toBe(writer.keyId);
    expect(error.message).toContain(writer.keyId);
    expect(error.message).toContain('SECRETS_ENCRYPTION_PREVIOUS_KEYS');
  });

  it('still opens payloads sealed under the previous secrets key after a rotation, and seals under the new one', async () => {
    const oldKey = generateEncryptionKey();
    const newKey = generateEncryptionKey();
    const before = codecFor(oldKey);
    const [old] = await before.encode([json('written before the rotation')]);

    const after = createEncryptionCodec(createPayloadKeyring({ secretsKey: newKey, secretsPreviousKeys: [oldKey] }));
    expect(after.keyId).not.toBe(before.keyId);
    expect((await after.decode([old!])).map(hexOf)).toEqual([hexOf(json('written before the rotation'))]);
    const [fresh] = await after.encode([json('written after')]);
    expect(Buffer.from(fresh!.metadata![KEY_ID_METADATA_KEY]!).toString()).toBe(after.keyId);
    // Without the previous key the old payload is unreadable: the rotation above is what kept it.
    expect((await rejection(codecFor(newKey).decode([old!]))).code).toBe('UNKNOWN_PAYLOAD_KEY');
  });

  it('keeps payloads of the derived key readable when TEMPORAL_PAYLOAD_KEY is set, and rotates that key too', async () => {
    const secretsKey = generateEncryptionKey();
    const payloadKey = generateEncryptionKey();
    const [derived] = await codecFor(secretsKey).encode([json('derived era')]);
    const explicit = createEncryptionCodec(createPayloadKeyring({ secretsKey, payloadKey }));
    expect((await explicit.decode([derived!])).map(hexOf)).toEqual([hexOf(json('derived era'))]);
    const [sealed] = await explicit.encode([json('explicit era')]);

    const rotated = createEncryptionCodec(createPayloadKeyring({ payloadKey: generateEncryptionKey(), payloadPreviousKeys: [payloadKey] }));
    expect((await rotated.decode([sealed!])).map(hexOf)).toEqual([hexOf(json('explicit era'))]);
  });

  it('passes through payloads that are not encrypted', async () => {
    const plain = [json({ before: 'the codec' }), { metadata: { encoding: text('binary/null') } }];
    expect(await codecFor().decode(plain)).toEqual(plain);
  });

  it('derives its key from the secrets key with HKDF-SHA256 and its own info, never using the secrets key itself', async () => {
    const secretsKey = generateEncryptionKey();
    const ikm = await webcrypto.subtle.importKey('raw', Buffer.from(secretsKey, 'base64'), 'HKDF', false, ['deriveBits']);
    const expected = await webcrypto.subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: text('jules-orchestrator temporal payloads') },
      ikm,
      256,
    );
    expect(PAYLOAD_KEY_INFO).toBe('jules-orchestrator temporal payloads');
    expect(derivePayloadKey(secretsKey).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    expect(derivePayloadKey(secretsKey).toString('base64')).not.toBe(secretsKey);
  });

  it('refuses keys that are not base64 of 32 bytes without echoing them', () => {
    const short = Buffer.alloc(16, 7).toString('base64');
    expect(() => createPayloadKeyring({ payloadKey: short })).toThrow(InvalidPayloadKeyError);
    expect(() => createPayloadKeyring({ secretsKey: 'not base64!' })).toThrow(/SECRETS_ENCRYPTION_KEY is not base64 of exactly 32 bytes/);
    expect(() => createPayloadKeyring({})).toThrow(InvalidPayloadKeyError);
    try {
      createPayloadKeyring({ payloadKey: short });
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });
});

describe('the codec endpoint', () => {
  const token = 'codec-token-for-tests-0123456789';
  const origin = 'http://127.0.0.1:8233';
  const codec = codecFor();
  const app = buildApp({
    verifyDiscordSignature: () => false,
    dispatch: async () => {
      throw new Error('not used');
    },
    codec: { codec, authToken: token, allowedOrigins: defaultUiOrigins(`${origin}/`) },
    logger: false,
  });
  const toJson = (p: Payload) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array(0)).toString('base64'),
  });
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const plainBody = { payloads: [toJson(json({ prompt: 'shown only to the operator' }))] };

  it('answers 401 to a missing or wrong token and converts nothing', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${token}x` }, { authorization: `Basic ${token}` }, { authorization: 'Bearer' }, { authorization: token }];
    for (const headers of attempts) {
      for (const url of ['/codec/encode', '/codec/decode']) {
        const response = await post(url, plainBody, { origin, ...headers });
        expect(response.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.json()).toMatchObject({ code: 'CODEC_UNAUTHORIZED' });
        expect(response.body).not.toContain('payloads');
      }
    }
    expect((await post(`/codec/${token}x/decode`, plainBody)).statusCode).toBe(401);
    // Malformed and unauthenticated: the token is checked before the body is read.
    expect((await post('/codec/decode', '{not json')).statusCode).toBe(401);
  });

  it('refuses a foreign origin with 403 and no CORS allowance, even with the token', async () => {
    for (const foreign of ['http://evil.example', 'http://127.0.0.1:9999', 'https://127.0.0.1:8233', 'null']) {
      const response = await post('/codec/decode', plainBody, { origin: foreign, authorization: `Bearer ${token}` });
      expect(response.statusCode, foreign).toBe(403);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: foreign, 'access-control-request-method': 'POST' } });
      expect(preflight.statusCode).toBe(403);
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it("answers the Web UI's preflight from its origin with the headers the UI sends", async () => {
    for (const allowed of [origin, 'http://localhost:8233', 'http://[::1]:8233']) {
      for (const url of ['/codec/decode', '/codec/encode', `/codec/${token}/decode`]) {
        const response = await app.inject({
          method: 'OPTIONS',
          url,
          headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
        });
        expect(response.statusCode, `${allowed} ${url}`).toBe(204);
        expect(response.headers['access-control-allow-origin']).toBe(allowed);
        expect(String(response.headers['access-control-allow-methods'])).toContain('POST');
        const headers = String(response.headers['access-control-allow-headers']).split(/,\s*/);
        expect(headers).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-namespace']));
        expect(response.headers.vary).toContain('Origin');
      }
    }
  });

  it('round-trips payloads exactly through /codec/encode and /codec/decode, binary and large ones included', async () => {
    const payloads = [
      json({ prompt: 'shown only to the operator', emoji: '🛠️' }),
      { metadata: { encoding: text('binary/plain') }, data: randomBytes(300_000) },
      { metadata: { encoding: text('binary/null') }, data: new Uint8Array(0) },
    ];
    const body = { payloads: payloads.map(toJson) };
    const headers = { origin, authorization: `Bearer ${token}`, 'x-namespace': 'default' };
    const encoded = await post('/codec/encode', body, headers);
    expect(encoded.statusCode).toBe(200);
    expect(encoded.headers['access-control-allow-origin']).toBe(origin);
    const sealed = encoded.json() as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(sealed.payloads).toHaveLength(3);
    for (const payload of sealed.payloads) expect(Buffer.from(payload.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(encoded.body).not.toContain(Buffer.from('shown only').toString('base64').slice(0, 8));

    const decoded = await post('/codec/decode', sealed, headers);
    expect(decoded.statusCode).toBe(200);
    expect(decoded.json()).toEqual(body);
    // The same server-side codec the workers use opens what the endpoint sealed.
    expect((await codec.decode(sealed.payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])), data: Buffer.from(p.data, 'base64') })))).map(hexOf)).toEqual(payloads.map(hexOf));

    // The token in the path, for a Web UI that cannot send a bearer token; no Origin: a CLI.
    const viaPath = await post(`/codec/${encodeURIComponent(token)}/decode`, sealed);
    expect(viaPath.statusCode).toBe(200);
    expect(viaPath.json()).toEqual(body);
  });

  it('answers 400 to a malformed body', async () => {
    const headers = { authorization: `Bearer ${token}` };
    for (const body of ['{not json', {}, { payloads: 'x' }, { payloads: [{ data: 'not base64!' }] }, { payloads: [{ metadata: { encoding: { nested: 'x' } } }] }, { payloads: [{ data: 'abcde' }] }, { payloads: [{ metadata: 'x' }] }]) {
      const response = await post('/codec/decode', body, headers);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
    }
  });

  it('answers 422 naming the key when a payload was sealed under a key it does not have', async () => {
    const [foreign] = await codecFor().encode([json('elsewhere')]);
    const response = await post('/codec/decode', { payloads: [toJson(foreign!)] }, { authorization: `Bearer ${token}` });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'UNKNOWN_PAYLOAD_KEY' });
  });

  it('is not served at all when no codec is configured', async () => {
    const bare = buildApp({ verifyDiscordSignature: () => false, dispatch: async () => ({ type: 1 }), logger: false });
    expect((await bare.inject({ method: 'POST', url: '/codec/decode', headers: { authorization: `Bearer ${token}` }, payload: plainBody })).statusCode).toBe(404);
  });

  it('gives the Web UI an endpoint that carries the token in its path, and allows only loopback origins by default', () => {
    expect(codecEndpointForUi('http://127.0.0.1:3000/', 'a+b/c')).toBe('http://127.0.0.1:3000/codec/a%2Bb%2Fc');
    expect(defaultUiOrigins('http://127.0.0.1:8233')).toEqual(['http://127.0.0.1:8233', 'http://localhost:8233', 'http://[::1]:8233']);
  });
});

describe('codec configuration', () => {
  it('reads the payload key, previous keys, UI origins and codec token, and refuses bad ones', () => {
    const key = generateEncryptionKey();
    const previous = [generateEncryptionKey(), generateEncryptionKey()];
    const config = loadConfig({
      TEMPORAL_PAYLOAD_KEY: key,
      TEMPORAL_PAYLOAD_PREVIOUS_KEYS: previous.join(', '),
      TEMPORAL_UI_ORIGIN: 'http://localhost:8080, https://temporal.example.com',
      CODEC_AUTH_TOKEN: 'a-long-enough-token-123',
    });
    expect(config.secrets).toMatchObject({ payloadKey: key, payloadPreviousKeys: previous, codecAuthToken: 'a-long-enough-token-123' });
    expect(config.temporal.uiOrigins).toEqual(['http://localhost:8080', 'https://temporal.example.com']);
    expect(loadConfig({}).temporal.uiOrigins).toBeUndefined();
    expect(loadConfig({}).secrets.payloadPreviousKeys).toEqual([]);

    const bad = () => loadConfig({ TEMPORAL_PAYLOAD_KEY: 'short', TEMPORAL_UI_ORIGIN: 'http://ui.example/path', CODEC_AUTH_TOKEN: 'short' });
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (err) {
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('TEMPORAL_PAYLOAD_KEY');
      expect(problems).toContain('TEMPORAL_UI_ORIGIN');
      expect(problems).toContain('CODEC_AUTH_TOKEN');
    }
  });
});

/** Every string and every bytes field of a history read as UTF-8: what someone with Temporal's database would see. */
function rawText(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (value && typeof value === 'object') for (const child of Object.values(value)) rawText(child, out);
  return out;
}

/** Every encrypted payload of a history, opened with the codec: what the Web UI shows through /codec. */
async function decodedText(value: unknown, codec: EncryptionCodec, out: string[] = []): Promise<string[]> {
  if (value instanceof Uint8Array || !value || typeof value !== 'object') return out;
  const encoding = (value as Payload).metadata?.encoding;
  if (encoding instanceof Uint8Array && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING) {
    const [opened] = await codec.decode([value as Payload]);
    out.push(Buffer.from(opened!.data ?? new Uint8Array(0)).toString('utf8'));
    return out;
  }
  for (const child of Object.values(value)) await decodedText(child, codec, out);
  return out;
}

describe('workflows on the dev server', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('keep their input out of the raw history while the decoded result is right', async () => {
    stack = await startTestStack();
    const marker = `prompt-marker-${randomBytes(6).toString('hex')}`;
    const asked = await stack.ask(MEMBERS.lead, { prompt: `Please ${marker} the widgets` });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    expect(outcome.prUrl).toMatch(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/);

    const history = await stack.client.workflow.getHandle(asked.taskId).fetchHistory();
    const raw = rawText(history).join('\n');
    expect(raw).not.toContain(marker);
    expect(raw).not.toContain(outcome.prUrl!);
    expect(raw).toContain(ENCRYPTED_ENCODING);
    // The marker is in there, sealed: opening the payloads (what /codec does for the Web UI) shows it.
    const decoded = (await decodedText(history, stack.codec)).join('\n');
    expect(decoded).toContain(marker);
    expect(decoded).toContain(outcome.prUrl!);

    // And through the ingress' codec endpoint, as the Web UI would ask.
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const response = await stack.app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { origin: CODEC.origin, authorization: `Bearer ${CODEC.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        payloads: started.map((p) => ({
          metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(p.data ?? new Uint8Array(0)).toString('base64'),
        })),
      }),
    });
    expect(response.statusCode).toBe(200);
    const inputs = (response.json() as { payloads: { data: string }[] }).payloads.map((p) => Buffer.from(p.data, 'base64').toString('utf8'));
    expect(inputs.join('\n')).toContain(marker);
  });

  it('encrypt failure messages too', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Wrong repo', repo: 'acme/secret-project' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('install the Jules GitHub app');

    const history = await stack.client.workflow.getHandle(asked.taskId).fetchHistory();
    const failures = (history.events ?? []).map((e) => e.activityTaskFailedEventAttributes?.failure).filter((f) => f != null);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.message).toBe('Encoded failure');
      expect(failure.encodedAttributes?.metadata?.encoding && Buffer.from(failure.encodedAttributes.metadata.encoding).toString()).toBe(ENCRYPTED_ENCODING);
    }
    expect(rawText(history).join('\n')).not.toContain('install the Jules GitHub app');
    expect((await decodedText(history, stack.codec)).join('\n')).toContain('install the Jules GitHub app');
  });
});
