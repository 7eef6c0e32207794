import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { TaskSettings, taskWorkflow } from '../../workflows/task.workflow';
import { admissionUpdate, decisionUpdate } from '../../workflows/messages';
import { GUILD_ID, REQUESTER_ID } from '../shared/search-attributes';
import type { Admission, Decision, TaskRequest, TaskView } from '../shared/task';

/** What the ingress learns from submitting a `/jules` request. */
export type SubmitResult = { readonly kind: 'admission'; readonly admission: Admission } | { readonly kind: 'duplicate' };

/** What the ingress learns from a Confirm or Reject click. */
export type DecideResult =
  | { readonly kind: 'decided'; readonly view: TaskView }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'gone' };

/** The ingress's port to the task workflows: start one per `/jules`, pass clicks as updates. */
export interface TaskControl {
  submit(request: TaskRequest): Promise<SubmitResult>;
  decide(taskId: string, decision: Decision): Promise<DecideResult>;
}

/**
 * The Temporal adapter. `/jules` is an update-with-start keyed by the interaction's workflow id: the answer
 * is the admission itself, a redelivery lands on the same workflow, and one that arrives after the task
 * ended is refused by the id reuse policy instead of starting a second task.
 * @see https://docs.temporal.io/develop/typescript/message-passing#update-with-start
 */
export function createTemporalTaskControl(options: { client: Client; taskQueue: string; settings: TaskSettings }): TaskControl {
  const { client, taskQueue, settings } = options;
  return {
    async submit(request) {
      const start = new WithStartWorkflowOperation<typeof taskWorkflow>('taskWorkflow', {
        workflowId: request.taskId,
        taskQueue,
        args: [{ request, settings }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: GUILD_ID, value: request.guildId },
          { key: REQUESTER_ID, value: request.requester.id },
        ],
      });
      try {
        const admission = await client.workflow.executeUpdateWithStart(admissionUpdate, { startWorkflowOperation: start });
        return { kind: 'admission', admission };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError || isAlreadyStarted(err)) return { kind: 'duplicate' };
        throw err;
      }
    },

    async decide(taskId, decision) {
      try {
        const view = await client.workflow.getHandle(taskId).executeUpdate(decisionUpdate, { args: [decision] });
        return { kind: 'decided', view };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) return { kind: 'refused', reason: err.cause?.message ?? err.message };
        if (err instanceof WorkflowNotFoundError || isClosed(err)) return { kind: 'gone' };
        throw err;
      }
    },
  };
}

function isAlreadyStarted(err: unknown): boolean {
  return err instanceof Error && (err.name === 'WorkflowExecutionAlreadyStartedError' || /already started/i.test(err.message));
}

function isClosed(err: unknown): boolean {
  return err instanceof Error && /(already completed|workflow execution already|not found)/i.test(err.message);
}
