import type { Logger } from 'pino';
import { parsePullRequestUrl } from '../shared/pull-request';
import type { AnnouncedTask, ProgressMessage, ProgressShown, Shown, TaskAnnouncer } from '../tasks/announcer';
import { discordRefusal, type DiscordRefusal } from './errors';
import type { DiscordMessenger, MessageBody } from './messenger';
import { nonceFor } from './nonce';
import { renderNotice } from './notices';
import { renderPrStatusMessage } from './pr-status-message';
import { renderPlanMessage, renderProgressMessage, renderQuestionMessage } from './task-card';

/** What the task-thread announcer needs: the bot's messenger and somewhere to log what Discord refused. */
export interface TaskThreadAnnouncerDeps {
  readonly discord: DiscordMessenger;
  readonly log: Logger;
}

/**
 * The announcer of a task started by `/jules`: everything goes to the task's thread, rendered by the task-card
 * renderers. Each post's nonce is derived from the task and the step (`plan:<id>`, `question:<id>`, `progress`,
 * the notice's step), so a retried activity gets the first message back instead of a duplicate; the steps are
 * the ones the watcher used before this seam existed, so running tasks keep their messages.
 */
export function createTaskThreadAnnouncer({ discord, log }: TaskThreadAnnouncerDeps, task: AnnouncedTask): TaskAnnouncer {
  const { taskId, threadId } = task;
  const viewOf = () => {
    if (!task.view) throw new Error(`the announcer of ${taskId} was made without the task's view`);
    return task.view;
  };

  /**
   * Posts to the thread; a permanent refusal (thread deleted, access lost) is logged and returned, not thrown,
   * since retrying cannot heal it. Callers decide: a plan or question nobody can see ends the task,
   * information is simply lost.
   */
  async function post(body: MessageBody, step: string): Promise<Shown> {
    try {
      const posted = await discord.postMessage(threadId, body, { nonce: nonceFor(taskId, step) });
      return { messageId: posted.id };
    } catch (err) {
      const refusal = discordRefusal(err);
      if (!refusal) throw err;
      log.warn({ taskId, threadId, step, code: refusal.code }, `could not post to the task's thread: ${refusal.message}`);
      return { refusal };
    }
  }

  /**
   * One message edited in place (progress, a PR's status), best effort: posted under the nonce `step` (then
   * `step:<n>` after the n-th deletion, since the old nonce would return the dead message), edited afterwards, posted
   * anew when someone deleted it; any other refusal is logged and returned.
   */
  async function showInPlace<M extends ProgressMessage>(body: MessageBody, message: M, step: string, what: string, retried = false): Promise<M & { refusal?: DiscordRefusal }> {
    try {
      if (message.messageId) {
        await discord.editMessage(threadId, message.messageId, body);
        return message;
      }
      const posted = await discord.postMessage(threadId, body, { nonce: nonceFor(taskId, message.reposts ? `${step}:${message.reposts}` : step) });
      // A retry whose last heartbeat missed the id gets the dead attempt's message back for the nonce: update it.
      if (retried) await discord.editMessage(threadId, posted.id, body);
      return { ...message, messageId: posted.id };
    } catch (err) {
      const refusal = discordRefusal(err);
      if (!refusal) throw err;
      log.warn({ taskId, code: refusal.code }, `${what} not shown: ${refusal.message}`);
      if (refusal.kind === 'message_gone' && message.messageId) {
        // Someone deleted the message: post a new one (once: the new one has no id yet).
        const { messageId: _gone, ...rest } = message;
        return showInPlace(body, { ...rest, reposts: (message.reposts ?? 0) + 1 } as M, step, what, retried);
      }
      return { ...message, refusal };
    }
  }

  async function showProgress(line: string, message: ProgressMessage, options: { readonly retried?: boolean } = {}): Promise<ProgressShown> {
    return showInPlace(renderProgressMessage({ ...viewOf(), progress: line }), message, 'progress', 'progress', options.retried);
  }

  return {
    showPlan(plan) {
      const shown = { ...viewOf(), plan: plan.steps };
      const body = plan.approval === 'people' ? renderPlanMessage({ ...shown, awaiting: 'plan_approval' }) : renderPlanMessage(shown, { action: 'automatic' });
      return post(body, `plan:${plan.id}`);
    },
    showQuestion(question) {
      return post(renderQuestionMessage({ ...viewOf(), question: question.text, awaiting: 'reply' }), `question:${question.id}`);
    },
    showProgress,
    async showNotice(notice) {
      const body = renderNotice(viewOf(), notice.kind, notice.detail);
      if (!notice.replaces) return post(body, notice.step);
      try {
        await discord.editMessage(threadId, notice.replaces, body);
        return { messageId: notice.replaces };
      } catch (err) {
        const refusal = discordRefusal(err);
        if (!refusal) throw err;
        log.warn({ taskId, threadId, step: notice.step, code: refusal.code }, `could not edit a notice in the task's thread: ${refusal.message}`);
        return { refusal };
      }
    },
    async showPrStatus(status, message) {
      const body = renderPrStatusMessage(status, taskId);
      const text = body.content ?? '';
      if (text === message.shown && message.messageId) return message;
      const number = 'unreadable' in status ? parsePullRequestUrl(status.url)?.number : status.number;
      const shown = await showInPlace(body, message, `pr-status:${number ?? 0}`, 'PR status');
      return shown.refusal ? shown : { ...shown, shown: text };
    },
  };
}
