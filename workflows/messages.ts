import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FixAnswer } from '../activities/fix.activities';
import type { FollowPullRequestResult as PullRequestLook } from '../activities/github.activities';
import type { PlanProposal, PlanView, ShipReport } from '../src/shared/plan';
import type { Admission, Cancellation, Decision, JulesEvent, Member, PlanDecision, Reply, TaskView } from '../src/shared/task';

/**
 * Every signal, update and query of the task workflow, defined once. The ingress and the workflow import
 * these objects; nobody retypes the names. Updates answer the clicker at once; their validators refuse
 * (without writing history) anyone without the role, and anything the task no longer waits for.
 */

/**
 * Waits for the admission decision and returns it. Ingresses from before admission moved into the ingress sent it
 * with update-with-start; kept so their requests (a rolling deploy) are still answered. Today's ingress admits
 * itself and starts the workflow with the admission in its input.
 */
export const admissionUpdate = defineUpdate<Admission>('admission');

/** Confirm or Reject on the card: members of `confirm_roles`, while the task waits for confirmation. */
export const decisionUpdate = defineUpdate<TaskView, [Decision]>('decision');

/** Approve or Request changes on Jules' plan: members of `confirm_roles`, while the plan waits. */
export const planDecisionUpdate = defineUpdate<TaskView, [PlanDecision]>('planDecision');

/** A reply for Jules: the requester or a confirmer, while the task is being worked on. */
export const replyUpdate = defineUpdate<TaskView, [Reply]>('reply');

/** Cancel: the requester or a confirmer, while the task is not finished. */
export const cancelUpdate = defineUpdate<TaskView, [Cancellation]>('cancel');

/** A pushed Jules event: the task polls at once. */
export const julesEventSignal = defineSignal<[JulesEvent]>('julesEvent');

/**
 * A GitHub webhook event about a followed pull request: the follow-through looks at the PR at once. A hint to
 * re-read, never trusted as the PR's state, so a lost or repeated one costs at most one look.
 */
export const githubEventSignal = defineSignal<[{ readonly event: string; readonly deliveryId: string }]>('githubEvent');

/**
 * Merge on the PR status message: members of `confirm_roles`, while the PR is open and green at the head last
 * looked at. The merge is guarded by that head, so a push after the look is refused by GitHub (409), never merged.
 */
export const mergeUpdate = defineUpdate<MergeAnswer, [{ readonly member: Member }]>('merge');

/**
 * "Ask Jules to fix" on the PR status message: the requester or a confirmer, while the PR is red at its head, at most
 * the guild's number of times per PR and never twice for the same checks at the same head.
 */
export const fixChecksUpdate = defineUpdate<FixAnswer, [{ readonly member: Member }]>('fixChecks');

/** What a Merge click is answered with: merged, or why not, in words for the clicker. */
export interface MergeAnswer {
  readonly merged: boolean;
  readonly text: string;
}

/** How a followed pull request stood at the last look. */
export const pullRequestQuery = defineQuery<PullRequestLook | undefined>('pullRequest');

/** The task as Discord should show it; undefined before admission or after a refusal. */
export const taskViewQuery = defineQuery<TaskView | undefined>('taskView');

// ---- The plan workflow (`plan.workflow.ts`) ----

/** Waits until the plan is proposed (or refused, or empty) and returns it: `/plan` sends it with update-with-start. */
export const planProposalUpdate = defineUpdate<PlanProposal>('planProposal');

/**
 * Approve: members of `confirm_roles` (not the proposer under the two-person rule), while the plan is proposed, for
 * the revision they saw.
 */
export const approvePlanRunUpdate = defineUpdate<PlanView, [{ readonly member: Member; readonly revision?: number }]>('approvePlanRun');

/** Drop items before approval: confirmers and the proposer, for the revision they saw. */
export const dropPlanItemsUpdate = defineUpdate<PlanView, [{ readonly member: Member; readonly revision: number; readonly issueNumbers: readonly number[] }]>('dropPlanItems');

/** Cancel the run: confirmers and the proposer, while it is not over. Running items are cancelled. */
export const cancelPlanRunUpdate = defineUpdate<PlanView, [{ readonly member: Member }]>('cancelPlanRun');

/** `/ship`: confirmers, while the run is running. Merges every item green at its current head, in issue order. */
export const shipPlanRunUpdate = defineUpdate<ShipReport, [{ readonly member: Member }]>('shipPlanRun');

/** Something about an item's pull request changed (merged, closed): the plan looks at its items again. */
export const planItemSignal = defineSignal<[{ readonly issueNumber: number }]>('planItem');

/** The plan as Discord shows it. */
export const planViewQuery = defineQuery<PlanView | undefined>('planView');
