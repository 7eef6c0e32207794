import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIComponentInMessageActionRow as APIComponentInActionRow } from '@discordjs/core/http-only';
import type { PlanItem, PlanItemStatus, PlanRunStatus, PlanView, ShipReport } from '../shared/plan';
import { encodePlanId } from './custom-id';
import type { MessageBody } from './messenger';

const RUN_LABEL: Record<PlanRunStatus, string> = {
  proposed: '⏳ Waiting for approval',
  running: '🛠️ Running',
  completed: '✅ Done',
  cancelled: '⏹️ Cancelled',
  expired: '⌛ Expired: nobody approved it in time',
};

const RUN_COLOR: Record<PlanRunStatus, number> = { proposed: 0xf1c40f, running: 0x3498db, completed: 0x2ecc71, cancelled: 0x95a5a6, expired: 0x95a5a6 };

const ITEM_LABEL: Record<PlanItemStatus, string> = {
  planned: '📋 planned',
  dropped: '➖ dropped',
  queued: '⏳ queued for a Jules session',
  in_jules: '🛠️ in Jules',
  waiting: '💬 waiting for a reply in the thread',
  pr_open: '🔎 PR open',
  green: '🟢 green',
  red: '🔴 red',
  merged: '✅ merged',
  failed: '❌ failed',
};

/** How an item's status reads on the card and in `/status`. */
export function planItemLabel(status: PlanItemStatus): string {
  return ITEM_LABEL[status];
}

/** Discord allows 25 options in a menu; a plan shows at most this many items for dropping. */
const MENU_MAX = 25;
const DESCRIPTION_MAX = 4096;

/**
 * The plan card: the run id in inline code, each item (`#N title`, linked) with its status, the key that pays and
 * what the run would use of the quota; while proposed, Approve and Cancel buttons and a menu to drop items, all
 * carrying the revision shown so a stale card never approves what nobody saw. It is the run's status table too,
 * edited in place as items move.
 */
export function renderPlanCard(view: PlanView): MessageBody {
  const lines = view.items.map((item) => itemLine(item));
  const payer = view.keySource === 'personal' && view.payerId ? `<@${view.payerId}>’s own Jules key` : 'the server’s default Jules key';
  const running = view.items.filter((item) => item.status !== 'dropped').length;
  const quota = view.quota ? ` · would use ${running} of ${view.quota.limit - view.quota.used} Jules requests left today` : '';
  const fields = [
    { name: 'Repository', value: `\`${view.repo}\``, inline: true },
    { name: 'Label', value: `\`${view.label}\``, inline: true },
    { name: 'Status', value: RUN_LABEL[view.status], inline: true },
    { name: 'Paid by', value: `${payer}${quota}`, inline: false },
  ];
  if (view.proposedBy) fields.push({ name: 'Proposed by', value: `<@${view.proposedBy}>`, inline: true });
  if (view.approvedBy) fields.push({ name: 'Approved by', value: `<@${view.approvedBy}>`, inline: true });
  if (view.status === 'proposed' && view.expiresAt) fields.push({ name: 'Expires', value: `<t:${Math.ceil(view.expiresAt / 1000)}:R>`, inline: true });
  if (view.threadId) fields.push({ name: 'Thread', value: `<#${view.threadId}>`, inline: true });
  const howTo =
    view.status === 'proposed'
      ? `\n\nApprove with the button or \`/approve run_id:${view.runId}\`. Drop items with the menu first if you like.`
      : view.status === 'running'
        ? `\n\n\`/status run_id:${view.runId}\` shows each item; \`/ship run_id:${view.runId}\` merges what is green.`
        : '';
  return {
    embeds: [
      {
        title: `Plan \`${view.runId}\``,
        description: fit(`${lines.join('\n')}${howTo}`),
        color: RUN_COLOR[view.status],
        fields,
      },
    ],
    components: view.status === 'proposed' ? proposedComponents(view) : view.status === 'running' ? [row([cancelButton(view)])] : [],
    allowed_mentions: { parse: [] },
  };
}

/** `/status run_id`: the run item by item, privately. */
export function renderPlanStatus(view: PlanView): MessageBody {
  const { components: _none, ...card } = renderPlanCard(view);
  return card;
}

/** `/ship`'s answer, item by item. */
export function renderShipReport(view: PlanView, report: ShipReport): string {
  if (report.lines.length === 0) return `Nothing in \`${view.runId}\` has an open pull request to ship yet.`;
  const titles = new Map(view.items.map((item) => [item.issueNumber, item.title]));
  const lines = report.lines.map((line) => {
    const what = `#${line.issueNumber} ${titles.get(line.issueNumber) ?? ''}`.trim();
    switch (line.outcome) {
      case 'merged':
        return `✅ ${what}: merged${line.prNumber ? ` (PR #${line.prNumber})` : ''}`;
      case 'updating':
        return `🔄 ${what}: its branch was behind, so it was updated; \`/ship\` again once its checks pass`;
      case 'skipped':
        return `⏭️ ${what}: skipped, ${line.reason ?? 'not green'}`;
    }
  });
  const merged = report.lines.filter((line) => line.outcome === 'merged').length;
  const head = merged ? `Shipped ${merged} of ${report.lines.length} from \`${view.runId}\`:` : `Nothing in \`${view.runId}\` was green at its current head, so nothing was merged:`;
  return `${head}\n${lines.join('\n')}`.slice(0, 2000);
}

function itemLine(item: PlanItem): string {
  const title = item.title.length > 80 ? `${item.title.slice(0, 79)}…` : item.title;
  const pr = item.prUrl ? ` · [PR](${item.prUrl})` : '';
  const why = item.reason && (item.status === 'failed' || item.status === 'dropped' || item.status === 'red' || item.status === 'queued') ? ` — ${item.reason.slice(0, 120)}` : '';
  return `[#${item.issueNumber}](${item.url}) ${escapeMarkdown(title)} · ${ITEM_LABEL[item.status]}${pr}${why}`;
}

function proposedComponents(view: PlanView): APIActionRowComponent<APIComponentInActionRow>[] {
  const planned = view.items.filter((item) => item.status === 'planned').slice(0, MENU_MAX);
  const rows: APIActionRowComponent<APIComponentInActionRow>[] = [
    row([
      { type: ComponentType.Button, style: ButtonStyle.Success, label: 'Approve', custom_id: encodePlanId({ action: 'approve', runId: view.runId, revision: view.revision }) },
      cancelButton(view),
    ]),
  ];
  if (planned.length > 0) {
    rows.push(
      row([
        {
          type: ComponentType.StringSelect,
          custom_id: encodePlanId({ action: 'drop', runId: view.runId, revision: view.revision }),
          placeholder: 'Drop items before approving…',
          min_values: 1,
          max_values: planned.length,
          options: planned.map((item) => ({ label: `#${item.issueNumber} ${item.title}`.slice(0, 100), value: String(item.issueNumber) })),
        },
      ]),
    );
  }
  return rows;
}

function cancelButton(view: PlanView): APIComponentInActionRow {
  return { type: ComponentType.Button, style: ButtonStyle.Secondary, label: 'Cancel plan', custom_id: encodePlanId({ action: 'cancel', runId: view.runId }) };
}

function row(components: APIComponentInActionRow[]): APIActionRowComponent<APIComponentInActionRow> {
  return { type: ComponentType.ActionRow, components };
}

function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_`~|[\]])/g, '\\$1');
}

function fit(text: string): string {
  return text.length > DESCRIPTION_MAX ? `${text.slice(0, DESCRIPTION_MAX - 1)}…` : text;
}
