/**
 * Task statuses, as stored in `tasks.status` and shown in Discord and the Web UI.
 * The list is a stable contract (DESIGN.md): add values with a migration, never rename.
 */
export const TASK_STATUSES = [
  'pending_confirmation',
  'in_progress',
  'completed',
  'rejected',
  'failed',
  'cancelled',
  'expired',
  'stalled',
  'needs_attention',
] as const;

/** One of {@link TASK_STATUSES}. */
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses after which nothing more happens to a task. */
export const FINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'completed',
  'rejected',
  'failed',
  'cancelled',
  'expired',
  'needs_attention',
]);

/** Statuses a task can still leave: where a final transition may come from. */
export const OPEN_TASK_STATUSES: readonly TaskStatus[] = ['pending_confirmation', 'in_progress', 'stalled'];

/** Whether a task in this status is finished. */
export function isFinalStatus(status: TaskStatus): boolean {
  return FINAL_TASK_STATUSES.has(status);
}
