import { Runtime, type LogLevel, type LogMetadata, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from 'pino';

/**
 * Sends the Temporal SDK's own log lines (worker state, activity failures) through the service's pino
 * logger, so they are structured, filtered by LOG_LEVEL and redacted like every other line.
 * The Temporal Runtime is one per process and must be installed before the first connection; a second
 * call (another worker in the same process, as in tests) keeps the first logger.
 *
 * The Runtime gets no signals (`shutdownSignals: []`): by default it would take SIGINT, SIGTERM, SIGQUIT and
 * SIGUSR2 and stop only the worker, leaving the ingress answering. The CLI owns them (src/lifecycle/shutdown-signals.ts).
 */
export function installTemporalLogger(log: Logger): void {
  try {
    Runtime.install({ logger: fromPino(log.child({ component: 'temporal' })), shutdownSignals: [] });
  } catch (err) {
    if (!(err instanceof Error && /already (been )?(installed|instantiated)|instance already/i.test(err.message))) throw err;
  }
}

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

function fromPino(log: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => log[LEVELS[level]](meta ?? {}, message);
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}
