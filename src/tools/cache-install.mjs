// The tool cache's race-safe install, in plain JavaScript (types in cache-install.d.mts) because
// scripts/install-node.mjs runs it on a clean clone: before `npm ci` has brought tsx, and on a Node too old to
// strip TypeScript types. Everything else imports it through tool-cache.ts.
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: two levels above this file (src/tools/). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The default tool cache, ignored by git. */
export const DEFAULT_CACHE_DIR = join(PROJECT_ROOT, '.tools');

/**
 * Installs a tool into `<cacheDir>/<folder>` and returns that folder. Safe when two processes race: each
 * fills its own temp folder and renames it into place; the loser of the rename uses the winner's copy. A
 * stale version (or a half-copied folder) at the target is moved aside first, since rename cannot replace
 * a non-empty directory. What `populate` throws is thrown as it is.
 *
 * @param {import('./cache-install.d.mts').CacheInstall} install
 * @returns {Promise<string>}
 */
export async function installIntoCache(install) {
  const target = join(install.cacheDir, install.folder);
  await mkdir(install.cacheDir, { recursive: true });
  // Same filesystem as the target, so the final rename is atomic.
  const temp = join(install.cacheDir, `.tmp-${install.folder}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await install.populate(temp);
    if ((await pathExists(target)) && !(await install.isInstalled(target))) {
      await rename(target, `${temp}.old`).catch(() => {});
      await rm(`${temp}.old`, { recursive: true, force: true });
    }
    try {
      await rename(temp, target);
    } catch (err) {
      if (!(await install.isInstalled(target))) throw err;
      install.onRaceLost?.();
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return target;
}

/**
 * Whether anything exists at `path`.
 *
 * @param {string} path
 * @returns {Promise<boolean>}
 */
export async function pathExists(path) {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
