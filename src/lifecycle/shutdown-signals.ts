/**
 * The signals that end a long-running command (`start`, `worker`, `ingress`), owned by the CLI from its first line
 * rather than by the Temporal SDK's Runtime: the Runtime would stop only the worker (and ignore a signal that comes
 * while the process is still starting), leaving the ingress up and answering Discord.
 */

/** What ends a long-running command cleanly. SIGQUIT and SIGUSR2 keep Node's default (the process dies at once). */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** The exit code of a process ended by `signal` without a clean stop, as a shell reports it (128 + number). */
const FORCED_EXIT_CODE: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** A shutdown request: the first signal asks for a clean stop, a second one ends the process at once. */
export interface ShutdownSignals {
  /** Aborted on the first signal; start-up steps check it, so a signal during start-up stops the start. */
  readonly signal: AbortSignal;
  /** Resolves with the first signal. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Gives the signals back to Node's defaults (commands that do not run a service). */
  release(): void;
}

/** Options of {@link ownShutdownSignals}. */
export interface OwnShutdownSignalsOptions {
  /** Where the second signal is reported before the process exits. */
  readonly say?: (line: string) => void;
  /** Ends the process; tests of this module pass a recorder. Default `process.exit`. */
  readonly exit?: (code: number) => void;
}

/** Installs the handlers: call it before anything slow, so no signal falls into the SDK's or Node's defaults. */
export function ownShutdownSignals({ say = (line) => process.stderr.write(`${line}\n`), exit = (code) => process.exit(code) }: OwnShutdownSignalsOptions = {}): ShutdownSignals {
  const controller = new AbortController();
  let resolveRequested!: (signal: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((resolve) => (resolveRequested = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      controller.abort(new ShutdownRequestedError(signal));
      resolveRequested(signal);
      return;
    }
    say(`${signal} again: exiting now, without waiting for the clean stop to finish`);
    exit(FORCED_EXIT_CODE[signal] ?? 1);
  };
  for (const name of SHUTDOWN_SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    requested,
    release: () => {
      for (const name of SHUTDOWN_SIGNALS) process.off(name, onSignal);
    },
  };
}

/** The abort reason of {@link ShutdownSignals.signal}: thrown by a start-up step that saw the request. */
export class ShutdownRequestedError extends Error {
  readonly received: NodeJS.Signals;
  constructor(received: NodeJS.Signals) {
    super(`${received} received: stopping`);
    this.received = received;
    this.name = 'ShutdownRequestedError';
  }
}
