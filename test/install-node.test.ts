import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/tools/tool-cache';
import versions from '../scripts/node-version.json' with { type: 'json' };

/**
 * scripts/install-node.mjs, which .ci/run starts with: the pinned Node 24 from the npm registry's
 * `node-<platform>-<arch>` package into a tool cache, safe when two installs race (two engineers, or CI and a
 * test, share one `.tools/`). It downloads the real package (about 50 MB, once: npm's cache keeps it).
 */

const run = promisify(execFile);
const SCRIPT = join(PROJECT_ROOT, 'scripts', 'install-node.mjs');
const { version } = versions.node;

let cacheDir: string;
beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'jo-install-node-'));
});
afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const install = () => run(process.execPath, [SCRIPT, '--cache-dir', cacheDir], { cwd: PROJECT_ROOT });

describe('installing the pinned Node', () => {
  it('two installs at once into an empty cache leave one working Node and print its bin folder', async () => {
    const [first, second] = await Promise.all([install(), install()]);
    expect(first.stdout.trim()).toBe(join(cacheDir, `node-${version}`, 'bin'));
    expect(second.stdout.trim()).toBe(first.stdout.trim());

    const { stdout } = await run(join(first.stdout.trim(), 'node'), ['-p', 'process.version']);
    expect(stdout.trim()).toBe(`v${version}`);
    expect(Number(version.split('.')[0])).toBeGreaterThanOrEqual(24);
    // No temp folder of the losing install is left behind.
    expect(await readdir(cacheDir)).toEqual([`node-${version}`]);
  }, 240_000);

  it('a later run finds it in the cache without downloading again', async () => {
    const { stdout, stderr } = await install();
    expect(stdout.trim()).toBe(join(cacheDir, `node-${version}`, 'bin'));
    expect(stderr).toContain(`Node ${version}: ${join(cacheDir, `node-${version}`, 'bin', 'node')} (cache)`);
    expect(stderr).not.toContain('Installing');
  }, 60_000);
});
