import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The `jules-orchestrator` command as an operator runs it: a real child process through bin/. */

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'jules-orchestrator.mjs');
// Generous: one command takes 2–3 s alone, but over 30 s was seen on the loaded 2-core machine in a full run.
const SPAWN_TIMEOUT_MS = 90_000;

/** What one run of the CLI left: its exit code and what it printed. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI with only PATH, HOME, DATA_DIR and LOG_LEVEL set (plus `extraEnv`), piping `stdin` in. Rejects when
 * the process had to be killed (it ran past `timeoutMs`, 90 s by default, e.g. a command that should have refused
 * its arguments started).
 */
export function runCliProcess(args: string[], options: { dataDir: string; stdin?: string; extraEnv?: Record<string, string>; timeoutMs?: number }): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: options.dataDir, LOG_LEVEL: 'warn', ...options.extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? SPAWN_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal) reject(new Error(`jules-orchestrator ${args.join(' ')} was killed by ${signal}\n${stderr}`));
      else resolvePromise({ code, stdout, stderr });
    });
    // Whatever the command does with stdin, it sees the pipe close (an empty stdin when none is given).
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
