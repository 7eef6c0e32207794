import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store';
import { runCliProcess } from './helpers/cli-process';

/**
 * Issue 13 item 3: the embedded store belongs to one process, so while `start` holds it a CLI command that must
 * write to it cannot; it says so in one line and names the Discord command that makes the same change. This test
 * process holds the store as `start` would.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'jo-cli-held-'));

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('a CLI command while start holds the embedded store', { timeout: 180_000 }, () => {
  it('says in one line who holds it and which Discord command does the same, changing nothing', async () => {
    const held = await openStore({ dataDir });
    try {
      const [key, guild] = await Promise.all([
        runCliProcess(['user', 'set-key', '--discord-id', '1400000000000000004'], { dataDir, stdin: 'AQ.personal-key-0123456789abcdef\n' }),
        runCliProcess(['guild', 'set', '--guild-id', '1400000000000000001', '--create-roles', '1400000000000000002', '--confirm-roles', '1400000000000000003'], { dataDir }),
      ]);
      for (const [run, command] of [
        [key, '`/jules-key set`'],
        [guild, '`/jules-setup`'],
      ] as const) {
        expect(run.code).toBe(1);
        // What a person reads; JSON log lines (a warning about the local secrets key) go to stderr too.
        const lines = run.stderr.trim().split('\n').filter((line) => !line.startsWith('{'));
        expect(lines, run.stderr).toHaveLength(1);
        expect(lines[0]).toContain(`is in use by process ${process.pid}`);
        expect(lines[0]).toContain(`use ${command}`);
      }
      expect(key.stderr).not.toContain('0123456789abcdef');
      expect(await held.getUserKey('1400000000000000004')).toBeUndefined();
      expect(await held.getGuild('1400000000000000001')).toBeUndefined();
    } finally {
      await held.close();
    }
  });
});
