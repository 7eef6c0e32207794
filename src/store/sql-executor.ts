import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite, type Transaction as PgliteTransaction } from '@electric-sql/pglite';
import pg from 'pg';
import { StoreLockedError } from './errors';

/**
 * The tiny driver port the store and the migrations runner talk to. Both adapters return `timestamptz` as
 * `Date` and `text[]` as `string[]`, so rows look the same whichever database is behind.
 */
export interface SqlExecutor {
  /** Runs one parameterised statement and returns its rows. */
  query<R>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of one or more statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. Inside `fn`, use
   * `tx` only; a nested `tx.transaction` becomes a savepoint.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Releases connections (and the embedded database's lock). On a transaction's `tx`, does nothing. */
  close(): Promise<void>;
}

/** What one connection (a pg client or a PGlite transaction) can do, for the transaction scope below. */
interface Connection {
  query<R>(text: string, params?: unknown[]): Promise<R[]>;
  exec(script: string): Promise<void>;
}

/** An executor bound to one open transaction; nested transactions become savepoints. */
function transactionScope(connection: Connection, depth: number): SqlExecutor {
  return {
    query: (text, params) => connection.query(text, params),
    exec: (script) => connection.exec(script),
    async transaction(fn) {
      const savepoint = `sp_${depth}`;
      await connection.query(`savepoint ${savepoint}`);
      try {
        const result = await fn(transactionScope(connection, depth + 1));
        await connection.query(`release savepoint ${savepoint}`);
        return result;
      } catch (error) {
        await connection.query(`rollback to savepoint ${savepoint}`);
        throw error;
      }
    },
    // The owner of the executor closes it; a transaction scope has nothing of its own to release.
    close: async () => {},
  };
}

/** Options of {@link createPgExecutor}. */
export interface PgExecutorOptions {
  /** Called when an idle pooled connection fails (the pool drops it); without a listener pg would crash the process. */
  readonly onIdleError?: (error: Error) => void;
  /** Maximum pooled connections (pg's default is 10). */
  readonly maxConnections?: number;
}

/**
 * An executor over a `pg` connection pool, for `DATABASE_URL` (Supabase's Postgres or any other).
 * @see https://node-postgres.com/apis/pool
 */
export function createPgExecutor(connectionString: string, options: PgExecutorOptions = {}): SqlExecutor {
  const pool = new pg.Pool({ connectionString, max: options.maxConnections });
  pool.on('error', (error) => options.onIdleError?.(error));

  const onClient = (client: pg.PoolClient | pg.Pool): Connection => ({
    // pg's default type parsers already turn timestamptz (1184) into Date and text[] (1009) into string[].
    query: async <R>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as R[],
    // Without parameters pg uses the simple query protocol, which accepts several statements.
    exec: async (script) => {
      await client.query(script);
    },
  });
  const poolConnection = onClient(pool);

  return {
    query: poolConnection.query,
    exec: poolConnection.exec,
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('begin');
        try {
          const result = await fn(transactionScope(onClient(client), 1));
          await client.query('commit');
          return result;
        } catch (error) {
          await client.query('rollback').catch((rollbackError: Error) => {
            // A connection that cannot roll back must not go back to the pool.
            broken = rollbackError;
          });
          throw error;
        }
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

const LOCK_FILE_NAME = 'jules-orchestrator.lock';

/**
 * Lock files this process holds. A pid alone cannot tell "this process" from "an earlier process that had
 * the same pid" (containers restart with the same small pids), so this process remembers its own locks.
 */
const locksHeldHere = new Set<string>();

/** Whether a process with this pid is alive (EPERM means alive but owned by another user). */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded in a lock file, or undefined when the file is gone or unreadable. */
function readLockPid(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the exclusive lock file in `dataDir`, taking over a stale one, and returns its release function.
 * Throws StoreLockedError when a live process holds it.
 */
function acquireLock(dataDir: string): () => void {
  const lockPath = join(dataDir, LOCK_FILE_NAME);
  // Written whole to a temporary file, then hard-linked into place: link is atomic and fails if the lock
  // exists, so nobody ever reads a half-written lock.
  const tempPath = join(dataDir, `${LOCK_FILE_NAME}.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(tempPath, `${process.pid}\n`);
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        linkSync(tempPath, lockPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readLockPid(lockPath);
      const heldByLiveProcess =
        holder !== undefined &&
        (holder === process.pid ? locksHeldHere.has(lockPath) : isProcessAlive(holder));
      if (heldByLiveProcess) throw new StoreLockedError(dataDir, holder);
      if (attempt >= 3) throw new StoreLockedError(dataDir, holder ?? 0);
      // Stale (its process is gone) or unreadable: take it over. Two processes racing to take over the same
      // stale lock is possible in principle; the embedded database is for one machine and one operator.
      try {
        unlinkSync(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  } finally {
    unlinkSync(tempPath);
  }
  locksHeldHere.add(lockPath);
  return () => {
    locksHeldHere.delete(lockPath);
    // Remove the file only if it is still ours.
    if (readLockPid(lockPath) === process.pid) {
      try {
        unlinkSync(lockPath);
      } catch {
        // Already gone: nothing to release.
      }
    }
  };
}

/** Options of {@link createPgliteExecutor}. */
export interface PgliteExecutorOptions {
  /**
   * In memory only: start from this data directory (a `PGlite.dumpDataDir()` tarball) instead of an empty one.
   * Tests start each store from one migrated dump, which skips PGlite's initdb and the migrations.
   */
  readonly loadDataDir?: Blob;
}

/**
 * An executor over embedded PGlite: in memory when `dataDir` is undefined, otherwise file-backed under
 * `dataDir` (created if missing) and guarded by a lock file, because two processes writing one PGlite
 * directory corrupt it.
 * @see https://pglite.dev/docs/api
 */
export async function createPgliteExecutor(dataDir: string | undefined, options: PgliteExecutorOptions = {}): Promise<SqlExecutor> {
  let release = () => {};
  let db: PGlite;
  if (dataDir === undefined) {
    db = await PGlite.create(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  } else {
    const dir = resolve(dataDir);
    mkdirSync(dir, { recursive: true });
    release = acquireLock(dir);
    try {
      db = await PGlite.create(dir);
    } catch (error) {
      release();
      throw error;
    }
  }

  // PGlite's default parsers return timestamptz as Date and text[] as string[], like pg.
  const onConnection = (connection: PGlite | PgliteTransaction): Connection => ({
    query: async <R>(text: string, params?: unknown[]) => (await connection.query<R>(text, params)).rows,
    exec: async (script) => {
      await connection.exec(script);
    },
  });
  const main = onConnection(db);

  return {
    query: main.query,
    exec: main.exec,
    // PGlite runs one statement at a time and queues the others until the transaction ends.
    transaction: (fn) => db.transaction((tx) => fn(transactionScope(onConnection(tx), 1))),
    async close() {
      try {
        if (!db.closed) await db.close();
      } finally {
        release();
      }
    },
  };
}
