import {
  ActivityCancellationType,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FollowPullRequestInput, FollowPullRequestResult, MergePullRequestInput } from '../activities/github.activities';
import { isConfirmer } from '../src/shared/permissions';
import { runInterruptibly } from './lib/race';
import { githubEventSignal, mergeUpdate, pullRequestQuery, type MergeAnswer } from './messages';

/**
 * Patch marker: the PR is followed by one heartbeating activity that looks, edits the status message, waits for
 * webhook deliveries (noted in the store by the ingress) and returns only when a decision changes, instead of an
 * activity per look and a timer per wait, woken by a signal per delivery. Histories from before replay the old loop.
 */
export const FOLLOW_IN_ONE_ACTIVITY = 'pr-follow-in-one-activity';

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

// A watch returns after this long even when nothing changed: each attempt is bounded, and a quiet PR costs its
// history one activity an hour, so a week of following stays far below continue-as-new.
const WATCH_MAX_RUN_MS = 60 * 60_000;
// How soon a dead worker's watch is retried elsewhere (as the session watcher's default).
const WATCH_HEARTBEAT_TIMEOUT_MS = 30_000;
// A watch that returned just short of the deadline (the worker's clock ahead of ours) is not started again for it.
const DEADLINE_SLACK_MS = 60_000;

/**
 * The watch's options: attempts retried without limit until the deadline (an outage delays following, it never
 * ends it early), and a cancelled watch is waited for, so the next one never edits the status message beside it.
 */
function watchingActivities(untilDeadlineMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: WATCH_MAX_RUN_MS + 5 * 60_000,
    heartbeatTimeout: WATCH_HEARTBEAT_TIMEOUT_MS,
    scheduleToCloseTimeout: Math.max(1, untilDeadlineMs) + WATCH_MAX_RUN_MS,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '2s', maximumInterval: '1m' },
  });
}

/**
 * Follows a task's pull request from "PR ready" through its checks to merged or closed: webhook deliveries
 * wake it, a slow poll catches what webhooks lost, and one PR status message in the task's thread says how
 * it stands. A workflow of its own (a child the task starts and abandons), so the task's history and outcome
 * stay what they were and a plan's items can follow their PRs the same way.
 */
export async function pullRequestFollowWorkflow(input: PullRequestFollowInput): Promise<PullRequestFollowOutcome> {
  const { pull, settings } = input;
  const deadlineAt = input.carried?.deadlineAt ?? Date.now() + settings.deadlineMs;
  let last: FollowPullRequestResult | undefined = input.carried?.last;
  let woken = false;
  // Still taken: follow-throughs started before FOLLOW_IN_ONE_ACTIVITY are woken this way, and anyone may wake one.
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

  /** The message fields of the last look, for the next activity. */
  const message = () => ({
    ...(last?.messageId ? { messageId: last.messageId } : {}),
    ...(last?.shown ? { shown: last.shown } : {}),
    ...(last?.reposts ? { reposts: last.reposts } : {}),
  });

  /** Ends following, or continues as new when history is long; undefined: follow on. */
  async function endOrContinue(): Promise<PullRequestFollowOutcome | undefined> {
    const ended = last?.state === 'merged' || last?.state === 'closed' ? last.state : Date.now() >= deadlineAt ? 'deadline' : undefined;
    if (ended) {
      await condition(allHandlersFinished);
      return { state: ended, ...(last?.verdict ? { verdict: last.verdict } : {}) };
    }
    if (last && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (settings.maxHistoryEvents ?? 1_000))) {
      await condition(allHandlersFinished);
      const { carried: _old, ...rest } = input;
      return continueAsNew<typeof pullRequestFollowWorkflow>({ ...rest, carried: { last, deadlineAt } });
    }
    return undefined;
  }

  if (patched(FOLLOW_IN_ONE_ACTIVITY)) {
    for (;;) {
      woken = false;
      try {
        // A signal or a merge interrupts the watch, and the next one looks at once.
        const watched = await runInterruptibly(
          () =>
            watchingActivities(deadlineAt - Date.now()).watchPullRequest({
              ...pull,
              ...message(),
              ...(last ? { known: last } : {}),
              reconcileEveryMs: settings.reconcileEveryMs,
              deadlineAt,
              maxRunMs: WATCH_MAX_RUN_MS,
            }),
          () => woken,
        );
        if (watched.value) last = watched.value;
      } catch (err) {
        // Our own interruption is routine; a cancel of the whole workflow is not.
        if (isCancellation(err) && !CancellationScope.current().consideredCancelled) continue;
        // Retried until past the deadline: following ends there, as it would have.
        if (!(err instanceof Error && err.cause instanceof TimeoutFailure && Date.now() >= deadlineAt)) throw err;
      }
      const outcome = await endOrContinue();
      if (outcome) return outcome;
      if (deadlineAt - Date.now() < DEADLINE_SLACK_MS) await condition(() => woken, Math.max(1, deadlineAt - Date.now()));
    }
  }

  // Before FOLLOW_IN_ONE_ACTIVITY: one activity per look, a timer between looks, a signal per delivery.
  for (;;) {
    woken = false;
    last = await followPullRequest({ ...pull, ...message() });
    const outcome = await endOrContinue();
    if (outcome) return outcome;
    await condition(() => woken, Math.max(1, Math.min(settings.reconcileEveryMs, deadlineAt - Date.now())));
  }
}
