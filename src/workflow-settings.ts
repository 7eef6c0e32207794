import type { PlanSettings } from '../workflows/plan.workflow';
import type { TaskSettings } from '../workflows/task.workflow';
import type { Config } from './config';

/**
 * What each new task workflow is started with, from config: timeouts, the Jules poll interval and, with GitHub,
 * how its pull request is followed. One place, so the ingress and the plan's schedules never disagree.
 */
export function taskSettingsOf(config: Config, options: { readonly github: boolean }): TaskSettings {
  const { timeouts } = config;
  return {
    confirmationTimeoutMs: timeouts.confirmationMs,
    pollIntervalMs: config.jules.pollIntervalMs,
    deadlineMs: timeouts.taskDeadlineMs,
    watchHeartbeatTimeoutMs: timeouts.watchHeartbeatMs,
    ...(options.github ? { pullRequests: { reconcileEveryMs: timeouts.prReconcileMs, deadlineMs: timeouts.prFollowDeadlineMs } } : {}),
  };
}

/** What each plan run is started with, from config; plans stand on GitHub, so their items always follow PRs. */
export function planSettingsOf(config: Config): PlanSettings {
  return {
    approvalTimeoutMs: config.timeouts.planApprovalMs,
    runDeadlineMs: config.timeouts.taskDeadlineMs + config.timeouts.prFollowDeadlineMs,
    task: taskSettingsOf(config, { github: true }),
  };
}
