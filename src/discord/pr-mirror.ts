import type { Logger } from 'pino';
import type { PullRequestStatus } from '../github/pr-status';
import type { PlanItemStatus } from '../shared/plan';
import type { TaskView } from '../shared/task';
import type { Store, TaskRecord } from '../store/store';
import { discordRefusal } from './errors';
import type { DiscordMessenger } from './messenger';
import type { PlanBoard } from './plan-board';
import { renderTaskCard } from './task-card';

/**
 * Where a followed pull request's state is mirrored besides its status message: a `/jules` task's card (a short PR
 * line), or a plan item's row in the plan's table (green, red, merged). Called when the `tasks` row's PR state changes.
 */
export interface PullRequestMirror {
  /**
   * Mirrors the PR's state; for a plan item, returns its run when the plan must hear of it at once: the PR merged or
   * closed (the item is over), or turned green in a guild that ships as items turn green (`--auto-ship on`).
   */
  pullRequestChanged(taskId: string, status: PullRequestStatus): Promise<{ readonly runId: string; readonly issueNumber: number } | undefined>;
}

/** The mirror over the store, the bot's messenger and the plan board. */
export function createPullRequestMirror({ store, discord, planBoard, log }: { readonly store: Store; readonly discord: DiscordMessenger; readonly planBoard: PlanBoard; readonly log: Logger }): PullRequestMirror {
  return {
    async pullRequestChanged(taskId, status) {
      const item = await store.findPlanItemByTask(taskId);
      if (item) {
        // A PR that ran checks and shows none at a new head is waiting for its CI to start, not green: the row keeps it.
        const awaitingCi = status.verdict === 'no_checks' && item.checksState !== null && item.checksState !== 'no_checks';
        const next = awaitingCi && status.state === 'open' ? 'pr_open' : itemStatusOf(status);
        const failing = status.checks.filter((check) => check.state === 'failed').map((check) => `\`${check.name}\``);
        await store.updatePlanItem(item.runId, item.issueNumber, {
          ...(item.status !== 'merged' && item.status !== 'dropped' && item.status !== 'failed' ? { status: next } : {}),
          prNumber: status.number,
          prUrl: status.url,
          prHeadSha: status.headSha,
          checksState: awaitingCi ? 'pending' : status.verdict,
          reason: next === 'red' ? `red: ${failing.join(', ')}`.slice(0, 500) : next === 'failed' ? 'Its pull request was closed without merging.' : null,
          ...(status.state === 'merged' ? { mergedAt: new Date().toISOString() } : {}),
        });
        await planBoard.redraw(item.runId);
        if (next === item.status) return undefined;
        const autoShip = next === 'green' && (await store.getGuild((await store.getTask(taskId))?.guildId ?? ''))?.autoShip === true;
        return next === 'merged' || next === 'failed' || autoShip ? { runId: item.runId, issueNumber: item.issueNumber } : undefined;
      }
      const task = await store.getTask(taskId);
      if (!task?.cardMessageId) return undefined;
      try {
        await discord.editMessage(task.channelId, task.cardMessageId, renderTaskCard({ ...cardViewOf(task), prStatus: prLineOf(status) }));
      } catch (err) {
        const refusal = discordRefusal(err);
        if (!refusal) throw err;
        log.warn({ taskId, status: refusal.status, code: refusal.code }, `Discord refused the card's PR line: ${refusal.message}`);
      }
      return undefined;
    },
  };
}

/** A plan item's status from its PR. */
function itemStatusOf(status: PullRequestStatus): PlanItemStatus {
  if (status.state === 'merged') return 'merged';
  if (status.state === 'closed') return 'failed';
  if (status.verdict === 'passed' || status.verdict === 'no_checks') return 'green';
  return status.verdict === 'failed' ? 'red' : 'pr_open';
}

/** The card's short PR line. */
export function prLineOf(status: PullRequestStatus): string {
  if (status.state === 'merged') return `🎉 merged${status.mergedBy ? ` by ${status.mergedBy}` : ''}`;
  if (status.state === 'closed') return '🚪 closed without merging';
  switch (status.verdict) {
    case 'no_checks':
      return '✅ no checks to wait for';
    case 'passed':
      return `✅ all ${status.checks.length} checks passed`;
    case 'failed':
      return `❌ ${status.checks.filter((check) => check.state === 'failed').map((check) => `\`${check.name}\``).slice(0, 3).join(', ')} failed`;
    case 'pending':
      // No counts: the card is redrawn when the verdict changes, not on every check (the thread's message counts).
      return '🔄 checks running';
  }
}

/** A finished task's card as the projection has it (the workflow, which had the live view, has ended). */
export function cardViewOf(task: TaskRecord): TaskView {
  return {
    taskId: task.id,
    status: task.status,
    channelId: task.channelId,
    ...(task.threadId ? { threadId: task.threadId } : {}),
    ...(task.cardMessageId ? { cardMessageId: task.cardMessageId } : {}),
    prompt: task.prompt,
    repo: task.repo,
    ...(task.branch ? { branch: task.branch } : {}),
    requesterId: task.requesterId,
    keySource: task.keySource,
    ...(task.decidedBy ? { decidedBy: task.decidedBy } : {}),
    ...(task.julesSessionUrl ? { sessionUrl: task.julesSessionUrl } : {}),
    ...(task.prUrl ? { prUrl: task.prUrl } : {}),
    ...(task.lastError ? { error: task.lastError } : {}),
    ended: task.endedAt !== null,
  };
}
