import { join } from 'node:path';
import { migrate as applyMigrations } from './migrate';
import { createPostgresStore } from './postgres-store';
import { createPgExecutor, createPgliteExecutor, type SqlExecutor } from './sql-executor';
import type { Store } from './store';

/** Where the store lives; `main` fills this from the config. */
export interface OpenStoreOptions {
  /** A Postgres connection string (`DATABASE_URL`); wins over everything else. */
  readonly databaseUrl?: string;
  /** `DATA_DIR`: without a databaseUrl, the embedded database lives in `${dataDir}/pglite`. */
  readonly dataDir?: string;
  /** Embedded database in memory (tests, `demo`); nothing is written to disk. */
  readonly inMemory?: boolean;
  /** Apply pending migrations before returning (default true). */
  readonly migrate?: boolean;
}

/** The default DATA_DIR, as DESIGN.md states it, for callers that pass none. */
export const DEFAULT_DATA_DIR = './.data';

/**
 * Opens the store: Postgres through pg when `databaseUrl` is set, otherwise embedded PGlite (in memory, or
 * under `${dataDir}/pglite`), then applies pending migrations. The executor is exposed for migrations,
 * health checks and tests. Throws StoreLockedError when another process holds the embedded database.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store & { executor: SqlExecutor }> {
  const executor =
    options.databaseUrl !== undefined
      ? createPgExecutor(options.databaseUrl)
      : await createPgliteExecutor(
          options.inMemory ? undefined : join(options.dataDir ?? DEFAULT_DATA_DIR, 'pglite'),
        );
  try {
    if (options.migrate ?? true) await applyMigrations(executor);
  } catch (error) {
    await executor.close();
    throw error;
  }
  return { ...createPostgresStore(executor), executor };
}
