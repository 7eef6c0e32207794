import type { SqlExecutor } from './sql-executor';

/**
 * Which webhook deliveries were already acted on (`webhook_deliveries`), so a redelivery has no second
 * effect. Kept apart from the Store port: only the webhook routes need it.
 */
export interface DeliveryLog {
  /**
   * Records a delivery of `source` (e.g. `jules`) and says whether this is the first time it is seen.
   * Atomic: of two concurrent calls with the same id, exactly one gets true.
   */
  recordDelivery(source: string, deliveryId: string): Promise<boolean>;
  /** Removes a recorded delivery, when acting on it failed and the sender's retry must go through. */
  forgetDelivery(source: string, deliveryId: string): Promise<void>;
  /**
   * Removes the deliveries received before `olderThan`, of `source` only when given (each sender is remembered
   * for as long as it may redeliver, so one route must not forget another's), else of every source; returns
   * how many.
   */
  pruneDeliveries(olderThan: Date, source?: string): Promise<number>;
  /**
   * Says what a recorded delivery was about (`subject`: for GitHub, the task whose pull request it concerns), so
   * whoever follows that subject notices it through {@link countDeliveries}, without a message of its own.
   */
  noteSubject(source: string, deliveryId: string, subject: string): Promise<void>;
  /**
   * How many remembered deliveries of `source` are about each of `subjects` (one left out: none). A new delivery
   * moves its subject's count; so does forgetting old ones, which costs a follower one needless look at most.
   */
  countDeliveries(source: string, subjects: readonly string[]): Promise<Map<string, number>>;
}

/**
 * The Postgres adapter (pg or PGlite). The primary key `(source, delivery_id)` makes the insert the
 * dedupe: `on conflict do nothing` returns no row for an id already there.
 */
export function createPostgresDeliveryLog(executor: SqlExecutor): DeliveryLog {
  return {
    async recordDelivery(source, deliveryId) {
      const rows = await executor.query<{ delivery_id: string }>(
        'insert into webhook_deliveries (source, delivery_id) values ($1, $2) on conflict do nothing returning delivery_id',
        [source, deliveryId],
      );
      return rows.length === 1;
    },
    async forgetDelivery(source, deliveryId) {
      await executor.query('delete from webhook_deliveries where source = $1 and delivery_id = $2', [source, deliveryId]);
    },
    async pruneDeliveries(olderThan, source) {
      const [row] = await executor.query<{ pruned: number }>(
        'with gone as (delete from webhook_deliveries where received_at < $1 and ($2::text is null or source = $2) returning 1) select count(*)::int as pruned from gone',
        [olderThan.toISOString(), source ?? null],
      );
      return row?.pruned ?? 0;
    },
    async noteSubject(source, deliveryId, subject) {
      await executor.query('update webhook_deliveries set subject = $3 where source = $1 and delivery_id = $2', [source, deliveryId, subject]);
    },
    async countDeliveries(source, subjects) {
      if (subjects.length === 0) return new Map();
      const rows = await executor.query<{ subject: string; deliveries: number }>('select subject, deliveries from jo_count_deliveries($1, $2::text[])', [source, [...subjects]]);
      return new Map(rows.map((row) => [row.subject, Number(row.deliveries)]));
    },
  };
}
