/** Options of {@link retryWithBackoff}. */
export interface BackoffOptions {
  /** The first pause; each next one doubles, up to `maxMs`. Default 1 s. */
  readonly initialMs?: number;
  /** Default 30 s. */
  readonly maxMs?: number;
  /** Stops the retries: the pause ends at once and the abort reason is thrown. */
  readonly signal?: AbortSignal;
  /** Which failures are worth another try; the others are thrown at once. Default: all. */
  readonly retryable?: (error: unknown) => boolean;
  /** Told before each pause, so the process says why it is waiting (attempts count from 1). */
  readonly onRetry?: (failure: { readonly attempt: number; readonly delayMs: number; readonly error: unknown }) => void;
}

/**
 * Runs `attempt` until it resolves, pausing 1 s, 2 s, 4 s … (at most `maxMs`, with up to 10 % jitter so many
 * processes do not retry in step) between failures. Used where a process must wait for a dependency to come up.
 */
export async function retryWithBackoff<T>(attempt: (n: number) => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const { initialMs = 1_000, maxMs = 30_000, signal, retryable = () => true, onRetry } = options;
  for (let n = 1; ; n++) {
    signal?.throwIfAborted();
    try {
      return await attempt(n);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!retryable(error)) throw error;
      const base = Math.min(maxMs, initialMs * 2 ** (n - 1));
      const delayMs = Math.round(base * (1 + Math.random() * 0.1));
      onRetry?.({ attempt: n, delayMs, error });
      await pause(delayMs, signal);
    }
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
