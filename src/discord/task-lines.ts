/** Tasks as lines of a private list (`/jules-status`, `/jules-history`), said once for both. */
import type { TaskRecord } from '../store/store';
import { statusLabel } from './task-card';

const DESCRIPTION_MAX = 4096;
const PROMPT_PREVIEW = 60;

/** One task as a line: status · repo · prompt · by whom · when · links (card, Jules session, pull request). */
export function taskLine(task: TaskRecord, options: { readonly showRequester?: boolean; readonly showWhen?: boolean } = {}): string {
  const parts = [statusLabel(task.status), `\`${task.repo}\``, escapeMarkdown(preview(task.prompt))];
  if (options.showRequester) parts.push(`by <@${task.requesterId}>`);
  if (options.showWhen) parts.push(`<t:${Math.floor(task.createdAt.getTime() / 1000)}:R>`);
  if (task.cardMessageId) parts.push(`[card](https://discord.com/channels/${task.guildId}/${task.channelId}/${task.cardMessageId})`);
  // These urls come from the Jules API and GitHub; only an https link is shown as one.
  if (task.julesSessionUrl?.startsWith('https://')) parts.push(`[Jules](${task.julesSessionUrl})`);
  if (task.prUrl?.startsWith('https://')) parts.push(`[PR${task.prState === 'merged' ? ', merged' : ''}](${task.prUrl})`);
  return `• ${parts.join(' · ')}`;
}

/** The prompt's first line, cut to a preview. */
export function preview(prompt: string, max: number = PROMPT_PREVIEW): string {
  const firstLine = prompt.trim().split('\n', 1)[0] ?? '';
  const chars = [...firstLine];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : firstLine;
}

/** Prompts are members' text: they must not turn into links, mentions or formatting in a list of ours. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_~|>[\]()<@#]/g, (char) => `\\${char}`);
}

/** Keeps an embed description within Discord's 4096 characters, dropping whole lines from the end. */
export function fitDescription(description: string): string {
  if (description.length <= DESCRIPTION_MAX) return description;
  const lines = description.split('\n');
  while (lines.join('\n').length > DESCRIPTION_MAX - 30) lines.pop();
  return `${lines.join('\n')}\n…and more not shown.`;
}
