import { Context } from '@temporalio/activity';
import { renderNotice } from '../src/discord/notices';
import type { KeySource, TaskView } from '../src/shared/task';
import { keyOwnerOf } from '../src/store/store';
import type { ActivityDeps } from './deps';
import { sleepBeating } from './heartbeat';
import { nonceFor } from '../src/discord/nonce';

/** Input of {@link waitForSessionSlot}. */
export interface SlotInput {
  readonly taskId: string;
  readonly guildId: string;
  readonly requesterId: string;
  readonly keySource: KeySource;
  readonly threadId: string;
  readonly view: TaskView;
  /** How often to ask the database again while waiting. */
  readonly retryEveryMs: number;
}

/**
 * Waits for a Jules session slot of the key that pays: Jules plans allow 3, 15 or 60 sessions at once and a
 * daily number, so tasks over the limit wait here in order (first confirmed, first served) instead of failing
 * at Jules. Counts live in the database, so every worker shares them. While waiting, one notice in the thread
 * says where the task stands, edited when that changes; the activity heartbeats, so a cancel stops it.
 */
export function createSlotActivities({ store, discord }: Pick<ActivityDeps, 'store' | 'discord'>) {
  return {
    async waitForSessionSlot(input: SlotInput): Promise<{ readonly waited: boolean }> {
      const context = Context.current();
      const owner = keyOwnerOf({ keySource: input.keySource, requesterId: input.requesterId, guildId: input.guildId });
      let noticeId = context.info.heartbeatDetails as string | undefined;
      let shown: string | undefined;
      for (;;) {
        const quotas = await store.getGuildQuotas(input.guildId);
        const decision = await store.tryAcquireSessionSlot(owner, input.taskId, { concurrent: quotas.concurrentSessionsPerKey, daily: quotas.dailySessionsPerKey });
        if (decision.acquired) {
          await store.recordTaskEvent({ taskId: input.taskId, kind: 'session_slot_acquired', outcome: owner.split(':')[0]!, dedupeKey: 'slot' });
          if (noticeId) await discord.editMessage(input.threadId, noticeId, { content: '✅ A Jules session is free: starting now.', allowed_mentions: { parse: [] } });
          return { waited: noticeId !== undefined };
        }
        const detail =
          decision.waitingFor === 'daily' && decision.retryAt
            ? `the key's ${quotas.dailySessionsPerKey} sessions for today are used; next one <t:${Math.ceil(decision.retryAt.getTime() / 1000)}:R>`
            : `number ${decision.position} in line; at most ${quotas.concurrentSessionsPerKey} at once`;
        if (detail !== shown) {
          const body = renderNotice(input.view, 'waiting_slot', detail);
          if (noticeId) {
            await discord.editMessage(input.threadId, noticeId, body);
          } else {
            noticeId = (await discord.postMessage(input.threadId, body, { nonce: nonceFor(input.taskId, 'slot') })).id;
            await store.recordTaskEvent({ taskId: input.taskId, kind: 'session_queued', outcome: decision.waitingFor, detail: { position: decision.position }, dedupeKey: 'queued' });
          }
          shown = detail;
        }
        await sleepBeating(input.retryEveryMs, () => context.heartbeat(noticeId));
      }
    },
  };
}
