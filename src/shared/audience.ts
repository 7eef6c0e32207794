/**
 * Who sees what a task's activities announce, as an activity input names it. Optional in every input (running
 * tasks replay inputs without it), and absent means the task's own thread, as before the field existed. A plan's
 * thread is the other.
 */
export type Audience =
  | { readonly kind: 'task_thread' }
  /** A plan item: its messages go to the plan's thread, each labelled with the item's issue. */
  | { readonly kind: 'plan_thread'; readonly runId: string; readonly issueNumber: number; readonly issueTitle: string };

/** The audience of a task started by `/jules`: its thread under the card. */
export const TASK_THREAD: Audience = { kind: 'task_thread' };
