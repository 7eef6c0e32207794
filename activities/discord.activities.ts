import { createHash } from 'node:crypto';
import { DiscordAPIError } from '@discordjs/rest';
import type { TaskPatch, TaskView } from '../src/shared/task';
import { renderAnnouncement, renderTaskCard } from '../src/discord/task-card';
import type { ActivityDeps } from './deps';

/** Input of {@link publishTaskUpdate}. */
export interface PublishInput {
  /** What changed in the `tasks` row with this step, recorded before Discord is told. */
  readonly patch?: TaskPatch;
  readonly channelId: string;
  /** The card to edit; absent the first time, when the card is posted. */
  readonly cardMessageId?: string;
  readonly view: TaskView;
  readonly announce?: 'started' | 'outcome';
}

/** What a published step reports back: where the card is, and whether Discord refused for good. */
export interface PublishResult {
  readonly cardMessageId?: string;
  readonly discordError?: string;
}

/**
 * Activities that publish a task's step: the `tasks` projection first, then the channel. One activity per step
 * keeps history small (one schedule, not two). Rate limits (429) are waited out by @discordjs/rest.
 */
export function createDiscordActivities({ discord, store, log }: Pick<ActivityDeps, 'discord' | 'store' | 'log'>) {
  return {
    /**
     * Records the step's patch, then posts or refreshes the task's card and posts an announcement when a task
     * starts or ends. Posts carry a nonce derived from the task and step, so a retry never posts twice. A Discord
     * that refuses for good (missing access, deleted channel) is reported, not thrown: the task goes on.
     */
    async publishTaskUpdate(input: PublishInput): Promise<PublishResult> {
      const taskId = input.view.taskId;
      if (input.patch) await store.updateTask(taskId, input.patch);
      let cardMessageId = input.cardMessageId;
      try {
        if (cardMessageId) {
          await discord.editMessage(input.channelId, cardMessageId, renderTaskCard(input.view));
        } else {
          const posted = await discord.postMessage(input.channelId, renderTaskCard(input.view), { nonce: nonceFor(taskId, 'card') });
          cardMessageId = posted.id;
          await store.updateTask(taskId, { cardMessageId });
        }
        if (input.announce) {
          await discord.postMessage(input.channelId, renderAnnouncement(input.view, input.announce), {
            nonce: nonceFor(input.view.taskId, `${input.announce}:${input.view.status}`),
          });
        }
        return { cardMessageId };
      } catch (err) {
        // 4xx other than 429 (missing access, unknown channel) will not heal by retrying.
        if (err instanceof DiscordAPIError && err.status >= 400 && err.status < 500) {
          log.warn({ taskId, channelId: input.channelId, status: err.status, code: err.code }, 'Discord refused a task message');
          return { ...(cardMessageId ? { cardMessageId } : {}), discordError: `Discord refused the message (${err.status}, code ${err.code})` };
        }
        throw err;
      }
    },
  };
}

/** Discord nonces are at most 25 characters: a hash of the task and the step. */
function nonceFor(taskId: string, step: string): string {
  return createHash('sha256').update(`${taskId}:${step}`).digest('base64url').slice(0, 25);
}
