import { sleep } from '@temporalio/activity';

// Cancellation reaches an activity only in a heartbeat's answer, so long sleeps heartbeat as they go: a push,
// a reply or a cancel interrupts a waiting activity within this long.
const HEARTBEAT_EVERY_MS = 2_000;

/** Sleeps, heartbeating every couple of seconds; throws when the activity is cancelled. */
export async function sleepBeating(ms: number, beat: () => void): Promise<void> {
  for (let left = ms; left > 0; left -= HEARTBEAT_EVERY_MS) {
    beat();
    await sleep(Math.min(left, HEARTBEAT_EVERY_MS));
  }
}
