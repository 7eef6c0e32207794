import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { DeliveryLog } from '../../src/store/delivery-log';
import { openStore } from '../../src/store/open-store';
import { createPgliteExecutor, type SqlExecutor } from '../../src/store/sql-executor';
import type { Store } from '../../src/store/store';

/**
 * Stores that start migrated: test/global-setup.ts runs PGlite's initdb and the migrations once per run, and each
 * store here starts from a copy of that database, real PGlite all the same (openStore still checks the migrations,
 * with its one query). Tests of migrations on an empty database open empty ones themselves.
 */

let dump: Blob | undefined;

/** The migrated database as a PGlite dump, read once per test file. */
export function migratedStoreDump(): Blob {
  dump ??= new Blob([readFileSync(inject('migratedStoreDump'))]);
  return dump;
}

type MigratedStore = Store & { executor: SqlExecutor; deliveries: DeliveryLog };

let next: Promise<MigratedStore> | undefined;

/** Starts opening a store; a failure is the caller's to see, never an unhandled rejection while it waits. */
function openAhead(): Promise<MigratedStore> {
  const opening = openStore({ inMemory: true, loadDataDir: migratedStoreDump() });
  opening.catch(() => undefined);
  return opening;
}

/**
 * An in-memory store, migrated, with its executor and delivery log: `openStore({ inMemory: true })` without the wait.
 * Each call also starts opening the next one (half a second of PGlite start-up), so a file whose every test starts a
 * stack gets its next store while the current test waits on its workflows. Every store is new and unshared.
 */
export function openMigratedStore(): Promise<MigratedStore> {
  const store = next ?? openAhead();
  next = openAhead();
  return store;
}

/** An in-memory SQL executor over the migrated schema. */
export function migratedExecutor(): Promise<SqlExecutor> {
  return createPgliteExecutor(undefined, { loadDataDir: migratedStoreDump() });
}

/** Gives `dataDir` the migrated embedded database, as `DATA_DIR/pglite`, for a CLI run that should not start empty. */
export function copyMigratedStore(dataDir: string): void {
  cpSync(inject('migratedStoreDir'), join(dataDir, 'pglite'), { recursive: true });
}
