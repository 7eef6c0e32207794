/** The workflows a worker registers. Re-exports only. */
export { taskWorkflow } from './task.workflow';
export { pullRequestFollowWorkflow } from './pr-follow.workflow';
export { planWorkflow } from './plan.workflow';
export { scheduledPlanWorkflow } from './scheduled-plan.workflow';
