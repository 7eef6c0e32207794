/**
 * Work a process has promised to finish before it stops (answers still being delivered late): tracked as it
 * starts, awaited on shutdown within a bound.
 */
export interface InFlight {
  /** Adds `work`; it leaves the set once it settles, whichever way. */
  track(work: Promise<unknown>): void;
  /** How many are still running. */
  readonly size: number;
  /** Resolves once every tracked piece has settled or `timeoutMs` has passed, with how many were still running. */
  settled(timeoutMs: number): Promise<number>;
}

/** An empty {@link InFlight}. */
export function createInFlight(): InFlight {
  const running = new Set<Promise<unknown>>();
  return {
    track(work) {
      const settledWork = work.then(
        () => undefined,
        () => undefined,
      );
      running.add(settledWork);
      void settledWork.then(() => running.delete(settledWork));
    },
    get size() {
      return running.size;
    },
    async settled(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      try {
        await Promise.race([Promise.all(running), limit]);
      } finally {
        clearTimeout(timer);
      }
      return running.size;
    },
  };
}
