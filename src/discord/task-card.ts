import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponentWithCustomId } from '@discordjs/core/http-only';
import type { TaskStatus } from '../shared/task-status';
import { hasEnded, type TaskView } from '../shared/task';
import { encodeCustomId, type ButtonAction } from './custom-id';
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
 * waits for a confirmer (they disappear once decided) and Cancel until the task is finished.
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
  if (view.awaiting === 'plan_approval' || view.awaiting === 'reply') {
    const what = view.awaiting === 'plan_approval' ? 'a confirmer to approve Jules’ plan' : 'a reply to Jules’ question';
    fields.push({ name: 'Waiting for', value: view.threadId ? `${what}, in <#${view.threadId}>` : what, inline: false });
  }
  if (view.sessionUrl) fields.push({ name: 'Jules session', value: view.sessionUrl, inline: false });
  if (view.prUrl) fields.push({ name: 'Pull request', value: view.prStatus ? `${view.prUrl}\n${view.prStatus}` : view.prUrl, inline: false });
  if (view.error) fields.push({ name: 'Why', value: truncate(view.error, 1000), inline: false });
  if (view.retryOf) {
    // Only our own Discord link is shown as one; the id alone otherwise.
    const earlier = view.retryOf.cardUrl?.startsWith('https://discord.com/channels/') ? `[the earlier task](${view.retryOf.cardUrl})` : `\`${view.retryOf.taskId}\``;
    fields.push({ name: 'Retry of', value: earlier, inline: false });
  }
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
    components: buttonRow(view.taskId, [
      ...(view.status === 'pending_confirmation'
        ? ([
            ['confirm', 'Confirm', ButtonStyle.Success],
            ['reject', 'Reject', ButtonStyle.Danger],
          ] as const)
        : []),
      // The requester may withdraw a request before it is confirmed, and anyone allowed may stop a running task.
      ...(hasEnded(view) ? [] : ([['cancel', 'Cancel', ButtonStyle.Secondary]] as const)),
    ]),
    allowed_mentions: { parse: [] },
  };
}

/** Who decided on a plan, when the renderer is called right after the decision. */
export type PlanDecisionShown =
  | {
      readonly action: 'approve' | 'request_changes';
      /** The confirmer's user id. */
      readonly by: string;
    }
  /** Plan approval is off for the task: Jules approved its own plan, shown for information. */
  | { readonly action: 'automatic' };

const PLAN_STEP_MAX = 300;
const PLAN_DESCRIPTION_MAX = 4000;

/**
 * Jules' plan in the task's thread: numbered steps, with Approve / Request changes while the plan waits for a
 * confirmer (`view.awaiting === 'plan_approval'`). The buttons go once it no longer waits; with `decision`
 * (the dispatcher's answer to the click) the message says who decided and how.
 */
export function renderPlanMessage(view: TaskView, decision?: PlanDecisionShown): MessageBody {
  const steps = view.plan ?? [];
  const waiting = view.awaiting === 'plan_approval' && !decision && !hasEnded(view);
  let state: string;
  if (decision?.action === 'automatic') state = '✅ Approved by Jules (plan approval is off for this task)';
  else if (decision) state = decision.action === 'approve' ? `✅ Approved by <@${decision.by}>` : `✏️ Changes requested by <@${decision.by}>`;
  else if (waiting) state = '⏳ Waiting for a confirmer to approve it or request changes';
  else if (hasEnded(view)) state = STATUS_LABEL[view.status];
  else state = 'No longer waiting for approval';
  return {
    embeds: [
      {
        title: '📋 Jules’ plan',
        description: numberedSteps(steps),
        color: waiting ? STATUS_COLOR.pending_confirmation : STATUS_COLOR[view.status],
        fields: [{ name: 'Status', value: state, inline: false }],
        footer: { text: view.taskId },
      },
    ],
    components: waiting
      ? buttonRow(view.taskId, [
          ['approve_plan', 'Approve', ButtonStyle.Success],
          ['request_changes', 'Request changes', ButtonStyle.Secondary],
        ])
      : [],
    allowed_mentions: { parse: [] },
  };
}

const QUESTION_MAX = 1700;
const REPLY_HINT = '-# The requester or a confirmer can answer with **Reply**.';

/**
 * Jules' question in the task's thread, mentioning the requester, with a Reply button while the task waits for
 * a reply (`view.awaiting === 'reply'`).
 */
export function renderQuestionMessage(view: TaskView): MessageBody {
  const waiting = view.awaiting === 'reply' && !hasEnded(view);
  const question = view.question?.trim() ? truncate(view.question.trim(), QUESTION_MAX) : '(Jules asked for input without a message.)';
  return {
    content: truncate(`❓ <@${view.requesterId}>, Jules asks:\n${quote(question)}${waiting ? `\n${REPLY_HINT}` : ''}`, 2000),
    components: waiting ? buttonRow(view.taskId, [['reply', 'Reply', ButtonStyle.Primary]]) : [],
    // Only the requester is pinged; a question quoting @everyone pings nobody else.
    allowed_mentions: { users: [view.requesterId] },
  };
}

/** Who answered a question through the Reply modal, and what they said. */
export interface ReplyShown {
  readonly by: string;
  readonly text: string;
}

/**
 * The question message once answered through the Reply modal: its text as it was on the message (the view
 * may hold a newer question by then), the answer quoted under it, and no button.
 */
export function renderAnsweredQuestion(questionContent: string, reply: ReplyShown): MessageBody {
  const question = truncate(questionContent.split('\n').filter((line) => line !== REPLY_HINT).join('\n'), 900);
  return {
    content: truncate(`${question}\n↩️ <@${reply.by}> replied:\n${quote(reply.text.trim())}`, 2000),
    components: [],
    allowed_mentions: { parse: [] },
  };
}

const PROGRESS_MAX = 300;

/** One line of progress in the thread, edited in place as Jules works: the status and the latest step. */
export function renderProgressMessage(view: TaskView): MessageBody {
  const progress = view.progress?.replace(/\s+/g, ' ').trim();
  const line = progress && !hasEnded(view) ? `${STATUS_LABEL[view.status]} · ${truncate(progress, PROGRESS_MAX)}` : STATUS_LABEL[view.status];
  return { content: line, components: [], allowed_mentions: { parse: [] } };
}

/** One action row of task buttons, or no rows at all when there are none (Discord rejects an empty row). */
function buttonRow(
  taskId: string,
  buttons: readonly (readonly [ButtonAction, string, ButtonStyle.Primary | ButtonStyle.Secondary | ButtonStyle.Success | ButtonStyle.Danger])[],
): APIActionRowComponent<APIButtonComponentWithCustomId>[] {
  if (buttons.length === 0) return [];
  return [
    {
      type: ComponentType.ActionRow,
      components: buttons.map(([action, label, style]) => ({ type: ComponentType.Button, style, label, custom_id: encodeCustomId({ action, taskId }) })),
    },
  ];
}

/** Quotes every line (a `>>>` block would swallow whatever follows it). */
function quote(text: string): string {
  return text
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** Plan steps as a numbered list that fits an embed description, saying how many steps did not fit. */
function numberedSteps(steps: readonly string[]): string {
  if (steps.length === 0) return 'Jules did not share any steps.';
  const lines: string[] = [];
  let length = 0;
  for (const [i, step] of steps.entries()) {
    const line = `**${i + 1}.** ${truncate(step.replace(/\s+/g, ' ').trim(), PLAN_STEP_MAX)}`;
    const rest = steps.length - i - 1;
    // Keep room for the "and N more" line whenever steps remain after this one.
    const reserve = rest > 0 ? 40 : 0;
    if (length + line.length + 1 + reserve > PLAN_DESCRIPTION_MAX) {
      lines.push(`…and ${steps.length - i} more steps.`);
      break;
    }
    lines.push(line);
    length += line.length + 1;
  }
  return lines.join('\n');
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
        // The workflow keeps the confirmer's reason (from the reject modal) as the task's error.
        content = `🚫 ${who}, your Jules task was rejected${view.decidedBy ? ` by <@${view.decidedBy}>` : ''}${view.error ? `: ${view.error}` : '.'}`;
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

/**
 * The private word to a member whose own Jules key Jules refused: which task it stopped (`where`: the id of its
 * thread, or of its channel before a thread exists), and how to replace the key. Sent as a direct message; the
 * thread says only that the task failed.
 */
export function renderKeyRefused(view: TaskView, where: string): MessageBody {
  return {
    content: truncate(
      `🔑 Jules refused your personal Jules API key, so your task in \`${view.repo}\` failed (<#${where}>).\n` +
        'Get a current key at https://jules.google.com/settings#api and set it with `/jules-key set` (or `/jules-key remove` to use the server’s default key), ' +
        'then ask again with `/jules-retry`.',
      2000,
    ),
    allowed_mentions: { parse: [] },
  };
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

/**
 * The first line of a task's thread when the Temporal Web UI's address is known: the run's page, for operators
 * (members without access to the UI simply cannot open it). Links in angle brackets, so Discord shows no preview.
 */
export function renderWebUiLink(url: string): MessageBody {
  return { content: `🔎 For operators: this run in the Temporal Web UI: <${url}>`, allowed_mentions: { parse: [] } };
}
