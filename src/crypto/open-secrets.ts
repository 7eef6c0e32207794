import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { loadOrCreateLocalKey } from './local-key';
import { createSecretBox, type SecretBox } from './secret-box';

/** The secret box for stored keys: the configured key, or for the embedded store a generated local one. */
export function openSecrets(config: Config, log: Logger): SecretBox {
  // Previous keys stay readable until `keys rotate` has moved every stored key to the current one.
  if (config.secrets.encryptionKey) return createSecretBox(config.secrets.encryptionKey, { previousKeys: [...config.secrets.previousEncryptionKeys] });
  const { key, created } = loadOrCreateLocalKey(config.store.dataDir);
  if (created) log.warn({ file: join(config.store.dataDir, 'secrets.key') }, 'SECRETS_ENCRYPTION_KEY is unset: generated a local key for the embedded store');
  return createSecretBox(key);
}
