import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FixAnswer } from '../../activities/fix.activities';
import type { TaskSettings, taskWorkflow } from '../../workflows/task.workflow';
import { cancelUpdate, decisionUpdate, fixChecksUpdate, julesEventSignal, mergeUpdate, planDecisionUpdate, replyUpdate, taskViewQuery, type MergeAnswer } from '../../workflows/messages';
import { pullRequestFollowId } from '../shared/ids';
import { GUILD_ID, REQUESTER_ID } from '../shared/search-attributes';
import type { ServiceMetrics } from '../metrics/service-metrics';
import { admitRequest, type AdmissionDeps } from '../tasks/admission';
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

/** What {@link createTemporalTaskControl} needs: Temporal, the task settings, and the store admission records in. */
export interface TemporalTaskControlOptions {
  readonly client: Client;
  readonly taskQueue: string;
  readonly settings: TaskSettings;
  readonly admission: AdmissionDeps & { readonly metrics?: Pick<ServiceMetrics, 'quotaRefusals' | 'admittedTasks'> };
}

/**
 * The Temporal adapter. `/jules` is admitted here, against the store (`tasks/admission.ts`), and an admitted
 * request is then one `workflow.start` keyed by the interaction's workflow id, carrying the admission: the
 * answer waits for the server to record the start, not for a worker. A refused request starts nothing. A
 * redelivery finds its row (the admission is idempotent) and the start refuses the id, so it starts no second
 * task, even after the task ended (the id reuse policy). If the start fails after the row was written (Temporal
 * unreachable), the task reconciler ends the row at its next pass (rows older than a minute whose workflow is unknown).
 * @see docs/ack-design.md
 */
export function createTemporalTaskControl(options: TemporalTaskControlOptions): TaskControl {
  const { client, taskQueue, settings } = options;
  return {
    async submit(request) {
      const { admission, task } = await admitRequest(options.admission, request);
      if (!admission.admitted) return { kind: 'admission', admission };
      try {
        await client.workflow.start<typeof taskWorkflow>('taskWorkflow', {
          workflowId: request.taskId,
          taskQueue,
          args: [{ request, settings, admission }],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [
            { key: GUILD_ID, value: request.guildId },
            { key: REQUESTER_ID, value: request.requester.id },
          ],
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError || isAlreadyStarted(err))) throw err;
        // A redelivery while the task is open reads the same answer as the first delivery; once it ended, it was received.
        return task && task.endedAt === null && task.status === admission.status ? { kind: 'admission', admission } : { kind: 'duplicate' };
      }
      options.admission.metrics?.admittedTasks.inc({ key_source: admission.keySource });
      return { kind: 'admission', admission };
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
