import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import type { TestStack } from './stack';

/**
 * Workers in child processes, for tests that crash a worker for real: `test/fixtures/worker-process.ts`, the
 * service's own composition root with only the worker part, configured from the environment as production is.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A worker in a child process, with what it printed (for failure messages). */
export interface WorkerProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit signal or code once the process has exited. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

/** What a worker process of a stack needs beyond the stack itself. */
export interface WorkerProcessEnv {
  /** The PostgreSQL database the stack's store uses (`databaseUrl`). */
  readonly databaseUrl: string;
  /** The stack's `secretsKey`: the payload key derives from it, so the worker reads what the stack's client wrote. */
  readonly secretsKey: string;
  /** More settings, e.g. GITHUB_TOKEN and GITHUB_API_URL for a stack with GitHub. */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * Starts a worker process configured like a production worker of `s` and waits until it polls. It is pushed on
 * `started` before it is ready, so a test's cleanup kills it even when it never got that far.
 */
export async function startWorkerProcess(s: TestStack, env: WorkerProcessEnv, started: WorkerProcess[]): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['bin/run-ts.mjs', 'test/fixtures/worker-process.ts'], {
    cwd: REPO_ROOT,
    // Only what the worker needs: nothing from this process's environment may configure it by accident.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      TEMPORAL_TASK_QUEUE: s.taskQueue,
      DATABASE_URL: env.databaseUrl,
      DISCORD_API_URL: s.discord.apiUrl,
      DISCORD_TOKEN: s.discord.token,
      DISCORD_APPLICATION_ID: s.discord.applicationId,
      DISCORD_PUBLIC_KEY: s.signer.publicKeyHex,
      JULES_API_URL: s.jules.url,
      SECRETS_ENCRYPTION_KEY: env.secretsKey,
      ...env.extra,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const worker: WorkerProcess = { child, output: () => output.slice(-8_000), exited };
  started.push(worker);

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker process did not start within 60 s:\n${worker.output()}`)), 60_000);
    child.on('message', (message: { ready?: boolean }) => {
      if (!message.ready) return;
      clearTimeout(timer);
      resolve();
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`the worker process exited (${how}) before it was ready:\n${worker.output()}`));
    });
  });
  return worker;
}

/** Kills every worker of `started` that still runs and waits for it; prints what it said when the test failed. */
export async function stopWorkerProcesses(started: WorkerProcess[], failed: boolean): Promise<void> {
  for (const worker of started.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await worker.exited;
    if (failed) console.log(`worker ${worker.child.pid} printed:\n${worker.output()}`);
  }
}
