import { randomUUID } from 'node:crypto';
import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags, type APIApplicationCommandOptionChoice, type RESTPostAPIChatInputApplicationCommandsJSONBody } from '@discordjs/core/http-only';
import { isPlanRunId, planRunId, type PlanView } from '../shared/plan';
import type { Store } from '../store/store';
import type { PlanControl, PlanResult } from '../temporal/plan-control';
import { channelOf, ephemeral, memberOf, readOptions, type AutocompleteInteraction, type CommandInteraction, type SlashCommand } from './interaction-kit';
import { REPO_PATTERN } from '../shared/jules-request';
import { planViewOf } from './plan-board';
import { renderPlanStatus, renderShipReport } from './plan-card';

const RUN_ID_OPTION = { type: ApplicationCommandOptionType.String, name: 'run_id', description: 'The plan run, e.g. plan-20261201-widgets-7f3a', autocomplete: true, max_length: 60 } as const;

/** `/plan [repo] [label]`: propose today's plan from the issues with the label. */
export const planCommand = {
  name: 'plan',
  description: 'Propose a plan from the repository’s issues labelled ready; a confirmer approves it.',
  dm_permission: false,
  options: [
    { type: ApplicationCommandOptionType.String, name: 'repo', description: 'GitHub repository, owner/name (default: the server default)', required: false, max_length: 100 },
    { type: ApplicationCommandOptionType.String, name: 'label', description: 'The issue label to plan from (default: the server’s, usually ready)', required: false, max_length: 50 },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** A command whose one option is a run id (autocompleted from the guild's runs). */
function runIdCommand<N extends string>(name: N, description: string, required: boolean) {
  return { name, description, dm_permission: false, options: [{ ...RUN_ID_OPTION, required }] } as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;
}

/** `/approve run_id`: run a proposed plan. */
export const approveCommand = runIdCommand('approve', 'Approve a proposed plan: each item runs as a Jules task.', true);

/** `/status [run_id]`: a run item by item, or the server's open runs. */
export const planStatusCommand = runIdCommand('status', 'Show a plan run item by item, or this server’s open plan runs.', false);

/** `/ship run_id`: merge every item that is green at its current head. */
export const shipCommand = runIdCommand('ship', 'Merge every item of a plan whose pull request is green at its current head.', true);

/** What the plan commands read from the projection. */
export type PlanReader = Pick<Store, 'getGuild' | 'getPlanRun' | 'listPlanItems' | 'listPlanRuns' | 'searchPlanRunIds'>;

/** The ports of the plan commands; `plans` is absent when GitHub is not configured. */
export interface PlanCommandPorts {
  readonly plans?: PlanControl;
  readonly store: PlanReader;
}

const NO_GITHUB = 'Plans need GitHub: an operator sets `GITHUB_TOKEN` or a GitHub App for this service first.';
const DM = 'Use the plan commands in a server channel, not in direct messages.';

/** `/plan`, `/approve`, `/status` and `/ship`, each beside its definition. */
export function createPlanCommands({ plans, store }: PlanCommandPorts): SlashCommand[] {
  /** Run ids of this guild starting with what the member typed, newest first. */
  async function autocomplete(interaction: AutocompleteInteraction): Promise<APIApplicationCommandOptionChoice[]> {
    if (!interaction.guild_id) return [];
    const focused = (interaction.data.options ?? []).find((option) => 'focused' in option && option.focused);
    const typed = focused && 'value' in focused && typeof focused.value === 'string' ? focused.value.trim().toLowerCase() : '';
    const ids = await store.searchPlanRunIds(interaction.guild_id, typed, 25);
    return ids.map((id) => ({ name: id, value: id }));
  }

  /** The run id option, or the words for a bad one. */
  function runIdOf(interaction: CommandInteraction): { runId: string } | { refusal: string } {
    const options = readOptions('options' in interaction.data ? interaction.data.options : undefined);
    const runId = typeof options.run_id === 'string' ? options.run_id.trim() : '';
    if (!isPlanRunId(runId)) return { refusal: `\`${runId.slice(0, 60) || '(empty)'}\` is not a plan run id; they look like \`plan-20261201-widgets-7f3a\`. \`/status\` lists the open ones.` };
    return { runId };
  }

  /**
   * The run as the projection has it; undefined when it is not this guild's. Not a query of the workflow: a query
   * waits for a worker, and every item's steps write the projection anyway (finer than the workflow's own view).
   */
  async function viewOf(runId: string, guildId: string): Promise<PlanView | undefined> {
    const run = await store.getPlanRun(runId);
    if (!run || run.guildId !== guildId) return undefined;
    return planViewOf(run, await store.listPlanItems(runId));
  }

  function answerOf<T>(result: PlanResult<T>, done: (value: T) => string): ReturnType<typeof ephemeral> {
    switch (result.kind) {
      case 'done':
        return ephemeral(done(result.value));
      case 'refused':
        return ephemeral(`🚫 ${result.reason}`);
      case 'gone':
        return ephemeral('This plan run is over: nothing more can be done with it. `/status` shows how it ended.');
    }
  }

  const plan: SlashCommand = {
    definition: planCommand,
    async handle(interaction) {
      const channelId = channelOf(interaction);
      if (!interaction.guild_id || !interaction.member || !channelId) return ephemeral(DM);
      if (!plans) return ephemeral(NO_GITHUB);
      const options = readOptions('options' in interaction.data ? interaction.data.options : undefined);
      const repo = typeof options.repo === 'string' ? options.repo.trim() : undefined;
      const label = typeof options.label === 'string' ? options.label.trim() : undefined;
      if (repo !== undefined && (repo.length > 100 || !REPO_PATTERN.test(repo))) return ephemeral('`repo` must be a GitHub repository of the form `owner/name`.');
      if (label !== undefined && (label.length === 0 || label.length > 50)) return ephemeral('`label` must be a GitHub label name of 1 to 50 characters.');
      const guild = await store.getGuild(interaction.guild_id);
      const runId = planRunId(new Date(), repo ?? guild?.defaultRepo ?? 'repo', randomUUID().replaceAll('-', ''));
      const result = await plans.propose({
        runId,
        guildId: interaction.guild_id,
        channelId,
        ...(repo ? { repo } : {}),
        ...(label ? { label } : {}),
        proposedBy: memberOf(interaction.member),
      });
      if (result.kind === 'duplicate') return ephemeral('This request was already received; see the plan card in the channel.');
      const { proposal } = result;
      switch (proposal.kind) {
        case 'proposed':
          return ephemeral(`📋 Plan \`${runId}\` proposes ${proposal.view.items.length} item${proposal.view.items.length === 1 ? '' : 's'} from \`${proposal.view.repo}\`: see the card in this channel. A confirmer approves it with the button or \`/approve run_id:${runId}\`.`);
        case 'empty':
          return ephemeral(`📭 ${proposal.reason}`);
        case 'refused':
          return ephemeral(`🚫 ${proposal.reason}`);
      }
    },
  };

  const approve: SlashCommand = {
    definition: approveCommand,
    autocomplete,
    async handle(interaction) {
      if (!interaction.guild_id || !interaction.member) return ephemeral(DM);
      if (!plans) return ephemeral(NO_GITHUB);
      const id = runIdOf(interaction);
      if ('refusal' in id) return ephemeral(id.refusal);
      if (!(await viewOf(id.runId, interaction.guild_id))) return ephemeral(`There is no plan run \`${id.runId}\` in this server.`);
      return answerOf(await plans.approve(id.runId, memberOf(interaction.member)), (view) => `✅ Approved \`${view.runId}\`: ${view.items.filter((item) => item.status === 'planned').length} items start now. Follow them in the plan’s thread.`);
    },
  };

  const status: SlashCommand = {
    definition: planStatusCommand,
    autocomplete,
    async handle(interaction) {
      if (!interaction.guild_id || !interaction.member) return ephemeral(DM);
      const options = readOptions('options' in interaction.data ? interaction.data.options : undefined);
      if (typeof options.run_id !== 'string' || !options.run_id.trim()) {
        const runs = await store.listPlanRuns({ guildId: interaction.guild_id, open: true, limit: 10 });
        if (runs.length === 0) return ephemeral('No plan is open in this server. Propose one with `/plan`.');
        const lines = await Promise.all(
          runs.map(async (run) => {
            const items = await store.listPlanItems(run.id);
            const merged = items.filter((item) => item.status === 'merged').length;
            return `\`${run.id}\` · \`${run.repo}\` · ${run.status} · ${merged} of ${items.filter((item) => item.status !== 'dropped').length} merged`;
          }),
        );
        return ephemeral(`**Open plan runs**\n${lines.join('\n')}`);
      }
      const id = runIdOf(interaction);
      if ('refusal' in id) return ephemeral(id.refusal);
      const view = await viewOf(id.runId, interaction.guild_id);
      if (!view) return ephemeral(`There is no plan run \`${id.runId}\` in this server.`);
      return { type: InteractionResponseType.ChannelMessageWithSource, data: { ...renderPlanStatus(view), flags: MessageFlags.Ephemeral } };
    },
  };

  const ship: SlashCommand = {
    definition: shipCommand,
    autocomplete,
    async handle(interaction) {
      if (!interaction.guild_id || !interaction.member) return ephemeral(DM);
      if (!plans) return ephemeral(NO_GITHUB);
      const id = runIdOf(interaction);
      if ('refusal' in id) return ephemeral(id.refusal);
      const view = await viewOf(id.runId, interaction.guild_id);
      if (!view) return ephemeral(`There is no plan run \`${id.runId}\` in this server.`);
      return answerOf(await plans.ship(id.runId, memberOf(interaction.member)), (report) => renderShipReport(view, report));
    },
  };

  return [plan, approve, status, ship];
}
