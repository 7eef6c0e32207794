import { Context, sleep } from '@temporalio/activity';

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

/**
 * Waits up to `ms` for `woken` (asked for a couple of seconds at a time) to say true, heartbeating in between;
 * false when the time is up. Throws when the activity is cancelled, as {@link sleepBeating} does.
 */
export async function waitBeating(ms: number, beat: () => void, woken: (withinMs: number) => Promise<boolean>): Promise<boolean> {
  const cancelled = Context.current().cancelled;
  const until = Date.now() + ms;
  for (let left = ms; left > 0; left = until - Date.now()) {
    beat();
    if (await Promise.race([woken(Math.min(left, HEARTBEAT_EVERY_MS)), cancelled])) return true;
  }
  return false;
}

/**
 * Runs `work`, heartbeating every couple of seconds until it settles. For an activity whose one step may wait a
 * long time (a Discord rate limit, a slow Jules or GitHub answer its client retries): with beats it can have a short
 * heartbeat timeout, so a worker that died holding it is noticed in seconds instead of at its start-to-close timeout.
 * The first beat comes after two seconds (the heartbeat timeout counts from the start too): most steps end sooner
 * and cost the server no heartbeat at all.
 */
export async function whileBeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
