import { MessageFlags, InteractionResponseType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from '@discordjs/core/http-only';
import type { ServiceMetrics } from '../metrics/service-metrics';
import { isConfirmer } from '../shared/permissions';
import type { GuildRepository, TaskRecord } from '../store/store';
import { ephemeral, type SlashCommand } from './interaction-kit';
import type { MessageBody } from './messenger';
import type { TaskLister } from './status.command';
import { statusLabel } from './task-card';
import type { TaskQueueInspector, TaskQueueKindState, TaskQueueState } from '../temporal/task-queue-state';

/** `/jules-ops`: the operator's summary of this server, privately, for confirmers. */
export const opsCommand = {
  name: 'jules-ops',
  description: 'For confirmers: what is open, waiting or failing in this server, without opening Grafana.',
  dm_permission: false,
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What `/jules-ops` reads: the open tasks and the guild's confirm roles, and this process's last hour. */
export interface OpsPorts {
  readonly store: TaskLister & Pick<GuildRepository, 'getGuild'>;
  /** The process's metrics; absent, the last hour's errors are left out. */
  readonly metrics?: Pick<ServiceMetrics, 'lastHour'>;
  /** The task queue's workers and backlog (DescribeTaskQueue); absent, those lines are left out. */
  readonly workers?: TaskQueueInspector;
}

/** How many open tasks are read at most; the summary says when there were more. */
const OPEN_TASKS_READ = 100;

/** `/jules-ops`, answered privately; anyone but a confirmer is told who may use it. */
export function createOpsCommand(ports: OpsPorts): SlashCommand {
  return {
    definition: opsCommand,
    async handle(interaction) {
      if (!interaction.guild_id || !interaction.member) return ephemeral('Use `/jules-ops` in a server channel, not in direct messages.');
      const guild = await ports.store.getGuild(interaction.guild_id);
      if (!guild) return ephemeral('This server is not set up for Jules yet: a member with Manage Server runs `/jules-setup` first.');
      const member = { id: interaction.member.user.id, roles: interaction.member.roles };
      if (!isConfirmer(member, guild)) return ephemeral('Only members of a confirm role can see `/jules-ops`; `/jules-status` lists the open tasks.');
      const body = await opsSummary(ports, interaction.guild_id, new Date());
      return { type: InteractionResponseType.ChannelMessageWithSource, data: { ...body, flags: MessageFlags.Ephemeral } };
    },
  };
}

/**
 * The summary: open tasks by status, the oldest waiting confirmation, what waits for a plan approval or a reply,
 * the workers polling the task queue and its backlog, and this process's Jules errors, Jules 429s and Discord 429s
 * in the last hour (the same events `/metrics` counts).
 */
export async function opsSummary(ports: OpsPorts, guildId: string, now: Date): Promise<MessageBody> {
  const open = await ports.store.listTasks({ guildId, open: true, limit: OPEN_TASKS_READ + 1 });
  const shown = open.slice(0, OPEN_TASKS_READ);
  const byStatus = new Map<string, number>();
  for (const task of shown) byStatus.set(task.status, (byStatus.get(task.status) ?? 0) + 1);
  const lines: string[] = [];
  lines.push(
    shown.length === 0
      ? '**Open tasks**: none'
      : `**Open tasks**: ${[...byStatus].map(([status, count]) => `${statusLabel(status as TaskRecord['status'])} ${count}`).join(' · ')}${open.length > OPEN_TASKS_READ ? ` (the newest ${OPEN_TASKS_READ} counted)` : ''}`,
  );
  const waiting = shown.filter((task) => task.status === 'pending_confirmation').sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  const oldest = waiting[0];
  lines.push(oldest ? `**Oldest waiting confirmation**: ${ago(oldest.createdAt, now)}${link(oldest)}` : '**Waiting confirmations**: none');
  const plans = shown.filter((task) => task.julesState === 'AWAITING_PLAN_APPROVAL').length;
  const replies = shown.filter((task) => task.julesState === 'AWAITING_USER_FEEDBACK').length;
  lines.push(`**Waiting for a plan approval**: ${plans} · **for a reply to Jules**: ${replies}`);
  if (ports.workers) lines.push(...(await workerLines(ports.workers, now)));
  const hour = ports.metrics?.lastHour();
  if (hour) {
    lines.push(`**Last hour** (this process): Jules errors ${hour.jules_errors} · Jules 429s ${hour.jules_rate_limited} · Discord 429s ${hour.discord_rate_limited}`);
  }
  return { embeds: [{ title: 'Jules operations', description: lines.join('\n'), color: 0x95a5a6 }], allowed_mentions: { parse: [] } };
}

/**
 * Worker state and backlog. No worker polling is what stops every task, so it is said in words; a Temporal that
 * cannot be asked, or does not report a backlog, is said too instead of reading as zero.
 */
async function workerLines(workers: TaskQueueInspector, now: Date): Promise<string[]> {
  let state: TaskQueueState;
  try {
    state = await workers.describe();
  } catch (err) {
    return [`**Workers**: could not ask Temporal (${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'})`];
  }
  const { workflow, activity } = state;
  const lastPoll = [workflow.lastPollAt, activity.lastPollAt].filter((at): at is Date => at !== undefined).sort((a, b) => b.getTime() - a.getTime())[0];
  const workerLine =
    workflow.pollers === 0 && activity.pollers === 0
      ? `**Workers**: ⚠️ none polling \`${state.taskQueue}\`: tasks wait until a worker starts`
      : `**Workers** on \`${state.taskQueue}\`: ${workflow.pollers} polling workflow tasks · ${activity.pollers} polling activities${lastPoll ? ` · last poll ${secondsAgo(lastPoll, now)}` : ''}`;
  const backlog = (kind: TaskQueueKindState) => (kind.backlog ? `${kind.backlog.count}${kind.backlog.count > 0 ? ` (oldest ${Math.round(kind.backlog.ageMs / 1000)} s)` : ''}` : 'not reported');
  const backlogLine = workflow.backlog || activity.backlog ? `**Backlog**: workflow tasks ${backlog(workflow)} · activity tasks ${backlog(activity)}` : '**Backlog**: not reported by this Temporal server';
  return [workerLine, backlogLine];
}

function secondsAgo(then: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  return seconds < 120 ? `${seconds} s ago` : ago(then, now);
}

function ago(then: Date, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - then.getTime()) / 60_000));
  return minutes < 60 ? `${minutes} min ago` : `${Math.floor(minutes / 60)} h ${minutes % 60} min ago`;
}

function link(task: TaskRecord): string {
  return task.cardMessageId ? ` ([card](https://discord.com/channels/${task.guildId}/${task.channelId}/${task.cardMessageId}))` : '';
}
