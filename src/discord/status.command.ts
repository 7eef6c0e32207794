import { MessageFlags, InteractionResponseType, type APIEmbed, type RESTPostAPIChatInputApplicationCommandsJSONBody } from '@discordjs/core/http-only';
import { TASK_STATUSES, isFinalStatus } from '../shared/task-status';
import type { TaskRecord, TaskRepository } from '../store/store';
import { ephemeral, type SlashCommand } from './interaction-kit';
import type { MessageBody } from './messenger';
import { fitDescription, taskLine } from './task-lines';

/** `/jules-status`: the caller's and the server's open Jules tasks, privately. */
export const statusCommand = {
  name: 'jules-status',
  description: 'Show your open Jules tasks and the ones open in this server.',
  dm_permission: false,
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** The store access `/jules-status` needs, and nothing more. */
export type TaskLister = Pick<TaskRepository, 'listTasks'>;

/** `/jules-status` answered privately from the task projection. */
export function createStatusCommand({ store }: { readonly store: TaskLister }): SlashCommand {
  return {
    definition: statusCommand,
    async handle(interaction) {
      if (!interaction.guild_id || !interaction.member) return ephemeral('Use `/jules-status` in a server channel, not in direct messages.');
      const body = await handleStatusCommand(store, { guildId: interaction.guild_id, userId: interaction.member.user.id });
      return { type: InteractionResponseType.ChannelMessageWithSource, data: { ...body, flags: MessageFlags.Ephemeral } };
    },
  };
}

/** How many tasks each list shows; the embed says how many more there are. */
export const STATUS_LIST_LIMITS = { mine: 10, server: 15 } as const;

/** Statuses a running task may have; `open` then leaves out a task that ended `stalled`. */
const OPEN_STATUSES = TASK_STATUSES.filter((status) => !isFinalStatus(status));

/**
 * Answers `/jules-status` for `userId` in `guildId`: two lists read from the `tasks` projection (which can lag
 * the workflows by a moment), each line with the status, repository, a short prompt and links to the card and
 * the Jules session. One more row than shown is fetched, to know whether to say "and more".
 */
export async function handleStatusCommand(store: TaskLister, where: { guildId: string; userId: string }): Promise<MessageBody> {
  // The store cannot filter "not this requester", so the server list is read with room for the caller's own.
  const serverLimit = STATUS_LIST_LIMITS.server + STATUS_LIST_LIMITS.mine + 1;
  const [mine, server] = await Promise.all([
    store.listTasks({ guildId: where.guildId, requesterId: where.userId, statuses: OPEN_STATUSES, open: true, limit: STATUS_LIST_LIMITS.mine + 1 }),
    store.listTasks({ guildId: where.guildId, statuses: OPEN_STATUSES, open: true, limit: serverLimit }),
  ]);
  const others = server.filter((task) => task.requesterId !== where.userId);
  if (mine.length === 0 && others.length === 0) {
    return { content: 'There are no open Jules tasks in this server. Start one with `/jules`.', allowed_mentions: { parse: [] } };
  }
  const sections = [
    section('Your open tasks', mine, STATUS_LIST_LIMITS.mine, mine.length > STATUS_LIST_LIMITS.mine, false, 'You have no open tasks.'),
    section(
      'Others’ open tasks in this server',
      others,
      STATUS_LIST_LIMITS.server,
      others.length > STATUS_LIST_LIMITS.server || server.length === serverLimit,
      true,
      'Nobody else has an open task.',
    ),
  ];
  const embed: APIEmbed = { title: 'Open Jules tasks', description: fitDescription(sections.join('\n\n')), color: 0x3498db };
  return { embeds: [embed], allowed_mentions: { parse: [] } };
}

function section(title: string, tasks: readonly TaskRecord[], limit: number, more: boolean, showRequester: boolean, empty: string): string {
  if (tasks.length === 0) return `**${title}**\n${empty}`;
  const lines = tasks.slice(0, limit).map((task) => taskLine(task, { showRequester }));
  if (more) lines.push('…and more not shown.');
  return `**${title}**\n${lines.join('\n')}`;
}
