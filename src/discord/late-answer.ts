import {
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  RESTJSONErrorCodes,
  type API,
  type APIInteraction,
  type APIInteractionResponse,
  type APIInteractionResponseCallbackData,
} from '@discordjs/core/http-only';
import { DiscordAPIError } from '@discordjs/rest';

/**
 * The interaction webhook routes of `@discordjs/core`'s API that finish a deferred answer. They carry the
 * interaction token in the path and need no bot token.
 */
export type LateAnswerApi = Pick<API['interactions'], 'editReply' | 'followUp'>;

/** A deferral: "thinking…" for a command or form, or a silent acknowledgement of a button. */
export type Deferral = Extract<
  APIInteractionResponse,
  { type: InteractionResponseType.DeferredChannelMessageWithSource | InteractionResponseType.DeferredMessageUpdate }
>;

/** What a late answer became. */
export type LateDelivery = 'edited' | 'followed_up' | 'nothing_to_send';

/** Said instead of a form that could no longer be opened: Discord accepts a modal only as the first answer. */
export const LATE_FORM_TEXT = 'That took too long for Discord to open the form, so nothing was sent. Press the button again.';

/**
 * The deferral that fits an interaction whose answer missed the deadline. A button (or a form sent from a
 * button's message) may end up editing that message, so it gets a silent type 6 whose `@original` is that
 * message; a command gets an ephemeral type 5, which shows "thinking…" until `@original` is edited.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-type
 */
export function deferralFor(interaction: APIInteraction): Deferral {
  const onMessage =
    interaction.type === InteractionType.MessageComponent || (interaction.type === InteractionType.ModalSubmit && interaction.message !== undefined);
  return onMessage
    ? { type: InteractionResponseType.DeferredMessageUpdate }
    : { type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: MessageFlags.Ephemeral } };
}

/** How {@link deliverLateAnswer} waits for Discord to know the deferral. */
export interface LateDeliveryOptions {
  /** Tries in all while Discord does not know the interaction's webhook yet. Default 5. */
  readonly attempts?: number;
  /** Pause between those tries. Default 400 ms. */
  readonly retryDelayMs?: number;
}

/**
 * Finishes a deferred interaction with the answer that came late, through the interaction's webhook (valid 15
 * minutes): an edit of `@original` where the answer replaces what the deferral stands for, an ephemeral
 * follow-up where it is a separate message (a refusal after a button, whose `@original` is the card).
 *
 * The deferral went out as the HTTP answer or the REST callback, so Discord may not know the webhook when the
 * late answer is fast: 10015 (Unknown Webhook) and 10008 (Unknown Message) are retried a few times. Anything
 * else is thrown; `@discordjs/rest` already retried 429s and 5xx.
 */
export async function deliverLateAnswer(
  api: LateAnswerApi,
  interaction: Pick<APIInteraction, 'application_id' | 'token'>,
  deferral: Deferral,
  late: APIInteractionResponse,
  { attempts = 5, retryDelayMs = 400 }: LateDeliveryOptions = {},
): Promise<LateDelivery> {
  const send = plan(deferral, late);
  if (!send) return 'nothing_to_send';
  for (let attempt = 1; ; attempt++) {
    try {
      if (send.kind === 'edit') {
        const { flags: _flags, tts: _tts, ...body } = send.data;
        await api.editReply(interaction.application_id, interaction.token, body);
        return 'edited';
      }
      await api.followUp(interaction.application_id, interaction.token, { ...send.data, flags: MessageFlags.Ephemeral });
      return 'followed_up';
    } catch (err) {
      if (attempt >= attempts || !isNotKnownYet(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
  }
}

type Send = { kind: 'edit' | 'follow_up'; data: APIInteractionResponseCallbackData };

function plan(deferral: Deferral, late: APIInteractionResponse): Send | undefined {
  const thinking = deferral.type === InteractionResponseType.DeferredChannelMessageWithSource;
  switch (late.type) {
    case InteractionResponseType.ChannelMessageWithSource:
      return { kind: thinking ? 'edit' : 'follow_up', data: late.data };
    case InteractionResponseType.UpdateMessage:
      return { kind: 'edit', data: late.data ?? {} };
    case InteractionResponseType.Modal:
      return { kind: thinking ? 'edit' : 'follow_up', data: { content: LATE_FORM_TEXT, allowed_mentions: { parse: [] } } };
    default:
      // A PONG or an autocomplete result is never slow, and neither has anything to show later.
      return undefined;
  }
}

function isNotKnownYet(err: unknown): boolean {
  return err instanceof DiscordAPIError && (err.code === RESTJSONErrorCodes.UnknownWebhook || err.code === RESTJSONErrorCodes.UnknownMessage);
}
