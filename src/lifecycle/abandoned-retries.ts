import type { Logger } from 'pino';

/**
 * Keeps a stopping process from dying on the Temporal client's abandoned retries. The client's gRPC retry
 * interceptor schedules each retry on a timer that `Connection.close()` does not clear; when it fires after the
 * close, grpc-js throws "Channel has been shut down" out of the timer, and the process that had stopped cleanly
 * exits 1 (reproduced by test/temporal-down.test.ts: a SIGTERM while `/jules` calls still retry against a down
 * server). Installed when the stop begins, it drops exactly that error, from that interceptor, and leaves every other
 * uncaught exception fatal as Node would. Returns the uninstall.
 * @see https://github.com/grpc/grpc-node/blob/master/packages/grpc-js/src/internal-channel.ts (createCall)
 */
export function ignoreAbandonedGrpcRetries(log: Pick<Logger, 'debug' | 'fatal'>): () => void {
  const onUncaught = (error: Error) => {
    if (isAbandonedRetry(error)) {
      log.debug({ err: error.message }, 'a Temporal call abandoned by the stop tried again after its connection closed');
      return;
    }
    // As Node does without a handler: say it, and exit 1.
    log.fatal({ err: error }, 'uncaught exception while stopping');
    process.stderr.write(`${error.stack ?? String(error)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', onUncaught);
  return () => process.off('uncaughtException', onUncaught);
}

/** grpc-js's refusal to start a call on a closed channel, thrown from the Temporal client's retry timer. */
export function isAbandonedRetry(error: unknown): boolean {
  return error instanceof Error && error.message === 'Channel has been shut down' && /grpc-retry/.test(error.stack ?? '');
}
