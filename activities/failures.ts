import { ApplicationFailure } from '@temporalio/activity';
import { JulesApiError } from '../src/jules/errors';

/**
 * Converts an error from an adapter into the ApplicationFailure Temporal understands: permanent
 * failures (a rejected key, no access to the repo, bad input) stop retries; rate limits and outages
 * retry, honouring any retry hint. The message is safe to show a user: adapters never put secrets in it.
 */
export function toApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof JulesApiError) {
    if (!err.retryable) return ApplicationFailure.nonRetryable(err.message, 'JulesPermanentError', { status: err.status, code: err.code });
    return ApplicationFailure.create({
      message: err.message,
      type: 'JulesTransientError',
      details: [{ status: err.status, code: err.code }],
      ...(err.retryAfterMs !== undefined ? { nextRetryDelay: err.retryAfterMs } : {}),
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({ message, type: err instanceof Error ? err.name : 'Error' });
}
