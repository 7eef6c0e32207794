import { InteractionResponseType, MessageFlags } from '@discordjs/core/http-only';
import type { DiscordEmulator } from './discord-emulator';
import type { InteractionSigner } from './interaction-signer';

/** Where Discord sends interactions in HTTP mode: the ingress's URL, the app's signing key, and Discord itself. */
export interface HttpInteractionEndpoint {
  /** The ingress's base URL; interactions go to `<url>/interactions`. */
  readonly ingressUrl: string;
  readonly signer: InteractionSigner;
  readonly discord: Pick<DiscordEmulator, 'answerInline' | 'originalResponse'>;
}

/** The ingress's answer to one delivered interaction. */
export interface DeliveredInteraction {
  readonly interactionId: string;
  readonly status: number;
  // The answer as JSON; callers read the fields they expect.
  readonly body: any;
}

/**
 * Delivers an interaction as Discord does in HTTP mode: a signed POST to `/interactions`, whose deferral the
 * emulated Discord then knows, so the late answer can reach the interaction's webhook.
 */
export async function deliverInteraction(endpoint: HttpInteractionEndpoint, interaction: { id: string; token: string }): Promise<DeliveredInteraction> {
  const signed = endpoint.signer.sign(JSON.stringify(interaction));
  const response = await fetch(`${endpoint.ingressUrl}/interactions`, { method: 'POST', headers: signed.headers, body: signed.body });
  const text = await response.text();
  const body = text ? JSON.parse(text) : undefined;
  if (response.status === 200) rememberDeferral(endpoint.discord, interaction, body);
  return { interactionId: interaction.id, status: response.status, body };
}

/**
 * Tells the emulated Discord of an HTTP endpoint's answer when it is a deferral, as Discord would take it, so
 * the interaction's webhook exists for the late answer. Other answers are left to the caller, which reads
 * them from the response; the emulator's channels keep only what bots and webhooks wrote.
 */
export function rememberDeferral(discord: Pick<DiscordEmulator, 'answerInline'>, interaction: { id: string; token: string }, answer: unknown): void {
  const type = (answer as { type?: unknown } | undefined)?.type;
  if (type === InteractionResponseType.DeferredChannelMessageWithSource || type === InteractionResponseType.DeferredMessageUpdate) {
    discord.answerInline(interaction, answer);
  }
}

/**
 * The words a member finally reads for an answer: its own content, or, for a deferral ("thinking…"), the
 * deferred message once the late answer was edited in (waiting up to `timeoutMs`).
 */
export async function settledAnswerText(
  discord: Pick<DiscordEmulator, 'originalResponse'>,
  { interactionId, body }: Pick<DeliveredInteraction, 'interactionId' | 'body'>,
  timeoutMs = 20_000,
): Promise<string> {
  if (body?.type !== InteractionResponseType.DeferredChannelMessageWithSource) return body?.data?.content ?? '';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const message = discord.originalResponse(interactionId);
    if (message && ((message.flags ?? 0) & MessageFlags.Loading) === 0) return message.content;
    if (Date.now() > deadline) throw new Error(`the deferred answer of interaction ${interactionId} was never edited in`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
