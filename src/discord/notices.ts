import type { TaskView } from '../shared/task';
import type { NoticeKind } from '../tasks/announcer';
import type { MessageBody } from './messenger';

export type { NoticeKind } from '../tasks/announcer';

/**
 * Renders a notice for the task's thread. Reminders and stall alerts mention the confirm roles (that is their
 * point); nothing else pings anyone.
 */
export function renderNotice(view: TaskView, kind: NoticeKind, detail?: string): MessageBody {
  const roles = (view.confirmRoles ?? []).map((id) => `<@&${id}>`).join(' ');
  const confirmers = roles || 'Confirmers';
  switch (kind) {
    case 'plan_reminder':
      return { content: `⏰ ${confirmers}: Jules' plan is still waiting for approval above.`, allowed_mentions: { roles: [...(view.confirmRoles ?? [])] } };
    case 'reply_reminder':
      return { content: `⏰ <@${view.requesterId}>: Jules is still waiting for an answer to its question above.`, allowed_mentions: { users: [view.requesterId] } };
    case 'answered_elsewhere':
      return { content: '↪️ Someone answered in Jules itself, so Jules carried on: the buttons above no longer apply.', allowed_mentions: { parse: [] } };
    case 'stalled':
      return {
        content: `⚠️ ${confirmers}: Jules has shown no progress for ${detail ?? 'a long time'}. The task keeps watching; check the session${view.sessionUrl ? `: ${view.sessionUrl}` : '.'}`,
        allowed_mentions: { roles: [...(view.confirmRoles ?? [])] },
      };
    case 'paused':
      return {
        content: `⏸️ Jules paused the session. Resume it in Jules${view.sessionUrl ? ` (${view.sessionUrl})` : ''}, or reply here to give it direction.`,
        allowed_mentions: { parse: [] },
      };
    case 'resumed':
      return { content: '▶️ Jules is working again.', allowed_mentions: { parse: [] } };
    case 'not_delivered':
      return { content: `⚠️ Jules did not take the last message${detail ? ` (${detail})` : ''}. The task goes on; say it again if it still matters.`, allowed_mentions: { parse: [] } };
    case 'waiting_slot':
      return { content: `🕒 Waiting for a free Jules session${detail ? ` (${detail})` : ''}: the key's plan allows only so many at once.`, allowed_mentions: { parse: [] } };
    case 'slot_free':
      return { content: '✅ A Jules session is free: starting now.', allowed_mentions: { parse: [] } };
  }
}
