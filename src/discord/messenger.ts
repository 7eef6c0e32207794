import type { API, RESTPostAPIChannelMessageJSONBody } from '@discordjs/core/http-only';

/** A channel message body: content, embeds, components, allowed mentions. */
export type MessageBody = Pick<RESTPostAPIChannelMessageJSONBody, 'content' | 'embeds' | 'components' | 'allowed_mentions'>;

/**
 * The Discord port activities use: post and edit channel messages with the bot token. Interaction tokens
 * never reach workflows, so everything a workflow says goes through these bot routes.
 */
export interface DiscordMessenger {
  /** Posts a message; with a nonce, a retried post returns the first message instead of a duplicate. */
  postMessage(channelId: string, body: MessageBody, options?: { nonce?: string }): Promise<{ id: string }>;
  editMessage(channelId: string, messageId: string, body: MessageBody): Promise<void>;
}

/**
 * The real adapter over `@discordjs/core`'s resource-grouped API.
 * @see https://discord.com/developers/docs/resources/message#create-message
 */
export function createRestMessenger(api: API): DiscordMessenger {
  return {
    async postMessage(channelId, body, options) {
      const message = await api.channels.createMessage(channelId, {
        ...body,
        ...(options?.nonce ? { nonce: options.nonce, enforce_nonce: true } : {}),
      });
      return { id: message.id };
    },
    async editMessage(channelId, messageId, body) {
      await api.channels.editMessage(channelId, messageId, body);
    },
  };
}
