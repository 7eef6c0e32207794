import { DiscordAPIError } from '@discordjs/rest';

/**
 * Why Discord refused a request for good, as every activity that posts or edits needs to know it. Rate limits
 * (429) never reach here: `@discordjs/rest` waits them out. 5xx answers and network failures are not refusals:
 * they heal, so the activity's retry policy handles them.
 *
 * - `message_gone`: the message no longer exists (10008), e.g. a moderator deleted it.
 * - `channel_gone`: the channel or thread no longer exists (10003).
 * - `no_access`: the bot lost access or permissions there (50001, 50013, 403).
 * - `refused`: any other 4xx (the request itself is wrong): retrying sends the same wrong request.
 * @see https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
 */
export type DiscordRefusalKind = 'message_gone' | 'channel_gone' | 'no_access' | 'refused';

/** A permanent Discord refusal with what a person needs to act on it. */
export interface DiscordRefusal {
  readonly kind: DiscordRefusalKind;
  readonly status: number;
  readonly code: number | string;
  /** Words for the operator log and, where it can still be read, the thread. */
  readonly message: string;
}

/** Discord's JSON error codes this service reacts to by name. */
export const DISCORD_ERROR_CODES = {
  unknownChannel: 10003,
  unknownMessage: 10008,
  missingAccess: 50001,
  missingPermissions: 50013,
} as const;

/** The permanent refusal `err` stands for, or undefined when it may heal (5xx, network, not a Discord answer). */
export function discordRefusal(err: unknown): DiscordRefusal | undefined {
  if (!(err instanceof DiscordAPIError) || err.status < 400 || err.status >= 500 || err.status === 429) return undefined;
  const { status, code } = err;
  if (code === DISCORD_ERROR_CODES.unknownMessage) return { kind: 'message_gone', status, code, message: 'the message was deleted' };
  if (code === DISCORD_ERROR_CODES.unknownChannel) return { kind: 'channel_gone', status, code, message: 'the channel or thread was deleted' };
  if (code === DISCORD_ERROR_CODES.missingAccess || code === DISCORD_ERROR_CODES.missingPermissions || status === 403) {
    return { kind: 'no_access', status, code, message: 'the bot has no access or permission there any more' };
  }
  return { kind: 'refused', status, code, message: `Discord refused the request (${status}, code ${code})` };
}

/**
 * Thrown by the dispatcher, before any handler runs, for a signed interaction whose fields do not have the types
 * Discord documents (an option value of the wrong type, roles that are not a list of ids, ...). Discord never sends
 * one; answered 400 with `path` and what it should have been, so nothing half-read reaches a workflow.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 */
export class MalformedInteractionError extends Error {
  readonly status = 400;
  readonly statusCode = 400;
  readonly code = 'MALFORMED_INTERACTION';
  readonly path: string;
  constructor(path: string, expected: string) {
    super(`not a Discord interaction: ${path} must be ${expected}`);
    this.path = path;
    this.name = 'MalformedInteractionError';
  }
}
