import { ButtonStyle, ComponentType } from '@discordjs/core/http-only';
import type { TaskStatus } from '../shared/task-status';
import type { TaskView } from '../shared/task';
import { encodeCustomId } from './custom-id';
import type { MessageBody } from './messenger';

const STATUS_LABEL: Record<TaskStatus, string> = {
  pending_confirmation: '⏳ Waiting for a confirmer',
  in_progress: '🛠️ In progress',
  completed: '✅ Completed',
  rejected: '🚫 Rejected',
  failed: '❌ Failed',
  cancelled: '⏹️ Cancelled',
  expired: '⌛ Expired',
  stalled: '⚠️ Stalled',
  needs_attention: '⚠️ Needs attention',
};

const STATUS_COLOR: Record<TaskStatus, number> = {
  pending_confirmation: 0xf1c40f,
  in_progress: 0x3498db,
  completed: 0x2ecc71,
  rejected: 0x95a5a6,
  failed: 0xe74c3c,
  cancelled: 0x95a5a6,
  expired: 0x95a5a6,
  stalled: 0xe67e22,
  needs_attention: 0xe67e22,
};

/** Human label of a status, as shown on cards and in ephemeral answers. */
export function statusLabel(status: TaskStatus): string {
  return STATUS_LABEL[status];
}

/**
 * The task card: prompt, repo, branch, requester, key source and status, with Confirm / Reject while it
 * waits for a confirmer. The buttons disappear once decided.
 */
export function renderTaskCard(view: TaskView): MessageBody {
  const fields = [
    { name: 'Repository', value: `\`${view.repo}\``, inline: true },
    { name: 'Branch', value: view.branch ? `\`${view.branch}\`` : 'default', inline: true },
    { name: 'Requested by', value: `<@${view.requesterId}>`, inline: true },
    { name: 'Key', value: view.keySource === 'personal' ? "requester's own" : "server's default", inline: true },
    { name: 'Status', value: STATUS_LABEL[view.status], inline: true },
  ];
  if (view.decidedBy && view.status !== 'pending_confirmation') {
    fields.push({ name: view.status === 'rejected' ? 'Rejected by' : 'Confirmed by', value: `<@${view.decidedBy}>`, inline: true });
  }
  if (view.sessionUrl) fields.push({ name: 'Jules session', value: view.sessionUrl, inline: false });
  if (view.prUrl) fields.push({ name: 'Pull request', value: view.prUrl, inline: false });
  if (view.error) fields.push({ name: 'Why', value: truncate(view.error, 1000), inline: false });
  return {
    embeds: [
      {
        title: 'Jules task',
        description: truncate(view.prompt, 4000),
        color: STATUS_COLOR[view.status],
        fields,
        footer: { text: view.taskId },
      },
    ],
    components:
      view.status === 'pending_confirmation'
        ? [
            {
              type: ComponentType.ActionRow,
              components: [
                { type: ComponentType.Button, style: ButtonStyle.Success, label: 'Confirm', custom_id: encodeCustomId({ action: 'confirm', taskId: view.taskId }) },
                { type: ComponentType.Button, style: ButtonStyle.Danger, label: 'Reject', custom_id: encodeCustomId({ action: 'reject', taskId: view.taskId }) },
              ],
            },
          ]
        : [],
    allowed_mentions: { parse: [] },
  };
}

/** The one-line announcement posted in the channel when a task starts or ends. */
export function renderAnnouncement(view: TaskView, kind: 'started' | 'outcome'): MessageBody {
  const who = `<@${view.requesterId}>`;
  let content: string;
  if (kind === 'started') {
    content = `🛠️ Jules started working on ${who}'s task in \`${view.repo}\`${view.sessionUrl ? `: ${view.sessionUrl}` : '.'}`;
  } else {
    switch (view.status) {
      case 'completed':
        content = view.prUrl ? `✅ PR ready: ${view.prUrl} (${who})` : `✅ ${who}, Jules finished your task.`;
        break;
      case 'rejected':
        content = `🚫 ${who}, your Jules task was rejected${view.decidedBy ? ` by <@${view.decidedBy}>` : ''}.`;
        break;
      case 'expired':
        content = `⌛ ${who}, your Jules task expired: ${view.error ?? 'nobody confirmed it in time.'}`;
        break;
      case 'needs_attention':
        content = `⚠️ ${who}, Jules finished without a pull request. ${view.error ?? ''}`.trim();
        break;
      default:
        content = `❌ ${who}, your Jules task ${view.status.replace(/_/g, ' ')}: ${view.error ?? 'no reason given.'}`;
    }
  }
  return { content: truncate(content, 2000), allowed_mentions: { users: [view.requesterId] } };
}

/** Cuts to at most `max` UTF-16 units without splitting a character (an emoji is two units). */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max - 1) break;
    out += char;
  }
  return `${out}…`;
}
