import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FollowPullRequestInput, FollowPullRequestResult } from '../activities/github.activities';
import { githubEventSignal, pullRequestQuery } from './messages';

/** How the follow-through paces itself; the ingress passes these from config. */
export interface PullRequestFollowSettings {
  /** How often the PR is looked at without a webhook (GitHub never retries a lost delivery). Default 10 minutes. */
  readonly reconcileEveryMs: number;
  /** Following ends this long after it began (`PR_FOLLOW_DEADLINE`, default 7 days). */
  readonly deadlineMs: number;
  /** Continue-as-new past this many history events. */
  readonly maxHistoryEvents?: number;
}

/** Input of {@link pullRequestFollowWorkflow}. */
export interface PullRequestFollowInput {
  readonly pull: Omit<FollowPullRequestInput, 'messageId' | 'shown' | 'reposts'>;
  readonly settings: PullRequestFollowSettings;
  /** After continue-as-new: the last look and when following ends. */
  readonly carried?: { readonly last: FollowPullRequestResult; readonly deadlineAt: number };
}

/** How following ended. */
export interface PullRequestFollowOutcome {
  readonly state: 'merged' | 'closed' | 'deadline';
  readonly verdict?: FollowPullRequestResult['verdict'];
}

// Unlimited attempts within a bound: a GitHub outage delays a look, it never ends the following.
const { followPullRequest } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '30m',
  retry: { initialInterval: '2s', maximumInterval: '1m' },
});

/**
 * Follows a task's pull request from "PR ready" through its checks to merged or closed: every webhook event
 * wakes it, a slow poll catches what webhooks lost, and one PR status message in the task's thread says how
 * it stands. A workflow of its own (a child the task starts and abandons), so the task's history and outcome
 * stay what they were and a plan's items can follow their PRs the same way.
 */
export async function pullRequestFollowWorkflow(input: PullRequestFollowInput): Promise<PullRequestFollowOutcome> {
  const { pull, settings } = input;
  const deadlineAt = input.carried?.deadlineAt ?? Date.now() + settings.deadlineMs;
  let last: FollowPullRequestResult | undefined = input.carried?.last;
  let woken = false;
  setHandler(githubEventSignal, () => {
    woken = true;
  });
  setHandler(pullRequestQuery, () => last);

  for (;;) {
    woken = false;
    last = await followPullRequest({
      ...pull,
      ...(last?.messageId ? { messageId: last.messageId } : {}),
      ...(last?.shown ? { shown: last.shown } : {}),
      ...(last?.reposts ? { reposts: last.reposts } : {}),
    });
    if (last.state === 'merged' || last.state === 'closed') return { state: last.state, ...(last.verdict ? { verdict: last.verdict } : {}) };
    if (Date.now() >= deadlineAt) return { state: 'deadline', ...(last.verdict ? { verdict: last.verdict } : {}) };
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (settings.maxHistoryEvents ?? 1_000)) {
      return continueAsNew<typeof pullRequestFollowWorkflow>({ pull, settings, carried: { last, deadlineAt } });
    }
    await condition(() => woken, Math.max(1, Math.min(settings.reconcileEveryMs, deadlineAt - Date.now())));
  }
}
