import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/tools/tool-cache';
import { lintLockfile } from '../src/tools/lockfile-lint';

/**
 * The supply-chain check `npm test` runs first (scripts/lint-lockfile.mjs): every package in package-lock.json
 * comes from the npm registry, over HTTPS, with a sha512 integrity. Shown here to hold for the project's lock,
 * and to catch each way a tampered lock could bring code from elsewhere.
 */

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'jo-lockfile-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const PROJECT_LOCK = join(PROJECT_ROOT, 'package-lock.json');
const PROJECT_MANIFEST = join(PROJECT_ROOT, 'package.json');

/** The project's lock, parsed, and a path to write a changed copy of it to. */
async function lockCopy(name: string) {
  const lock = JSON.parse(await readFile(PROJECT_LOCK, 'utf8')) as { packages: Record<string, Record<string, any>> };
  return { lock, path: join(scratch, `${name}.json`) };
}

describe('the lockfile', () => {
  it('takes every package from the npm registry over HTTPS, each with a sha512 integrity', async () => {
    const report = await lintLockfile(PROJECT_LOCK);

    expect(report.issues).toEqual([]);
    expect(report.packages).toBeGreaterThan(100);
  });

  it('is refused, entry by entry, when a package comes from another host, over http, from git, or without a sha512 integrity', async () => {
    const lock = JSON.parse(await readFile(PROJECT_LOCK, 'utf8')) as { packages: Record<string, unknown> };
    const sha512 = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;
    const planted: Record<string, Record<string, unknown>> = {
      'node_modules/planted-other-host': { version: '1.0.0', resolved: 'https://packages.example.com/planted-other-host/-/planted-other-host-1.0.0.tgz', integrity: sha512 },
      'node_modules/planted-plain-http': { version: '1.0.0', resolved: 'http://packages.example.com/planted-plain-http/-/planted-plain-http-1.0.0.tgz', integrity: sha512 },
      'node_modules/planted-from-git': { version: '1.0.0', resolved: 'git+ssh://git@example.com/acme/planted-from-git.git#0123456789abcdef0123456789abcdef01234567' },
      'node_modules/planted-sha1': { version: '1.0.0', integrity: 'sha1-3Nu2Iu0bFDHtVVuOJ3MRe0hyyyI=' },
      'node_modules/planted-no-integrity': { version: '1.0.0' },
    };
    const path = join(scratch, 'planted-lock.json');
    await writeFile(path, JSON.stringify({ ...lock, packages: { ...lock.packages, ...planted } }, null, 2));

    const { issues } = await lintLockfile(path, PROJECT_MANIFEST);

    const about = (name: string) => issues.filter((issue) => issue.includes(`${name}@`)).join('\n');
    expect(about('planted-other-host')).toMatch(/invalid host.*actual: packages\.example\.com/);
    expect(about('planted-plain-http')).toMatch(/invalid protocol.*actual: http:/);
    expect(about('planted-from-git')).toMatch(/invalid host.*actual: example\.com/);
    expect(about('planted-from-git')).toMatch(/invalid protocol.*actual: git\+ssh:/);
    expect(about('planted-from-git')).toMatch(/missing integrity/);
    expect(about('planted-sha1')).toMatch(/invalid integrity hash type.*expected: sha512/);
    expect(about('planted-no-integrity')).toMatch(/missing integrity/);
    // The project's own entries add nothing: every issue is about a planted one.
    expect(issues.filter((issue) => !/planted-/.test(issue))).toEqual([]);
  });

  it('is refused when another platform\'s optional binary is missing from it, as `npm ci` would refuse it', async () => {
    const { lock, path } = await lockCopy('missing-optional');
    const withOptionals = Object.entries(lock.packages).find(([key, entry]) => key !== '' && Object.keys(entry.optionalDependencies ?? {}).length > 0);
    expect(withOptionals, 'some package in the lock has platform-specific optional dependencies').toBeDefined();
    const [parentKey, parent] = withOptionals!;
    const optional = Object.keys(parent.optionalDependencies as Record<string, string>)[0]!;
    delete lock.packages[`node_modules/${optional}`];
    await writeFile(path, JSON.stringify(lock, null, 2));

    const { issues } = await lintLockfile(path, PROJECT_MANIFEST);

    const parentName = parentKey.replace(/^.*node_modules\//, '');
    expect(issues).toEqual([`lock incomplete: ${optional} (optional dependency of ${parentName}) has no entry`]);
  });

  it('is refused when package.json changed and the lock was not regenerated', async () => {
    const { lock, path } = await lockCopy('stale-lock');
    const manifest = JSON.parse(await readFile(PROJECT_MANIFEST, 'utf8')) as { dependencies: Record<string, string> };
    const manifestPath = join(scratch, 'package.json');
    await writeFile(manifestPath, JSON.stringify({ ...manifest, dependencies: { ...manifest.dependencies, 'left-pad': '^1.3.0', zod: '^3.0.0' } }));
    await writeFile(path, JSON.stringify(lock, null, 2));

    const { issues } = await lintLockfile(path, manifestPath);

    expect(issues).toEqual([
      `lock out of date: package.json dependencies has zod@^3.0.0, the lock ${lock.packages['']!.dependencies.zod}`,
      'lock out of date: package.json dependencies has left-pad@^1.3.0, the lock (none)',
    ]);
  });
});
