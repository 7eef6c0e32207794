import { parseArgs } from 'node:util';
import {
  API,
  type RESTPutAPIApplicationCommandsJSONBody,
  type RESTPutAPIApplicationCommandsResult,
  type RESTPutAPIApplicationGuildCommandsJSONBody,
} from '@discordjs/core/http-only';
import { REST } from '@discordjs/rest';
import { ConfigError } from '../config';
import { COMMANDS } from '../discord/commands';
import type { AdminContext } from './admin.commands';
import { UsageError } from './errors';

/** What {@link registerCommands} needs: the REST API, the application, and where to register. */
export interface RegisterCommandsInput {
  readonly api: Pick<API, 'applicationCommands'>;
  readonly applicationId: string;
  /** Register for this guild only (instant, good for testing) instead of globally. */
  readonly guildId?: string;
  /** Defaults to every command of `src/discord/commands.ts`. */
  readonly commands?: RESTPutAPIApplicationCommandsJSONBody;
}

/**
 * Registers the commands with ONE bulk overwrite, so Discord ends up with exactly this list: commands
 * removed from the code disappear, and unchanged ones keep their ids (and do not count toward the
 * 200-creates-a-day limit).
 * @see https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands
 * @see https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-guild-application-commands
 */
export async function registerCommands(input: RegisterCommandsInput): Promise<RESTPutAPIApplicationCommandsResult> {
  const commands = input.commands ?? (COMMANDS as unknown as RESTPutAPIApplicationCommandsJSONBody);
  if (!input.guildId) return input.api.applicationCommands.bulkOverwriteGlobalCommands(input.applicationId, commands);
  // Guild commands never run in DMs or user installs, so Discord's guild route has no fields for them.
  // (The cast: the global body type also admits entry-point commands, which this service never defines.)
  const guildCommands = commands.map((command) => {
    const { dm_permission: _dm, contexts: _contexts, integration_types: _integrations, ...rest } = command;
    return rest;
  }) as RESTPutAPIApplicationGuildCommandsJSONBody;
  return input.api.applicationCommands.bulkOverwriteGuildCommands(input.applicationId, input.guildId, guildCommands) as Promise<RESTPutAPIApplicationCommandsResult>;
}

const SNOWFLAKE = /^\d{15,25}$/;

/**
 * `register-commands [--guild ID]`: registers every slash command through `DISCORD_API_URL`.
 * @throws ConfigError when DISCORD_TOKEN or DISCORD_APPLICATION_ID is missing; UsageError for a bad `--guild`.
 */
export async function runRegisterCommands(ctx: AdminContext, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { guild: { type: 'string' }, 'guild-id': { type: 'string' } }, strict: true });
  const guildId = values.guild ?? values['guild-id'];
  if (guildId !== undefined && !SNOWFLAKE.test(guildId)) throw new UsageError('--guild must be a server id (a Discord snowflake, 15–25 digits)');
  const { token, applicationId, apiUrl } = ctx.config.discord;
  const missing = [
    ...(token ? [] : ['DISCORD_TOKEN is required by register-commands (Developer Portal → Bot → Reset Token)']),
    ...(applicationId ? [] : ['DISCORD_APPLICATION_ID is required by register-commands (Developer Portal → General Information)']),
  ];
  if (missing.length > 0 || !token || !applicationId) throw new ConfigError(missing);

  const api = new API(new REST({ api: apiUrl }).setToken(token));
  const registered = await registerCommands({ api, applicationId, ...(guildId ? { guildId } : {}) });
  const names = registered.map((command) => `/${command.name}`).join(', ');
  ctx.out(
    guildId
      ? `Registered ${registered.length} command(s) in server ${guildId}: ${names}. Guild commands are available at once.`
      : `Registered ${registered.length} global command(s): ${names}. Discord may take a while to show changes everywhere.`,
  );
}
