import type { SessionScript } from '../../src/sandbox/jules-emulator';

/** The pull request URL template the Jules emulator fills in (owner, repo, number). */
const PR = 'https://github.com/{owner}/{repo}/pull/{number}';

/**
 * A Jules session long enough to stop or crash a process in the middle: `steps` progress updates 300 ms apart
 * ("Editing file i of steps"), then a pull request.
 */
export function longSession(steps: number): SessionScript {
  return [
    ...Array.from({ length: steps }, (_, i) => ({
      afterMs: 300,
      state: 'IN_PROGRESS',
      activity: { originator: 'agent' as const, progressUpdated: { title: `Editing file ${i + 1} of ${steps}` } },
    })),
    { afterMs: 300, state: 'COMPLETED', pullRequestUrl: PR, activity: { originator: 'system', sessionCompleted: {} } },
  ];
}
