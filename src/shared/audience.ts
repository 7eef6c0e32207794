/**
 * Who sees what a task's activities announce, as an activity input names it. Optional in every input (running
 * tasks replay inputs without it), and absent means the task's own thread, as before the field existed. A plan's
 * thread (one line per issue) is the next member of this union.
 */
export type Audience = { readonly kind: 'task_thread' };

/** The audience of a task started by `/jules`: its thread under the card. */
export const TASK_THREAD: Audience = { kind: 'task_thread' };
