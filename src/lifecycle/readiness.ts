/**
 * `/readyz`: whether this process can do its work now (Temporal and the store reachable, its worker running),
 * as opposed to `/healthz`, which only says the process is alive. A load balancer or Kubernetes sends traffic
 * only to a ready process; a draining one answers not ready at once.
 */

/** One dependency's check: resolves with a reason a person can act on when it is not ready, undefined when it is. */
export type ReadinessCheck = () => Promise<string | undefined>;

/** What `/readyz` answers. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** `ok`, or why not, per check (`temporal`, `store`, `worker`, `shutdown`). */
  readonly checks: Readonly<Record<string, string>>;
}

/** The process's readiness: its checks, and whether it is shutting down. */
export interface Readiness {
  /** True once the process has started to stop: new work is refused with 503 and `Retry-After`. */
  readonly draining: boolean;
  /** Marks the process as stopping. */
  startDraining(): void;
  /** Runs every check at once, each within {@link CHECK_TIMEOUT_MS}. */
  report(): Promise<ReadinessReport>;
}

/** How long one check may take before it counts as not ready (Temporal's gRPC waits much longer by itself). */
export const CHECK_TIMEOUT_MS = 2_000;

/** A readiness over `checks`, run in the order given. */
export function createReadiness(checks: Readonly<Record<string, ReadinessCheck>>): Readiness {
  let draining = false;
  return {
    get draining() {
      return draining;
    },
    startDraining() {
      draining = true;
    },
    async report() {
      const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, (await withTimeout(check, name)) ?? 'ok'] as const));
      const all: Record<string, string> = Object.fromEntries(results);
      if (draining) all.shutdown = 'the process is stopping';
      return { ready: Object.values(all).every((result) => result === 'ok'), checks: all };
    },
  };
}

async function withTimeout(check: ReadinessCheck, name: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS)));
  try {
    return await Promise.race([check().catch((err: unknown) => `the ${name} check failed: ${err instanceof Error ? err.message : String(err)}`), limit]);
  } finally {
    clearTimeout(timer);
  }
}
