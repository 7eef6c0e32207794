import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { rotateStoredKeys } from '../src/cli/keys.commands';
import { KeyRotationIncompleteError } from '../src/crypto/errors';
import { createSecretBox, generateEncryptionKey, sealedKeyId } from '../src/crypto/secret-box';
import { migrate } from '../src/store/migrate';
import { openStore } from '../src/store/open-store';
import { createPostgresStore } from '../src/store/postgres-store';
import type { SqlExecutor } from '../src/store/sql-executor';
import type { Store } from '../src/store/store';
import { uniqueId } from './helpers/store-behaviour';
import { migratedExecutor } from './helpers/migrated-store';

/** Look like Jules API keys; the tests check they never come back out in clear. */
const plaintexts = {
  guildA: 'fake-jules-guild-A-0123456789abcdefGHIJKL',
  guildB: 'fake-jules-guild-B-0123456789abcdefGHIJKL',
  alice: 'fake-jules-alice-0123456789abcdefGHIJKLMN',
  bob: 'fake-jules-bob-0123456789abcdefGHIJKLMNOPQ',
  carol: 'fake-jules-carol-0123456789abcdefGHIJKLMN',
};

const oldKey = generateEncryptionKey();
const newKey = generateEncryptionKey();
const oldBox = createSecretBox(oldKey);
const rotatingBox = createSecretBox(newKey, { previousKeys: [oldKey] });
const newOnlyBox = createSecretBox(newKey);

describe('rotating the encryption key of stored Jules keys', () => {
  let executor: SqlExecutor;
  let store: Store;
  let ids: { guildA: string; guildB: string; alice: string; bob: string; carol: string };

  beforeEach(async () => {
    executor = await migratedExecutor();
    await migrate(executor);
    store = createPostgresStore(executor);
    ids = { guildA: uniqueId('g'), guildB: uniqueId('g'), alice: uniqueId('u'), bob: uniqueId('u'), carol: uniqueId('u') };
    await store.setGuildKey(ids.guildA, oldBox.encrypt(plaintexts.guildA));
    await store.setGuildKey(ids.guildB, oldBox.encrypt(plaintexts.guildB));
    await store.setUserKey(ids.alice, oldBox.encrypt(plaintexts.alice));
    await store.setUserKey(ids.bob, oldBox.encrypt(plaintexts.bob));
    // Carol set her key after the new key was deployed: already under it.
    await store.setUserKey(ids.carol, rotatingBox.encrypt(plaintexts.carol));
    return () => executor.close();
  });

  it('still decrypts keys written under the old key id once the new key is current', async () => {
    const sealed = await store.getUserKey(ids.alice);
    expect(sealedKeyId(sealed!)).toBe(oldBox.keyId);
    expect(rotatingBox.decrypt(sealed!)).toBe(plaintexts.alice);
    expect(rotatingBox.decrypt((await store.getGuildKey(ids.guildA))!)).toBe(plaintexts.guildA);
  });

  it('moves every key under the new key id, loses none, and a second run has nothing to do', async () => {
    const report = await rotateStoredKeys(store, rotatingBox);
    expect(report).toEqual({ keyId: newOnlyBox.keyId, rotated: { guild: 2, user: 2 }, alreadyCurrent: 1, changedMeanwhile: 0, unreadable: [] });

    const stored = await store.listStoredKeys();
    expect(stored).toHaveLength(5);
    expect(stored.every((key) => sealedKeyId(key.ciphertext) === newOnlyBox.keyId)).toBe(true);
    // The old key can now be retired: the new key alone opens every one of them.
    expect(newOnlyBox.decrypt((await store.getGuildKey(ids.guildA))!)).toBe(plaintexts.guildA);
    expect(newOnlyBox.decrypt((await store.getGuildKey(ids.guildB))!)).toBe(plaintexts.guildB);
    expect(newOnlyBox.decrypt((await store.getUserKey(ids.alice))!)).toBe(plaintexts.alice);
    expect(newOnlyBox.decrypt((await store.getUserKey(ids.bob))!)).toBe(plaintexts.bob);
    expect(newOnlyBox.decrypt((await store.getUserKey(ids.carol))!)).toBe(plaintexts.carol);

    expect(await rotateStoredKeys(store, rotatingBox)).toEqual({
      keyId: newOnlyBox.keyId,
      rotated: { guild: 0, user: 0 },
      alreadyCurrent: 5,
      changedMeanwhile: 0,
      unreadable: [],
    });
  });

  it('reports a key sealed under a key it does not have, leaves it as it was, and rotates the others', async () => {
    const stranger = createSecretBox(generateEncryptionKey());
    const dave = uniqueId('u');
    const daveSealed = stranger.encrypt('fake-jules-dave-0123456789abcdefGHIJKLMNO');
    await store.setUserKey(dave, daveSealed);

    const report = await rotateStoredKeys(store, rotatingBox);
    expect(report.rotated).toEqual({ guild: 2, user: 2 });
    expect(report.unreadable).toEqual([{ scope: 'user', ownerId: dave, keyId: stranger.keyId, reason: 'UNKNOWN_KEY_ID' }]);
    expect(await store.getUserKey(dave)).toBe(daveSealed);

    const error = new KeyRotationIncompleteError(report.unreadable);
    expect(error.message).toContain(`personal key of user ${dave}: sealed under key ${stranger.keyId}`);
    expect(error.message).toContain('SECRETS_ENCRYPTION_PREVIOUS_KEYS');
    expect(error.message).not.toContain('fake-jules');
    expect(JSON.stringify(report)).not.toContain('fake-jules');
  });

  it('keeps a key that its owner set again while the rotation ran', async () => {
    const newer = rotatingBox.encrypt('fake-jules-alice-newer-0123456789abcdefGH');
    // The port as the rotation sees it, with Alice running `user set-key` just before her row is replaced.
    const racing: Store = {
      ...store,
      async replaceStoredKey(key, ciphertext) {
        if (key.ownerId === ids.alice) await store.setUserKey(ids.alice, newer);
        return store.replaceStoredKey(key, ciphertext);
      },
    };
    const report = await rotateStoredKeys(racing, rotatingBox);
    expect(report).toMatchObject({ rotated: { guild: 2, user: 1 }, changedMeanwhile: 1, unreadable: [] });
    expect(await store.getUserKey(ids.alice)).toBe(newer);
  });
});

describe('`jules-orchestrator keys rotate`', () => {
  const ROOT = resolve(import.meta.dirname, '..');
  const dataDir = mkdtempSync(join(tmpdir(), 'jo-rotate-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolveRun, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'jules-orchestrator.mjs'), 'keys', 'rotate'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolveRun({ code, stdout, stderr }));
    });
  }

  it('re-encrypts the stored keys, prints the counts, and names a key it cannot read without its secret', { timeout: 120_000 }, async () => {
    const stranger = createSecretBox(generateEncryptionKey());
    const seeded = await openStore({ dataDir });
    await seeded.setGuildKey('1200000000000000002', oldBox.encrypt(plaintexts.guildA));
    await seeded.setUserKey('1400000000000000004', oldBox.encrypt(plaintexts.alice));
    await seeded.setUserKey('1400000000000000005', stranger.encrypt(plaintexts.bob));
    await seeded.close();

    const env = { SECRETS_ENCRYPTION_KEY: newKey, SECRETS_ENCRYPTION_PREVIOUS_KEYS: `${generateEncryptionKey()}, ${oldKey}` };
    const first = await run(env);
    expect(first.stdout).toContain(`Re-encrypted 1 guild key(s) and 1 personal key(s) under key ${newOnlyBox.keyId}; 0 already under it.`);
    expect(first.stderr).toContain(`personal key of user 1400000000000000005: sealed under key ${stranger.keyId}`);
    expect(first.code).toBe(1);
    for (const secret of [newKey, oldKey, ...Object.values(plaintexts)]) {
      expect(first.stdout + first.stderr).not.toContain(secret);
    }

    const reopened = await openStore({ dataDir });
    try {
      expect(newOnlyBox.decrypt((await reopened.getUserKey('1400000000000000004'))!)).toBe(plaintexts.alice);
      expect(newOnlyBox.decrypt((await reopened.getGuildKey('1200000000000000002'))!)).toBe(plaintexts.guildA);
      // The unreadable key is still there, unchanged: set again by its owner, the next run is clean.
      expect(stranger.decrypt((await reopened.getUserKey('1400000000000000005'))!)).toBe(plaintexts.bob);
      await reopened.setUserKey('1400000000000000005', newOnlyBox.encrypt(plaintexts.bob));
    } finally {
      await reopened.close();
    }

    const second = await run(env);
    expect(second.stdout).toContain('Re-encrypted 0 guild key(s) and 0 personal key(s)');
    expect(second.stdout).toContain('3 already under it.');
    expect(second.code).toBe(0);
  });
});
