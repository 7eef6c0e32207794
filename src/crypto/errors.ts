/**
 * Errors of the crypto module. Messages never carry key material: a key that failed to parse may
 * still be a real secret pasted into the wrong setting.
 */

/**
 * Thrown when a Discord application public key is not 64 hex characters (32 raw Ed25519 bytes),
 * at verifier creation, so a misconfigured deployment fails at start instead of rejecting every interaction.
 */
export class InvalidPublicKeyError extends Error {
  override readonly name = 'InvalidPublicKeyError';
  /** A stable code for logs and tests. */
  readonly code = 'INVALID_PUBLIC_KEY';

  constructor(message = 'Discord public key must be 64 hex characters (32 bytes)', options?: { cause?: unknown }) {
    super(message, options);
  }
}
