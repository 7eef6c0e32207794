import type { API, RESTPostAPIChannelMessageJSONBody } from '@discordjs/core/http-only';
import { DiscordAPIError } from '@discordjs/rest';

/** A channel message body: content, embeds, components, allowed mentions. */
export type MessageBody = Pick<RESTPostAPIChannelMessageJSONBody, 'content' | 'embeds' | 'components' | 'allowed_mentions'>;

/**
 * The Discord port activities use: post and edit channel messages with the bot token. Interaction tokens
 * never reach workflows, so everything a workflow says goes through these bot routes.
 */
export interface DiscordMessenger {
  /**
   * Posts a message; with a nonce, a retried post returns the first message instead of a duplicate. A signal
   * takes an abandoned request out of the rate-limit queue (an activity that timed out must not write later).
   */
  postMessage(channelId: string, body: MessageBody, options?: { nonce?: string; signal?: AbortSignal }): Promise<{ id: string }>;
  editMessage(channelId: string, messageId: string, body: MessageBody, options?: { signal?: AbortSignal }): Promise<void>;
  /** Starts a public thread under a message (its id equals the message's); a second call finds the same thread. */
  createThread(channelId: string, messageId: string, name: string): Promise<{ id: string }>;
  /** Sends a direct message to a member (opening the DM channel first). */
  sendDirectMessage(userId: string, body: MessageBody, options?: { nonce?: string }): Promise<{ id: string }>;
}

/**
 * The real adapter over `@discordjs/core`'s resource-grouped API.
 * @see https://discord.com/developers/docs/resources/message#create-message
 */
export function createRestMessenger(api: API): DiscordMessenger {
  return {
    async postMessage(channelId, body, options) {
      const message = await api.channels.createMessage(
        channelId,
        { ...body, ...(options?.nonce ? { nonce: options.nonce, enforce_nonce: true } : {}) },
        options?.signal ? { signal: options.signal } : {},
      );
      return { id: message.id };
    },
    async editMessage(channelId, messageId, body, options) {
      await api.channels.editMessage(channelId, messageId, body, options?.signal ? { signal: options.signal } : {});
    },
    async sendDirectMessage(userId, body, options) {
      const channel = await api.users.createDM(userId);
      return this.postMessage(channel.id, body, options);
    },
    async createThread(channelId, messageId, name) {
      try {
        const thread = await api.channels.createThread(channelId, { name: name.slice(0, 100), auto_archive_duration: 1440 }, messageId);
        return { id: thread.id };
      } catch (err) {
        // 160004: a thread already exists for this message (a retried activity); its id is the message's.
        if (err instanceof DiscordAPIError && err.code === 160004) return { id: messageId };
        throw err;
      }
    },
  };
}
