/**
 * GitHub's webhook signature, `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, shared by
 * the `/webhook/github` route (verify) and the GitHub emulator (sign). Built on src/crypto/hmac.ts rather
 * than `@octokit/webhooks-methods`: that takes the body only as a string (a Buffer would be decoded and
 * re-encoded first) and throws on an empty one, while this verifies the bytes as received and fails closed.
 * The tests check both agree on GitHub's published test vector.
 * @see https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
import { signHmacSha256, verifyHmacSha256, type SignedMessage } from '../crypto/hmac';

/** The header GitHub signs deliveries in. */
export const GITHUB_SIGNATURE_HEADER = 'x-hub-signature-256';
const PREFIX = 'sha256=';

/** `sha256=<lowercase hex>` of `payload` (the exact bytes sent) under `secret`. */
export function signGitHubPayload(secret: string, payload: SignedMessage): string {
  return `${PREFIX}${signHmacSha256(secret, payload)}`;
}

/**
 * True when `signature` (the header's value) signs `payload` under one of `secrets` (several during a
 * rotation). Constant-time per secret; never throws; a missing header or no secret is simply false.
 */
export function verifyGitHubSignature(secrets: string | readonly string[], payload: SignedMessage, signature: string | undefined): boolean {
  if (typeof signature !== 'string' || !signature.startsWith(PREFIX)) return false;
  const hex = signature.slice(PREFIX.length);
  const candidates = typeof secrets === 'string' ? [secrets] : secrets;
  // every secret is tried, so the time taken does not tell which one matched
  return candidates.map((secret) => verifyHmacSha256(secret, payload, hex)).includes(true);
}
