import {
  InteractionResponseType,
  RESTJSONErrorCodes,
  type API,
  type APIInteraction,
  type APIInteractionResponse,
} from '@discordjs/core/http-only';
import { DiscordAPIError } from '@discordjs/rest';
import type { Logger } from 'pino';

/**
 * What became of an interaction's answer.
 * - `sent`: Discord accepted the callback.
 * - `expired`: 10062 Unknown interaction: the 3 s window passed or another process answered it. Not retried:
 *   the token is dead, and a retry would only add invalid requests toward Cloudflare's ban threshold.
 * - `already_acknowledged`: 40060: someone (a redelivery, a second instance) answered first. The member got
 *   an answer, which is all that matters.
 * - `not_sent`: the response has no callback over REST (a PONG, which only the HTTP endpoint sends).
 */
export type CallbackOutcome = 'sent' | 'expired' | 'already_acknowledged' | 'not_sent';

/** The interaction callback routes of `@discordjs/core`'s API, which is all this module needs. */
export type InteractionCallbackApi = Pick<
  API['interactions'],
  'reply' | 'defer' | 'deferMessageUpdate' | 'updateMessage' | 'createAutocompleteResponse' | 'createModal' | 'launchActivity'
>;

/**
 * Sends the dispatcher's answer as the REST interaction callback, which is how a bot that receives
 * interactions over the gateway must answer them. 10062 and 40060 become outcomes (logged, never retried);
 * any other failure is thrown (a `DiscordAPIError` or `HTTPError` from `@discordjs/rest`).
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#create-interaction-response
 */
export async function sendInteractionCallback(
  api: InteractionCallbackApi,
  interaction: Pick<APIInteraction, 'id' | 'token' | 'type'>,
  response: APIInteractionResponse,
  log: Logger,
): Promise<CallbackOutcome> {
  const { id, token } = interaction;
  try {
    switch (response.type) {
      case InteractionResponseType.Pong:
        // PING exists only on the HTTP endpoint; a PONG has no REST route, so there is nothing to send.
        log.warn({ interactionId: id, interactionType: interaction.type }, 'a PONG has no interaction callback over REST; not sent');
        return 'not_sent';
      case InteractionResponseType.ChannelMessageWithSource:
        await api.reply(id, token, response.data);
        break;
      case InteractionResponseType.DeferredChannelMessageWithSource:
        await api.defer(id, token, response.data?.flags !== undefined ? { flags: response.data.flags } : {});
        break;
      case InteractionResponseType.DeferredMessageUpdate:
        await api.deferMessageUpdate(id, token);
        break;
      case InteractionResponseType.UpdateMessage:
        await api.updateMessage(id, token, response.data ?? {});
        break;
      case InteractionResponseType.ApplicationCommandAutocompleteResult:
        await api.createAutocompleteResponse(id, token, response.data);
        break;
      case InteractionResponseType.Modal:
        await api.createModal(id, token, response.data);
        break;
      case InteractionResponseType.LaunchActivity:
        await api.launchActivity(id, token);
        break;
      default:
        // PREMIUM_REQUIRED (10) is deprecated and this service never answers with it.
        log.warn({ interactionId: id, responseType: response.type }, 'no REST callback for this response type; not sent');
        return 'not_sent';
    }
    return 'sent';
  } catch (err) {
    if (err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.UnknownInteraction) {
      log.warn(
        { interactionId: id, code: err.code, responseType: response.type },
        'interaction expired before it was answered (10062: past the 3 s deadline, or answered by another process); not retried',
      );
      return 'expired';
    }
    if (err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged) {
      log.info({ interactionId: id, code: err.code, responseType: response.type }, 'interaction was already answered (40060); keeping the first answer');
      return 'already_acknowledged';
    }
    throw err;
  }
}
