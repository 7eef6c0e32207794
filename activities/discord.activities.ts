import { Context } from '@temporalio/activity';
import { discordRefusal } from '../src/discord/errors';
import type { TaskPatch, TaskView } from '../src/shared/task';
import { isFinalStatus, type TaskStatus } from '../src/shared/task-status';
import type { TaskEventDetail, TaskEventKind } from '../src/store/store';
import { renderNotice, type NoticeKind } from '../src/discord/notices';
import { renderAnnouncement, renderKeyRefused, renderTaskCard, renderWebUiLink } from '../src/discord/task-card';
import { isKeyRejectionText } from '../src/jules/errors';
import type { ActivityDeps } from './deps';
import { whileBeating } from './heartbeat';
import { nonceFor } from '../src/discord/nonce';
import { itemLabel } from '../src/discord/discord-announcers';
import type { MessageBody } from '../src/discord/messenger';
import type { Audience } from '../src/shared/audience';

/** The audit event a step records; with `from`, the status change is guarded in SQL (`jo_transition_task`). */
export interface StepEvent {
  readonly kind: TaskEventKind;
  readonly actorId?: string | null;
  /** The statuses the task must be in for `patch.status` to apply ("confirm only if still pending"). */
  readonly from?: readonly TaskStatus[];
  readonly outcome?: string | null;
  readonly detail?: TaskEventDetail;
}

/** Input of {@link publishTaskUpdate}. */
export interface PublishInput {
  /** What changed in the `tasks` row with this step, recorded before Discord is told. */
  readonly patch?: TaskPatch;
  /** The audit trail's record of this step, written with the patch. */
  readonly event?: StepEvent;
  /** Identifies the step, so a retried activity records its event once. */
  readonly step?: string;
  readonly channelId: string;
  /** The card to edit; absent the first time, when the card is posted and its thread started. */
  readonly cardMessageId?: string;
  /** The task's thread, where announcements and notices go. */
  readonly threadId?: string;
  readonly view: TaskView;
  /** Edit the card too (default true); notices that change nothing on it skip the edit. */
  readonly refreshCard?: boolean;
  readonly announce?: 'started' | 'outcome';
  /** Who the step speaks to; absent, the task's card and its thread. A plan item has no card: only its lines. */
  readonly audience?: Audience;
  readonly notice?: { readonly kind: NoticeKind; readonly detail?: string; readonly step: string };
}

/** What a published step reports back: where the card and thread are, and whether Discord refused for good. */
export interface PublishResult {
  readonly cardMessageId?: string;
  readonly threadId?: string;
  readonly discordError?: string;
}

/**
 * Activities that publish a task's step: the `tasks` projection first, then the channel. One activity per step
 * keeps history small (one schedule, not two). Rate limits (429) are waited out by @discordjs/rest.
 */
export function createDiscordActivities({ discord, store, log, planBoard, workflowUrl }: Pick<ActivityDeps, 'discord' | 'store' | 'log' | 'planBoard' | 'workflowUrl'>) {
  /** Writes the step's patch and event: one guarded SQL transition when the status must come from somewhere. */
  async function recordStep(input: PublishInput, ends: boolean): Promise<void> {
    const taskId = input.view.taskId;
    const { event } = input;
    // The step that ends the task stamps when, in the same update: it is what tells an open task from an ended one.
    const patch = ends ? { ...input.patch, endedAt: new Date().toISOString() } : input.patch;
    if (event?.from && patch?.status) {
      const { status, ...rest } = patch;
      const moved = await store.transitionTask(taskId, {
        from: event.from,
        to: status,
        event: event.kind,
        ...(event.actorId !== undefined ? { actorId: event.actorId } : {}),
        ...(Object.keys(rest).length ? { patch: rest } : {}),
        ...(event.outcome !== undefined ? { outcome: event.outcome } : {}),
        ...(event.detail ? { detail: event.detail } : {}),
      });
      // Not moved: a retry of a step that already happened (the row is in `to`), or a row that disagrees with
      // the workflow, which owns the task: then the workflow's view wins.
      if (!moved) {
        const row = await store.getTask(taskId);
        if (row && row.status !== status) {
          log.warn({ taskId, from: row.status, to: status }, 'the tasks row disagreed with the workflow; the workflow wins');
          await store.updateTask(taskId, patch);
          await store.recordTaskEvent({ taskId, kind: event.kind, actorId: event.actorId ?? null, outcome: event.outcome ?? status, ...(event.detail ? { detail: event.detail } : {}), ...(input.step ? { dedupeKey: input.step } : {}) });
        }
      }
      return;
    }
    if (patch && Object.keys(patch).length) await store.updateTask(taskId, patch);
    if (event) {
      await store.recordTaskEvent({ taskId, kind: event.kind, actorId: event.actorId ?? null, ...(event.outcome !== undefined ? { outcome: event.outcome } : {}), ...(event.detail ? { detail: event.detail } : {}), ...(input.step ? { dedupeKey: input.step } : {}) });
    }
  }

  return {
    /**
     * Records the step's patch, then posts or refreshes the task's card and posts an announcement when a task
     * starts or ends. Posts carry a nonce derived from the task and step, so a retry never posts twice. A Discord
     * that refuses for good (missing access, deleted channel) is reported, not thrown: the task goes on.
     */
    publishTaskUpdate: (input: PublishInput): Promise<PublishResult> =>
      whileBeating(async () => {
        const taskId = input.view.taskId;
        const ends = input.announce === 'outcome' || (input.patch?.status !== undefined && isFinalStatus(input.patch.status));
        await recordStep(input, ends);
        // A finished task (its outcome announced) gives its Jules session slot to the next task of the same key owner.
        if (ends) await store.releaseSessionSlot(taskId);
        let cardMessageId = input.cardMessageId;
        let threadId = input.threadId;
        const signal = Context.current().cancellationSignal;
        // A plan item's messages go to the plan's thread, labelled with the issue; its row in the plan's table follows.
        const item = input.audience?.kind === 'plan_thread' ? input.audience : undefined;
        const label = (body: MessageBody): MessageBody => (item ? { ...body, content: `${itemLabel(item.issueNumber, item.issueTitle)}\n${body.content ?? ''}`.slice(0, 2000) } : body);
        try {
          if (item) {
            await planBoard?.itemChanged(item.runId, item.issueNumber, input.view);
          } else if (cardMessageId) {
            if (input.refreshCard !== false) await discord.editMessage(input.channelId, cardMessageId, renderTaskCard(input.view), { signal });
          } else {
            const posted = await discord.postMessage(input.channelId, renderTaskCard(input.view), { nonce: nonceFor(taskId, 'card'), signal });
            cardMessageId = posted.id;
            // Everything after the card goes to a thread under it (its id equals the card's message id).
            const thread = await discord.createThread(input.channelId, cardMessageId, threadName(input.view));
            threadId = thread.id;
            await store.updateTask(taskId, { cardMessageId, threadId });
            // Operators go from the thread straight to the run; without a known Web UI address the thread starts as before.
            const runUrl = workflowUrl?.(taskId); // a task's id is its workflow id (`task-<interaction id>`)
            if (runUrl) {
              // Best effort: a link Discord refuses must not read as the step failing (the card and thread are there).
              await discord.postMessage(threadId, renderWebUiLink(runUrl), { nonce: nonceFor(taskId, 'web-ui'), signal }).catch((err: unknown) => {
                const refusal = discordRefusal(err);
                if (!refusal) throw err;
                log.warn({ taskId, threadId, code: refusal.code }, `could not post the Web UI link: ${refusal.message}`);
              });
            }
          }
          const where = threadId ?? input.channelId;
          if (input.announce) {
            await discord.postMessage(where, label(renderAnnouncement(input.view, input.announce)), {
              nonce: nonceFor(taskId, `${input.announce}:${input.view.status}`),
              signal,
            });
          }
          // The requester is told privately too (members who block DMs simply miss this copy): of a rejection, and of
          // their own key refused by Jules, with how to replace it.
          const privately = (body: MessageBody, step: string) =>
            discord
              .sendDirectMessage(input.view.requesterId, body, { nonce: nonceFor(taskId, step) })
              .catch((err: unknown) => log.info({ taskId, err: (err as Error).message }, 'could not DM the requester'));
          if (input.announce === 'outcome' && input.view.status === 'rejected' && !item) await privately(renderAnnouncement(input.view, 'outcome'), 'rejected:dm');
          if (input.announce === 'outcome' && input.view.status === 'failed' && input.view.keySource === 'personal' && isKeyRejectionText(input.view.error)) {
            await privately(renderKeyRefused(input.view, where), 'key-refused:dm');
          }
          if (input.notice) {
            await discord.postMessage(where, label(renderNotice(input.view, input.notice.kind, input.notice.detail)), { nonce: nonceFor(taskId, input.notice.step), signal });
          }
          return { cardMessageId, ...(threadId ? { threadId } : {}) };
        } catch (err) {
          // A refusal (missing access, unknown channel) will not heal by retrying.
          const refusal = discordRefusal(err);
          if (!refusal) throw err;
          log.warn({ taskId, channelId: input.channelId, status: refusal.status, code: refusal.code }, `Discord refused a task message: ${refusal.message}`);
          return { ...(cardMessageId ? { cardMessageId } : {}), ...(threadId ? { threadId } : {}), discordError: `Discord refused the message (${refusal.status}, code ${refusal.code})` };
        }
      }),
  };
}


/** A thread name from the prompt: Discord allows 1–100 characters. */
function threadName(view: TaskView): string {
  const line = view.prompt.replace(/\s+/g, ' ').trim();
  const name = `Jules: ${line}`;
  return name.length > 100 ? `${name.slice(0, 99)}…` : name;
}
