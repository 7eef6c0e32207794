import pino, { type Logger } from 'pino';

/**
 * Paths pino censors in every log line. Keys and tokens never reach a log by design; this is the net
 * under that rule, for a field someone adds later. `taskToken` is the Temporal SDK's: its activity log lines
 * carry the attempt's task token, with which anyone who can call the namespace may complete or fail that
 * activity (a capability, and what gitleaks flags); the workflow id, activity id and attempt beside it
 * already say which attempt a line is about.
 */
export const REDACTED_PATHS = [
  'apiKey', '*.apiKey', 'key', '*.key', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'headers["x-goog-api-key"]', 'plaintext', '*.plaintext', 'taskToken',
];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Fields added to every line, e.g. tracing's `{ trace_id, span_id }` of the active span (`Tracing.logFields`). */
  readonly fields?: () => Record<string, string>;
}

/** Creates the service's structured logger, writing JSON lines to `destination` (default stdout). */
export function createLogger(level: string, destination?: pino.DestinationStream, options: LoggerOptions = {}): Logger {
  return pino(
    { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'jules-orchestrator' }, ...(options.fields ? { mixin: options.fields } : {}) },
    destination,
  );
}
