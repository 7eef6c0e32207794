import { MessageType, type APIMessage, type APIUser } from '@discordjs/core/http-only';

/**
 * Discord objects the emulators and payload builders share, built once so their shapes never drift apart.
 * @see https://discord.com/developers/docs/resources/message#message-object
 */

/** The bot user of an emulated application (its id is the application id, as for real bots). */
export function emulatedBotUser(applicationId: string): APIUser {
  return { id: applicationId, username: 'jules-orchestrator', discriminator: '0000', global_name: null, avatar: null, bot: true };
}

/** A plain message with every required field at its empty default; callers set what differs. */
export function baseMessage(id: string, channelId: string, author: APIUser, content = ''): APIMessage {
  return {
    id,
    channel_id: channelId,
    author,
    content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: MessageType.Default,
  };
}
