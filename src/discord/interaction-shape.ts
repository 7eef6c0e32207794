import { ApplicationCommandOptionType, InteractionType, type APIInteraction } from '@discordjs/core/http-only';
import { MalformedInteractionError } from './errors';

/**
 * The types of every interaction field a handler reads, checked once before routing. The route's JSON schema
 * checks the envelope; this checks what lies deeper (options, components, values), so handlers can trust the
 * `APIInteraction` type they are given instead of each guarding against a value of the wrong type.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 * @see https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-type
 */

/** What an option's `value` must be, by option type. Subcommands and groups carry `options` instead. */
const OPTION_VALUE: Partial<Record<ApplicationCommandOptionType, [(value: unknown) => boolean, string]>> = {
  [ApplicationCommandOptionType.String]: [isString, 'a string'],
  [ApplicationCommandOptionType.Integer]: [(value) => Number.isSafeInteger(value), 'a whole number between -2^53 and 2^53'],
  [ApplicationCommandOptionType.Number]: [(value) => typeof value === 'number' && Number.isFinite(value), 'a number'],
  [ApplicationCommandOptionType.Boolean]: [(value) => typeof value === 'boolean', 'true or false'],
  [ApplicationCommandOptionType.User]: [isString, 'an id'],
  [ApplicationCommandOptionType.Channel]: [isString, 'an id'],
  [ApplicationCommandOptionType.Role]: [isString, 'an id'],
  [ApplicationCommandOptionType.Mentionable]: [isString, 'an id'],
  [ApplicationCommandOptionType.Attachment]: [isString, 'an id'],
};

/**
 * Returns when the interaction's fields have the documented types.
 * @throws MalformedInteractionError naming the first field that does not.
 */
export function assertInteractionShape(interaction: APIInteraction): void {
  const body = interaction as unknown as Record<string, unknown>;
  optional(body, 'guild_id', isString, 'a string', 'guild_id');
  optional(body, 'channel_id', isString, 'a string', 'channel_id');
  if (body.channel !== undefined) objectWith(body.channel, 'channel', (channel) => required(channel, 'id', isString, 'a string', 'channel.id'));
  if (body.message !== undefined) objectWith(body.message, 'message', (message) => required(message, 'id', isString, 'a string', 'message.id'));
  if (body.member !== undefined) {
    objectWith(body.member, 'member', (member) => {
      objectWith(member.user, 'member.user', (user) => required(user, 'id', isString, 'a string', 'member.user.id'));
      required(member, 'roles', isStringList, 'a list of role ids', 'member.roles');
      optional(member, 'permissions', isString, 'a string', 'member.permissions');
    });
  }
  if (body.user !== undefined) objectWith(body.user, 'user', (user) => required(user, 'id', isString, 'a string', 'user.id'));
  // Only a PING carries no data.
  if (interaction.type === InteractionType.Ping) return;
  objectWith(body.data, 'data', (data) => {
    switch (interaction.type) {
      case InteractionType.ApplicationCommand:
      case InteractionType.ApplicationCommandAutocomplete:
        required(data, 'name', isString, 'a string', 'data.name');
        checkOptions(data.options, 'data.options');
        return;
      case InteractionType.MessageComponent:
        required(data, 'custom_id', isString, 'a string', 'data.custom_id');
        optional(data, 'values', isStringList, 'a list of strings', 'data.values');
        return;
      case InteractionType.ModalSubmit:
        required(data, 'custom_id', isString, 'a string', 'data.custom_id');
        checkModalComponents(data.components, 'data.components');
        return;
      default:
        return;
    }
  });
}

function checkOptions(options: unknown, path: string): void {
  if (options === undefined) return;
  if (!Array.isArray(options)) throw new MalformedInteractionError(path, 'a list of options');
  options.forEach((option: unknown, index) => {
    const at = `${path}[${index}]`;
    objectWith(option, at, (o) => {
      required(o, 'name', isString, 'a string', `${at}.name`);
      required(o, 'type', (type) => Number.isSafeInteger(type), 'an option type', `${at}.type`);
      optional(o, 'focused', (focused) => typeof focused === 'boolean', 'true or false', `${at}.focused`);
      const type = o.type as ApplicationCommandOptionType;
      if (type === ApplicationCommandOptionType.Subcommand || type === ApplicationCommandOptionType.SubcommandGroup) {
        checkOptions(o.options, `${at}.options`);
        return;
      }
      const rule = OPTION_VALUE[type];
      // Autocomplete sends what the member has typed so far, always as text.
      const [valid, expected] = o.focused === true ? [isString, 'a string'] : (rule ?? [() => true, '']);
      optional(o, 'value', valid, expected, `${at}.value`);
    });
  });
}

/**
 * A modal's rows or labels (depth 1), and the text inputs in them whose `value` handlers read (depth 2); nothing
 * deeper exists in a modal, so nothing deeper is looked at. The route's schema states the same two levels.
 */
function checkModalComponents(components: unknown, path: string, depth = 1): void {
  if (!Array.isArray(components)) throw new MalformedInteractionError(path, 'a list of components');
  components.forEach((component: unknown, index) => {
    const at = `${path}[${index}]`;
    objectWith(component, at, (c) => {
      required(c, 'type', (type) => Number.isSafeInteger(type), 'a component type', `${at}.type`);
      optional(c, 'custom_id', isString, 'a string', `${at}.custom_id`);
      optional(c, 'value', isString, 'a string', `${at}.value`);
      if (depth > 1) return;
      // A Label holds one component, an action row a list of them (older clients); one without reads as empty.
      if (c.component !== undefined) checkModalComponents([c.component], `${at}.component`, depth + 1);
      if (c.components !== undefined) checkModalComponents(c.components, `${at}.components`, depth + 1);
    });
  });
}

function objectWith(value: unknown, path: string, check: (object: Record<string, unknown>) => void): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedInteractionError(path, 'an object');
  check(value as Record<string, unknown>);
}

function required(object: Record<string, unknown>, key: string, valid: (value: unknown) => boolean, expected: string, path: string): void {
  if (!valid(object[key])) throw new MalformedInteractionError(path, expected);
}

function optional(object: Record<string, unknown>, key: string, valid: (value: unknown) => boolean, expected: string, path: string): void {
  if (object[key] !== undefined && !valid(object[key])) throw new MalformedInteractionError(path, expected);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isString);
}
