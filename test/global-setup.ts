import type { TestProject } from 'vitest/node';
// Loads vitest's types so the ProvidedContext augmentation below has a module to merge into.
import type {} from 'vitest';
import { startDevServer } from '../src/temporal/dev-server';
import { resolveTemporalCli, resolveTestServer } from '../src/temporal/toolchain';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the one dev server shared by every test file. */
    temporalAddress: string;
    /** Namespace on that server; give each test its own task queue and workflow ids instead. */
    temporalNamespace: string;
    /** The time-skipping test server binary, or '' when only the SDK's download could provide it. */
    testServerPath: string;
  }
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
  const server = await startDevServer({ cli, namespace: 'default', ui: false, logLevel: 'error' });
  log(`Dev server (${cli.source}) up at ${server.address} in ${Date.now() - started} ms.`);

  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', server.namespace);
  project.provide(
    'testServerPath',
    testServer.executable.type === 'existing-path' ? testServer.executable.path : '',
  );

  return () => server.stop();
}
