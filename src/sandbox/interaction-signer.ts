/**
 * Plays Discord's side of the HTTP interactions endpoint in tests and `demo`: a fresh Ed25519 key pair
 * that signs request bodies exactly as Discord does, and builders for realistic interaction payloads.
 * @see https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 */
import { baseMessage, emulatedBotUser } from './discord-objects';
import { generateKeyPairSync, randomBytes, sign as signBytes } from 'node:crypto';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  ComponentType,
  type GuildMemberFlags,
  InteractionContextType,
  InteractionType,
  Locale,
  type APIApplicationCommandInteractionDataBasicOption,
  type APIApplicationCommandInteractionDataOption,
  type APIApplicationCommandAutocompleteInteraction,
  type APIChatInputApplicationCommandGuildInteraction,
  type APIInteractionGuildMember,
  type APIMessage,
  type APIMessageComponentButtonInteraction,
  type APIMessageComponentSelectMenuInteraction,
  type APIModalSubmissionComponent,
  type APIModalSubmitInteraction,
  type APIPingInteraction,
  type APIUser,
} from '@discordjs/core/http-only';

/** Discord's epoch (2015-01-01T00:00:00Z), the zero of every snowflake's timestamp part. */
const DISCORD_EPOCH = 1420070400000n;

// One counter per process keeps ids unique even when many are made in the same millisecond.
let lastSnowflake = 0n;

/**
 * A new snowflake-like id: the milliseconds since Discord's epoch shifted left 22 bits, bumped by one when
 * needed so every id in the process is unique, numeric and increasing, like Discord's own.
 * @see https://discord.com/developers/docs/reference#snowflakes
 */
export function newSnowflake(): string {
  const fromClock = (BigInt(Date.now()) - DISCORD_EPOCH) << 22n;
  lastSnowflake = fromClock > lastSnowflake ? fromClock : lastSnowflake + 1n;
  return lastSnowflake.toString();
}

/** A signed request, ready to send to `POST /interactions` (fastify `inject()` or fetch). */
export interface SignedInteractionRequest {
  readonly body: string;
  readonly headers: {
    readonly 'x-signature-ed25519': string;
    readonly 'x-signature-timestamp': string;
    readonly 'content-type': 'application/json';
  };
}

/** Signs interaction bodies with a private key that never leaves this object. */
export interface InteractionSigner {
  /** The public key as the Developer Portal shows it: 64 hex characters (the `DISCORD_PUBLIC_KEY` value). */
  readonly publicKeyHex: string;
  /** Signs `timestamp + body` like Discord; the timestamp defaults to now, in Unix seconds. */
  sign(body: string, timestamp?: string): SignedInteractionRequest;
}

/** Creates a signer with a fresh Ed25519 key pair. */
export function createInteractionSigner(): InteractionSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // The SPKI DER form of an Ed25519 key is a fixed 12-byte header followed by the 32 raw key bytes.
  const publicKeyHex = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
  return {
    publicKeyHex,
    sign(body, timestamp = Math.floor(Date.now() / 1000).toString()) {
      const signature = signBytes(null, Buffer.from(timestamp + body, 'utf8'), privateKey).toString('hex');
      return {
        body,
        headers: {
          'x-signature-ed25519': signature,
          'x-signature-timestamp': timestamp,
          'content-type': 'application/json',
        },
      };
    },
  };
}

/** The member who invokes an interaction: role ids decide what they may do in this service. */
export interface InteractionUserInput {
  readonly id: string;
  readonly roles: readonly string[];
  readonly username?: string;
  /** The member's permissions in the channel, as Discord's decimal bitfield string; defaults to basic rights. */
  readonly permissions?: string;
}

/** Where an interaction happens and who makes it. */
export interface InteractionContextInput {
  /** Interaction id; a new snowflake when omitted. */
  readonly id?: string;
  readonly applicationId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly user: InteractionUserInput;
  /** Interaction token; a random-looking one when omitted. */
  readonly token?: string;
}

/** Input for {@link buildSlashCommand}. */
export interface SlashCommandInput extends InteractionContextInput {
  readonly name: string;
  /** Command id; a new snowflake when omitted. */
  readonly commandId?: string;
  /** Option name → value; strings become STRING, booleans BOOLEAN, integers INTEGER, other numbers NUMBER. */
  readonly options?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** The subcommand invoked (`/jules-key set`); `options` are then its own, nested under it as Discord sends them. */
  readonly subcommand?: string;
}

/** Input for {@link buildButtonClick}. */
export interface ButtonClickInput extends InteractionContextInput {
  readonly customId: string;
  readonly messageId: string;
  /** The message the button is on, e.g. from the emulator's `channelMessages()`; a minimal one when omitted. */
  readonly message?: APIMessage;
}

/** Input for {@link buildModalSubmit}. */
export interface ModalSubmitInput extends InteractionContextInput {
  readonly customId: string;
  /** Text input custom_id → submitted value. */
  readonly fields: Readonly<Record<string, string>>;
  /** Set when the modal was opened from a button, as Discord then includes the message. */
  readonly message?: APIMessage;
}

// VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS: an ordinary member.
const MEMBER_PERMISSIONS = ((1n << 10n) | (1n << 11n) | (1n << 16n) | (1n << 31n)).toString();
// What a bot invited with the usual scopes can do in a text channel, for `app_permissions`.
const APP_PERMISSIONS = ((1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 16n) | (1n << 34n) | (1n << 35n) | (1n << 38n)).toString();

/**
 * Where a built interaction happened, carried inside its token so the Discord emulator can place responses
 * in the right channel without being told. Real tokens are opaque and the service never reads them.
 */
export interface InteractionTokenHints {
  readonly type: number;
  readonly channelId?: string;
  readonly guildId?: string;
  /** The message a component was on. */
  readonly messageId?: string;
  readonly userId?: string;
  readonly username?: string;
}

function interactionToken(interactionId: string, hints?: InteractionTokenHints): string {
  // Real tokens are base64 of `interaction:<id>:<secret>`, long and opaque; this keeps that shape and appends
  // the sandbox hints as a second base64url part, so the token stays URL-safe.
  const token = Buffer.from(`interaction:${interactionId}:${randomBytes(48).toString('base64url')}`).toString('base64url');
  return hints ? `${token}.${Buffer.from(JSON.stringify(hints)).toString('base64url')}` : token;
}

/** The hints a token made by these builders carries; undefined for any other token. */
export function readInteractionTokenHints(token: string): InteractionTokenHints | undefined {
  const [, encoded, ...rest] = token.split('.');
  if (encoded === undefined || rest.length > 0) return undefined;
  try {
    const hints: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    if (typeof hints !== 'object' || hints === null || typeof (hints as { type?: unknown }).type !== 'number') return undefined;
    return hints as InteractionTokenHints;
  } catch {
    return undefined;
  }
}

function apiUser(user: InteractionUserInput): APIUser {
  const username = user.username ?? `user${user.id.slice(-4)}`;
  return { id: user.id, username, discriminator: '0', global_name: username, avatar: null };
}

function guildMember(user: InteractionUserInput): APIInteractionGuildMember {
  return {
    user: apiUser(user),
    roles: [...user.roles],
    permissions: user.permissions ?? MEMBER_PERMISSIONS,
    joined_at: new Date(Date.now() - 86_400_000).toISOString(),
    deaf: false,
    mute: false,
    // No member flags set; the enum has no zero member, hence the cast.
    flags: 0 as GuildMemberFlags,
    pending: false,
    nick: null,
    avatar: null,
    premium_since: null,
  };
}

function commonFields(input: InteractionContextInput, type: InteractionType, messageId?: string) {
  const id = input.id ?? newSnowflake();
  const hints: InteractionTokenHints = {
    type,
    channelId: input.channelId,
    guildId: input.guildId,
    ...(messageId ? { messageId } : {}),
    userId: input.user.id,
    username: apiUser(input.user).username,
  };
  return {
    id,
    application_id: input.applicationId,
    token: input.token ?? interactionToken(id, hints),
    version: 1 as const,
    guild_id: input.guildId,
    guild: { id: input.guildId, locale: Locale.EnglishUS, features: [] },
    guild_locale: Locale.EnglishUS,
    channel_id: input.channelId,
    channel: { id: input.channelId, type: ChannelType.GuildText as const, guild_id: input.guildId, name: 'general' },
    member: guildMember(input.user),
    app_permissions: APP_PERMISSIONS,
    locale: Locale.EnglishUS,
    entitlements: [],
    authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: input.guildId },
    context: InteractionContextType.Guild,
    attachment_size_limit: 10_485_760,
  };
}

function minimalMessage(input: ButtonClickInput): APIMessage {
  return { ...baseMessage(input.messageId, input.channelId, emulatedBotUser(input.applicationId)), components: [], application_id: input.applicationId };
}

function toOption(name: string, value: string | number | boolean): APIApplicationCommandInteractionDataBasicOption {
  if (typeof value === 'string') return { name, type: ApplicationCommandOptionType.String, value };
  if (typeof value === 'boolean') return { name, type: ApplicationCommandOptionType.Boolean, value };
  // INTEGER cannot carry a fraction, so non-integers are sent as NUMBER (a double), as Discord would.
  return Number.isInteger(value)
    ? { name, type: ApplicationCommandOptionType.Integer, value }
    : { name, type: ApplicationCommandOptionType.Number, value };
}

/**
 * The PING Discord sends when an endpoint URL is saved (and later, as a check); it must be answered `{type:1}`.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#receiving-an-interaction
 */
export function buildPing(opts: { id?: string; applicationId?: string; token?: string } = {}): APIPingInteraction {
  const id = opts.id ?? newSnowflake();
  return {
    id,
    application_id: opts.applicationId ?? newSnowflake(),
    type: InteractionType.Ping,
    token: opts.token ?? interactionToken(id),
    version: 1,
    app_permissions: APP_PERMISSIONS,
    entitlements: [],
    authorizing_integration_owners: {},
    attachment_size_limit: 10_485_760,
  };
}

/**
 * A CHAT_INPUT (slash) command invoked in a guild channel by a member with the given roles.
 * @see https://discord.com/developers/docs/interactions/application-commands#slash-commands
 */
export function buildSlashCommand(input: SlashCommandInput): APIChatInputApplicationCommandGuildInteraction {
  const values = Object.entries(input.options ?? {})
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([name, value]) => toOption(name, value));
  const options: APIApplicationCommandInteractionDataOption[] =
    input.subcommand === undefined ? values : [{ type: ApplicationCommandOptionType.Subcommand, name: input.subcommand, ...(values.length > 0 ? { options: values } : {}) }];
  return {
    ...commonFields(input, InteractionType.ApplicationCommand),
    type: InteractionType.ApplicationCommand,
    data: {
      id: input.commandId ?? newSnowflake(),
      name: input.name,
      type: ApplicationCommandType.ChatInput,
      guild_id: input.guildId,
      ...(options.length > 0 ? { options } : {}),
    },
  };
}

/**
 * A click on a button with `customId`, on message `messageId` in the channel.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-message-component-data-structure
 */
export function buildButtonClick(input: ButtonClickInput): APIMessageComponentButtonInteraction {
  return {
    ...commonFields(input, InteractionType.MessageComponent, input.messageId),
    type: InteractionType.MessageComponent,
    message: input.message ?? minimalMessage(input),
    data: { custom_id: input.customId, component_type: ComponentType.Button },
  };
}

/**
 * A member typing into an option that autocompletes: the option being typed is `focused`.
 * @see https://discord.com/developers/docs/interactions/application-commands#autocomplete
 */
export function buildAutocomplete(input: InteractionContextInput & { readonly name: string; readonly option: string; readonly typed: string }): APIApplicationCommandAutocompleteInteraction {
  return {
    ...commonFields(input, InteractionType.ApplicationCommandAutocomplete),
    type: InteractionType.ApplicationCommandAutocomplete,
    data: {
      id: newSnowflake(),
      name: input.name,
      type: ApplicationCommandType.ChatInput,
      guild_id: input.guildId,
      options: [{ name: input.option, type: ApplicationCommandOptionType.String, value: input.typed, focused: true }],
    },
  } as APIApplicationCommandAutocompleteInteraction;
}

/**
 * A choice in a string select menu: the values the member picked.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-message-component-data-structure
 */
export function buildSelectMenu(input: ButtonClickInput & { readonly values: readonly string[] }): APIMessageComponentSelectMenuInteraction {
  return {
    ...commonFields(input, InteractionType.MessageComponent, input.messageId),
    type: InteractionType.MessageComponent,
    message: input.message ?? minimalMessage(input),
    data: { custom_id: input.customId, component_type: ComponentType.StringSelect, values: [...input.values] },
  };
}

/**
 * A choice in a role select menu: the role ids picked, and Discord's resolved roles for them. `resolvedRoles`
 * (default: the picked ones) lets a test leave out a role deleted while the menu was open.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-resolved-data-structure
 */
export function buildRoleSelect(input: ButtonClickInput & { readonly values: readonly string[]; readonly resolvedRoles?: readonly string[] }): APIMessageComponentSelectMenuInteraction {
  const roles = Object.fromEntries(
    (input.resolvedRoles ?? input.values).map((id) => [
      id,
      { id, name: `role-${id.slice(-4)}`, color: 0, colors: { primary_color: 0, secondary_color: null, tertiary_color: null }, hoist: false, icon: null, unicode_emoji: null, position: 1, permissions: '0', managed: false, mentionable: false, flags: 0 },
    ]),
  );
  return {
    ...commonFields(input, InteractionType.MessageComponent, input.messageId),
    type: InteractionType.MessageComponent,
    message: input.message ?? minimalMessage(input),
    data: { custom_id: input.customId, component_type: ComponentType.RoleSelect, values: [...input.values], resolved: { roles } },
  } as APIMessageComponentSelectMenuInteraction;
}

/**
 * The submission of a modal whose text inputs are wrapped in Labels (the current modal layout).
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-modal-submit-data-structure
 */
export function buildModalSubmit(input: ModalSubmitInput): APIModalSubmitInteraction {
  let componentId = 0;
  const components: APIModalSubmissionComponent[] = Object.entries(input.fields).map(([customId, value]) => ({
    type: ComponentType.Label,
    id: ++componentId,
    component: { type: ComponentType.TextInput, id: ++componentId, custom_id: customId, value },
  }));
  return {
    ...commonFields(input, InteractionType.ModalSubmit, input.message?.id),
    type: InteractionType.ModalSubmit,
    ...(input.message ? { message: input.message } : {}),
    data: { custom_id: input.customId, components },
  };
}
