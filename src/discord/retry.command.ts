import { ApplicationCommandOptionType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from '@discordjs/core/http-only';
import { taskWorkflowId } from '../shared/ids';
import { isConfirmer } from '../shared/permissions';
import type { TaskStatus } from '../shared/task-status';
import type { GuildRepository, TaskRecord, TaskRepository } from '../store/store';
import type { TaskControl } from '../temporal/task-control';
import { channelOf, ephemeral, memberOf, readOptions, type SlashCommand } from './interaction-kit';
import { answerSubmission } from './jules.command';
import { statusLabel } from './task-card';
import { preview } from './task-lines';

/** `/jules-retry task`: an ended task that did not succeed, asked again. */
export const retryCommand = {
  name: 'jules-retry',
  description: 'Ask again for one of your tasks that failed, expired, stalled, needs attention or was cancelled.',
  dm_permission: false,
  options: [{ type: ApplicationCommandOptionType.String, name: 'task', description: 'The task to ask again', required: true, autocomplete: true, max_length: 100 }],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** The outcomes worth asking again; completed and rejected are not (a rejection is a confirmer's decision). */
export const RETRYABLE_STATUSES: readonly TaskStatus[] = ['failed', 'expired', 'stalled', 'needs_attention', 'cancelled'];

/** What `/jules-retry` reads and starts. */
export interface RetryPorts {
  readonly tasks: TaskControl;
  readonly store: Pick<TaskRepository, 'getTask' | 'listTasks'> & Pick<GuildRepository, 'getGuild'>;
}

// Autocomplete lists at most Discord's 25 choices; a choice's name is at most 100 characters.
const CHOICES = 25;
const CHOICE_NAME_MAX = 100;

/**
 * `/jules-retry`: the chosen task's prompt, repository and branch go through a fresh admission as a new task
 * (roles, quota and key checked again, for the member who retries), whose card links the earlier one. A member
 * retries their own tasks; a confirmer anyone's (the new task is then theirs). Plan items are retried by their plan.
 */
export function createRetryCommand(ports: RetryPorts): SlashCommand {
  return {
    definition: retryCommand,
    async handle(interaction) {
      const channelId = channelOf(interaction);
      if (!interaction.guild_id || !interaction.member || !channelId) return ephemeral('Use `/jules-retry` in a server channel, not in direct messages.');
      const options = readOptions('options' in interaction.data ? interaction.data.options : undefined);
      const taskId = typeof options.task === 'string' ? options.task.trim() : '';
      const member = memberOf(interaction.member);
      const earlier = taskId ? await ports.store.getTask(taskId) : undefined;
      if (!earlier || earlier.guildId !== interaction.guild_id) {
        return ephemeral('I cannot find that task in this server. Pick one from the list `/jules-retry` offers, or see `/jules-history`.');
      }
      if (earlier.requesterId !== member.id) {
        const guild = await ports.store.getGuild(interaction.guild_id);
        if (!guild || !isConfirmer(member, guild)) return ephemeral('You can retry only your own tasks; a confirmer can retry anyone’s.');
      }
      const refusal = whyNotRetryable(earlier);
      if (refusal) return ephemeral(refusal);
      const result = await ports.tasks.submit({
        taskId: taskWorkflowId(interaction.id),
        origin: { kind: 'interaction', interactionId: interaction.id },
        interactionId: interaction.id,
        guildId: interaction.guild_id,
        channelId,
        requester: member,
        prompt: earlier.prompt,
        repo: earlier.repo,
        ...(earlier.branch ? { branch: earlier.branch } : {}),
        retryOf: { taskId: earlier.id, ...(earlier.cardMessageId ? { cardUrl: `https://discord.com/channels/${earlier.guildId}/${earlier.channelId}/${earlier.cardMessageId}` } : {}) },
      });
      return answerSubmission(result);
    },
    async autocomplete(interaction) {
      if (!interaction.guild_id || !interaction.member) return [];
      const focused = (interaction.data.options ?? []).find((option) => 'focused' in option && option.focused);
      const typed = focused && 'value' in focused && typeof focused.value === 'string' ? focused.value.trim().toLowerCase() : '';
      const ended = await ports.store.listTasks({ guildId: interaction.guild_id, requesterId: interaction.member.user.id, statuses: RETRYABLE_STATUSES, limit: 100 });
      return ended
        .filter((task) => whyNotRetryable(task) === undefined)
        .filter((task) => !typed || task.id.includes(typed) || task.prompt.toLowerCase().includes(typed) || task.repo.toLowerCase().includes(typed))
        .slice(0, CHOICES)
        .map((task) => ({ name: choiceName(task), value: task.id }));
    },
  };
}

/** Why `task` cannot be retried, or undefined when it can. */
function whyNotRetryable(task: TaskRecord): string | undefined {
  if (!task.id.startsWith('task-') || task.id.startsWith('task-plan-')) return 'This task belongs to a daily plan: its plan asks again (`/plan`), not `/jules-retry`.';
  if (task.endedAt === null) return 'This task is still running: follow it on its card, or Cancel it there first.';
  if (!RETRYABLE_STATUSES.includes(task.status)) {
    return task.status === 'completed'
      ? 'This task completed; ask for more with `/jules`.'
      : `This task ended ${statusLabel(task.status).toLowerCase()}; ask again with \`/jules\` if it still matters.`;
  }
  return undefined;
}

/** "Failed · owner/repo · Fix the flaky…": what a member recognises a task by, within Discord's 100 characters. */
function choiceName(task: TaskRecord): string {
  const name = `${statusLabel(task.status)} · ${task.repo} · ${preview(task.prompt, 40)}`;
  const chars = [...name];
  return chars.length > CHOICE_NAME_MAX ? `${chars.slice(0, CHOICE_NAME_MAX - 1).join('')}…` : name;
}
