import { MessageFlags, InteractionResponseType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from '@discordjs/core/http-only';
import { isConfirmer } from '../shared/permissions';
import type { GuildRepository, KeyOwner, QuotaRepository, UsageFigures, UsageRepository } from '../store/store';
import { ephemeral, type SlashCommand } from './interaction-kit';
import type { MessageBody } from './messenger';

/** `/jules-usage`: this week's tasks, pull requests and Jules sessions in this server, privately, for confirmers. */
export const usageCommand = {
  name: 'jules-usage',
  description: 'For confirmers: this week’s Jules tasks per member, PRs, sessions against each key’s daily limit.',
  dm_permission: false,
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What `/jules-usage` reads. */
export interface UsagePorts {
  readonly store: Pick<GuildRepository, 'getGuild'> & Pick<QuotaRepository, 'getGuildQuotas'> & UsageRepository;
}

/** "This week" is the rolling seven days before the command, so Monday mornings are not empty. */
export const USAGE_WINDOW_MS = 7 * 86_400_000;
/** Members listed at most; the summary says how many more there were. */
const MEMBERS_SHOWN = 20;

/** `/jules-usage`, answered privately; anyone but a confirmer is told who may use it. */
export function createUsageCommand(ports: UsagePorts): SlashCommand {
  return {
    definition: usageCommand,
    async handle(interaction) {
      if (!interaction.guild_id || !interaction.member) return ephemeral('Use `/jules-usage` in a server channel, not in direct messages.');
      const guild = await ports.store.getGuild(interaction.guild_id);
      if (!guild) return ephemeral('This server is not set up for Jules yet: a member with Manage Server runs `/jules-setup` first.');
      if (!isConfirmer({ id: interaction.member.user.id, roles: interaction.member.roles }, guild)) {
        return ephemeral('Only members of a confirm role can see `/jules-usage`; `/jules-status` lists the open tasks.');
      }
      const body = await usageSummary(ports, { guildId: interaction.guild_id, hasDefaultKey: guild.hasDefaultKey }, new Date());
      return { type: InteractionResponseType.ChannelMessageWithSource, data: { ...body, flags: MessageFlags.Ephemeral } };
    },
  };
}

/** The summary: the week's figures for the server and each member, and each key's sessions against its daily limit. */
export async function usageSummary(ports: UsagePorts, where: { guildId: string; hasDefaultKey: boolean }, now: Date): Promise<MessageBody> {
  const since = new Date(now.getTime() - USAGE_WINDOW_MS);
  const [usage, quotas] = await Promise.all([ports.store.guildUsage(where.guildId, since), ports.store.getGuildQuotas(where.guildId)]);
  const owners: KeyOwner[] = [
    ...(where.hasDefaultKey ? [`guild:${where.guildId}` as const] : []),
    ...usage.members.filter((member) => member.personalKey).map((member) => `user:${member.requesterId}` as const),
  ];
  const used = owners.length > 0 ? await ports.store.keySessionsUsed(owners, now) : new Map<KeyOwner, number>();
  const lines = [`**This week** (since <t:${Math.floor(since.getTime() / 1000)}:f>): ${figures(usage.total)}`];
  if (usage.members.length > 0) {
    lines.push('', '**By member**');
    for (const member of usage.members.slice(0, MEMBERS_SHOWN)) lines.push(`• <@${member.requesterId}>: ${figures(member)}`);
    if (usage.members.length > MEMBERS_SHOWN) lines.push(`…and ${usage.members.length - MEMBERS_SHOWN} more members.`);
  }
  lines.push('', `**Jules sessions in the last 24 h** (daily limit ${quotas.dailySessionsPerKey} per key)`);
  if (owners.length === 0) lines.push('No key was used.');
  for (const owner of owners) {
    const name = owner.startsWith('guild:') ? 'Server default key' : `<@${owner.slice('user:'.length)}>’s personal key`;
    lines.push(`• ${name}: ${used.get(owner) ?? 0} of ${quotas.dailySessionsPerKey}`);
  }
  return { embeds: [{ title: 'Jules usage', description: lines.join('\n'), color: 0x95a5a6 }], allowed_mentions: { parse: [] } };
}

function figures(usage: UsageFigures): string {
  const median = usage.medianSecondsToPr === null ? '' : ` · median time to PR ${formatDuration(usage.medianSecondsToPr)}`;
  return `${count(usage.tasks, 'task')} · ${count(usage.prsOpened, 'PR')} opened · ${usage.prsMerged} merged${median}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A duration as people read it: `45 s`, `12 min`, `3 h 5 min`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
