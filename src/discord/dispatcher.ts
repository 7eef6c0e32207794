import { InteractionResponseType, InteractionType, type APIInteraction, type APIInteractionResponse } from '@discordjs/core/http-only';
import type { Logger } from 'pino';
import type { InteractionOutcome, ServiceMetrics } from '../metrics/service-metrics';
import type { InFlight } from '../lifecycle/in-flight';
import type { Tracing } from '../telemetry/tracing';
import { ephemeral, FAILURE_TEXT } from './interaction-kit';
import { assertInteractionShape } from './interaction-shape';
import { buildInteractionRegistry, routeOf, type InteractionPorts } from './interaction-registry';
import { deferralFor, deliverLateAnswer, type LateAnswerApi } from './late-answer';

export { FAILURE_TEXT };

/** Dependencies of the dispatcher. */
export interface DispatcherDeps extends InteractionPorts {
  readonly log: Logger;
  /** The interaction webhook, which finishes an answer that came after the deadline. */
  readonly lateAnswers: LateAnswerApi;
  /**
   * How long the dispatcher waits for Temporal and the store before it defers ("thinking…") and sends the answer
   * through the interaction webhook once it comes. Discord drops an answer that comes after 3 s and shows "This
   * interaction failed"; the default leaves room for the trip back.
   */
  readonly answerWithinMs?: number;
  /** Counts each interaction by command and outcome and observes how long its answer took. */
  readonly metrics?: Pick<ServiceMetrics, 'interactions' | 'ackSeconds' | 'lastHour'>;
  /** Where late answers still being delivered are tracked, so a stopping process waits for them. */
  readonly lateDeliveries?: InFlight;
  /** OTEL_EXPORTER_OTLP_ENDPOINT's tracing: each interaction a span named by its command label; absent, none. */
  readonly tracing?: Pick<Tracing, 'inSpan'>;
}

/**
 * Turns one verified interaction into Discord's answer. Serves the HTTP endpoint and the gateway.
 * @throws MalformedInteractionError (status 400) for fields of the wrong type, before any handler runs.
 */
export type InteractionDispatcher = (interaction: APIInteraction, received?: Received) => Promise<APIInteractionResponse>;

/** How long the interaction had already waited when the dispatcher got it (HTTP: queued, read and verified). */
export interface Received {
  readonly waitedMs: number;
}

/** Default of {@link DispatcherDeps.answerWithinMs}. */
export const DEFAULT_ANSWER_WITHIN_MS = 2_500;

/**
 * The one dispatcher: routes by interaction type, command name and `custom_id`, and contains every failure
 * so the member always gets words, never "This interaction failed".
 */
export function createInteractionDispatcher({ log, lateAnswers, answerWithinMs = DEFAULT_ANSWER_WITHIN_MS, metrics, lateDeliveries, tracing, ...ports }: DispatcherDeps): InteractionDispatcher {
  const registry = buildInteractionRegistry({ ...ports, ...(metrics ? { metrics } : {}) });
  const count = (interaction: APIInteraction, outcome: InteractionOutcome, startedAt: bigint) => {
    if (!metrics) return;
    const command = commandLabel(interaction);
    metrics.interactions.inc({ command, outcome });
    metrics.ackSeconds.observe({ command }, Number(process.hrtime.bigint() - startedAt) / 1e9);
  };
  return async (interaction, received) => {
    // Outside the catch-all below: a malformed body is the sender's mistake (answered 400), not ours to apologise for.
    assertInteractionShape(interaction);
    const waitedMs = received?.waitedMs ?? 0;
    // With tracing, the interaction is the root of its trace: the workflow start or update it makes continues it.
    return tracing ? tracing.inSpan(`interaction ${commandLabel(interaction)}`, spanAttributesOf(interaction), () => answerInteraction(interaction, waitedMs)) : answerInteraction(interaction, waitedMs);
  };

  async function answerInteraction(interaction: APIInteraction, waitedMs: number): Promise<APIInteractionResponse> {
    const started = Date.now();
    const startedAt = process.hrtime.bigint();
    let failed: InteractionOutcome | undefined;
    // Settles with words whatever happens, so the same answer serves on time or late.
    const answer = route(interaction).catch((err: unknown) => {
      failed = engineFailure(err) ? 'unreachable' : 'failed';
      return failureAnswer(err, interaction);
    });
    // Discord's deadline runs from when it sent the interaction: the time it already waited here comes off.
    const timely = await withinMs(answer, Math.max(0, answerWithinMs - waitedMs));
    if (timely) {
      count(interaction, failed ?? 'answered', startedAt);
      return timely.value;
    }
    count(interaction, 'deferred', startedAt);

    const deferral = deferralFor(interaction);
    log.warn({ interactionId: interaction.id, type: interaction.type, waitedMs: Date.now() - started, beforeDispatchMs: Math.round(waitedMs) }, 'interaction answer deferred: the work outlasted the answer deadline');
    const delivered = answer
      .then((late) => deliverLateAnswer(lateAnswers, interaction, deferral, late))
      .then(
        (delivery) => log.info({ interactionId: interaction.id, delivery, tookMs: Date.now() - started }, 'late interaction answer delivered'),
        (err: unknown) => log.error({ err, interactionId: interaction.id }, 'a late interaction answer could not be delivered'),
      );
    lateDeliveries?.track(delivered);
    return deferral;
  }

  function failureAnswer(err: unknown, interaction: APIInteraction): APIInteractionResponse {
    const engine = engineFailure(err);
    if (engine) {
      log.error({ err, interactionId: interaction.id, type: interaction.type }, engine === 'unreachable' ? 'Temporal could not be reached' : 'Temporal did not answer in time');
      // A call past its deadline may have been carried out all the same: the member is not told "nothing was changed".
      return ephemeral(engine === 'unreachable' ? FAILURE_TEXT.unreachable : FAILURE_TEXT.uncertain);
    }
    log.error({ err, interactionId: interaction.id, type: interaction.type }, 'interaction failed');
    return ephemeral(FAILURE_TEXT.internal);
  }

  /** The command's name when it is registered: label values come from our own list, never from what a client sent. */
  function commandLabel(interaction: APIInteraction): string {
    switch (interaction.type) {
      case InteractionType.ApplicationCommand:
        return registry.commands.has(interaction.data.name) ? interaction.data.name : 'unknown';
      case InteractionType.ApplicationCommandAutocomplete:
        // One per keystroke: apart, so they do not swell the command's own count.
        return 'autocomplete';
      case InteractionType.MessageComponent:
        return 'component';
      case InteractionType.ModalSubmit:
        return 'modal';
      case InteractionType.Ping:
        return 'ping';
      default:
        return 'unknown';
    }
  }

  async function route(interaction: APIInteraction): Promise<APIInteractionResponse> {
    switch (interaction.type) {
      case InteractionType.Ping:
        return { type: InteractionResponseType.Pong };
      case InteractionType.ApplicationCommand: {
        const command = registry.commands.get(interaction.data.name);
        if (command) return command.handle(interaction);
        return ephemeral(`I don't know the command \`/${interaction.data.name}\`; it may have been removed. Try \`/jules\` or \`/jules-status\`.`);
      }
      case InteractionType.MessageComponent: {
        const handle = routeOf(registry, interaction.data.custom_id)?.handleComponent;
        return handle ? handle(interaction) : ephemeral(FAILURE_TEXT.staleButton);
      }
      case InteractionType.ModalSubmit: {
        const handle = routeOf(registry, interaction.data.custom_id)?.handleModal;
        return handle ? handle(interaction) : ephemeral(FAILURE_TEXT.staleModal);
      }
      case InteractionType.ApplicationCommandAutocomplete: {
        // An empty list is the only valid answer when nothing autocompletes (an unknown or older command).
        const choices = (await registry.commands.get(interaction.data.name)?.autocomplete?.(interaction)) ?? [];
        return { type: InteractionResponseType.ApplicationCommandAutocompleteResult, data: { choices: choices.slice(0, 25) } };
      }
      default:
        return ephemeral(FAILURE_TEXT.unsupported);
    }
  }
}

/** The work's value if it settles within `ms`, else undefined (the work goes on). */
async function withinMs<T>(work: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work.then((value) => ({ value })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How Temporal failed an interaction's call, if it did: `uncertain` for gRPC DEADLINE_EXCEEDED (4) anywhere in the
 * cause chain (the server may have done it anyway: a start past its deadline can still have started
 * the task), `unreachable` for the client's `ServiceError` or gRPC UNAVAILABLE (14). Checked by shape so the Discord
 * layer needs no Temporal import.
 */
function engineFailure(err: unknown): 'unreachable' | 'uncertain' | undefined {
  let found: 'unreachable' | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 4) return 'uncertain';
    if (e.name === 'ServiceError' || code === 14) found = 'unreachable';
  }
  return found;
}

/** A span's attributes for an interaction: ids only, never the prompt or the options a member typed. */
function spanAttributesOf(interaction: APIInteraction): Record<string, string | number> {
  return {
    'discord.interaction.id': interaction.id,
    'discord.interaction.type': interaction.type,
    ...(interaction.guild_id ? { 'discord.guild.id': interaction.guild_id } : {}),
    ...(interaction.channel?.id ? { 'discord.channel.id': interaction.channel.id } : {}),
  };
}
