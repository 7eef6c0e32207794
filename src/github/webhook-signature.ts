/**
 * GitHub's webhook signature: `X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256 of the raw body>` keyed by
 * the hook's secret. It covers no timestamp, so a captured delivery replays cleanly; the route dedupes on
 * `X-GitHub-Delivery` for that.
 * @see https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
import { verify } from '@octokit/webhooks-methods';
import { signHmacSha256 } from '../crypto/hmac';

/** The prefix of `X-Hub-Signature-256`. */
const SIGNATURE_PREFIX = 'sha256=';

/**
 * True when `signature` is a valid `X-Hub-Signature-256` of `rawBody` under any one of `secrets`, so a secret can
 * be rotated: configure old and new, change the hook, then drop the old. Compared in constant time by Octokit's
 * `verify`. Never throws: a missing signature, an empty body or no usable secret is simply not valid.
 * @see https://github.com/octokit/webhooks-methods.js#verify
 */
export async function verifyGitHubSignature(secrets: readonly string[], rawBody: Buffer, signature: string | undefined): Promise<boolean> {
  if (signature === undefined || !signature.startsWith(SIGNATURE_PREFIX) || rawBody.length === 0) return false;
  // Octokit verifies a string. Decoding replaces bytes that are not UTF-8, and the signature covers the bytes
  // as sent, so such a body cannot verify: nothing is accepted that GitHub did not sign.
  const payload = rawBody.toString('utf8');
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    try {
      if (await verify(secret, payload, signature)) return true;
    } catch {
      // Octokit throws on empty arguments only; those were excluded above, so this is not valid either.
    }
  }
  return false;
}

/**
 * The `X-Hub-Signature-256` value GitHub would send for `rawBody` under `secret`. For the GitHub emulator and
 * tests, which sign what they send as GitHub does.
 */
export function signGitHubWebhook(secret: string, rawBody: Buffer | string): string {
  return `${SIGNATURE_PREFIX}${signHmacSha256(secret, rawBody)}`;
}
