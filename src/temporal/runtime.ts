import { Runtime, type LogLevel, type LogMetadata, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from 'pino';

/** Options of {@link installTemporalRuntime}. */
export interface TemporalRuntimeOptions {
  /**
   * `host:port` where the SDK serves its own Prometheus `/metrics` (worker slots, schedule-to-start latency, sticky
   * cache, RPCs: `temporal_*`, histograms in ms, counters without `_total`). Its own HTTP server, apart from fastify.
   * @see https://typescript.temporal.io/api/interfaces/worker.PrometheusMetricsExporter
   */
  readonly metricsBindAddress?: string;
}

/**
 * Installs the process's Temporal Runtime: the SDK's own log lines (worker state, activity failures) go through
 * the service's pino logger, so they are structured, filtered by LOG_LEVEL and redacted like every other line,
 * and with `metricsBindAddress` its metrics are served in Prometheus' format there.
 * The Runtime is one per process and must be installed before the first connection; a second call (another
 * worker in the same process, as in tests) keeps the first. Returns whether this call installed it.
 *
 * The Runtime gets no signals (`shutdownSignals: []`): by default it would take SIGINT, SIGTERM, SIGQUIT and
 * SIGUSR2 and stop only the worker, leaving the ingress answering. The CLI owns them (src/lifecycle/shutdown-signals.ts).
 */
export function installTemporalRuntime(log: Logger, options: TemporalRuntimeOptions = {}): boolean {
  try {
    Runtime.install({
      logger: fromPino(log.child({ component: 'temporal' })),
      shutdownSignals: [],
      ...(options.metricsBindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.metricsBindAddress } } } } : {}),
    });
    return true;
  } catch (err) {
    if (!(err instanceof Error && /already (been )?(installed|instantiated)|instance already/i.test(err.message))) throw err;
    return false;
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
