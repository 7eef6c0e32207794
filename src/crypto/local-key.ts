import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from './secret-box';

/**
 * The encryption key for the embedded defaults: when `SECRETS_ENCRYPTION_KEY` is unset and the store is the
 * embedded PGlite, a key is generated once and kept beside the data (`DATA_DIR/secrets.key`, mode 0600).
 * A shared database always needs an explicit key (config enforces it).
 */
export function loadOrCreateLocalKey(dataDir: string): { key: string; created: boolean } {
  const file = join(dataDir, 'secrets.key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), created: false };
  mkdirSync(dataDir, { recursive: true });
  const key = generateEncryptionKey();
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key, created: true };
}
