import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { approvePlanRunUpdate, cancelPlanRunUpdate, dropPlanItemsUpdate, planProposalUpdate, planViewQuery, shipPlanRunUpdate } from '../../workflows/messages';
import type { PlanSettings, PlanWorkflowInput, planWorkflow } from '../../workflows/plan.workflow';
import type { PlanProposal, PlanView, ShipReport } from '../shared/plan';
import { GUILD_ID, REQUESTER_ID } from '../shared/search-attributes';
import type { Member } from '../shared/task';
import { isClosed, settle, type Settled } from './updates';

/** What an update on a plan came to: its answer, the validator's refusal in words, or a run that is over. */
export type PlanResult<T> = Settled<T>;

/** The ingress's port to the plan workflows. */
export interface PlanControl {
  /** `/plan`: starts the run and answers with its proposal; `duplicate` for a redelivered interaction. */
  propose(input: Omit<PlanWorkflowInput, 'settings'>): Promise<{ readonly kind: 'proposal'; readonly proposal: PlanProposal } | { readonly kind: 'duplicate' }>;
  approve(runId: string, member: Member, revision?: number): Promise<PlanResult<PlanView>>;
  drop(runId: string, member: Member, revision: number, issueNumbers: readonly number[]): Promise<PlanResult<PlanView>>;
  cancel(runId: string, member: Member): Promise<PlanResult<PlanView>>;
  ship(runId: string, member: Member): Promise<PlanResult<ShipReport>>;
  /** The run as its workflow holds it, or undefined once it ended (then the projection tells). */
  view(runId: string): Promise<PlanView | undefined>;
}

/**
 * The Temporal adapter: `/plan` is an update-with-start on the run id, so the command is answered with the
 * proposal itself; the card's buttons and the other commands are updates whose validators have the last word.
 */
export function createTemporalPlanControl(options: { readonly client: Client; readonly taskQueue: string; readonly settings: PlanSettings }): PlanControl {
  const { client, taskQueue, settings } = options;
  const handle = (runId: string) => client.workflow.getHandle(runId);
  return {
    async propose(input) {
      const start = new WithStartWorkflowOperation<typeof planWorkflow>('planWorkflow', {
        workflowId: input.runId,
        taskQueue,
        args: [{ ...input, settings }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [{ key: GUILD_ID, value: input.guildId }, ...(input.proposedBy ? [{ key: REQUESTER_ID, value: input.proposedBy.id }] : [])],
      });
      try {
        return { kind: 'proposal', proposal: await client.workflow.executeUpdateWithStart(planProposalUpdate, { startWorkflowOperation: start }) };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'duplicate' };
        throw err;
      }
    },
    approve: (runId, member, revision) => settle(() => handle(runId).executeUpdate(approvePlanRunUpdate, { args: [{ member, ...(revision !== undefined ? { revision } : {}) }] })),
    drop: (runId, member, revision, issueNumbers) => settle(() => handle(runId).executeUpdate(dropPlanItemsUpdate, { args: [{ member, revision, issueNumbers }] })),
    cancel: (runId, member) => settle(() => handle(runId).executeUpdate(cancelPlanRunUpdate, { args: [{ member }] })),
    ship: (runId, member) => settle(() => handle(runId).executeUpdate(shipPlanRunUpdate, { args: [{ member }] })),
    async view(runId) {
      try {
        return await handle(runId).query(planViewQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || isClosed(err)) return undefined;
        throw err;
      }
    },
  };
}
