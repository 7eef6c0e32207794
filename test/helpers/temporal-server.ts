import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/shared/search-attributes';
import { resolveTemporalCli } from '../../src/temporal/toolchain';
import { freePort } from './service-process';

/**
 * An external Temporal dev server as an operator runs one, `temporal server start-dev --db-filename F`, in a
 * process of its own that a test can `kill -9` and start again on the same port and SQLite file. (The run's
 * shared server, test/global-setup.ts, must never be killed: every other test file uses it.)
 */
export interface ExternalTemporal {
  /** `127.0.0.1:<port>`, the same across restarts. */
  readonly address: string;
  readonly dbFilename: string;
  /** The running server's pid, for a kill by pid. */
  pid(): number;
  /** SIGKILL: no shutdown, whatever SQLite had not written is what a crash loses. Resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and file; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its files. */
  close(): Promise<void>;
}

/** Starts one on a free port with a new SQLite file; resolves once a client can reach its namespace. */
export async function startExternalTemporal(): Promise<ExternalTemporal> {
  const cli = await resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, pathEnv: process.env.PATH });
  if (cli.executable.type !== 'existing-path') throw new Error('the Temporal CLI is not installed: run `npm run setup:temporal`');
  const path = cli.executable.path;
  const dir = mkdtempSync(join(tmpdir(), 'jo-temporal-'));
  const dbFilename = join(dir, 'temporal.db');
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--namespace', 'default',
    '--db-filename', dbFilename, '--log-level', 'error',
    // As src/temporal/dev-server.ts runs the embedded one: WAL survives a crash of the process.
    '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal',
    ...SEARCH_ATTRIBUTE_KEYS.flatMap((key) => ['--search-attribute', `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`]),
  ];
  let child: ChildProcess | undefined;
  let output = '';
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async () => {
    const started = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child = started;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (started.exitCode !== null) throw new Error(`temporal server start-dev exited with ${started.exitCode}:\n${output.slice(-4_000)}`);
      try {
        const connection = await Connection.connect({ address, connectTimeout: 1_000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return;
        } finally {
          await connection.close();
        }
      } catch {
        if (Date.now() > deadline) throw new Error(`temporal server start-dev did not answer within 60 s:\n${output.slice(-4_000)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    address,
    dbFilename,
    pid: () => child!.pid!,
    kill,
    start,
    async close() {
      process.off('exit', killOnExit);
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
