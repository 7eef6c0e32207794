import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { FixAnswer } from '../../activities/fix.activities';
import type { TaskSettings, taskWorkflow } from '../../workflows/task.workflow';
import { admissionUpdate, cancelUpdate, decisionUpdate, fixChecksUpdate, julesEventSignal, mergeUpdate, planDecisionUpdate, replyUpdate, taskViewQuery, type MergeAnswer } from '../../workflows/messages';
import { pullRequestFollowId } from '../shared/ids';
import { GUILD_ID, REQUESTER_ID } from '../shared/search-attributes';
import { isClosed, settle } from './updates';
import type { Admission, Cancellation, Decision, JulesEvent, Member, PlanDecision, Reply, TaskRequest, TaskView } from '../shared/task';

/** What the ingress learns from submitting a `/jules` request. */
export type SubmitResult = { readonly kind: 'admission'; readonly admission: Admission } | { readonly kind: 'duplicate' };

/** What the ingress learns from a click or modal that acts on a task (an update). */
export type DecideResult =
  | { readonly kind: 'decided'; readonly view: TaskView }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'gone' };

/** What a Merge click learns: the follow-through's answer, its validator's refusal, or that nothing follows the PR. */
export type MergeResult = { readonly kind: 'answered'; readonly answer: MergeAnswer } | { readonly kind: 'refused'; readonly reason: string } | { readonly kind: 'gone' };

/** What an "Ask Jules to fix" click learns, like a Merge click. */
export type FixResult = { readonly kind: 'answered'; readonly answer: FixAnswer } | { readonly kind: 'refused'; readonly reason: string } | { readonly kind: 'gone' };

/** The ingress's port to the task workflows: start one per `/jules`, pass clicks as updates. */
export interface TaskControl {
  submit(request: TaskRequest): Promise<SubmitResult>;
  /** Confirm or Reject on the card. */
  decide(taskId: string, decision: Decision): Promise<DecideResult>;
  /** Approve or Request changes on Jules' plan. */
  decidePlan(taskId: string, decision: PlanDecision): Promise<DecideResult>;
  /** A reply (modal or thread message) for Jules. */
  reply(taskId: string, reply: Reply): Promise<DecideResult>;
  /** Cancel the task. */
  cancel(taskId: string, cancellation: Cancellation): Promise<DecideResult>;
  /** The task as Discord shows it, or undefined for an unknown, refused or vanished task. */
  view(taskId: string): Promise<TaskView | undefined>;
  /** Merge on a task's PR status message, answered by the PR's follow-through. */
  merge(taskId: string, member: Member): Promise<MergeResult>;
  /** "Ask Jules to fix" on a task's PR status message, answered by the PR's follow-through. */
  fix(taskId: string, member: Member): Promise<FixResult>;
  /** Wakes a task with a pushed Jules event; false when the task is not running any more. */
  notifyJulesEvent(taskId: string, event: JulesEvent): Promise<boolean>;
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

    decide: (taskId, decision) => runUpdate(() => client.workflow.getHandle(taskId).executeUpdate(decisionUpdate, { args: [decision] })),
    decidePlan: (taskId, decision) => runUpdate(() => client.workflow.getHandle(taskId).executeUpdate(planDecisionUpdate, { args: [decision] })),
    reply: (taskId, reply) => runUpdate(() => client.workflow.getHandle(taskId).executeUpdate(replyUpdate, { args: [reply] })),
    cancel: (taskId, cancellation) => runUpdate(() => client.workflow.getHandle(taskId).executeUpdate(cancelUpdate, { args: [cancellation] })),
    async merge(taskId, member) {
      const settled = await settle(() => client.workflow.getHandle(pullRequestFollowId(taskId)).executeUpdate(mergeUpdate, { args: [{ member }] }));
      return settled.kind === 'done' ? { kind: 'answered', answer: settled.value } : settled;
    },
    async fix(taskId, member) {
      const settled = await settle(() => client.workflow.getHandle(pullRequestFollowId(taskId)).executeUpdate(fixChecksUpdate, { args: [{ member }] }));
      return settled.kind === 'done' ? { kind: 'answered', answer: settled.value } : settled;
    },

    async view(taskId) {
      try {
        return await client.workflow.getHandle(taskId).query(taskViewQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || isClosed(err)) return undefined;
        throw err;
      }
    },

    async notifyJulesEvent(taskId, event) {
      try {
        await client.workflow.getHandle(taskId).signal(julesEventSignal, event);
        return true;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || isClosed(err)) return false;
        throw err;
      }
    },
  };
}

/** Runs one update of a task; a validator's refusal and a finished task become answers, not errors. */
async function runUpdate(update: () => Promise<TaskView>): Promise<DecideResult> {
  const settled = await settle(update);
  return settled.kind === 'done' ? { kind: 'decided', view: settled.value } : settled;
}

function isAlreadyStarted(err: unknown): boolean {
  return err instanceof Error && (err.name === 'WorkflowExecutionAlreadyStartedError' || /already started/i.test(err.message));
}
