import {
  ApplicationCommandOptionType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  type APIApplicationCommandInteractionDataOption,
  type APIInteraction,
  type APIInteractionResponse,
} from '@discordjs/core/http-only';
import type { Logger } from 'pino';
import { taskWorkflowId } from '../shared/ids';
import type { Member } from '../shared/task';
import type { TaskControl } from '../temporal/task-control';
import { JULES_LIMITS, julesCommand } from './commands';
import { decodeCustomId } from './custom-id';
import { renderTaskCard } from './task-card';

/** Dependencies of the dispatcher. */
export interface DispatcherDeps {
  readonly tasks: TaskControl;
  readonly log: Logger;
}

/** Turns one verified interaction into Discord's answer. Serves the HTTP endpoint and (later) the gateway. */
export type InteractionDispatcher = (interaction: APIInteraction) => Promise<APIInteractionResponse>;

const REPO_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const BRANCH_PATTERN = /^[^\s~^:?*[\\]+$/;

/**
 * The one dispatcher: routes by interaction type, command name and `custom_id`, and contains every failure
 * so the member always gets words, never "This interaction failed".
 */
export function createInteractionDispatcher({ tasks, log }: DispatcherDeps): InteractionDispatcher {
  return async (interaction) => {
    try {
      switch (interaction.type) {
        case InteractionType.Ping:
          return { type: InteractionResponseType.Pong };
        case InteractionType.ApplicationCommand:
          if (interaction.data.name === julesCommand.name) return await handleJules(interaction);
          return ephemeral(`I don't know the command \`/${interaction.data.name}\`. Try \`/jules\`.`);
        case InteractionType.MessageComponent:
          return await handleButton(interaction);
        default:
          return ephemeral('This kind of interaction is not supported here.');
      }
    } catch (err) {
      log.error({ err, interactionId: interaction.id, type: interaction.type }, 'interaction failed');
      return ephemeral('Something went wrong on our side while handling that. Please try again in a minute.');
    }
  };

  async function handleJules(interaction: Extract<APIInteraction, { type: InteractionType.ApplicationCommand }>) {
    if (!interaction.guild_id || !interaction.member || !interaction.channel?.id) {
      return ephemeral('Use `/jules` in a server channel, not in direct messages.');
    }
    const options = readOptions('options' in interaction.data ? interaction.data.options : undefined);
    const prompt = typeof options.prompt === 'string' ? options.prompt.trim() : '';
    const repo = typeof options.repo === 'string' ? options.repo.trim() : undefined;
    const branch = typeof options.branch === 'string' ? options.branch.trim() : undefined;
    const planApproval = typeof options.plan_approval === 'boolean' ? options.plan_approval : undefined;
    if (!prompt) return ephemeral('Tell Jules what to do: `/jules prompt: …`.');
    if (prompt.length > JULES_LIMITS.promptMax) return ephemeral(`The prompt is too long (at most ${JULES_LIMITS.promptMax} characters).`);
    if (repo !== undefined && (repo.length > JULES_LIMITS.repoMax || !REPO_PATTERN.test(repo))) {
      return ephemeral('`repo` must be a GitHub repository of the form `owner/name`.');
    }
    if (branch !== undefined && (branch.length > JULES_LIMITS.branchMax || !BRANCH_PATTERN.test(branch))) {
      return ephemeral('`branch` is not a valid branch name.');
    }

    const taskId = taskWorkflowId(interaction.id);
    const result = await tasks.submit({
      taskId,
      interactionId: interaction.id,
      guildId: interaction.guild_id,
      channelId: interaction.channel.id,
      requester: memberOf(interaction.member),
      prompt,
      ...(repo ? { repo } : {}),
      ...(branch ? { branch } : {}),
      ...(planApproval !== undefined ? { planApproval } : {}),
    });
    if (result.kind === 'duplicate') return ephemeral('This request was already received; see its card in the channel.');
    const { admission } = result;
    if (!admission.admitted) return ephemeral(`🚫 ${admission.reason}`);
    if (admission.status === 'in_progress') {
      return ephemeral(`🛠️ Starting Jules on \`${admission.repo}\` now. Follow along on the task card in this channel.`);
    }
    return ephemeral(`📨 Request received for \`${admission.repo}\`. A confirmer must approve it: see the card in this channel.`);
  }

  async function handleButton(interaction: Extract<APIInteraction, { type: InteractionType.MessageComponent }>) {
    const button = decodeCustomId(interaction.data.custom_id);
    if (!button) return ephemeral('This button is out of date or not one of mine. Use `/jules` to start a new task.');
    if (!interaction.member) return ephemeral('Buttons work only in a server channel.');
    if (button.action !== 'confirm' && button.action !== 'reject') return ephemeral('This button is not available yet.');
    const result = await tasks.decide(button.taskId, { action: button.action, member: memberOf(interaction.member) });
    switch (result.kind) {
      case 'decided':
        return { type: InteractionResponseType.UpdateMessage as const, data: renderTaskCard(result.view) };
      case 'refused':
        return ephemeral(`🚫 ${result.reason}`);
      case 'gone':
        return ephemeral('This task is no longer waiting for a decision.');
    }
  }
}

/** An answer only the member who acted can see. */
function ephemeral(content: string): APIInteractionResponse {
  return { type: InteractionResponseType.ChannelMessageWithSource, data: { content, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } } };
}

function memberOf(member: { user: { id: string }; roles: string[] }): Member {
  return { id: member.user.id, roles: [...member.roles] };
}

function readOptions(options: readonly APIApplicationCommandInteractionDataOption[] | undefined): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const option of options ?? []) {
    if (
      option.type === ApplicationCommandOptionType.String ||
      option.type === ApplicationCommandOptionType.Boolean ||
      option.type === ApplicationCommandOptionType.Integer
    ) {
      values[option.name] = option.value;
    }
  }
  return values;
}
