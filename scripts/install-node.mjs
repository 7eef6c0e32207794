#!/usr/bin/env node
// Installs the pinned Node.js (scripts/node-version.json, Node 24 LTS) into .tools/node-<version>/ from the npm
// registry's `node-<platform>-<arch>` package, which carries the official binary, and prints the folder to put
// first on PATH. .ci/run runs it before `npm ci`, so CI tests on Node 24 whatever Node the machine has; a
// developer with Node 22 or newer needs none of this.
//
//   PATH="$(node scripts/install-node.mjs):$PATH"   # stdout: the bin folder; progress goes to stderr
//   node scripts/install-node.mjs --cache-dir DIR   # another cache (the tests use a temp one)
//   node scripts/install-node.mjs --floor           # the engines floor's Node 22 instead (`floor`), for .ci/floor-check
//
// Plain JavaScript with nothing from node_modules: it runs on a clean clone, on whatever Node is there.
// The race-safe install is src/tools/cache-install.mjs, the one the other tools' installers use.
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_CACHE_DIR, installIntoCache } from '../src/tools/cache-install.mjs';
import versions from './node-version.json' with { type: 'json' };

const run = promisify(execFile);
const { npmPackagePrefix } = versions.node;
const version = process.argv.includes('--floor') ? versions.node.floor : versions.node.version;
const cacheFlag = process.argv.indexOf('--cache-dir');
const cacheDir = cacheFlag === -1 ? DEFAULT_CACHE_DIR : resolve(process.argv[cacheFlag + 1] ?? '.');
const platform = process.platform === 'win32' ? 'win' : process.platform;
const packageName = `${npmPackagePrefix}-${platform}-${process.arch}`;
const folder = `node-${version}`;
const binDir = (dir) => (process.platform === 'win32' ? dir : join(dir, 'bin'));
const nodeBinary = (dir) => join(binDir(dir), process.platform === 'win32' ? 'node.exe' : 'node');

/** @param {string} msg */
const log = (msg) => console.error(`[install-node] ${msg}`);

/** @param {string} dir */
async function installedVersion(dir) {
  try {
    const { stdout } = await run(nodeBinary(dir), ['--version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** @param {string} dir */
const isInstalled = async (dir) => (await installedVersion(dir)) === `v${version}`;

const started = Date.now();
const target = join(cacheDir, folder);
try {
  if (await isInstalled(target)) {
    log(`Node ${version}: ${nodeBinary(target)} (cache)`);
  } else {
    log(`Installing Node ${version} from the npm package ${packageName}@${version} into ${cacheDir}…`);
    await installIntoCache({
      cacheDir,
      folder,
      populate: async (dir) => {
        await mkdir(dir, { recursive: true });
        // `npm pack` downloads the tarball and checks it against the registry's integrity; it runs no scripts.
        await run('npm', ['pack', `${packageName}@${version}`, '--pack-destination', dir, '--silent'], {
          maxBuffer: 16 * 1024 * 1024,
        });
        const [tarball] = (await readdir(dir)).filter((name) => name.endsWith('.tgz'));
        if (!tarball) throw new Error(`npm pack ${packageName}@${version} left no tarball in ${dir}`);
        await run('tar', ['-xzf', join(dir, tarball), '-C', dir, '--strip-components=1']);
        await rm(join(dir, tarball));
        const found = await installedVersion(dir);
        if (found !== `v${version}`) {
          throw new Error(`${packageName}@${version} holds no runnable Node ${version} (its bin/node says ${found ?? 'nothing'})`);
        }
      },
      isInstalled,
      onRaceLost: () => log('Another process installed the same Node at the same time; using its copy.'),
    });
    log(`Node ${version}: ${nodeBinary(target)} (installed in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  console.log(binDir(target));
} catch (err) {
  const detail = err instanceof Error ? (/** @type {{ stderr?: string }} */ (err).stderr?.trim() || err.message) : String(err);
  log(
    `error: cannot install Node ${version} (${packageName}@${version}): ${detail}\n` +
      '  It needs `npm` and `tar` on PATH and the npm registry. Or use a Node 22+ of your own and skip this step.',
  );
  process.exitCode = 1;
}
