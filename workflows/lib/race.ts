import { CancellationScope, condition, isCancellation } from '@temporalio/workflow';

/** What {@link runUnlessInterrupted} ended with: the work's value, or an interruption (the work was cancelled). */
export type RaceResult<T> = { readonly done: true; readonly value: T } | { readonly done: false };

/**
 * Runs `work` (an activity, usually) in a scope of its own until `interrupted()` becomes true. When the work
 * finishes first, the wait is dropped; when the interruption comes first, the work is cancelled and waited for
 * (its activities use WAIT_CANCELLATION_COMPLETED), so the caller acts only once it has really stopped. The
 * work's own failure is thrown, as is a cancellation of the enclosing scope: only our interruption is swallowed.
 */
export async function runUnlessInterrupted<T>(work: () => Promise<T>, interrupted: () => boolean): Promise<RaceResult<T>> {
  const workScope = new CancellationScope();
  const working = workScope.run(work);
  // The wait is scoped too, so a finished work leaves no condition behind.
  const waitScope = new CancellationScope();
  const waiting = waitScope.run(() => condition(interrupted));
  let first: RaceResult<T>;
  try {
    first = await Promise.race([working.then((value) => ({ done: true as const, value })), waiting.then(() => ({ done: false as const }))]);
  } finally {
    waitScope.cancel();
    await waiting.catch(ignoreCancellation);
  }
  if (!first.done) {
    workScope.cancel();
    await working.catch(ignoreCancellation);
  }
  return first;
}

/** A `.catch` for a promise whose scope we cancelled ourselves: its cancellation is expected, anything else is not. */
export function ignoreCancellation(err: unknown): void {
  if (!isCancellation(err)) throw err;
}

/**
 * Like {@link runUnlessInterrupted}, but keeps the work's value when it finished all the same after being
 * cancelled (an activity that completed before the cancel reached it): `interrupted` says the interruption came
 * first, `value` is there whenever the work finished. A look that was already done is then not thrown away.
 */
export async function runInterruptibly<T>(work: () => Promise<T>, interrupted: () => boolean): Promise<{ readonly interrupted: boolean; readonly value?: T }> {
  let value: { readonly value: T } | undefined;
  const raced = await runUnlessInterrupted(async () => {
    const finished = await work();
    value = { value: finished };
    return finished;
  }, interrupted);
  if (raced.done) return { interrupted: false, value: raced.value };
  return value ? { interrupted: true, value: value.value } : { interrupted: true };
}
