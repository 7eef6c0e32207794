import type { Config } from '../config';
import { KeyRotationIncompleteError, type UnreadableStoredKey } from '../crypto/errors';
import { loadOrCreateLocalKey } from '../crypto/local-key';
import { SecretDecryptError, createSecretBox, sealedKeyId, type SecretBox } from '../crypto/secret-box';
import type { KeyRotationRepository } from '../store/store';
import { openConfiguredStore } from '../store/open-store';
import type { AdminContext } from './admin.commands';
import { UsageError } from './errors';

/** What a rotation did. Counts and ids only: never a key, plaintext or sealed. */
export interface RotationReport {
  /** The id of SECRETS_ENCRYPTION_KEY, under which every moved key is now sealed. */
  readonly keyId: string;
  readonly rotated: { readonly guild: number; readonly user: number };
  /** Already sealed under the current key: left alone (a second run finds only these). */
  readonly alreadyCurrent: number;
  /** Set again by someone while the rotation ran: their newer key was kept. */
  readonly changedMeanwhile: number;
  /** Could not be decrypted: left exactly as they were. */
  readonly unreadable: readonly UnreadableStoredKey[];
}

/**
 * Re-encrypts every stored Jules key under the box's current key. Each key is decrypted (with the current
 * or a previous key), sealed again and written back with a compare-and-swap, one row per statement, so a
 * crash midway leaves every row readable and a concurrent `set-key` is never overwritten. Keys that cannot
 * be decrypted are reported, never dropped. Idempotent: keys already under the current key are skipped.
 */
export async function rotateStoredKeys(store: KeyRotationRepository, box: SecretBox): Promise<RotationReport> {
  const rotated = { guild: 0, user: 0 };
  let alreadyCurrent = 0;
  let changedMeanwhile = 0;
  const unreadable: UnreadableStoredKey[] = [];
  for (const key of await store.listStoredKeys()) {
    const keyId = sealedKeyId(key.ciphertext);
    if (keyId === box.keyId) {
      alreadyCurrent += 1;
      continue;
    }
    let resealed: string;
    try {
      resealed = box.encrypt(box.decrypt(key.ciphertext));
    } catch (error) {
      if (!(error instanceof SecretDecryptError)) throw error;
      unreadable.push({ scope: key.scope, ownerId: key.ownerId, ...(keyId ? { keyId } : {}), reason: error.code });
      continue;
    }
    if (await store.replaceStoredKey(key, resealed)) rotated[key.scope] += 1;
    else changedMeanwhile += 1;
  }
  return { keyId: box.keyId, rotated, alreadyCurrent, changedMeanwhile, unreadable };
}

/** The secret box for rotation: the current key (or the embedded store's local key) and the previous keys. */
export function openRotationBox(config: Config): SecretBox {
  const current = config.secrets.encryptionKey ?? loadOrCreateLocalKey(config.store.dataDir).key;
  return createSecretBox(current, { previousKeys: config.secrets.previousEncryptionKeys });
}

/**
 * `keys rotate`: re-encrypts every stored key under SECRETS_ENCRYPTION_KEY and prints the counts. Throws
 * KeyRotationIncompleteError (exit 1) when some keys could not be decrypted; the others are rotated anyway.
 */
export async function runKeysRotate(ctx: AdminContext, args: string[]): Promise<void> {
  if (args.length > 0) throw new UsageError('keys rotate takes no arguments: the keys come from SECRETS_ENCRYPTION_KEY and SECRETS_ENCRYPTION_PREVIOUS_KEYS');
  const box = openRotationBox(ctx.config);
  const store = await openConfiguredStore(ctx.config);
  try {
    const report = await rotateStoredKeys(store, box);
    ctx.out(
      `Re-encrypted ${report.rotated.guild} guild key(s) and ${report.rotated.user} personal key(s) under key ${report.keyId}; ` +
        `${report.alreadyCurrent} already under it` +
        (report.changedMeanwhile > 0 ? `; ${report.changedMeanwhile} set again meanwhile (kept as set)` : '') +
        '.',
    );
    ctx.log.info({ keyId: report.keyId, rotated: report.rotated, alreadyCurrent: report.alreadyCurrent, unreadable: report.unreadable.length }, 'keys rotated');
    if (report.unreadable.length > 0) throw new KeyRotationIncompleteError(report.unreadable);
  } finally {
    await store.close();
  }
}
