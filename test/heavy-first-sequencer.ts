import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The slowest test files, slowest first (from CI runs on 2 cores). They wait on processes, timers and heartbeat
 * timeouts more than they use the CPU; started first, they overlap the many short files instead of being the tail
 * of the run. Refresh the list when a file becomes one of the slowest (each run prints every file's time).
 */
const HEAVY_FILES = [
  'test/task-session.test.ts',
  'test/plan.test.ts',
  'test/temporal-down.test.ts',
  'test/temporal-tls.test.ts',
  'test/pr-follow.test.ts',
  'test/task-faults.test.ts',
  'test/cli.test.ts',
  'test/dispatcher.test.ts',
  'test/task-workflow.test.ts',
  'test/store.test.ts',
  'test/temporal-crash.test.ts',
  'test/plan-worker-crash.test.ts',
  'test/container.test.ts',
  'test/upstream-storms.test.ts',
  'test/discord-burst.test.ts',
  'test/network-faults.test.ts',
  'test/deployment-kill.test.ts',
  'test/shutdown-restart.test.ts',
  'test/shutdown.test.ts',
  'test/task-trust.test.ts',
  'test/demo-plan.test.ts',
];

/**
 * Vitest's sequencer with {@link HEAVY_FILES} first, in that order. Vitest orders the rest itself: by the durations
 * it cached from an earlier run, and on a clean clone (no cache) by file size, which put a one-test file that runs
 * for minutes last.
 */
export class HeavyFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const at = HEAVY_FILES.indexOf(relative(spec.project.config.root, spec.moduleId).split('\\').join('/'));
      return at === -1 ? HEAVY_FILES.length : at;
    };
    const rest = await super.sort(files);
    // Array.prototype.sort is stable: files outside the list keep vitest's order behind the listed ones.
    return rest.sort((a, b) => rank(a) - rank(b));
  }
}
