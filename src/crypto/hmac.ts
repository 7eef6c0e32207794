/**
 * HMAC-SHA256 signatures, as webhook senders use them (the Jules relay's `X-Jules-Signature`, GitHub's
 * `X-Hub-Signature-256`). Verification compares in constant time, so a forger cannot learn a valid
 * signature byte by byte from response times.
 * @see https://nodejs.org/api/crypto.html#class-hmac
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a signature covers: the bytes as sent, or text taken as UTF-8. */
export type SignedMessage = Buffer | string;

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** The lowercase hex HMAC-SHA256 of `message` under `secret`. */
export function signHmacSha256(secret: string, message: SignedMessage): string {
  return createHmac('sha256', secret).update(message).digest('hex');
}

/**
 * True only when `signatureHex` is the HMAC-SHA256 of `message` under `secret` (hex, either case).
 * Never throws: a missing or malformed signature, and an empty secret, are simply not valid, so a
 * misconfigured caller fails closed instead of accepting everything.
 */
export function verifyHmacSha256(secret: string, message: SignedMessage, signatureHex: string | undefined): boolean {
  if (typeof secret !== 'string' || secret.length === 0) return false;
  // Buffer.from(hex) silently drops bad digits, so the shape is checked before decoding.
  if (typeof signatureHex !== 'string' || !SHA256_HEX.test(signatureHex)) return false;
  const expected = createHmac('sha256', secret).update(message).digest();
  // Both are 32 bytes here, as timingSafeEqual requires.
  return timingSafeEqual(expected, Buffer.from(signatureHex, 'hex'));
}
