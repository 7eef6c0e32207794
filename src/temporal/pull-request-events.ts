import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { githubEventSignal } from '../../workflows/messages';
import type { GitHubEvent, GitHubEventSink } from '../github/webhook-events';
import { pullRequestFollowId } from '../shared/ids';
import type { Store } from '../store/store';

/**
 * The GitHub webhook's sink for pull requests: finds the task that follows the PR an event is about (by PR
 * number, or by head sha for a commit status, which names no PR) and wakes its follow-through, which then
 * reads the PR itself. A signal, not an update: the server accepts it without a worker, so GitHub's 10 s
 * deadline never waits on one, and the delivery log already answers a redelivery once; a repeated wake would
 * cost one extra look, nothing more.
 */
export function createPullRequestEventSink(deps: { readonly client: Client; readonly store: Pick<Store, 'findTaskByPullRequest'> }): GitHubEventSink {
  return {
    async deliver(event, deliveryId) {
      const match = pullRequestOf(event);
      if (!match) return 'ignored';
      const task = await deps.store.findTaskByPullRequest(event.repo, match);
      if (!task) return 'ignored';
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
