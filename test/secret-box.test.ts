import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  InvalidEncryptionKeyError,
  SecretDecryptError,
  createSecretBox,
  generateEncryptionKey,
  maskSecret,
  sealedKeyId,
} from '../src/crypto/secret-box';

const JULES_KEY = 'fake-jules-example-jules-key-0123456789abc';

/** Replaces one base64url character of part `index` of a ciphertext with a different one. */
function tamper(ciphertext: string, index: number): string {
  const parts = ciphertext.split(':');
  const part = parts[index] ?? '';
  parts[index] = `${part[0] === 'A' ? 'B' : 'A'}${part.slice(1)}`;
  return parts.join(':');
}

/** Collects the message and cause chain of an error, to check nothing secret leaks through any of them. */
function everythingSaidBy(error: unknown): string {
  const said: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    said.push(current.message, String(current.stack));
  }
  return said.join('\n');
}

function failureOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('the secret box', () => {
  it('decrypts what it encrypted', () => {
    const box = createSecretBox(generateEncryptionKey());
    const sealed = box.encrypt(JULES_KEY);
    expect(box.decrypt(sealed)).toBe(JULES_KEY);
    expect(box.decrypt(box.encrypt(''))).toBe('');
    expect(box.decrypt(box.encrypt('clé ünïcode 🔑'))).toBe('clé ünïcode 🔑');
  });

  it('writes a v1 envelope naming its key, and never the plaintext', () => {
    const key = generateEncryptionKey();
    const box = createSecretBox(key);
    const expectedId = createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex').slice(0, 12);
    expect(box.keyId).toBe(expectedId);
    const sealed = box.encrypt(JULES_KEY);
    expect(sealed).toMatch(/^v1:[0-9a-f]{12}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$/);
    expect(sealed.split(':')[1]).toBe(expectedId);
    expect(sealed).not.toContain(JULES_KEY);
    expect(sealed).not.toContain(Buffer.from(JULES_KEY).toString('base64url'));
  });

  it('seals the same secret differently each time', () => {
    const box = createSecretBox(generateEncryptionKey());
    expect(box.encrypt(JULES_KEY)).not.toBe(box.encrypt(JULES_KEY));
  });

  it('detects a ciphertext, iv or tag that was altered', () => {
    const box = createSecretBox(generateEncryptionKey());
    const sealed = box.encrypt(JULES_KEY);
    for (const part of [2, 3, 4]) {
      const failure = failureOf(() => box.decrypt(tamper(sealed, part)));
      expect(failure).toBeInstanceOf(SecretDecryptError);
      expect(failure).toMatchObject({ code: 'SECRET_UNREADABLE' });
      expect(everythingSaidBy(failure)).not.toContain(JULES_KEY);
    }
  });

  it('refuses a ciphertext relabelled with another key id it knows', () => {
    const oldKey = generateEncryptionKey();
    const old = createSecretBox(oldKey);
    const box = createSecretBox(generateEncryptionKey(), { previousKeys: [oldKey] });
    // Relabel a ciphertext of the current key as if the previous key had sealed it.
    const relabelled = box.encrypt(JULES_KEY).replace(`:${box.keyId}:`, `:${old.keyId}:`);
    expect(failureOf(() => box.decrypt(relabelled))).toMatchObject({ code: 'SECRET_UNREADABLE' });
  });

  it('refuses text that is not an envelope at all', () => {
    const box = createSecretBox(generateEncryptionKey());
    for (const text of [JULES_KEY, '', 'v1:abc', `v2:${box.keyId}:a:b:c`, `v1:${box.keyId}:a:b`, `v1:${box.keyId}:!!:b:c`]) {
      const failure = failureOf(() => box.decrypt(text));
      expect(failure).toBeInstanceOf(SecretDecryptError);
      expect(failure).toMatchObject({ code: 'SECRET_UNREADABLE' });
      expect(everythingSaidBy(failure)).not.toContain(JULES_KEY);
    }
  });

  it('says which key id is unknown when a secret was sealed under another key', () => {
    const otherKey = generateEncryptionKey();
    const other = createSecretBox(otherKey);
    const box = createSecretBox(generateEncryptionKey());
    const failure = failureOf(() => box.decrypt(other.encrypt(JULES_KEY)));
    expect(failure).toBeInstanceOf(SecretDecryptError);
    expect(failure).toMatchObject({ code: 'UNKNOWN_KEY_ID' });
    const said = everythingSaidBy(failure);
    expect(said).toContain(other.keyId);
    expect(said).not.toContain(JULES_KEY);
    expect(said).not.toContain(otherKey);
  });

  it('still reads secrets sealed under the previous key after a rotation, and seals new ones under the new key', () => {
    const oldKey = generateEncryptionKey();
    const sealedBefore = createSecretBox(oldKey).encrypt(JULES_KEY);
    const rotated = createSecretBox(generateEncryptionKey(), { previousKeys: [oldKey] });
    expect(rotated.decrypt(sealedBefore)).toBe(JULES_KEY);
    const resealed = rotated.encrypt(rotated.decrypt(sealedBefore));
    expect(resealed.split(':')[1]).toBe(rotated.keyId);
    expect(failureOf(() => createSecretBox(oldKey).decrypt(resealed))).toMatchObject({ code: 'UNKNOWN_KEY_ID' });
  });

  it('rejects an encryption key that is not base64 of exactly 32 bytes, without echoing it', () => {
    const bad = [
      '',
      'not base64 at all!!',
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      randomBytes(32).toString('hex'),
      `${randomBytes(32).toString('base64').slice(0, -2)}*=`,
    ];
    for (const key of bad) {
      const failure = failureOf(() => createSecretBox(key));
      expect(failure).toBeInstanceOf(InvalidEncryptionKeyError);
      if (key.length > 0) expect(everythingSaidBy(failure)).not.toContain(key);
    }
    const previous = 'c2hvcnQ=';
    const failure = failureOf(() => createSecretBox(generateEncryptionKey(), { previousKeys: [previous] }));
    expect(failure).toBeInstanceOf(InvalidEncryptionKeyError);
    expect(everythingSaidBy(failure)).not.toContain(previous);
  });

  it('tells which key sealed a ciphertext without decrypting it, and nothing for text that is no envelope', () => {
    const box = createSecretBox(generateEncryptionKey());
    expect(sealedKeyId(box.encrypt(JULES_KEY))).toBe(box.keyId);
    for (const text of [JULES_KEY, '', 'v1', 'v1:ABCDEF123456:a:b:c', `v2:${box.keyId}:a:b:c`]) {
      expect(sealedKeyId(text)).toBeUndefined();
    }
  });

  it('generates distinct keys the box accepts', () => {
    const first = generateEncryptionKey();
    const second = generateEncryptionKey();
    expect(first).not.toBe(second);
    expect(Buffer.from(first, 'base64')).toHaveLength(32);
    expect(createSecretBox(first).keyId).not.toBe(createSecretBox(second).keyId);
  });
});

describe('masking a secret', () => {
  it('shows the first four characters and the length, never the secret', () => {
    const masked = maskSecret(JULES_KEY);
    expect(masked).toBe(`fake…(${JULES_KEY.length} chars)`);
    expect(masked).not.toContain(JULES_KEY);
    expect(masked).not.toContain(JULES_KEY.slice(4));
  });

  it('shows no characters of a short secret', () => {
    for (const secret of ['', 'x', 'hunter2', 'fifteen-chars!!']) {
      const masked = maskSecret(secret);
      expect(masked).toBe(`…(${secret.length} chars)`);
      if (secret.length > 0) expect(masked).not.toContain(secret);
    }
  });
});
