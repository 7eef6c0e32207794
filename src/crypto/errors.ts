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

/** A stored key that `keys rotate` could not re-encrypt, named without its secret. */
export interface UnreadableStoredKey {
  readonly scope: 'guild' | 'user';
  readonly ownerId: string;
  /** The id of the key that sealed it, when the envelope says (safe to log). */
  readonly keyId?: string;
  /** `UNKNOWN_KEY_ID` (sealed under a key this process does not have) or `SECRET_UNREADABLE`. */
  readonly reason: string;
}

/**
 * Thrown by `keys rotate` when some stored keys could not be re-encrypted. They were left exactly as they
 * were (nothing is lost); the message names each one by owner and key id, and what the operator can do.
 */
export class KeyRotationIncompleteError extends Error {
  override readonly name = 'KeyRotationIncompleteError';
  readonly code = 'KEY_ROTATION_INCOMPLETE';
  /** Exit status for the CLI: the rotation did part of its work. */
  readonly status = 1;
  readonly unreadable: readonly UnreadableStoredKey[];

  constructor(unreadable: readonly UnreadableStoredKey[], options?: { cause?: unknown }) {
    const lines = unreadable.map(
      (key) =>
        `  - ${key.scope === 'guild' ? 'guild default key of' : 'personal key of user'} ${key.ownerId}: ` +
        (key.reason === 'UNKNOWN_KEY_ID'
          ? `sealed under key ${key.keyId ?? '?'}, which is neither SECRETS_ENCRYPTION_KEY nor in SECRETS_ENCRYPTION_PREVIOUS_KEYS`
          : 'unreadable (altered, or not a secret-box envelope)'),
    );
    super(
      `${unreadable.length} stored key(s) could not be re-encrypted and were left as they are:\n${lines.join('\n')}\n` +
        'Add the old key to SECRETS_ENCRYPTION_PREVIOUS_KEYS and run `keys rotate` again, or have the owner set the key again (`guild set-key`, `user set-key`).',
      options,
    );
    this.unreadable = unreadable;
  }
}
