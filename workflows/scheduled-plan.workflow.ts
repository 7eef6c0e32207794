import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, startChild, uuid4, workflowInfo } from '@temporalio/workflow';
import { planRunId } from '../src/shared/plan';
import { SCHEDULED_START_TIME } from '../src/shared/plan-schedule';
import { GUILD_ID } from '../src/shared/search-attributes';
import { planWorkflow, type PlanSettings } from './plan.workflow';

/** What a plan schedule's action passes at each firing: where the plan is shown, and how patient it is. */
export interface ScheduledPlanInput {
  readonly guildId: string;
  readonly channelId: string;
  /** `owner/name`. */
  readonly repo: string;
  /** Default: the guild's plan label. */
  readonly label?: string;
  /** From the config of whoever ran `schedule set` (PLAN_APPROVAL_TIMEOUT and the task settings). */
  readonly settings: PlanSettings;
}

/** Which plan a firing proposed. */
export interface ScheduledPlanOutcome {
  readonly runId: string;
}

/** Tries with another run id when one is taken (4 hex a day and repo: unlikely, never impossible). */
const RUN_ID_ATTEMPTS = 3;

/**
 * A plan schedule's action. A schedule can only start a workflow whose id it suffixes with a timestamp, and a plan's
 * id must be the run id people type (`plan-20261201-widgets-7f3a`); so this starts the plan as a child under that
 * id, abandoned so it outlives this workflow, and ends. The plan has no proposer: the guild's default key pays, and
 * it waits for a confirmer's `/approve` like any other.
 */
export async function scheduledPlanWorkflow(input: ScheduledPlanInput): Promise<ScheduledPlanOutcome> {
  // The day the schedule meant, as its recent actions show it: a firing that waited past midnight for a worker keeps it.
  const at = workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME) ?? new Date();
  for (let attempt = 1; ; attempt++) {
    const runId = planRunId(at, input.repo, uuid4().replaceAll('-', ''));
    try {
      await startChild(planWorkflow, {
        workflowId: runId,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [{ key: GUILD_ID, value: input.guildId }],
        args: [
          {
            runId,
            guildId: input.guildId,
            channelId: input.channelId,
            repo: input.repo,
            ...(input.label ? { label: input.label } : {}),
            settings: input.settings,
          },
        ],
      });
      return { runId };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || attempt >= RUN_ID_ATTEMPTS) throw err;
    }
  }
}
