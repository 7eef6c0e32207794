import { Context } from '@temporalio/activity';
import { TASK_THREAD, type Audience } from '../src/shared/audience';
import type { KeySource, TaskView } from '../src/shared/task';
import { keyOwnerOf } from '../src/store/store';
import type { ActivityDeps } from './deps';
import { sleepBeating } from './heartbeat';

/** Input of {@link waitForSessionSlot}. */
export interface SlotInput {
  readonly taskId: string;
  readonly guildId: string;
  readonly requesterId: string;
  readonly keySource: KeySource;
  readonly threadId: string;
  readonly view: TaskView;
  /** Who is told where the task stands; absent (as in every input before the field existed): the task's thread. */
  readonly audience?: Audience;
  /** How often to ask the database again while waiting. */
  readonly retryEveryMs: number;
}

/**
 * Waits for a Jules session slot of the key that pays: Jules plans allow 3, 15 or 60 sessions at once and a
 * daily number, so tasks over the limit wait here in the order they were asked (admission) instead of failing
 * at Jules. Counts live in the database, so every worker shares them. While waiting, one notice says where the
 * task stands, edited when that changes; the activity heartbeats, so a cancel stops it.
 */
export function createSlotActivities({ store, announcerFor, planBoard }: Pick<ActivityDeps, 'store'> & Required<Pick<ActivityDeps, 'announcerFor' | 'planBoard'>>) {
  return {
    async waitForSessionSlot(input: SlotInput): Promise<{ readonly waited: boolean }> {
      const context = Context.current();
      const owner = keyOwnerOf({ keySource: input.keySource, requesterId: input.requesterId, guildId: input.guildId });
      const announcer = announcerFor({ taskId: input.taskId, threadId: input.threadId, view: input.view, audience: input.audience ?? TASK_THREAD });
      // The heartbeat carries the notice's message id, so a retried attempt edits the notice it posted.
      let noticeId = context.info.heartbeatDetails as string | undefined;
      let shown: string | undefined;
      let waited = noticeId !== undefined;
      for (;;) {
        const quotas = await store.getGuildQuotas(input.guildId);
        const decision = await store.tryAcquireSessionSlot(owner, input.taskId, { concurrent: quotas.concurrentSessionsPerKey, daily: quotas.dailySessionsPerKey });
        if (decision.acquired) {
          await store.recordTaskEvent({ taskId: input.taskId, kind: 'session_slot_acquired', outcome: owner.split(':')[0]!, dedupeKey: 'slot' });
          if (noticeId) await announcer.showNotice({ kind: 'slot_free', step: 'slot', replaces: noticeId });
          return { waited };
        }
        const detail =
          decision.waitingFor === 'daily' && decision.retryAt
            ? `the key's ${quotas.dailySessionsPerKey} sessions for today are used; next one <t:${Math.ceil(decision.retryAt.getTime() / 1000)}:R>`
            : `number ${decision.position} in line; at most ${quotas.concurrentSessionsPerKey} at once`;
        if (detail !== shown) {
          const notice = await announcer.showNotice({ kind: 'waiting_slot', detail, step: 'slot', ...(noticeId ? { replaces: noticeId } : {}) });
          if (!waited) {
            await store.recordTaskEvent({ taskId: input.taskId, kind: 'session_queued', outcome: decision.waitingFor, detail: { position: decision.position }, dedupeKey: 'queued' });
            waited = true;
          }
          // A notice Discord refused is information lost: the task keeps its place in line all the same.
          if ('messageId' in notice) noticeId = notice.messageId;
          // A plan item's place in line is on its row of the plan card and in `/status` as well.
          if (input.audience?.kind === 'plan_thread') await planBoard.itemWaits(input.audience.runId, input.audience.issueNumber, detail);
          shown = detail;
        }
        await sleepBeating(input.retryEveryMs, () => context.heartbeat(noticeId));
      }
    },
  };
}
