import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
// Loads vitest's types so the ProvidedContext augmentation below has a module to merge into.
import type {} from 'vitest';
import { migrate } from '../src/store/migrate';
import { createPgliteExecutor } from '../src/store/sql-executor';
import { startDevServer } from '../src/temporal/dev-server';
import { initdbOnce, type PostgresTemplate } from './helpers/postgres';
import { loadWorkflowBundle } from '../src/temporal/workflow-bundle';
import { resolveTemporalCli, resolveTestServer } from '../src/temporal/toolchain';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the one dev server shared by every test file. */
    temporalAddress: string;
    /** Namespace on that server; give each test its own task queue and workflow ids instead. */
    temporalNamespace: string;
    /** The time-skipping test server binary, or '' when only the SDK's download could provide it. */
    testServerPath: string;
    /** A PGlite dump of a migrated in-memory database (test/helpers/migrated-store.ts starts stores from it). */
    migratedStoreDump: string;
    /** A migrated on-disk PGlite directory, to copy into a DATA_DIR as its `pglite/`. */
    migratedStoreDir: string;
    /** The workflows bundled once for the run (test/helpers/stack.ts `workflowBundle()` reads it). */
    workflowBundlePath: string;
    /** A PostgreSQL data directory fresh from initdb, which test/helpers/postgres.ts servers start from a copy of. */
    postgresTemplate: PostgresTemplate | undefined;
  }
}

/**
 * Runs PGlite's initdb and every migration once for the whole run, in memory (dumped to a file) and on disk: each
 * stack and CLI test then starts from a copy instead of paying a few seconds for an empty database. Migrations on
 * empty databases keep their own tests (test/store.test.ts, the CLI's `migrate`).
 */
async function prepareMigratedStores(dir: string): Promise<{ dump: string; dataDir: string }> {
  const dump = join(dir, 'migrated.tar');
  const dataDir = join(dir, 'pglite');
  const executor = await createPgliteExecutor(dataDir);
  try {
    await migrate(executor);
  } finally {
    await executor.close();
  }
  // The same directory as a dump, for in-memory stores (PGlite's own format; loadDataDir reads it back).
  const db = await PGlite.create(dataDir);
  try {
    await writeFile(dump, Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
  } finally {
    await db.close();
  }
  return { dump, dataDir };
}

/**
 * Bundles the workflows (a second or two of webpack) once for the whole run instead of once per test file that
 * runs a worker. Workers load it as `{ code }`; the tracing test bundles its own (with tracing's interceptors).
 * Through the service's own bundle cache, which it fills for the `start` and `worker` processes the tests run.
 */
async function bundleWorkflowsTo(path: string): Promise<void> {
  const { bundle } = await loadWorkflowBundle({ log: (message) => console.warn(`[workflows] ${message}`) });
  await writeFile(path, bundle.code);
}

/**
 * Vitest global setup: starts ONE headless, in-memory dev server for the whole run (parallel servers per file
 * make CI flaky, sdk-typescript #876) and returns its teardown. Test infrastructure may read process.env.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (msg: string) => console.log(`[temporal] ${msg}`);
  const [cli, testServer] = await Promise.all([
    resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, pathEnv: process.env.PATH, log }),
    resolveTestServer({ explicitPath: process.env.TEMPORAL_TEST_SERVER_PATH, pathEnv: process.env.PATH, log }),
  ]);

  const started = Date.now();
  const storesDir = await mkdtemp(join(tmpdir(), 'jo-test-stores-'));
  const bundlePath = join(storesDir, 'workflows.js');
  const [server, stores, , postgresTemplate] = await Promise.all([
    startDevServer({ cli, namespace: 'default', ui: false, logLevel: 'error' }),
    prepareMigratedStores(storesDir),
    bundleWorkflowsTo(bundlePath),
    initdbOnce(),
  ]);
  log(`Dev server (${cli.source}) up at ${server.address}, migrated stores and workflow bundle ready, in ${Date.now() - started} ms.`);

  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', server.namespace);
  project.provide(
    'testServerPath',
    testServer.executable.type === 'existing-path' ? testServer.executable.path : '',
  );

  project.provide('migratedStoreDump', stores.dump);
  project.provide('migratedStoreDir', stores.dataDir);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('postgresTemplate', postgresTemplate);
  // In watch mode a rerun may follow an edit of the workflows: bundle them again first.
  project.onTestsRerun(() => bundleWorkflowsTo(bundlePath));

  return async () => {
    await server.stop();
    await rm(storesDir, { recursive: true, force: true });
    if (postgresTemplate) await rm(dirname(postgresTemplate.data), { recursive: true, force: true });
  };
}
