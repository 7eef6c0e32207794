/**
 * Verification of the Ed25519 signatures Discord puts on every HTTP interaction.
 * Discord signs the UTF-8 bytes of `X-Signature-Timestamp` followed by the raw request body, and
 * regularly sends bad signatures on purpose: an endpoint that accepts one loses its interactions URL.
 * @see https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { InvalidPublicKeyError } from './errors';

/** DER prefix that wraps a raw 32-byte Ed25519 public key into SubjectPublicKeyInfo (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PUBLIC_KEY_HEX = /^[0-9a-f]{64}$/i;
const SIGNATURE_HEX = /^[0-9a-f]{128}$/i;

/** Checks one request: true only when the signature over `timestamp + rawBody` is valid. Never throws. */
export type DiscordVerifier = (rawBody: Buffer, signatureHex: string | undefined, timestamp: string | undefined) => boolean;

/** Checks one Ed25519 signature (128 hex characters) over `message`. Never throws. */
export type Ed25519Verifier = (message: Buffer, signatureHex: string | undefined) => boolean;

/**
 * Builds a plain Ed25519 verifier for a raw public key (64 hex characters), the one {@link createDiscordVerifier}
 * checks every request with; test/ed25519-vectors.test.ts holds it to RFC 8032 and Wycheproof. Non-canonical
 * signatures (S at or above the group order, a malformed R, trailing bytes) are refused, as RFC 8032 5.1.7 asks.
 * @throws InvalidPublicKeyError when the key is not 64 hex characters or not a usable Ed25519 key.
 */
export function createEd25519Verifier(publicKeyHex: string): Ed25519Verifier {
  if (typeof publicKeyHex !== 'string' || !PUBLIC_KEY_HEX.test(publicKeyHex)) throw new InvalidPublicKeyError();
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicKeyHex, 'hex')]),
      format: 'der',
      type: 'spki',
    });
  } catch (cause) {
    throw new InvalidPublicKeyError('Discord public key is not a valid Ed25519 key', { cause });
  }
  return (message, signatureHex) => {
    // Buffer.from(hex) silently drops bad digits, so the shape is checked before decoding.
    if (typeof signatureHex !== 'string' || !SIGNATURE_HEX.test(signatureHex)) return false;
    if (!Buffer.isBuffer(message)) return false;
    try {
      // Ed25519 hashes internally, so no digest algorithm is given.
      return verify(null, message, key, Buffer.from(signatureHex, 'hex'));
    } catch {
      return false;
    }
  };
}

/**
 * Builds a verifier for the application's public key (the 64 hex characters shown in the Developer Portal).
 * The key is parsed once and the KeyObject kept, so each request costs one signature check.
 * Synchronous on purpose: discord-interactions' async `verifyKey` is a fail-open trap when not awaited.
 * @throws InvalidPublicKeyError when the key is not 64 hex characters or not a usable Ed25519 key.
 */
export function createDiscordVerifier(publicKeyHex: string): DiscordVerifier {
  const verifyEd25519 = createEd25519Verifier(publicKeyHex);
  return (rawBody, signatureHex, timestamp) => {
    if (typeof timestamp !== 'string' || timestamp.length === 0) return false;
    if (!Buffer.isBuffer(rawBody)) return false;
    return verifyEd25519(Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), signatureHex);
  };
}
