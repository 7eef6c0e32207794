import { ApplicationFailure, Context } from '@temporalio/activity';
import { GitHubBadCredentialsError, GitHubError, GitHubHeadMovedError, GitHubNoAccessError, GitHubNotMergeableError } from '../src/github/errors';
import type { MergeMethod } from '../src/github/github-client';
import type { MergeAnswer } from '../workflows/messages';
import { judgePullRequest, type PullRequestStatus } from '../src/github/pr-status';
import { TASK_THREAD } from '../src/shared/audience';
import type { PrStatusToShow } from '../src/tasks/announcer';
import type { ActivityDeps } from './deps';

/** Input of {@link followPullRequest}: which PR, where its status message is, and what it last said. */
export interface FollowPullRequestInput {
  readonly taskId: string;
  /** `owner/name`. */
  readonly repo: string;
  readonly number: number;
  readonly url: string;
  /** The task's thread, where the one PR status message lives. */
  readonly threadId: string;
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
  readonly messageId?: string;
  readonly shown?: string;
  readonly reposts?: number;
}

/**
 * The PR follow-through's one activity: reads the pull request, its head's check runs and commit statuses and
 * the base branch's required checks, judges them, edits the thread's PR status message when what it says
 * changes, and records the PR in the `tasks` row. One activity per look keeps the follow-through's history small.
 */
export function createGitHubActivities({ github, store, log, announcerFor }: Pick<ActivityDeps, 'github' | 'store' | 'log'> & Required<Pick<ActivityDeps, 'announcerFor'>>) {
  /** Shows the PR status through the task thread's announcer: edited in place, only when its text changes. */
  async function show(input: FollowPullRequestInput, status: PrStatusToShow): Promise<Pick<FollowPullRequestResult, 'messageId' | 'shown' | 'reposts'>> {
    const announcer = announcerFor({ taskId: input.taskId, threadId: input.threadId, audience: TASK_THREAD });
    const message = { ...(input.messageId ? { messageId: input.messageId } : {}), ...(input.shown ? { shown: input.shown } : {}), ...(input.reposts ? { reposts: input.reposts } : {}) };
    const { refusal: _refused, ...shown } = await announcer.showPrStatus(status, message);
    return shown;
  }

  return {
    async followPullRequest(input: FollowPullRequestInput): Promise<FollowPullRequestResult> {
      if (!github) throw ApplicationFailure.nonRetryable('No GitHub credentials are configured on this worker.', 'GitHubNotConfigured');
      const [owner, repo] = input.repo.split('/') as [string, string];
      const signal = Context.current().cancellationSignal;
      let status: PullRequestStatus;
      try {
        const pr = await github.pulls.get({ owner, repo }, input.number, { signal });
        const [runs, combined, required, reviews] = await Promise.all([
          github.checks.listForRef({ owner, repo }, pr.head.sha, { signal }),
          github.checks.combinedStatus({ owner, repo }, pr.head.sha, { signal }),
          github.checks.requiredForBranch({ owner, repo }, pr.base.ref, { signal }),
          github.pulls.listReviews({ owner, repo }, input.number, { signal }),
        ]);
        status = judgePullRequest(pr, runs, combined, required, reviews);
      } catch (err) {
        // Credentials or access: say so once in the thread and look again later; retrying now cannot help.
        if (err instanceof GitHubBadCredentialsError || err instanceof GitHubNoAccessError) {
          log.warn({ taskId: input.taskId, repo: input.repo, status: err.status }, `cannot read the pull request: ${err.message}`);
          const shown = await show(input, { unreadable: err.message, url: input.url });
          return { state: 'unreadable', ...shown };
        }
        if (err instanceof GitHubError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, err.name);
        throw err;
      }
      const shown = await show(input, status);
      await store.updateTask(input.taskId, {
        prNumber: status.number,
        prHeadSha: status.headSha,
        prState: status.state,
        checksState: status.verdict,
        ...(status.state === 'merged' ? { mergedAt: new Date().toISOString() } : {}),
      });
      return { state: status.state, verdict: status.verdict, headSha: status.headSha, ...shown };
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
