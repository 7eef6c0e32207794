/**
 * Names that the ingress, the workers and operators share: task queue and workflow ids.
 * Workflow ids are plaintext in Temporal, so they carry Discord snowflakes only, never content.
 */

/** Default task queue when `TEMPORAL_TASK_QUEUE` is unset. */
export const DEFAULT_TASK_QUEUE = 'jules-orchestrator';

const TASK_PREFIX = 'task-';

/**
 * The task workflow id for a `/jules` interaction. Derived from the interaction id, so a redelivered
 * interaction lands on the same workflow instead of starting a second one.
 */
export function taskWorkflowId(interactionId: string): string {
  return `${TASK_PREFIX}${interactionId}`;
}

/**
 * The workflow that follows a task's pull request through its checks to merge: one per task, so the webhook
 * finds it from the task a PR belongs to, and a second start for the same task is refused.
 */
export function pullRequestFollowId(taskId: string): string {
  return `pr-${taskId}`;
}

/**
 * The correlation tag put in a Jules session title. Jules has no idempotency key, so a retried
 * create looks for a session whose title carries this tag before creating another.
 */
export function julesCorrelationTag(taskId: string): string {
  return `[jo:${taskId}]`;
}

/**
 * The task workflow of one plan item: `task-<run id>-<issue number>`, so the plan's child is found from the run and
 * the issue, a second start for the same item is refused, and it still reads as a task in the Web UI.
 */
export function planItemTaskId(runId: string, issueNumber: number): string {
  return `${TASK_PREFIX}${runId}-${issueNumber}`;
}
