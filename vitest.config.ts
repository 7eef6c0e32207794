import { defineConfig } from 'vitest/config';
import { HeavyFirstSequencer } from './test/heavy-first-sequencer';

// Vitest loads its config through a default export; the one exception to the named-exports rule.
export default defineConfig({
  test: {
    environment: 'node',
    // Forks, not threads: the Temporal native bridge misbehaved in worker threads (sdk-typescript #876).
    pool: 'forks',
    // Three files at once on CI's two cores: most files wait on timers, processes and heartbeat timeouts about as
    // long as they compute (a file alone keeps about 0.8 of a core busy), so a third fills the gaps; measured
    // 512 s against 600 s with two. Isolated, one process per file: see README "Development" for why not shared.
    poolOptions: { forks: { minForks: 1, maxForks: 3 } },
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // The slowest files start first, so the run does not end on one of them alone.
    sequence: { sequencer: HeavyFirstSequencer },
    testTimeout: 60_000,
    // A first run may pip-install the Temporal CLI and test server before the dev server starts.
    hookTimeout: 180_000,
  },
});
