import {
  ChannelType,
  Client,
  GatewayDispatchEvents,
  GatewayIntentBits,
  InteractionType,
  MessageType,
  type APIInteraction,
  type GatewayMessageCreateDispatchData,
} from '@discordjs/core';
import type { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents, type OptionalWebSocketManagerOptions } from '@discordjs/ws';
import type { Logger } from 'pino';
import type { TaskRepository } from '../store/store';
import type { TaskControl } from '../temporal/task-control';
import type { InteractionDispatcher } from './dispatcher';
import { sendInteractionCallback } from './interaction-callback';

/**
 * Gateway mode (`DISCORD_MODE=gateway`): the bot holds a WebSocket to Discord instead of exposing an HTTP
 * endpoint. INTERACTION_CREATE goes through the same dispatcher as `POST /interactions`, and its answer
 * goes back as the REST interaction callback (Discord never takes answers over the socket). Plain messages
 * in a task's thread are forwarded to the task as replies. Nothing is persisted: `@discordjs/ws` resumes a
 * dropped session in-process, and a restarted process identifies again.
 * @see https://discord.com/developers/docs/events/gateway
 */

/**
 * What the bot subscribes to: GUILDS (threads and channels), GUILD_MESSAGES (MESSAGE_CREATE in guild
 * channels and threads) and MESSAGE_CONTENT, the privileged intent that fills in `content`. Interactions
 * need no intent at all.
 * @see https://discord.com/developers/docs/events/gateway#gateway-intents
 */
export const GATEWAY_INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent;

/** The intents without thread-message forwarding: no privileged intent needed. */
export const INTERACTIONS_ONLY_INTENTS = GatewayIntentBits.Guilds;

/** Dependencies of {@link createGatewayIngress}. */
export interface GatewayIngressDeps {
  /** The REST client: `GET /gateway/bot` and the interaction callbacks go through it. */
  readonly rest: REST;
  readonly token: string;
  readonly dispatch: InteractionDispatcher;
  readonly tasks: Pick<TaskControl, 'reply'>;
  readonly store: Pick<TaskRepository, 'findTaskByThread'>;
  readonly log: Logger;
  /** Forward plain thread messages to their task (needs the Message Content intent); default true. */
  readonly forwardThreadMessages?: boolean;
  /** Extra `@discordjs/ws` options (timeouts, sharding) for operators and tests. */
  readonly wsOptions?: Partial<OptionalWebSocketManagerOptions>;
}

/** A gateway connection serving interactions and thread messages. */
export interface GatewayIngress {
  /**
   * Connects every shard and resolves once they are READY.
   * @throws GatewayConnectError when Discord refuses the bot for good (bad token, disallowed intents).
   */
  start(): Promise<void>;
  /** Closes the connection (ending the session) and waits for the handlers in flight. */
  stop(): Promise<void>;
  /** Resolves when every event received so far has been handled. */
  settled(): Promise<void>;
}

/**
 * Thrown by {@link GatewayIngress.start} when Discord closes the gateway with a code that must not be
 * retried (4004 authentication failed, 4014 disallowed intents, …); the message says what to change.
 */
export class GatewayConnectError extends Error {
  readonly code = 'GATEWAY_CONNECT_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayConnectError';
  }
}

const THREAD_TYPES: ReadonlySet<number> = new Set([ChannelType.PublicThread, ChannelType.PrivateThread, ChannelType.AnnouncementThread]);

/** Creates the gateway ingress; nothing connects until {@link GatewayIngress.start}. */
export function createGatewayIngress(deps: GatewayIngressDeps): GatewayIngress {
  const { rest, dispatch, tasks, store, log } = deps;
  const forward = deps.forwardThreadMessages ?? true;
  const intents = forward ? GATEWAY_INTENTS : INTERACTIONS_ONLY_INTENTS;
  const gateway = new WebSocketManager({ token: deps.token, intents, rest, ...deps.wsOptions });
  const client = new Client({ rest, gateway });
  const inFlight = new Set<Promise<void>>();
  let lastError: Error | undefined;

  // Without an error listener the emitter would throw inside @discordjs/ws' close handling.
  gateway.on(WebSocketShardEvents.Error, (error, shardId) => {
    lastError = error;
    log.error({ err: error, shardId }, 'gateway error');
  });
  gateway.on(WebSocketShardEvents.Ready, (data, shardId) => log.info({ shardId, sessionId: data.session_id }, 'gateway ready'));
  gateway.on(WebSocketShardEvents.Resumed, (shardId) => log.info({ shardId }, 'gateway session resumed'));
  gateway.on(WebSocketShardEvents.Closed, (code, shardId) => log.info({ shardId, code }, 'gateway connection closed'));
  gateway.on(WebSocketShardEvents.Debug, (message, shardId) => log.trace({ shardId }, message));

  /** Handlers run concurrently (one slow task must not delay another's 3 s deadline); stop() waits for them. */
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  client.on(GatewayDispatchEvents.InteractionCreate, ({ data, api }) => track(handleInteraction(data, api.interactions)));
  client.on(GatewayDispatchEvents.MessageCreate, ({ data }) => track(handleMessage(data)));

  async function handleInteraction(interaction: APIInteraction, api: Parameters<typeof sendInteractionCallback>[0]): Promise<void> {
    try {
      // PING is how Discord checks an HTTP endpoint; it never comes over the gateway.
      if (interaction.type === InteractionType.Ping) return;
      const response = await dispatch(interaction);
      const outcome = await sendInteractionCallback(api, interaction, response, log);
      log.debug({ interactionId: interaction.id, outcome }, 'gateway interaction answered');
    } catch (err) {
      log.error({ err, interactionId: interaction.id, interactionType: interaction.type }, 'could not answer a gateway interaction');
    }
  }

  async function handleMessage(message: GatewayMessageCreateDispatchData): Promise<void> {
    try {
      if (!forward || message.author.bot || message.webhook_id) return;
      if (message.type !== MessageType.Default && message.type !== MessageType.Reply) return;
      if (!message.guild_id || !message.member) return;
      // Discord says which kind of channel it was; skip the store for ordinary channel chatter.
      if (message.channel_type !== undefined && !THREAD_TYPES.has(message.channel_type)) return;
      const text = message.content.trim();
      // Empty without the Message Content intent, or for an attachment-only message: nothing to forward.
      if (!text) return;
      const task = await store.findTaskByThread(message.channel_id);
      if (!task || task.guildId !== message.guild_id) return;
      // Who may reply (requester or confirmer) is the workflow's validator's call, with the roles from the event.
      const result = await tasks.reply(task.id, { member: { id: message.author.id, roles: [...message.member.roles] }, text });
      if (result.kind === 'decided') log.info({ taskId: task.id, messageId: message.id }, 'thread message forwarded to the task');
      else log.debug({ taskId: task.id, messageId: message.id, result: result.kind, ...(result.kind === 'refused' ? { reason: result.reason } : {}) }, 'thread message not forwarded');
    } catch (err) {
      log.error({ err, messageId: message.id, channelId: message.channel_id }, 'could not forward a thread message');
    }
  }

  return {
    async start() {
      try {
        await gateway.connect();
      } catch (err) {
        const reason = lastError?.message ?? (err as Error).message;
        const hint = /disallowed intents/i.test(reason)
          ? 'enable the Message Content intent in the Developer Portal (Bot → Privileged Gateway Intents), or set DISCORD_FORWARD_THREAD_MESSAGES=false'
          : /authentication failed/i.test(reason)
            ? 'check DISCORD_TOKEN'
            : 'see the log for the close code';
        await Promise.resolve(gateway.destroy()).catch(() => undefined);
        throw new GatewayConnectError(`Discord refused the gateway connection (${reason}): ${hint}.`, { cause: err });
      }
    },
    async stop() {
      await gateway.destroy();
      await Promise.allSettled([...inFlight]);
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
