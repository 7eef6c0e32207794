import { ApplicationCommandOptionType, type APIInteractionResponse, type RESTPostAPIChatInputApplicationCommandsJSONBody } from '@discordjs/core/http-only';
import { taskWorkflowId } from '../shared/ids';
import { isBranchName, JULES_LIMITS, REPO_PATTERN } from '../shared/jules-request';
import type { SubmitResult, TaskControl } from '../temporal/task-control';
import { channelOf, ephemeral, memberOf, readOptions, type SlashCommand } from './interaction-kit';

/** `/jules prompt repo branch plan_approval`: ask Jules for work. */
export const julesCommand = {
  name: 'jules',
  description: 'Ask Google Jules to do a coding task; a confirmer approves it first.',
  dm_permission: false,
  options: [
    { type: ApplicationCommandOptionType.String, name: 'prompt', description: 'What Jules should do', required: true, min_length: 1, max_length: JULES_LIMITS.promptMax },
    { type: ApplicationCommandOptionType.String, name: 'repo', description: 'GitHub repository, owner/name (default: the server default)', required: false, max_length: JULES_LIMITS.repoMax },
    { type: ApplicationCommandOptionType.String, name: 'branch', description: 'Starting branch (default: the repository default)', required: false, max_length: JULES_LIMITS.branchMax },
    { type: ApplicationCommandOptionType.Boolean, name: 'plan_approval', description: 'Show Jules’ plan for approval before it codes', required: false },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/**
 * `/jules`: validates the options, then submits: the request is admitted against the store and, admitted, started
 * as the workflow `task-<interaction id>`; the answer is the decision, and a redelivered interaction is one task.
 */
export function createJulesCommand({ tasks }: { readonly tasks: TaskControl }): SlashCommand {
  return {
    definition: julesCommand,
    async handle(interaction) {
      const channelId = channelOf(interaction);
      if (!interaction.guild_id || !interaction.member || !channelId) {
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
      if (branch !== undefined && !isBranchName(branch)) {
        return ephemeral('`branch` is not a valid branch name.');
      }

      const result = await tasks.submit({
        taskId: taskWorkflowId(interaction.id),
        origin: { kind: 'interaction', interactionId: interaction.id },
        interactionId: interaction.id,
        guildId: interaction.guild_id,
        channelId,
        requester: memberOf(interaction.member),
        prompt,
        ...(repo ? { repo } : {}),
        ...(branch ? { branch } : {}),
        ...(planApproval !== undefined ? { planApproval } : {}),
      });
      return answerSubmission(result);
    },
  };
}

/** The private answer to a submitted request (`/jules`, `/jules-retry`): refused with the reason, or where to follow it. */
export function answerSubmission(result: SubmitResult): APIInteractionResponse {
  if (result.kind === 'duplicate') return ephemeral('This request was already received; see its card in the channel.');
  const { admission } = result;
  if (!admission.admitted) return ephemeral(`🚫 ${admission.reason}`);
  if (admission.status === 'in_progress') {
    return ephemeral(`🛠️ Starting Jules on \`${admission.repo}\` now. Follow along on the task card in this channel.`);
  }
  return ephemeral(`📨 Request received for \`${admission.repo}\`. A confirmer must approve it: see the card in this channel.`);
}
