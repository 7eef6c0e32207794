import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
// Not re-exported by @temporalio/common; the SDK depends on this exact version, so the wire format matches.
import proto from '@temporalio/proto';
import type { Config } from '../config';
import { loadOrCreateLocalKey } from '../crypto/local-key';

/**
 * Encryption of workflow payloads (inputs, results, signals, updates, memo, failure attributes) before they
 * reach Temporal's database. Like the SDK's `samples-typescript/encryption`: the whole serialized Payload is
 * sealed with AES-256-GCM under a 12-byte random iv, stored as `iv || ciphertext || tag`, and marked
 * `encoding: binary/encrypted` plus `encryption-key-id`, so decode picks the key by id and keys can rotate.
 * @see https://docs.temporal.io/production-deployment/data-encryption
 */

/** `encoding` metadata value of a payload this codec sealed. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key that sealed a payload. */
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
/** HKDF `info` that separates the payload key from every other use of SECRETS_ENCRYPTION_KEY. */
export const PAYLOAD_KEY_INFO = 'jules-orchestrator temporal payloads';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** What went wrong while opening an encrypted payload. */
export type PayloadCodecErrorCode = 'UNKNOWN_PAYLOAD_KEY' | 'PAYLOAD_UNREADABLE';

/**
 * Thrown by {@link EncryptionCodec.decode} for a payload sealed under a key the keyring does not hold
 * (`UNKNOWN_PAYLOAD_KEY`: add the old key to the previous keys) or one that is malformed or altered
 * (`PAYLOAD_UNREADABLE`). Messages name at most the key id, never plaintext or key material.
 * (Kept beside the codec rather than in temporal/errors.ts so the codec stays one self-contained file.)
 */
export class PayloadCodecError extends Error {
  override readonly name = 'PayloadCodecError';
  /** Answered by the codec server as 422: the request was well formed, its payloads cannot be opened. */
  readonly status = 422;
  readonly statusCode = 422;
  readonly code: PayloadCodecErrorCode;
  /** The key id the payload names, when it names one. */
  readonly keyId: string | undefined;

  constructor(code: PayloadCodecErrorCode, message: string, options?: { cause?: unknown; keyId?: string }) {
    super(message, options);
    this.code = code;
    this.keyId = options?.keyId;
  }
}

/** Thrown by {@link createPayloadKeyring} when a configured key is not base64 of exactly 32 bytes. Never echoes it. */
export class InvalidPayloadKeyError extends Error {
  override readonly name = 'InvalidPayloadKeyError';
  readonly code = 'INVALID_PAYLOAD_KEY';

  constructor(which: string) {
    super(`${which} is not base64 of exactly 32 bytes (generate one with \`openssl rand -base64 32\`).`);
  }
}

/** One AES-256 key with its id (first 12 hex characters of its SHA-256: safe to store in plaintext metadata). */
export interface PayloadKey {
  readonly id: string;
  readonly key: Buffer;
}

/** The key that seals new payloads and every key that may open old ones, by id. */
export interface PayloadKeyring {
  readonly current: PayloadKey;
  readonly byId: ReadonlyMap<string, PayloadKey>;
}

/** Where the payload keys come from; see {@link createPayloadKeyring}. */
export interface PayloadKeySources {
  /** `SECRETS_ENCRYPTION_KEY` (or the embedded store's generated local key), base64 of 32 bytes. */
  readonly secretsKey?: string;
  /** Retired secrets keys: payloads sealed under keys derived from them stay readable. */
  readonly secretsPreviousKeys?: readonly string[];
  /** `TEMPORAL_PAYLOAD_KEY`: used as is instead of a key derived from the secrets key. */
  readonly payloadKey?: string;
  /** `TEMPORAL_PAYLOAD_PREVIOUS_KEYS`: retired payload keys, used as is. */
  readonly payloadPreviousKeys?: readonly string[];
}

/**
 * The payload key derived from a secrets key: HKDF-SHA256 with info {@link PAYLOAD_KEY_INFO}, so one secret is
 * managed and the stored-key box and the payload codec never share a key.
 */
export function derivePayloadKey(secretsKeyBase64: string): Buffer {
  const ikm = decodeKey(secretsKeyBase64, 'SECRETS_ENCRYPTION_KEY');
  // An empty salt is what RFC 5869 allows for input keying material that is already uniformly random.
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), PAYLOAD_KEY_INFO, KEY_BYTES));
}

/**
 * Builds the keyring from configuration. The current key is `payloadKey` when set, else the key derived from
 * `secretsKey`. Every other configured key (previous payload keys, and keys derived from the secrets key and its
 * previous keys) can still open old payloads, so switching to an explicit key or rotating either keeps history
 * readable.
 * @throws InvalidPayloadKeyError when no key is given or one is not base64 of 32 bytes.
 */
export function createPayloadKeyring(sources: PayloadKeySources): PayloadKeyring {
  const current = sources.payloadKey
    ? keyOf(decodeKey(sources.payloadKey, 'TEMPORAL_PAYLOAD_KEY'))
    : sources.secretsKey
      ? keyOf(derivePayloadKey(sources.secretsKey))
      : undefined;
  if (!current) throw new InvalidPayloadKeyError('The payload key (TEMPORAL_PAYLOAD_KEY or SECRETS_ENCRYPTION_KEY)');
  const byId = new Map<string, PayloadKey>();
  const add = (key: PayloadKey) => byId.set(key.id, key);
  for (const previous of sources.payloadPreviousKeys ?? []) add(keyOf(decodeKey(previous, 'A TEMPORAL_PAYLOAD_PREVIOUS_KEYS entry')));
  for (const previous of sources.secretsPreviousKeys ?? []) add(keyOf(derivePayloadKey(previous)));
  if (sources.payloadKey && sources.secretsKey) add(keyOf(derivePayloadKey(sources.secretsKey)));
  add(current);
  return { current, byId };
}

/**
 * A Temporal PayloadCodec sealing every payload under the keyring's current key. Decode opens payloads by their
 * key id and passes through payloads that are not encrypted (history written before the codec was turned on).
 * Runs outside the workflow sandbox (client, worker main thread, codec server), so Node crypto is fine.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keyring: PayloadKeyring;
  constructor(keyring: PayloadKeyring) {
    this.keyring = keyring;
  }

  /** Id of the key new payloads are sealed with. */
  get keyId(): string {
    return this.keyring.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.open(payload));
  }

  private seal(payload: Payload): Payload {
    const { id, key } = this.keyring.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    const plaintext = PayloadMessage.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA_KEY]: utf8.encode(id) },
      data: new Uint8Array(sealed.buffer, sealed.byteOffset, sealed.byteLength),
    };
  }

  private open(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA_KEY];
    if (!idBytes) throw new PayloadCodecError('PAYLOAD_UNREADABLE', `An encrypted payload has no ${KEY_ID_METADATA_KEY} metadata.`);
    const id = fromUtf8.decode(idBytes);
    const entry = this.keyring.byId.get(id);
    if (!entry) {
      throw new PayloadCodecError(
        'UNKNOWN_PAYLOAD_KEY',
        `A payload is encrypted with key ${JSON.stringify(id)}, which is not configured. Add the key it was sealed with to ` +
          'SECRETS_ENCRYPTION_PREVIOUS_KEYS (or TEMPORAL_PAYLOAD_PREVIOUS_KEYS when it was a TEMPORAL_PAYLOAD_KEY).',
        { keyId: id },
      );
    }
    const data = payload.data ?? new Uint8Array(0);
    if (data.byteLength < IV_BYTES + TAG_BYTES) {
      throw new PayloadCodecError('PAYLOAD_UNREADABLE', `An encrypted payload (key ${id}) is too short to be a ciphertext.`, { keyId: id });
    }
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv(ALGORITHM, entry.key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      plaintext = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    } catch (cause) {
      // OpenSSL only says authentication failed; the cause is kept, the message says what it means.
      throw new PayloadCodecError('PAYLOAD_UNREADABLE', `An encrypted payload (key ${id}) failed authentication: it was altered.`, { cause, keyId: id });
    }
    // A plain object, not the protobufjs message, so the decoded payload is exactly what was encoded.
    // protobufjs leaves an absent bytes field as its prototype default (an empty array, not a Uint8Array).
    const { metadata, data: inner, externalPayloads } = PayloadMessage.decode(plaintext);
    return { metadata: metadata ?? {}, data: bytesOf(inner), ...(externalPayloads?.length ? { externalPayloads } : {}) };
  }
}

/** Creates the codec every Client, Worker and the codec server share. */
export function createEncryptionCodec(keyring: PayloadKeyring): EncryptionCodec {
  return new EncryptionCodec(keyring);
}

function bytesOf(value: Uint8Array | null | undefined): Uint8Array {
  return value instanceof Uint8Array ? value : Uint8Array.from(value ?? []);
}

function decodeKey(keyBase64: string, which: string): Buffer {
  const text = keyBase64.trim();
  // Buffer.from ignores bad characters silently, so the shape is checked first.
  if (!BASE64.test(text) || text.length % 4 !== 0) throw new InvalidPayloadKeyError(which);
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) throw new InvalidPayloadKeyError(which);
  return key;
}

function keyOf(key: Buffer): PayloadKey {
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 12), key };
}

/**
 * The payload codec every Client and Worker shares: TEMPORAL_PAYLOAD_KEY, else a key derived (HKDF) from
 * SECRETS_ENCRYPTION_KEY, or from the embedded store's local key when that is unset, so there is one secret to keep.
 */
export function openPayloadCodec(config: Config): EncryptionCodec {
  const secretsKey = config.secrets.encryptionKey ?? loadOrCreateLocalKey(config.store.dataDir).key;
  return createEncryptionCodec(
    createPayloadKeyring({
      secretsKey,
      secretsPreviousKeys: config.secrets.previousEncryptionKeys,
      ...(config.secrets.payloadKey ? { payloadKey: config.secrets.payloadKey } : {}),
      payloadPreviousKeys: config.secrets.payloadPreviousKeys,
    }),
  );
}
