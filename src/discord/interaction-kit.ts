/**
 * What every interaction handler shares: the interaction types it receives, the answers it gives and the words of
 * the failures every handler may meet. Handlers live one per command or feature (`jules.command.ts`,
 * `task.components.ts`, …); the dispatcher only routes to them.
 */
import {
  ApplicationCommandOptionType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  type APIApplicationCommandAutocompleteInteraction,
  type APIApplicationCommandInteractionDataOption,
  type APIApplicationCommandOptionChoice,
  type APIInteraction,
  type APIInteractionResponse,
  type APIInteractionResponseCallbackData,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from '@discordjs/core/http-only';
import type { Member, TaskView } from '../shared/task';
import type { DecideResult } from '../temporal/task-control';

/** A slash command invocation. */
export type CommandInteraction = Extract<APIInteraction, { type: InteractionType.ApplicationCommand }>;
/** A button click or a select menu choice. */
export type ComponentInteraction = Extract<APIInteraction, { type: InteractionType.MessageComponent }>;
/** A submitted modal. */
export type ModalInteraction = Extract<APIInteraction, { type: InteractionType.ModalSubmit }>;
/** A member typing into an option that autocompletes. */
export type AutocompleteInteraction = APIApplicationCommandAutocompleteInteraction;

/** A slash command: its definition (what `register-commands` sends) beside its handler. */
export interface SlashCommand {
  readonly definition: RESTPostAPIChatInputApplicationCommandsJSONBody;
  handle(interaction: CommandInteraction): Promise<APIInteractionResponse>;
  /** Choices for the focused option; absent when no option of the command autocompletes. */
  autocomplete?(interaction: AutocompleteInteraction): Promise<APIApplicationCommandOptionChoice[]>;
}

/** The buttons, menus and modals whose `custom_id` starts with `prefix` (a namespace such as `jo1:`). */
export interface ComponentRoute {
  readonly prefix: string;
  handleComponent?(interaction: ComponentInteraction): Promise<APIInteractionResponse>;
  handleModal?(interaction: ModalInteraction): Promise<APIInteractionResponse>;
}

/** The words of every failure, said once so tests and handlers agree. */
export const FAILURE_TEXT = {
  staleButton: 'This button is out of date or not one of mine. Use `/jules` to start a new task, or `/jules-status` to find yours.',
  staleModal: 'This form is out of date or not one of mine, so nothing was sent. Use `/jules-status` to find your task.',
  directMessage: 'I work only in server channels, not in direct messages.',
  gone: 'This task is finished and no longer waiting for anything. Use `/jules-status` to see the open ones.',
  planGone: 'This plan is no longer waiting for approval: it was decided already, or the task has finished.',
  prGone: 'This pull request is no longer followed here: it was merged or closed, or its follow-through ended.',
  unsupported: 'This kind of interaction is not supported here.',
  unreachable: 'I cannot reach the task engine right now, so nothing was changed. Please try again in a minute.',
  internal: 'Something went wrong on our side while handling that. Please try again in a minute.',
} as const;

/** An answer only the member who acted can see. Mentions never ping. */
export function ephemeral(content: string): APIInteractionResponse {
  return { type: InteractionResponseType.ChannelMessageWithSource, data: { content, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } } };
}

/** Edits the message the button (or the button that opened the modal) is on. */
export function updateMessage(data: APIInteractionResponseCallbackData): APIInteractionResponse {
  return { type: InteractionResponseType.UpdateMessage, data };
}

/** The member as the interaction payload carries them: validators cannot do I/O, so roles travel along. */
export function memberOf(member: { user: { id: string }; roles: string[] }): Member {
  return { id: member.user.id, roles: [...member.roles] };
}

/** A command's top-level option values by name (strings, booleans and integers). */
export function readOptions(options: readonly APIApplicationCommandInteractionDataOption[] | undefined): Record<string, unknown> {
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

/** The subcommand a command was invoked with (`/jules-key set`), with its own options; undefined without one. */
export function subcommandOf(interaction: CommandInteraction): { readonly name: string; readonly options: Record<string, unknown> } | undefined {
  const options = 'options' in interaction.data ? interaction.data.options : undefined;
  const sub = options?.find((option) => option.type === ApplicationCommandOptionType.Subcommand);
  if (!sub || sub.type !== ApplicationCommandOptionType.Subcommand) return undefined;
  return { name: sub.name, options: readOptions(sub.options) };
}

/** The channel a command or click came from: `channel` is the documented partial, `channel_id` the older field. */
export function channelOf(interaction: { channel?: { id: string }; channel_id?: string }): string | undefined {
  return interaction.channel?.id ?? interaction.channel_id;
}

/**
 * The answer to an update: the re-rendered message when it went through; the validator's own words when it
 * refused; `goneText` when the workflow no longer runs. `explain` adds context to the refusals (a modal's text).
 */
export function answerDecision(
  result: DecideResult,
  onDecided: (view: TaskView) => APIInteractionResponse,
  goneText: string = FAILURE_TEXT.gone,
  explain: (reason: string) => string = (reason) => reason,
): APIInteractionResponse {
  switch (result.kind) {
    case 'decided':
      return onDecided(result.view);
    case 'refused':
      return ephemeral(explain(`🚫 ${result.reason}`));
    case 'gone':
      return ephemeral(explain(goneText));
  }
}

/** A refusal after a modal, quoting what the member wrote so it is not lost. */
export function withWrittenText(reason: string, text: string): string {
  if (!text) return reason;
  const room = 2000 - reason.length - 60;
  const shown = text.length > room ? `${text.slice(0, Math.max(room - 1, 0))}…` : text;
  const quoted = shown
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
  return `${reason}\n\nNothing was sent. What you wrote, so you can keep it:\n${quoted}`;
}
