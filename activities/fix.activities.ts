import { ApplicationFailure } from '@temporalio/activity';
import { itemLabel } from '../src/discord/discord-announcers';
import { nonceFor } from '../src/discord/nonce';
import { JulesApiError } from '../src/jules/errors';
import type { FailingCheck } from './github.activities';
import type { ActivityDeps } from './deps';
import { julesClientForOwner } from './jules.activities';

/** Input of `askJulesToFix`: the PR, its head and the failed checks to send, and who asked (absent: the guild's setting). */
export interface FixRequestInput {
  readonly taskId: string;
  readonly number: number;
  readonly headSha: string;
  readonly failing: readonly FailingCheck[];
  /** Where the thread says what was sent. */
  readonly threadId: string;
  /** This request's number, from 1, and the most the PR gets. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The member who clicked "Ask Jules to fix"; absent when `guild set --fix-failing-checks on` sent it. */
  readonly by?: string;
}

/** What came of a fix request, in words for the thread and the clicker. */
export interface FixAnswer {
  readonly sent: boolean;
  readonly text: string;
}

/** Jules reads the whole message; this keeps it to what a person would paste. */
const MESSAGE_MAX = 3_000;

/**
 * Failing checks back to Jules: the message goes to the task's own Jules session (Jules pushes fix commits to PRs it
 * created), paid by the task's key, and the thread says what was sent. Recorded once per task, head and checks, so a
 * retried activity never sends twice.
 */
export function createFixActivities(deps: Pick<ActivityDeps, 'store' | 'secrets' | 'julesClientFor' | 'discord' | 'log'>) {
  const { store, discord, log } = deps;
  return {
    async askJulesToFix(input: FixRequestInput): Promise<FixAnswer> {
      const task = await store.getTask(input.taskId);
      if (!task?.julesSessionId) return { sent: false, text: 'This task has no Jules session to send the failing checks to.' };
      const names = input.failing.map((check) => `\`${check.name}\``).join(', ');
      const message = fixMessage(input);
      const first = await store.recordTaskEvent({
        taskId: input.taskId,
        kind: 'fix_requested',
        actorId: input.by ?? null,
        outcome: `attempt ${input.attempt}`,
        detail: { headSha: input.headSha, checks: input.failing.map((check) => check.name).join(','), pr: input.number },
        dedupeKey: `fix:${input.headSha}:${input.failing.map((check) => check.name).sort().join(',')}`,
      });
      if (first) {
        const client = await julesClientForOwner(deps, { taskId: task.id, guildId: task.guildId, requesterId: task.requesterId, keySource: task.keySource });
        try {
          await client.sendMessage(task.julesSessionId, message);
        } catch (err) {
          // A session Jules no longer takes messages for will not heal: say so rather than retry for an hour.
          if (err instanceof JulesApiError && !err.retryable) {
            log.warn({ taskId: input.taskId, status: err.status }, `Jules refused the fix request: ${err.message}`);
            throw ApplicationFailure.nonRetryable(`Jules would not take the fix request: ${err.message}`, 'JulesRefusedFix');
          }
          throw err;
        }
      }
      // A plan item keeps its count on its row, beside its PR's state; in the plan's thread the message names its item.
      const item = await store.findPlanItemByTask(input.taskId);
      if (item && item.fixAttempts < input.attempt) await store.updatePlanItem(item.runId, item.issueNumber, { fixAttempts: input.attempt });
      const who = input.by ? `<@${input.by}> asked Jules` : 'Asked Jules';
      const text = `🔧 ${who} to fix the failing checks of PR #${input.number} (attempt ${input.attempt} of ${input.maxAttempts}): ${names}. Jules pushes to the same branch, and the checks are followed again.`;
      const quoted = message
        .split('\n')
        .map((line) => `> ${line}`)
        .join('\n');
      const label = item ? `${itemLabel(item.issueNumber, item.title)}\n` : '';
      await discord.postMessage(input.threadId, { content: `${label}${text}\nWhat was sent:\n${quoted}`.slice(0, 2000), allowed_mentions: { parse: [] } }, { nonce: nonceFor(input.taskId, `fix:${input.attempt}`) });
      log.info({ taskId: input.taskId, number: input.number, headSha: input.headSha, attempt: input.attempt, by: input.by ?? 'auto' }, 'failing checks sent back to Jules');
      return { sent: true, text };
    },
  };
}

/** What Jules is sent: the PR, the head, and each failed check with a bounded excerpt of its output. */
export function fixMessage(input: Pick<FixRequestInput, 'number' | 'headSha' | 'failing'>): string {
  const lines = input.failing.map((check) => `- ${check.name}: ${check.detail}${check.summary ? ` — ${check.summary}` : ''}${check.url ? ` (${check.url})` : ''}`);
  const text = [
    `The checks of your pull request #${input.number} failed at commit ${input.headSha.slice(0, 12)}. Please fix what they report and push the fix to the same branch.`,
    '',
    'Failed checks:',
    ...lines,
  ].join('\n');
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX - 1)}…` : text;
}
