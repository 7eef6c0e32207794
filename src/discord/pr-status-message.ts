import { ButtonStyle, ComponentType } from '@discordjs/core/http-only';
import { isMergeable, type CheckLine, type PullRequestStatus } from '../github/pr-status';
import { encodeCustomId } from './custom-id';
import type { MessageBody } from './messenger';

/** How many checks a status message names; the rest are counted. */
const LISTED_CHECKS = 5;

/**
 * The one PR status message in a task's thread, edited in place as the pull request moves: checks done, a
 * failure with its link, merged by whom, closed. Or why the PR cannot be read (credentials, access). With the
 * task's id, a Merge button while the PR is open and green at its head (confirmers only: the workflow checks).
 */
export function renderPrStatusMessage(status: PullRequestStatus | { readonly unreadable: string; readonly url: string }, taskId?: string): MessageBody {
  if ('unreadable' in status) return { content: `⚠️ I cannot read ${status.url} on GitHub: ${status.unreadable}`, components: [], allowed_mentions: { parse: [] } };
  const merge = taskId && isMergeable(status);
  // Red at its head: the requester or a confirmer may send the failing checks back to Jules (the workflow bounds it).
  const fix = taskId && status.state === 'open' && status.verdict === 'failed';
  return {
    content: [prLine(status), reviewLine(status)].filter(Boolean).join('\n'),
    components: merge
      ? [{ type: ComponentType.ActionRow, components: [{ type: ComponentType.Button, style: ButtonStyle.Success, label: 'Merge', custom_id: encodeCustomId({ action: 'merge', taskId }) }] }]
      : fix
        ? [{ type: ComponentType.ActionRow, components: [{ type: ComponentType.Button, style: ButtonStyle.Primary, label: 'Ask Jules to fix', custom_id: encodeCustomId({ action: 'fix', taskId }) }] }]
        : [],
    allowed_mentions: { parse: [] },
  };
}

function prLine(status: PullRequestStatus): string {
  const pr = `[PR #${status.number}](${status.url})`;
  if (status.state === 'merged') return `🎉 ${pr} merged${status.mergedBy ? ` by ${status.mergedBy}` : ''}.`;
  if (status.state === 'closed') return `🚪 ${pr} was closed without merging.`;
  const failed = status.checks.filter((c) => c.state === 'failed');
  const pending = status.checks.filter((c) => c.state === 'pending');
  const done = status.checks.length - pending.length;
  switch (status.verdict) {
    case 'no_checks':
      return `✅ ${pr}: this repository runs no checks, so nothing stands in the way of merging.`;
    case 'passed':
      return `✅ ${pr}: all ${status.checks.length} checks passed.`;
    case 'failed':
      return [`❌ ${pr}: ${names(failed)} failed.`, ...failed.slice(0, LISTED_CHECKS).map(checkDetail), more(failed)].filter(Boolean).join('\n');
    case 'pending': {
      const waiting = status.missingRequired.length
        ? ` Waiting for required ${status.missingRequired.length === 1 ? 'check' : 'checks'} ${status.missingRequired.map((n) => `\`${n}\``).join(', ')}, which ${status.missingRequired.length === 1 ? 'has' : 'have'} not run yet.`
        : '';
      const total = status.checks.length + status.missingRequired.length;
      return `🔄 ${pr}: ${done} of ${total} checks done.${waiting}`;
    }
  }
}

/** What reviewers said, while the PR is open: changes requested first, since they block. */
function reviewLine(status: PullRequestStatus): string {
  if (status.state !== 'open') return '';
  const who = (users: readonly string[]) => users.join(', ');
  if (status.changesRequestedBy.length) return `✋ Changes requested by ${who(status.changesRequestedBy)}.`;
  if (status.approvedBy.length) return `👍 Approved by ${who(status.approvedBy)}.`;
  return '';
}

function names(checks: readonly CheckLine[]): string {
  const listed = checks.slice(0, LISTED_CHECKS).map((c) => `\`${c.name}\``);
  return checks.length > LISTED_CHECKS ? `${listed.join(', ')} and ${checks.length - LISTED_CHECKS} more` : listed.join(', ');
}

function checkDetail(check: CheckLine): string {
  const link = check.url?.startsWith('https://') || check.url?.startsWith('http://') ? ` (<${check.url}>)` : '';
  return `• \`${check.name}\`: ${check.detail}${link}${check.summary ? ` — ${check.summary}` : ''}`;
}

function more(checks: readonly CheckLine[]): string {
  return checks.length > LISTED_CHECKS ? `…and ${checks.length - LISTED_CHECKS} more.` : '';
}
