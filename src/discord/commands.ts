import { ApplicationCommandOptionType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from '@discordjs/core/http-only';
import { statusCommand } from './status.command';

export { statusCommand };

/** Limits shared by the command definition and the handler's validation, so they never disagree. */
export const JULES_LIMITS = { promptMax: 4000, repoMax: 100, branchMax: 255 } as const;

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

/** Every slash command the bot registers. */
export const COMMANDS = [julesCommand, statusCommand] as const;
