import pino, { type Logger } from 'pino';

/**
 * Paths pino censors in every log line. Keys and tokens never reach a log by design; this is the net
 * under that rule, for a field someone adds later.
 */
export const REDACTED_PATHS = [
  'apiKey', '*.apiKey', 'key', '*.key', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'headers["x-goog-api-key"]', 'plaintext', '*.plaintext',
];

/** Creates the service's structured logger, writing JSON lines to `destination` (default stdout). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'jules-orchestrator' } }, destination);
}
