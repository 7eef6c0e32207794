import { ApplicationFailure, Context, sleep } from '@temporalio/activity';
import { GitHubBadCredentialsError, GitHubError, GitHubHeadMovedError, GitHubNoAccessError, GitHubNotMergeableError } from '../src/github/errors';
import type { GitHubClient, GitHubRequiredChecks, GitHubReview, MergeMethod, RepoRef } from '../src/github/github-client';
import type { MergeAnswer } from '../workflows/messages';
import { judgePullRequest, type CheckLine, type PullRequestStatus } from '../src/github/pr-status';
import { TASK_THREAD, type Audience } from '../src/shared/audience';
import type { PrFollowWakes } from '../src/shared/task';
import type { PrStatusMessage, PrStatusToShow } from '../src/tasks/announcer';
import type { PullRequestMirror } from '../src/discord/pr-mirror';
import { planItemSignal } from '../workflows/messages';
import type { ActivityDeps } from './deps';
import { waitBeating } from './heartbeat';

/** Input of {@link followPullRequest}: which PR, where its status message is, and what it last said. */
export interface FollowPullRequestInput {
  readonly taskId: string;
  /** `owner/name`. */
  readonly repo: string;
  readonly number: number;
  readonly url: string;
  /** The task's thread, where the one PR status message lives (a plan item's: the plan's thread). */
  readonly threadId: string;
  /** A plan item's PR speaks in the plan's thread, labelled with its issue. Absent: the task's own thread. */
  readonly audience?: Audience;
  readonly messageId?: string;
  /** The text the message shows now; nothing is edited while it would not change. */
  readonly shown?: string;
  /** How often the message was posted anew after someone deleted it. */
  readonly reposts?: number;
}

/** Input of `mergePullRequest`. */
export interface MergePullRequestInput {
  readonly taskId: string;
  readonly repo: string;
  readonly number: number;
  /** The head the follow-through judged green: the merge's guard. */
  readonly sha: string;
  readonly method: MergeMethod;
  /** Who clicked Merge (a Discord id), for the log. */
  readonly by: string;
}

/** What the follow-through learns from one look at the PR. */
export interface FollowPullRequestResult {
  /** `unreadable`: the credentials cannot read the PR; the thread was told, and the next look may succeed. */
  readonly state: PullRequestStatus['state'] | 'unreadable';
  readonly verdict?: PullRequestStatus['verdict'];
  readonly headSha?: string;
  /** While red: the failed checks at the head, bounded, with their output excerpts (what a fix request sends). */
  readonly failing?: readonly FailingCheck[];
  readonly messageId?: string;
  readonly shown?: string;
  readonly reposts?: number;
}

/** A failed check as a fix request names it. */
export interface FailingCheck {
  readonly name: string;
  /** The conclusion or status state, e.g. `failure`, `timed_out`. */
  readonly detail: string;
  readonly summary?: string;
  readonly url?: string;
}

/** How many failed checks a look carries: the rest are counted in the status message, not sent. */
const FAILING_MAX = 10;

/** Input of {@link watchPullRequest}: the PR, its status message, and what the workflow knows of it. */
export interface WatchPullRequestInput extends FollowPullRequestInput {
  /** What the workflow last learned; absent (nothing yet), the first look goes back to it. */
  readonly known?: FollowPullRequestResult;
  /** How long to wait for a webhook delivery before looking anyway: GitHub never redelivers a lost one. */
  readonly reconcileEveryMs: number;
  /** When following ends (epoch milliseconds): the watch returns by then. */
  readonly deadlineAt: number;
  /** The watch returns after this long even when nothing changed, so the workflow may continue-as-new. */
  readonly maxRunMs: number;
}

/**
 * What of a look the follow-through's workflow acts on: whether the PR is open, merged, closed or unreadable,
 * and, while it is green, the head it is green at (the Merge update's validator and the merge's guard use both).
 * A watch returns to the workflow when this changes, and only then: a check that starts, passes or fails while
 * the PR is not green changes what people read, not what the workflow decides. A new decision (failing checks
 * go back to Jules) adds what it needs here.
 */
export function decisionOf(look: Pick<FollowPullRequestResult, 'state' | 'verdict' | 'headSha' | 'failing'>): string {
  const green = look.state === 'open' && (look.verdict === 'passed' || look.verdict === 'no_checks');
  if (green) return `green at ${look.headSha ?? ''}`;
  // Red at a head, by which checks: failing checks may go back to Jules, once per check and head.
  if (look.state === 'open' && look.verdict === 'failed') return `red at ${look.headSha ?? ''}: ${(look.failing ?? []).map((check) => check.name).sort().join(',')}`;
  return look.state;
}

/**
 * How long the required checks of a base branch (branch protection and rulesets) are trusted before they are
 * read again. They change when an admin changes them, rarely; until then a PR's status may miss a new required
 * check, never a merge: GitHub refuses one that does not pass what the branch requires.
 */
export const REQUIRED_CHECKS_TTL_MS = 15 * 60_000;

// A burst of deliveries (a check's completion and its suite's, five checks finishing together) is one look.
const WAKE_SETTLE_MS = 150;

/** What one read of GitHub found; the next read of the same attempt starts from it. */
interface Reading {
  readonly status: PullRequestStatus;
  readonly updatedAt?: string;
  readonly reviews: readonly GitHubReview[];
}

/** A look: what the workflow learns, and what was read (none when GitHub would not show the PR). */
interface Look {
  readonly result: FollowPullRequestResult;
  readonly reading?: Reading;
}

/**
 * The PR follow-through's activities: `watchPullRequest` reads the pull request, its head's check runs and commit
 * statuses, its reviews and the base branch's required checks, judges them, keeps the thread's PR status message
 * and the `tasks` row up to date, and waits for the next webhook delivery or reconcile look, returning to the
 * workflow only when a decision changes (see {@link decisionOf}). `followPullRequest` is one look, for
 * follow-throughs started before the watch.
 */
export function createGitHubActivities({
  github,
  store,
  log,
  announcerFor,
  pullRequestWakes: wakes,
  pullRequestMirror: mirror,
}: Pick<ActivityDeps, 'github' | 'store' | 'log' | 'pullRequestWakes'> & Required<Pick<ActivityDeps, 'announcerFor'>> & { readonly pullRequestMirror?: PullRequestMirror }) {
  /** Shows the PR status through the task thread's announcer: edited in place, only when its text changes. */
  async function show(input: FollowPullRequestInput, status: PrStatusToShow, message: PrStatusMessage): Promise<Pick<FollowPullRequestResult, 'messageId' | 'shown' | 'reposts'>> {
    const announcer = announcerFor({ taskId: input.taskId, threadId: input.threadId, audience: input.audience ?? TASK_THREAD });
    const { refusal: _refused, ...shown } = await announcer.showPrStatus(status, message);
    return shown;
  }

  // Shared by every follow-through of this worker: the branch's rules are the same for each of its PRs.
  const requiredChecks = new Map<string, { readonly at: number; readonly read: Promise<GitHubRequiredChecks> }>();
  /** The required checks of `branch`, read at most once per {@link REQUIRED_CHECKS_TTL_MS}. */
  function requiredChecksOf(client: GitHubClient, repo: RepoRef, branch: string): Promise<GitHubRequiredChecks> {
    const key = `${repo.owner}/${repo.repo}#${branch}`.toLowerCase();
    const cached = requiredChecks.get(key);
    if (cached && Date.now() - cached.at < REQUIRED_CHECKS_TTL_MS) return cached.read;
    for (const [other, entry] of requiredChecks) if (Date.now() - entry.at >= REQUIRED_CHECKS_TTL_MS) requiredChecks.delete(other);
    // No caller's signal: one follow-through cancelled must not fail the read the others share.
    const read = client.checks.requiredForBranch(repo, branch);
    requiredChecks.set(key, { at: Date.now(), read });
    // A failed read is not kept: the next look reads again.
    read.catch(() => {
      if (requiredChecks.get(key)?.read === read) requiredChecks.delete(key);
    });
    return read;
  }

  /**
   * Reads the PR and what its status depends on. Reviews are read again only when the PR changed (its
   * `updated_at` moves with a review), when a delivery woke the look (a review's own), or on an attempt's first
   * look; everything goes through conditional requests, so what did not change costs GitHub's rate limit nothing.
   */
  async function read(client: GitHubClient, input: FollowPullRequestInput, signal: AbortSignal, previous: Reading | undefined, woken: boolean, beat: () => void): Promise<Reading> {
    const [owner, name] = input.repo.split('/') as [string, string];
    const repo = { owner, repo: name };
    const pr = await client.pulls.get(repo, input.number, { signal });
    // A slow GitHub (the client retries within its bounds) must not look like a dead worker to the watch.
    beat();
    const changed = !previous || pr.updatedAt === undefined || pr.updatedAt !== previous.updatedAt;
    const [runs, combined, required, reviews] = await Promise.all([
      client.checks.listForRef(repo, pr.head.sha, { signal }),
      client.checks.combinedStatus(repo, pr.head.sha, { signal }),
      requiredChecksOf(client, repo, pr.base.ref),
      changed || woken || !previous ? client.pulls.listReviews(repo, input.number, { signal }) : previous.reviews,
    ]);
    return { status: judgePullRequest(pr, runs, combined, required, reviews), ...(pr.updatedAt ? { updatedAt: pr.updatedAt } : {}), reviews };
  }

  /**
   * One look: reads GitHub, shows the status in the thread and, unless `recorded` says the row already holds it,
   * records it in the `tasks` row. Credentials GitHub refuses are said in the thread and come back as `unreadable`:
   * retrying now cannot help, the next look may. Other failures are thrown, for Temporal to retry (or not).
   */
  async function look(
    client: GitHubClient,
    input: FollowPullRequestInput,
    message: PrStatusMessage,
    options: { readonly previous?: Reading; readonly woken: boolean; readonly recorded?: string; readonly wakes: PrFollowWakes; readonly beat?: () => void },
  ): Promise<Look> {
    let reading: Reading;
    try {
      reading = await read(client, input, Context.current().cancellationSignal, options.previous, options.woken, options.beat ?? (() => undefined));
    } catch (err) {
      if (err instanceof GitHubBadCredentialsError || err instanceof GitHubNoAccessError) {
        log.warn({ taskId: input.taskId, repo: input.repo, status: err.status }, `cannot read the pull request: ${err.message}`);
        const shown = await show(input, { unreadable: err.message, url: input.url }, message);
        return { result: { state: 'unreadable', ...shown } };
      }
      if (err instanceof GitHubError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, err.name);
      throw err;
    }
    const { status } = reading;
    const shown = await show(input, status, message);
    const failing = status.verdict === 'failed' ? status.checks.filter((check) => check.state === 'failed').slice(0, FAILING_MAX).map(failingOf) : [];
    const result: FollowPullRequestResult = { state: status.state, verdict: status.verdict, headSha: status.headSha, ...(failing.length ? { failing } : {}), ...shown };
    if (options.recorded !== recordOf(result)) {
      await store.updateTask(input.taskId, {
        prNumber: status.number,
        prHeadSha: status.headSha,
        prState: status.state,
        checksState: status.verdict,
        prFollowWakes: options.wakes,
        ...(status.state === 'merged' ? { mergedAt: new Date().toISOString() } : {}),
      });
      // The card (or the plan's table) mirrors the PR too; it is information, so a failure here never stops a look.
      const plan = await mirror?.pullRequestChanged(input.taskId, status).catch((err: unknown) => {
        log.warn({ taskId: input.taskId, err: (err as Error).message }, 'could not mirror the PR state');
        return undefined;
      });
      // A plan item's PR merged, closed or (auto-ship) green: its plan looks at once instead of at its next look.
      if (plan) await wakePlan(plan.runId, plan.issueNumber);
    }
    return { result, reading };
  }

  /** Signals a plan run; one that ended (or a worker without a client) simply is not told. */
  async function wakePlan(runId: string, issueNumber: number): Promise<void> {
    try {
      await Context.current().client.workflow.getHandle(runId).signal(planItemSignal, { issueNumber });
    } catch (err) {
      log.info({ runId, issueNumber, err: (err as Error).message }, 'the plan run could not be woken; its next look catches up');
    }
  }

  return {
    /** One look at a followed PR (follow-throughs started before {@link watchPullRequest}; they are signalled). */
    async followPullRequest(input: FollowPullRequestInput): Promise<FollowPullRequestResult> {
      if (!github) throw ApplicationFailure.nonRetryable('No GitHub credentials are configured on this worker.', 'GitHubNotConfigured');
      return (await look(github, input, messageOf(input), { woken: true, wakes: 'signal' })).result;
    },

    /**
     * Follows a PR between decisions: looks, then waits for a webhook delivery about it (noted in the store by the
     * ingress, wherever it runs) or its reconcile look, and looks again; edits the PR status message itself, and
     * returns only when {@link decisionOf} changes from `known`, at the deadline, or after `maxRunMs`. Heartbeats
     * the status message, so a retried attempt edits the same one. History grows with decisions, not deliveries.
     */
    async watchPullRequest(input: WatchPullRequestInput): Promise<FollowPullRequestResult> {
      if (!github) throw ApplicationFailure.nonRetryable('No GitHub credentials are configured on this worker.', 'GitHubNotConfigured');
      const context = Context.current();
      const returnBy = Math.min(input.deadlineAt, Date.now() + input.maxRunMs);
      let message: PrStatusMessage = (context.info.heartbeatDetails as PrStatusMessage | undefined) ?? messageOf(input);
      const beat = () => context.heartbeat(message);
      // Without wakes nobody notes deliveries for this worker to count: the row asks the ingress for signals instead.
      const wakesBy = wakes ? 'deliveries' : 'signal';
      let previous: Reading | undefined;
      let recorded: string | undefined;
      let woken = false;
      for (;;) {
        const mark = wakes ? await wakes.mark(input.taskId) : undefined;
        const { result, reading } = await look(github, input, message, { ...(previous ? { previous } : {}), woken, ...(recorded ? { recorded } : {}), wakes: wakesBy, beat });
        previous = reading ?? previous;
        if (reading) recorded = recordOf(result);
        message = messageOf(result);
        beat();
        if (!input.known || decisionOf(result) !== decisionOf(input.known)) return result;
        if (Date.now() >= returnBy) {
          // Following ends here: a delivery from now on finds nobody counting, and the ingress says it is ignored.
          if (Date.now() >= input.deadlineAt && reading) await store.updateTask(input.taskId, { prFollowWakes: null });
          return result;
        }
        const waitMs = Math.min(input.reconcileEveryMs, returnBy - Date.now());
        woken = await waitBeating(waitMs, beat, (withinMs) => (mark && wakes ? wakes.wait(input.taskId, mark, withinMs) : sleep(withinMs).then(() => false)));
        if (woken) await sleep(WAKE_SETTLE_MS);
      }
    },

    /**
     * Merges a followed pull request at the head the follow-through judged green (`sha`: GitHub refuses with 409
     * if new commits arrived since), with the given method. Refusals come back as words for the clicker; an outage
     * is thrown, so Temporal retries it.
     */
    async mergePullRequest(input: MergePullRequestInput): Promise<MergeAnswer> {
      if (!github) throw ApplicationFailure.nonRetryable('No GitHub credentials are configured on this worker.', 'GitHubNotConfigured');
      const [owner, repo] = input.repo.split('/') as [string, string];
      try {
        await github.pulls.merge({ owner, repo, pullNumber: input.number, sha: input.sha, mergeMethod: input.method }, { signal: Context.current().cancellationSignal });
        log.info({ taskId: input.taskId, repo: input.repo, number: input.number, by: input.by }, 'merged a pull request from Discord');
        return { merged: true, text: `✅ Merged PR #${input.number} (${input.method}).` };
      } catch (err) {
        if (err instanceof GitHubHeadMovedError) return { merged: false, text: `New commits arrived on PR #${input.number} since its checks passed, so it was not merged; its checks run again.` };
        if (err instanceof GitHubNotMergeableError) return { merged: false, text: `GitHub would not merge PR #${input.number}: ${err.reason}` };
        if (err instanceof GitHubError && !err.retryable) return { merged: false, text: `GitHub would not merge PR #${input.number}: ${err.message}` };
        throw err;
      }
    },
  };
}

/** The status message as an input or a look names it. */
function failingOf(check: CheckLine): FailingCheck {
  return { name: check.name, detail: check.detail, ...(check.summary ? { summary: check.summary } : {}), ...(check.url ? { url: check.url } : {}) };
}

function messageOf(from: Pick<FollowPullRequestInput, 'messageId' | 'shown' | 'reposts'>): PrStatusMessage {
  return { ...(from.messageId ? { messageId: from.messageId } : {}), ...(from.shown ? { shown: from.shown } : {}), ...(from.reposts ? { reposts: from.reposts } : {}) };
}

/** What the `tasks` row holds of a look: written again only when this changes. */
function recordOf(look: FollowPullRequestResult): string {
  return `${look.state} ${look.verdict ?? ''} ${look.headSha ?? ''}`;
}
