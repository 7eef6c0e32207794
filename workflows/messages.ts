import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Admission, Decision, TaskView } from '../src/shared/task';

/**
 * Every signal, update and query of the task workflow, defined once. The ingress and the workflow import
 * these objects; nobody retypes the names.
 */

/**
 * Waits for the admission decision and returns it. The ingress sends it with update-with-start, so a
 * `/jules` is answered with the real decision (or a refusal) in one round trip, and a redelivered
 * interaction gets the same answer from the same workflow.
 */
export const admissionUpdate = defineUpdate<Admission>('admission');

/**
 * A Confirm or Reject click. Its validator accepts only members of the guild's `confirm_roles`, while
 * the task still waits for confirmation; a refused click writes nothing to history.
 */
export const decisionUpdate = defineUpdate<TaskView, [Decision]>('decision');

/** The task as Discord should show it; undefined before admission or after a refusal. */
export const taskViewQuery = defineQuery<TaskView | undefined>('taskView');
