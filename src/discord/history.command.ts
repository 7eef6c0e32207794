import {
  ApplicationCommandOptionType,
  ButtonStyle,
  ComponentType,
  InteractionResponseType,
  MessageFlags,
  type APIActionRowComponent,
  type APIButtonComponent,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from '@discordjs/core/http-only';
import { isConfirmer } from '../shared/permissions';
import type { GuildRepository } from '../store/store';
import { decodeHistoryId, encodeHistoryId, HISTORY_PREFIX } from './custom-id';
import { ephemeral, FAILURE_TEXT, memberOf, updateMessage, type ComponentRoute, type SlashCommand } from './interaction-kit';
import type { MessageBody } from './messenger';
import type { TaskLister } from './status.command';
import { fitDescription, taskLine } from './task-lines';

/** `/jules-history [member]`: a member's last tasks with their outcome and links, paged. */
export const historyCommand = {
  name: 'jules-history',
  description: 'Your last Jules tasks with their outcome and PR links (confirmers: anyone’s).',
  dm_permission: false,
  options: [{ type: ApplicationCommandOptionType.User, name: 'member', description: 'Whose tasks (confirmers only; default: yours)', required: false }],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** Tasks per page. */
export const HISTORY_PAGE_SIZE = 5;
/** The last page a button may ask for (the codec's bound). */
const LAST_PAGE = 9999;

/** What `/jules-history` reads: the task projection and the guild's confirm roles. */
export interface HistoryPorts {
  readonly store: TaskLister & Pick<GuildRepository, 'getGuild'>;
}

/**
 * `/jules-history`, answered privately, and its page buttons. A member sees their own tasks; a confirmer anyone's.
 * A page button is checked again when clicked (it carries whose history it shows, and anyone may forge one).
 */
export function createHistoryCommand(ports: HistoryPorts): { readonly command: SlashCommand; readonly pages: ComponentRoute } {
  /** The page, or the words of a refusal. */
  async function page(guildId: string, viewer: { id: string; roles: readonly string[] }, memberId: string, index: number): Promise<MessageBody | string> {
    if (memberId !== viewer.id) {
      const guild = await ports.store.getGuild(guildId);
      if (!guild || !isConfirmer(viewer, guild)) return 'Only members of a confirm role can see another member’s tasks; `/jules-history` alone shows yours.';
    }
    return historyPage(ports, { guildId, memberId, viewerId: viewer.id, page: index });
  }
  return {
    command: {
      definition: historyCommand,
      async handle(interaction) {
        if (!interaction.guild_id || !interaction.member) return ephemeral('Use `/jules-history` in a server channel, not in direct messages.');
        const options = 'options' in interaction.data ? interaction.data.options : undefined;
        const chosen = options?.find((option) => option.name === 'member' && option.type === ApplicationCommandOptionType.User);
        const memberId = chosen && chosen.type === ApplicationCommandOptionType.User ? chosen.value : interaction.member.user.id;
        const body = await page(interaction.guild_id, memberOf(interaction.member), memberId, 0);
        if (typeof body === 'string') return ephemeral(body);
        return { type: InteractionResponseType.ChannelMessageWithSource, data: { ...body, flags: MessageFlags.Ephemeral } };
      },
    },
    pages: {
      prefix: HISTORY_PREFIX,
      async handleComponent(interaction) {
        const id = decodeHistoryId(interaction.data.custom_id);
        if (!id || !interaction.guild_id || !interaction.member) return ephemeral(FAILURE_TEXT.staleButton);
        const body = await page(interaction.guild_id, memberOf(interaction.member), id.memberId, id.page);
        return typeof body === 'string' ? ephemeral(body) : updateMessage(body);
      },
    },
  };
}

/**
 * One page of a member's tasks in a guild, newest first, from the `tasks` projection: each with its status (the
 * outcome, once ended), repository, prompt, when, and its card, Jules session and pull request links. One more row
 * than shown is read, to know whether there is an older page.
 */
export async function historyPage(
  ports: HistoryPorts,
  where: { readonly guildId: string; readonly memberId: string; readonly viewerId: string; readonly page: number },
): Promise<MessageBody> {
  const index = Math.min(Math.max(where.page, 0), LAST_PAGE);
  const rows = await ports.store.listTasks({ guildId: where.guildId, requesterId: where.memberId, limit: HISTORY_PAGE_SIZE + 1, offset: index * HISTORY_PAGE_SIZE });
  const shown = rows.slice(0, HISTORY_PAGE_SIZE);
  const whose = where.memberId === where.viewerId ? 'Your' : `<@${where.memberId}>’s`;
  if (shown.length === 0) {
    const content = index === 0 ? `${whose === 'Your' ? 'You have' : `<@${where.memberId}> has`} no Jules tasks in this server yet.` : 'No older tasks.';
    return { content, embeds: [], components: index === 0 ? [] : pageButtons(where.memberId, index, false), allowed_mentions: { parse: [] } };
  }
  const lines = shown.map((task) => taskLine(task, { showWhen: true }));
  const first = index * HISTORY_PAGE_SIZE + 1;
  return {
    content: '',
    embeds: [
      {
        title: 'Jules history',
        description: fitDescription(`**${whose} tasks**, newest first (${first}–${first + shown.length - 1})\n${lines.join('\n')}`),
        color: 0x3498db,
      },
    ],
    components: pageButtons(where.memberId, index, rows.length > HISTORY_PAGE_SIZE),
    allowed_mentions: { parse: [] },
  };
}

/** ◀ Newer and Older ▶, each disabled where there is no page. */
function pageButtons(memberId: string, index: number, older: boolean): APIActionRowComponent<APIButtonComponent>[] {
  if (index === 0 && !older) return [];
  const button = (label: string, to: number, disabled: boolean): APIButtonComponent => ({
    type: ComponentType.Button,
    style: ButtonStyle.Secondary,
    label,
    custom_id: encodeHistoryId({ memberId, page: to }),
    disabled,
  });
  return [
    {
      type: ComponentType.ActionRow,
      components: [button('◀ Newer', Math.max(index - 1, 0), index === 0), button('Older ▶', Math.min(index + 1, LAST_PAGE), !older || index >= LAST_PAGE)],
    },
  ];
}
