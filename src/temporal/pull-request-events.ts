import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { githubEventSignal } from '../../workflows/messages';
import { GITHUB_DELIVERY_SOURCE, type GitHubEvent, type GitHubEventSink } from '../github/webhook-events';
import { pullRequestFollowId } from '../shared/ids';
import type { DeliveryLog } from '../store/delivery-log';
import type { Store } from '../store/store';
import type { PullRequestWakes } from '../tasks/pull-request-wakes';

/** What the sink needs: the store to find the task and note the delivery, Temporal for follow-throughs woken by signals. */
export interface PullRequestEventSinkDeps {
  readonly client: Client;
  readonly store: Pick<Store, 'findTaskByPullRequest'>;
  readonly deliveries: Pick<DeliveryLog, 'noteSubject'>;
  /** This process's wakes, when a worker runs here too: its follow-throughs wake at once instead of at the next poll. */
  readonly wakes?: Pick<PullRequestWakes, 'notify'>;
}

/**
 * The GitHub webhook's sink for pull requests: finds the task that follows the PR an event is about (by PR
 * number, or by head sha for a commit status, which names no PR) and wakes its follow-through, which then reads
 * the PR itself. The delivery is noted as being about that task; a follow-through that counts such deliveries
 * (the task row says `deliveries`) notices it there, with no history written. One that does not (started before it
 * could, the row says `signal` or nothing) gets a signal, as before: the server accepts it without a worker, so
 * GitHub's 10 s deadline never waits on one. Either way a redelivery was already answered by the delivery log, and
 * a repeated wake costs one look at most.
 */
export function createPullRequestEventSink(deps: PullRequestEventSinkDeps): GitHubEventSink {
  return {
    async deliver(event, deliveryId) {
      const match = pullRequestOf(event);
      if (!match) return 'ignored';
      const task = await deps.store.findTaskByPullRequest(event.repo, match);
      if (!task) return 'ignored';
      await deps.deliveries.noteSubject(GITHUB_DELIVERY_SOURCE, deliveryId, task.id);
      if (task.prFollowWakes === 'deliveries') {
        // Following ends with the PR: nobody counts deliveries about a merged or closed one.
        if (task.prState !== 'open') return 'ignored';
        deps.wakes?.notify(task.id);
        return 'accepted';
      }
      try {
        await deps.client.workflow.getHandle(pullRequestFollowId(task.id)).signal(githubEventSignal, { event: event.kind, deliveryId });
        return 'accepted';
      } catch (err) {
        // Following ended (merged, closed, past its deadline) or never started: nothing to wake.
        if (err instanceof WorkflowNotFoundError) return 'ignored';
        throw err;
      }
    },
  };
}

/** Which pull request an event is about, as the `tasks` row can be found by. Issues are the daily plan's. */
function pullRequestOf(event: GitHubEvent): { number: number } | { headSha: string } | undefined {
  switch (event.kind) {
    case 'pull_request':
    case 'pull_request_review':
      return { number: event.number };
    case 'check_suite':
    case 'check_run':
      // GitHub lists the PRs of a check only for branches in the same repository; otherwise the head finds it.
      return event.pullRequests[0] !== undefined ? { number: event.pullRequests[0] } : { headSha: event.headSha };
    case 'status':
      return { headSha: event.sha };
    case 'issue_comment':
      return event.onPullRequest ? { number: event.number } : undefined;
    case 'issues':
      return undefined;
  }
}
