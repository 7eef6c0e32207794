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
import type { FixAnswer } from '../activities/fix.activities';
import type { FailingCheck, FollowPullRequestInput, FollowPullRequestResult, MergePullRequestInput } from '../activities/github.activities';
import { isConfirmer } from '../src/shared/permissions';
import { runInterruptibly } from './lib/race';
import { fixChecksUpdate, githubEventSignal, mergeUpdate, pullRequestQuery, type MergeAnswer } from './messages';

/**
 * Patch marker: the PR is followed by one heartbeating activity that looks, edits the status message, waits for
 * webhook deliveries (noted in the store by the ingress) and returns only when a decision changes, instead of an
 * activity per look and a timer per wait, woken by a signal per delivery. Histories from before replay the old loop.
 */
export const FOLLOW_IN_ONE_ACTIVITY = 'pr-follow-in-one-activity';

/** Patch marker: a PR that turns red sends its failing checks back to Jules by itself, when the guild says so. */
export const FIX_FAILING_CHECKS = 'fix-failing-checks';

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
  /** Who asked for the task: they may ask Jules to fix failing checks, as confirmers may. */
  readonly requesterId?: string;
  /** Failing checks back to Jules: by themselves (`auto`), or on a click; at most `maxAttempts` per PR. Absent: never. */
  readonly fix?: { readonly auto: boolean; readonly maxAttempts: number };
  /** After continue-as-new: the last look, when following ends, and the fix requests already sent. */
  readonly carried?: { readonly last: FollowPullRequestResult; readonly deadlineAt: number; readonly fixes?: { readonly sent: readonly string[]; readonly attempts: number } };
}

/** How following ended. */
export interface PullRequestFollowOutcome {
  readonly state: 'merged' | 'closed' | 'deadline';
  readonly verdict?: FollowPullRequestResult['verdict'];
}

// Unlimited attempts within a bound: a GitHub outage delays a look, it never ends the following.
const { followPullRequest, mergePullRequest, askJulesToFix } = proxyActivities<Activities>({
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
  // Each failed check at each head goes to Jules at most once (`<sha>:<check name>`), and a PR gets at most maxAttempts.
  const fixesSent = new Set(input.carried?.fixes?.sent ?? []);
  let fixAttempts = input.carried?.fixes?.attempts ?? 0;
  let fixing = false;
  /** The failing checks of the last look that were not sent yet, or why none can be sent now. */
  const fixable = (): { readonly checks: readonly FailingCheck[] } | { readonly refusal: string } => {
    if (!input.fix) return { refusal: 'Sending failing checks to Jules is not set up for this pull request.' };
    if (last?.state !== 'open' || last.verdict !== 'failed' || !last.headSha || !last.failing?.length) return { refusal: 'No check of this pull request is failing at its current head.' };
    if (fixing) return { refusal: 'A fix request for this pull request is being sent right now.' };
    if (fixAttempts >= input.fix.maxAttempts) return { refusal: `Jules was already asked to fix this pull request ${fixAttempts} time${fixAttempts === 1 ? '' : 's'}, the most this server allows.` };
    const checks = last.failing.filter((check) => !fixesSent.has(`${last!.headSha}:${check.name}`));
    if (checks.length === 0) return { refusal: 'Jules was already sent these failing checks at this commit; wait for its push.' };
    return { checks };
  };
  async function askForFix(by?: string): Promise<FixAnswer> {
    const found = fixable();
    if ('refusal' in found) return { sent: false, text: found.refusal };
    const headSha = last!.headSha!;
    fixing = true;
    fixAttempts += 1;
    for (const check of found.checks) fixesSent.add(`${headSha}:${check.name}`);
    try {
      return await askJulesToFix({ taskId: pull.taskId, number: pull.number, headSha, failing: found.checks, threadId: pull.threadId, attempt: fixAttempts, maxAttempts: input.fix!.maxAttempts, ...(by ? { by } : {}) });
    } catch (err) {
      // Jules refused for good (the activity retries what may heal): the attempt does not count, and following goes on.
      if (isCancellation(err)) throw err;
      fixAttempts -= 1;
      for (const check of found.checks) fixesSent.delete(`${headSha}:${check.name}`);
      return { sent: false, text: `Jules could not be asked to fix the checks: ${err instanceof Error ? ((err.cause instanceof Error ? err.cause.message : undefined) ?? err.message) : String(err)}` };
    } finally {
      fixing = false;
    }
  }
  setHandler(fixChecksUpdate, ({ member }) => askForFix(member.id), {
    validator: ({ member }) => {
      if (member.id !== input.requesterId && !isConfirmer(member, { confirmRoles: input.confirmRoles ?? [] })) {
        throw new Error('Only the requester or a member with a confirm role can ask Jules to fix this pull request.');
      }
      const found = fixable();
      if ('refusal' in found) throw new Error(found.refusal);
    },
  });
  /** With the guild's setting on, a PR red at a head with checks not sent yet goes back to Jules at once. */
  async function fixIfAsked(): Promise<void> {
    if (input.fix?.auto && last?.verdict === 'failed' && 'checks' in fixable() && patched(FIX_FAILING_CHECKS)) await askForFix();
  }
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
        if (!last) throw new Error('I am still reading this pull request on GitHub: try again in a moment.');
        if (last.state !== 'open' || !last.headSha) throw new Error('This pull request is not open any more.');
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
      return continueAsNew<typeof pullRequestFollowWorkflow>({ ...rest, carried: { last, deadlineAt, ...(fixAttempts ? { fixes: { sent: [...fixesSent], attempts: fixAttempts } } : {}) } });
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
        await fixIfAsked();
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
