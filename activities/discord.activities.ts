import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { DiscordAPIError } from '@discordjs/rest';
import type { TaskView } from '../src/shared/task';
import { renderAnnouncement, renderTaskCard } from '../src/discord/task-card';
import type { ActivityDeps } from './deps';

/** Input of {@link publishTaskUpdate}. */
export interface PublishInput {
  readonly channelId: string;
  /** The card to edit; absent the first time, when the card is posted. */
  readonly cardMessageId?: string;
  readonly view: TaskView;
  readonly announce?: 'started' | 'outcome';
}

/** Activities that tell Discord. Rate limits (429) are waited out by @discordjs/rest. */
export function createDiscordActivities({ discord }: Pick<ActivityDeps, 'discord'>) {
  return {
    /**
     * Posts or refreshes a task's card, and posts an announcement when a task starts or ends. Posts carry a
     * nonce derived from the task and step, so a retried activity never posts a message twice.
     */
    async publishTaskUpdate(input: PublishInput): Promise<{ cardMessageId: string }> {
      try {
        let cardMessageId = input.cardMessageId;
        if (cardMessageId) {
          await discord.editMessage(input.channelId, cardMessageId, renderTaskCard(input.view));
        } else {
          const posted = await discord.postMessage(input.channelId, renderTaskCard(input.view), { nonce: nonceFor(input.view.taskId, 'card') });
          cardMessageId = posted.id;
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
          throw ApplicationFailure.nonRetryable(`Discord refused the message: ${err.message}`, 'DiscordPermanentError', { status: err.status, code: err.code });
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
