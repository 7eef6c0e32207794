import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Envelope encryption of stored Jules keys: AES-256-GCM under `SECRETS_ENCRYPTION_KEY`.
 * Ciphertexts look like `v1:<keyId>:<iv>:<ciphertext>:<tag>` (base64url parts); the key id, bound as
 * additional authenticated data, names the key that sealed it, so the key can be rotated while older
 * ciphertexts stay readable through `previousKeys`.
 */

/** Thrown by createSecretBox when a key is not the base64 encoding of exactly 32 bytes. Never echoes the key. */
export class InvalidEncryptionKeyError extends Error {
  readonly code = 'INVALID_ENCRYPTION_KEY';

  constructor(which: 'current' | 'previous') {
    super(
      `The ${which} encryption key is not base64 of exactly 32 bytes. ` +
        'Generate one with `openssl rand -base64 32` and set it as SECRETS_ENCRYPTION_KEY.',
    );
    this.name = 'InvalidEncryptionKeyError';
  }
}

/**
 * Thrown by decrypt when a ciphertext is malformed or tampered (`SECRET_UNREADABLE`) or was sealed under a
 * key this box does not have (`UNKNOWN_KEY_ID`). The message names at most the key id, never plaintext or keys.
 */
export class SecretDecryptError extends Error {
  readonly code: 'SECRET_UNREADABLE' | 'UNKNOWN_KEY_ID';

  constructor(code: 'SECRET_UNREADABLE' | 'UNKNOWN_KEY_ID', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretDecryptError';
    this.code = code;
  }
}

/** Seals and opens stored secrets. */
export interface SecretBox {
  /** Id of the current key (first 12 hex chars of its SHA-256): safe to log, identifies which key sealed what. */
  readonly keyId: string;
  /** Encrypts under the current key with a fresh random iv. */
  encrypt(plaintext: string): string;
  /** Decrypts a ciphertext sealed under the current or a previous key; throws SecretDecryptError otherwise. */
  decrypt(ciphertext: string): string;
}

/** Options of {@link createSecretBox}. */
export interface SecretBoxOptions {
  /** Retired keys (base64) whose ciphertexts must stay readable during a rotation. */
  readonly previousKeys?: readonly string[];
}

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes a base64 key, or throws InvalidEncryptionKeyError. */
function decodeKey(keyBase64: string, which: 'current' | 'previous'): Buffer {
  const text = keyBase64.trim();
  // Buffer.from ignores bad characters silently, so the shape is checked first.
  if (!BASE64.test(text) || text.length % 4 !== 0) throw new InvalidEncryptionKeyError(which);
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) throw new InvalidEncryptionKeyError(which);
  return key;
}

/** The id of a key: first 12 hex chars of its SHA-256. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * Creates a box over `keyBase64` (SECRETS_ENCRYPTION_KEY) and optional previous keys.
 * Throws InvalidEncryptionKeyError when any key is not base64 of exactly 32 bytes.
 */
export function createSecretBox(keyBase64: string, options: SecretBoxOptions = {}): SecretBox {
  const currentKey = decodeKey(keyBase64, 'current');
  const keyId = keyIdOf(currentKey);
  const keys = new Map<string, Buffer>();
  for (const previous of options.previousKeys ?? []) {
    const key = decodeKey(previous, 'previous');
    keys.set(keyIdOf(key), key);
  }
  keys.set(keyId, currentKey);

  return {
    keyId,
    encrypt(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, currentKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(keyId, 'utf8'));
      const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, keyId, iv.toString('base64url'), sealed.toString('base64url'), tag.toString('base64url')].join(':');
    },
    decrypt(ciphertext) {
      const parts = ciphertext.split(':');
      const [version, id, ivText, sealedText, tagText] = parts;
      if (
        parts.length !== 5 ||
        version !== VERSION ||
        id === undefined ||
        !/^[0-9a-f]{12}$/.test(id) ||
        [ivText, sealedText, tagText].some((part) => part === undefined || !BASE64URL.test(part))
      ) {
        throw new SecretDecryptError('SECRET_UNREADABLE', 'The stored secret is not a v1 secret-box ciphertext.');
      }
      const key = keys.get(id);
      if (!key) {
        throw new SecretDecryptError(
          'UNKNOWN_KEY_ID',
          `The stored secret was encrypted with key ${id}, which is neither SECRETS_ENCRYPTION_KEY nor a previous key. ` +
            'Add the old key to the previous keys, or set the secret again.',
        );
      }
      const iv = Buffer.from(ivText ?? '', 'base64url');
      const tag = Buffer.from(tagText ?? '', 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
        throw new SecretDecryptError('SECRET_UNREADABLE', 'The stored secret is malformed.');
      }
      try {
        const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(id, 'utf8'));
        decipher.setAuthTag(tag);
        const opened = Buffer.concat([decipher.update(Buffer.from(sealedText ?? '', 'base64url')), decipher.final()]);
        return opened.toString('utf8');
      } catch (error) {
        // OpenSSL's message says only that authentication failed; it is kept as the cause, not in the text.
        throw new SecretDecryptError(
          'SECRET_UNREADABLE',
          'The stored secret failed authentication: it was altered, or sealed under a different key with the same id.',
          { cause: error },
        );
      }
    },
  };
}

/**
 * The id of the key that sealed a v1 ciphertext, read from its envelope without decrypting (safe to log:
 * it identifies a key, it is not one); undefined when the text is not a v1 envelope.
 */
export function sealedKeyId(ciphertext: string): string | undefined {
  const [version, id] = ciphertext.split(':');
  return version === VERSION && id !== undefined && /^[0-9a-f]{12}$/.test(id) ? id : undefined;
}

/** Shows that a secret is set without revealing it: `AIza…(39 chars)`; short secrets show no characters at all. */
export function maskSecret(value: string): string {
  const length = [...value].length;
  // Four characters of a short secret would be most of it.
  const prefix = length >= 16 ? [...value].slice(0, 4).join('') : '';
  return `${prefix}…(${length} chars)`;
}

/** A fresh SECRETS_ENCRYPTION_KEY: base64 of 32 random bytes. */
export function generateEncryptionKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}
