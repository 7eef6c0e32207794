import { join } from 'node:path';
import type { Config } from '../config';
import { createPostgresDeliveryLog, type DeliveryLog } from './delivery-log';
import { migrate as applyMigrations } from './migrate';
import { createPostgresStore } from './postgres-store';
import { createPgExecutor, createPgliteExecutor, type SqlExecutor } from './sql-executor';
import type { Store } from './store';

/** Where the store lives; `main` fills this from the config. */
export interface OpenStoreOptions {
  /** A Postgres connection string (`DATABASE_URL`); wins over everything else. */
  readonly databaseUrl?: string;
  /**
   * `SUPABASE_URL`, with `serviceRoleKey`: without a databaseUrl, the store goes through Supabase's Data API
   * (supabase-js). The schema must be migrated beforehand: PostgREST cannot run migrations.
   */
  readonly supabaseUrl?: string;
  /** `SUPABASE_SERVICE_ROLE_KEY`, required with `supabaseUrl`. */
  readonly serviceRoleKey?: string;
  /** `DATA_DIR`: without a databaseUrl, the embedded database lives in `${dataDir}/pglite`. */
  readonly dataDir?: string;
  /** Embedded database in memory (tests, `demo`); nothing is written to disk. */
  readonly inMemory?: boolean;
  /** With `inMemory`: the data directory to start from, a PGlite dump (`createPgliteExecutor`'s `loadDataDir`). */
  readonly loadDataDir?: Blob;
  /** Apply pending migrations before returning (default true; ignored for the Data API). */
  readonly migrate?: boolean;
  /** The fetch the supabase-js adapter uses (tests); default the global fetch. */
  readonly fetch?: typeof fetch;
}

/** Options that open a SQL store (no Supabase Data API): the store then always has an executor. */
export type SqlStoreOptions = OpenStoreOptions & { readonly supabaseUrl?: undefined };

/** An opened store, with the webhook delivery log on the same database. */
export type OpenedStore = Store & {
  /** The SQL executor, for migrations, health checks and tests; undefined over the Data API. */
  readonly executor?: SqlExecutor;
  readonly deliveries: DeliveryLog;
};

/** The default DATA_DIR, as DESIGN.md states it, for callers that pass none. */
export const DEFAULT_DATA_DIR = './.data';

/**
 * Opens the store: Postgres through pg when `databaseUrl` is set; else Supabase's Data API when
 * `supabaseUrl` is; otherwise embedded PGlite (in memory, or under `${dataDir}/pglite`). A SQL store then
 * applies pending migrations. Throws StoreLockedError when another process holds the embedded database,
 * and a TypeError when `supabaseUrl` comes without `serviceRoleKey`.
 */
export async function openStore(options: SqlStoreOptions): Promise<Store & { executor: SqlExecutor; deliveries: DeliveryLog }>;
export async function openStore(options: OpenStoreOptions): Promise<OpenedStore>;
export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  if (options.databaseUrl === undefined && options.supabaseUrl !== undefined) {
    if (!options.serviceRoleKey) throw new TypeError('openStore: supabaseUrl needs serviceRoleKey');
    // Loaded only here: supabase-js is not needed (nor loaded) by a SQL deployment.
    const { createSupabaseDeliveryLog, createSupabaseStore } = await import('./supabase-store');
    const supabase = { url: options.supabaseUrl, serviceRoleKey: options.serviceRoleKey, ...(options.fetch ? { fetch: options.fetch } : {}) };
    return { ...createSupabaseStore(supabase), deliveries: createSupabaseDeliveryLog(supabase) };
  }
  const executor =
    options.databaseUrl !== undefined
      ? createPgExecutor(options.databaseUrl)
      : options.inMemory
        ? await createPgliteExecutor(undefined, options.loadDataDir ? { loadDataDir: options.loadDataDir } : {})
        : await createPgliteExecutor(join(options.dataDir ?? DEFAULT_DATA_DIR, 'pglite'));
  try {
    if (options.migrate ?? true) await applyMigrations(executor);
  } catch (error) {
    await executor.close();
    throw error;
  }
  return { ...createPostgresStore(executor), executor, deliveries: createPostgresDeliveryLog(executor) };
}

/** Opens the store the config points at: DATABASE_URL, else the Supabase Data API, else embedded PGlite. */
export function openConfiguredStore(config: Config, options: { inMemory?: boolean; migrate?: boolean } = {}): ReturnType<typeof openStore> {
  const { databaseUrl, supabaseUrl, supabaseServiceRoleKey, dataDir } = config.store;
  return openStore({
    dataDir,
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    ...(databaseUrl === undefined && supabaseUrl !== undefined ? { supabaseUrl, serviceRoleKey: supabaseServiceRoleKey } : {}),
    ...options,
  });
}

/** Why the store cannot be used right now, or undefined when it answers: `select 1`, or one read over the Data API. */
export async function storeProblem(store: OpenedStore): Promise<string | undefined> {
  try {
    if (store.executor) await store.executor.query('select 1');
    else await store.getGuild('0');
    return undefined;
  } catch (err) {
    return `the store is unreachable: ${err instanceof Error ? err.message : String(err)}`;
  }
}
