import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FollowPullRequestInput, FollowPullRequestResult, MergePullRequestInput } from '../activities/github.activities';
import { isConfirmer } from '../src/shared/permissions';
import { githubEventSignal, mergeUpdate, pullRequestQuery, type MergeAnswer } from './messages';

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
  /** Who may merge from Discord: members of these roles (the task's confirm roles). Absent: nobody. */
  readonly confirmRoles?: readonly string[];
  /** How a Merge click merges (the guild's method). Default squash. */
  readonly mergeMethod?: MergePullRequestInput['method'];
  /** After continue-as-new: the last look and when following ends. */
  readonly carried?: { readonly last: FollowPullRequestResult; readonly deadlineAt: number };
}

/** How following ended. */
export interface PullRequestFollowOutcome {
  readonly state: 'merged' | 'closed' | 'deadline';
  readonly verdict?: FollowPullRequestResult['verdict'];
}

// Unlimited attempts within a bound: a GitHub outage delays a look, it never ends the following.
const { followPullRequest, mergePullRequest } = proxyActivities<Activities>({
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
  let merging = false;
  setHandler(
    mergeUpdate,
    async ({ member }): Promise<MergeAnswer> => {
      merging = true;
      try {
        const sha = last!.headSha!;
        return await mergePullRequest({ taskId: pull.taskId, repo: pull.repo, number: pull.number, sha, method: input.mergeMethod ?? 'squash', by: member.id });
      } finally {
        merging = false;
        // Merged or not, look again: the PR status message says what GitHub now says.
        woken = true;
      }
    },
    {
      // Validators cannot do I/O: the clicker's roles come with the update, the PR's state from the last look.
      validator: ({ member }) => {
        if (!isConfirmer(member, { confirmRoles: input.confirmRoles ?? [] })) throw new Error('Only members with a confirm role can merge this pull request.');
        if (merging) throw new Error('A merge of this pull request is already under way.');
        if (last?.state !== 'open' || !last.headSha) throw new Error('This pull request is not open any more.');
        if (last.verdict !== 'passed' && last.verdict !== 'no_checks') throw new Error('This pull request is not green at its current head yet: its checks must pass first.');
      },
    },
  );

  for (;;) {
    woken = false;
    last = await followPullRequest({
      ...pull,
      ...(last?.messageId ? { messageId: last.messageId } : {}),
      ...(last?.shown ? { shown: last.shown } : {}),
      ...(last?.reposts ? { reposts: last.reposts } : {}),
    });
    const ended = last.state === 'merged' || last.state === 'closed' ? last.state : Date.now() >= deadlineAt ? 'deadline' : undefined;
    if (ended) {
      await condition(allHandlersFinished);
      return { state: ended, ...(last.verdict ? { verdict: last.verdict } : {}) };
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (settings.maxHistoryEvents ?? 1_000)) {
      await condition(allHandlersFinished);
      const { carried: _old, ...rest } = input;
      return continueAsNew<typeof pullRequestFollowWorkflow>({ ...rest, carried: { last, deadlineAt } });
    }
    await condition(() => woken, Math.max(1, Math.min(settings.reconcileEveryMs, deadlineAt - Date.now())));
  }
}
