import {
  ApplicationCommandOptionType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  type APIApplicationCommandInteractionDataOption,
  type APIInteraction,
  type APIInteractionResponse,
  type APIInteractionResponseCallbackData,
} from '@discordjs/core/http-only';
import type { Logger } from 'pino';
import { taskWorkflowId } from '../shared/ids';
import { isConfirmer, isRequesterOrConfirmer } from '../shared/permissions';
import { hasEnded, type Member, type TaskView } from '../shared/task';
import type { DecideResult, TaskControl } from '../temporal/task-control';
import { JULES_LIMITS, julesCommand } from './commands';
import { decodeCustomId, decodeModalId, type ModalAction } from './custom-id';
import { buildTaskModal, MODAL_SPECS, readModalText } from './modals';
import { deferralFor, deliverLateAnswer, type LateAnswerApi } from './late-answer';
import { handleStatusCommand, statusCommand, type TaskLister } from './status.command';
import { renderAnsweredQuestion, renderPlanMessage, renderTaskCard, statusLabel } from './task-card';

/** Dependencies of the dispatcher. */
export interface DispatcherDeps {
  readonly tasks: TaskControl;
  readonly log: Logger;
  /** The task projection, read by `/jules-status`. */
  readonly store: TaskLister;
  /** The interaction webhook, which finishes an answer that came after the deadline. */
  readonly lateAnswers: LateAnswerApi;
  /**
   * How long the dispatcher waits for Temporal and the store before it defers ("thinking…") and sends the answer
   * through the interaction webhook once it comes. Discord drops an answer that comes after 3 s and shows "This
   * interaction failed"; the default leaves room for the trip back.
   */
  readonly answerWithinMs?: number;
}

/** Turns one verified interaction into Discord's answer. Serves the HTTP endpoint and the gateway. */
export type InteractionDispatcher = (interaction: APIInteraction) => Promise<APIInteractionResponse>;

/** Default of {@link DispatcherDeps.answerWithinMs}. */
export const DEFAULT_ANSWER_WITHIN_MS = 2_500;

/** The words of every failure, said once so tests and handlers agree. */
export const FAILURE_TEXT = {
  staleButton: 'This button is out of date or not one of mine. Use `/jules` to start a new task, or `/jules-status` to find yours.',
  staleModal: 'This form is out of date or not one of mine, so nothing was sent. Use `/jules-status` to find your task.',
  directMessage: 'I work only in server channels, not in direct messages.',
  gone: 'This task is finished and no longer waiting for anything. Use `/jules-status` to see the open ones.',
  planGone: 'This plan is no longer waiting for approval: it was decided already, or the task has finished.',
  prGone: 'This pull request is no longer followed here: it was merged or closed, or its follow-through ended.',
  unsupported: 'This kind of interaction is not supported here.',
  unreachable: 'I cannot reach the task engine right now, so nothing was changed. Please try again in a minute.',
  internal: 'Something went wrong on our side while handling that. Please try again in a minute.',
} as const;

const REPO_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const BRANCH_PATTERN = /^[^\s~^:?*[\\]+$/;

type CommandInteraction = Extract<APIInteraction, { type: InteractionType.ApplicationCommand }>;
type ComponentInteraction = Extract<APIInteraction, { type: InteractionType.MessageComponent }>;
type ModalInteraction = Extract<APIInteraction, { type: InteractionType.ModalSubmit }>;

/**
 * The one dispatcher: routes by interaction type, command name and `custom_id`, and contains every failure
 * so the member always gets words, never "This interaction failed".
 */
export function createInteractionDispatcher({ tasks, log, store, lateAnswers, answerWithinMs = DEFAULT_ANSWER_WITHIN_MS }: DispatcherDeps): InteractionDispatcher {
  return async (interaction) => {
    const started = Date.now();
    // Settles with words whatever happens, so the same answer serves on time or late.
    const answer = route(interaction).catch((err: unknown) => failureAnswer(err, interaction));
    const timely = await withinMs(answer, answerWithinMs);
    if (timely) return timely.value;

    const deferral = deferralFor(interaction);
    log.warn({ interactionId: interaction.id, type: interaction.type, waitedMs: answerWithinMs }, 'interaction answer deferred: the work outlasted the answer deadline');
    void answer
      .then((late) => deliverLateAnswer(lateAnswers, interaction, deferral, late))
      .then(
        (delivery) => log.info({ interactionId: interaction.id, delivery, tookMs: Date.now() - started }, 'late interaction answer delivered'),
        (err: unknown) => log.error({ err, interactionId: interaction.id }, 'a late interaction answer could not be delivered'),
      );
    return deferral;
  };

  function failureAnswer(err: unknown, interaction: APIInteraction): APIInteractionResponse {
    if (isEngineUnreachable(err)) {
      log.error({ err, interactionId: interaction.id, type: interaction.type }, 'Temporal could not be reached');
      return ephemeral(FAILURE_TEXT.unreachable);
    }
    log.error({ err, interactionId: interaction.id, type: interaction.type }, 'interaction failed');
    return ephemeral(FAILURE_TEXT.internal);
  }

  async function route(interaction: APIInteraction): Promise<APIInteractionResponse> {
    switch (interaction.type) {
      case InteractionType.Ping:
        return { type: InteractionResponseType.Pong };
      case InteractionType.ApplicationCommand:
        if (interaction.data.name === julesCommand.name) return handleJules(interaction);
        if (interaction.data.name === statusCommand.name) return handleStatus(interaction);
        return ephemeral(`I don't know the command \`/${interaction.data.name}\`; it may have been removed. Try \`/jules\` or \`/jules-status\`.`);
      case InteractionType.MessageComponent:
        return handleButton(interaction);
      case InteractionType.ModalSubmit:
        return handleModal(interaction);
      case InteractionType.ApplicationCommandAutocomplete:
        // No option of ours autocompletes; an empty list is the only valid answer to this type.
        return { type: InteractionResponseType.ApplicationCommandAutocompleteResult, data: { choices: [] } };
      default:
        return ephemeral(FAILURE_TEXT.unsupported);
    }
  }

  async function handleJules(interaction: CommandInteraction): Promise<APIInteractionResponse> {
    // `channel` is the documented partial object, `channel_id` the older field some payloads carry alone.
    const channelId = interaction.channel?.id ?? interaction.channel_id;
    if (!interaction.guild_id || !interaction.member || !channelId) {
      return ephemeral('Use `/jules` in a server channel, not in direct messages.');
    }
    const options = readOptions('options' in interaction.data ? interaction.data.options : undefined);
    const prompt = typeof options.prompt === 'string' ? options.prompt.trim() : '';
    const repo = typeof options.repo === 'string' ? options.repo.trim() : undefined;
    const branch = typeof options.branch === 'string' ? options.branch.trim() : undefined;
    const planApproval = typeof options.plan_approval === 'boolean' ? options.plan_approval : undefined;
    if (!prompt) return ephemeral('Tell Jules what to do: `/jules prompt: …`.');
    if (prompt.length > JULES_LIMITS.promptMax) return ephemeral(`The prompt is too long (at most ${JULES_LIMITS.promptMax} characters).`);
    if (repo !== undefined && (repo.length > JULES_LIMITS.repoMax || !REPO_PATTERN.test(repo))) {
      return ephemeral('`repo` must be a GitHub repository of the form `owner/name`.');
    }
    if (branch !== undefined && (branch.length > JULES_LIMITS.branchMax || !BRANCH_PATTERN.test(branch))) {
      return ephemeral('`branch` is not a valid branch name.');
    }

    const taskId = taskWorkflowId(interaction.id);
    const result = await tasks.submit({
      taskId,
      interactionId: interaction.id,
      guildId: interaction.guild_id,
      channelId,
      requester: memberOf(interaction.member),
      prompt,
      ...(repo ? { repo } : {}),
      ...(branch ? { branch } : {}),
      ...(planApproval !== undefined ? { planApproval } : {}),
    });
    if (result.kind === 'duplicate') return ephemeral('This request was already received; see its card in the channel.');
    const { admission } = result;
    if (!admission.admitted) return ephemeral(`🚫 ${admission.reason}`);
    if (admission.status === 'in_progress') {
      return ephemeral(`🛠️ Starting Jules on \`${admission.repo}\` now. Follow along on the task card in this channel.`);
    }
    return ephemeral(`📨 Request received for \`${admission.repo}\`. A confirmer must approve it: see the card in this channel.`);
  }

  async function handleStatus(interaction: CommandInteraction): Promise<APIInteractionResponse> {
    if (!interaction.guild_id || !interaction.member) return ephemeral('Use `/jules-status` in a server channel, not in direct messages.');
    const body = await handleStatusCommand(store, { guildId: interaction.guild_id, userId: interaction.member.user.id });
    return { type: InteractionResponseType.ChannelMessageWithSource, data: { ...body, flags: MessageFlags.Ephemeral } };
  }

  async function handleButton(interaction: ComponentInteraction): Promise<APIInteractionResponse> {
    const button = decodeCustomId(interaction.data.custom_id);
    if (!button) return ephemeral(FAILURE_TEXT.staleButton);
    if (!interaction.member) return ephemeral(FAILURE_TEXT.directMessage);
    const member = memberOf(interaction.member);
    const { taskId } = button;
    switch (button.action) {
      case 'confirm':
        return answer(await tasks.decide(taskId, { action: 'confirm', member }), (view) => updateMessage(renderTaskCard(view)));
      case 'cancel':
        return answer(await tasks.cancel(taskId, { member }), (view) => updateMessage(renderTaskCard(view)));
      case 'approve_plan':
        return answer(
          await tasks.decidePlan(taskId, { action: 'approve', member }),
          (view) => updateMessage(renderPlanMessage(view, { action: 'approve', by: member.id })),
          FAILURE_TEXT.planGone,
        );
      case 'merge': {
        const merged = await tasks.merge(taskId, member);
        if (merged.kind === 'gone') return ephemeral(FAILURE_TEXT.prGone);
        return ephemeral(merged.kind === 'refused' ? merged.reason : merged.answer.text);
      }
      case 'reject':
      case 'request_changes':
      case 'reply': {
        // A modal is a promise that typing will count: check first, so nobody writes a reason for nothing.
        const refusal = await refusalBeforeModal(button.action, taskId, member);
        if (refusal) return ephemeral(refusal);
        return { type: InteractionResponseType.Modal, data: buildTaskModal(button.action, taskId) };
      }
    }
  }

  /**
   * Why `member` may not open this modal now, or undefined when they may. Where the view lacks the roles
   * (an older workflow), the validator decides after the modal instead.
   */
  async function refusalBeforeModal(action: ModalAction, taskId: string, member: Member): Promise<string | undefined> {
    const view = await tasks.view(taskId);
    if (!view || hasEnded(view)) return FAILURE_TEXT.gone;
    const confirmRoles = view.confirmRoles;
    switch (action) {
      case 'reject':
        if (view.status !== 'pending_confirmation') return `This task is no longer waiting for a decision: it is ${statusLabel(view.status)}.`;
        if (confirmRoles && !isConfirmer(member, { confirmRoles })) return 'Only members with a confirm role can confirm or reject this task.';
        return undefined;
      case 'request_changes':
        if (view.awaiting !== 'plan_approval') return FAILURE_TEXT.planGone;
        if (confirmRoles && !isConfirmer(member, { confirmRoles })) return 'Only members with a confirm role can approve Jules’ plan or ask for changes.';
        return undefined;
      case 'reply':
        if (confirmRoles && !isRequesterOrConfirmer(member, { requesterId: view.requesterId, confirmRoles })) {
          return 'Only the requester or a member with a confirm role can reply to Jules for this task.';
        }
        return undefined;
    }
  }

  async function handleModal(interaction: ModalInteraction): Promise<APIInteractionResponse> {
    const modal = decodeModalId(interaction.data.custom_id);
    if (!modal) return ephemeral(FAILURE_TEXT.staleModal);
    if (!interaction.member) return ephemeral(FAILURE_TEXT.directMessage);
    const member = memberOf(interaction.member);
    const spec = MODAL_SPECS[modal.action];
    const text = (readModalText(interaction.data.components) ?? '').trim();
    if (spec.required && !text) return ephemeral('The form was empty, so nothing was sent. Write something and try again.');
    if (text.length > spec.maxLength) return ephemeral(`That is too long (at most ${spec.maxLength} characters), so nothing was sent.`);
    // UPDATE_MESSAGE answers a modal only when it was opened from a message's button; Discord then sends the message.
    const message = interaction.message;
    const kept = (reason: string) => withText(reason, text);
    switch (modal.action) {
      case 'reject':
        return answer(
          await tasks.decide(modal.taskId, { action: 'reject', member, ...(text ? { reason: text } : {}) }),
          (view) => (message ? updateMessage(renderTaskCard(view)) : ephemeral('🚫 Rejected; the requester will be told.')),
          FAILURE_TEXT.gone,
          kept,
        );
      case 'request_changes':
        return answer(
          await tasks.decidePlan(modal.taskId, { action: 'request_changes', member, feedback: text }),
          (view) =>
            message ? updateMessage(renderPlanMessage(view, { action: 'request_changes', by: member.id })) : ephemeral('✏️ Sent your changes to Jules.'),
          FAILURE_TEXT.planGone,
          kept,
        );
      case 'reply':
        return answer(
          await tasks.reply(modal.taskId, { member, text }),
          () => (message ? updateMessage(renderAnsweredQuestion(message.content, { by: member.id, text })) : ephemeral('📨 Sent your reply to Jules.')),
          FAILURE_TEXT.gone,
          kept,
        );
    }
  }
}

/**
 * The answer to an update: the re-rendered message when it went through; the validator's own words when it
 * refused; `goneText` when the task no longer runs. `explain` adds context to the refusals (a modal's text).
 */
function answer(
  result: DecideResult,
  onDecided: (view: TaskView) => APIInteractionResponse,
  goneText: string = FAILURE_TEXT.gone,
  explain: (reason: string) => string = (reason) => reason,
): APIInteractionResponse {
  switch (result.kind) {
    case 'decided':
      return onDecided(result.view);
    case 'refused':
      return ephemeral(explain(`🚫 ${result.reason}`));
    case 'gone':
      return ephemeral(explain(goneText));
  }
}

/** A refusal after a modal, quoting what the member wrote so it is not lost. */
function withText(reason: string, text: string): string {
  if (!text) return reason;
  const room = 2000 - reason.length - 60;
  const shown = text.length > room ? `${text.slice(0, Math.max(room - 1, 0))}…` : text;
  const quoted = shown
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
  return `${reason}\n\nNothing was sent. What you wrote, so you can keep it:\n${quoted}`;
}

/** Edits the message the button (or the button that opened the modal) is on. */
function updateMessage(data: APIInteractionResponseCallbackData): APIInteractionResponse {
  return { type: InteractionResponseType.UpdateMessage, data };
}

/** An answer only the member who acted can see. */
function ephemeral(content: string): APIInteractionResponse {
  return { type: InteractionResponseType.ChannelMessageWithSource, data: { content, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } } };
}

function memberOf(member: { user: { id: string }; roles: string[] }): Member {
  return { id: member.user.id, roles: [...member.roles] };
}

function readOptions(options: readonly APIApplicationCommandInteractionDataOption[] | undefined): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const option of options ?? []) {
    if (
      option.type === ApplicationCommandOptionType.String ||
      option.type === ApplicationCommandOptionType.Boolean ||
      option.type === ApplicationCommandOptionType.Integer
    ) {
      values[option.name] = option.value;
    }
  }
  return values;
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
 * Whether Temporal could not be reached: the client's `ServiceError`, or gRPC UNAVAILABLE (14) / DEADLINE_EXCEEDED
 * (4) anywhere in the cause chain. Checked by shape so the Discord layer needs no Temporal import.
 */
function isEngineUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (e.name === 'ServiceError' || code === 14 || code === 4) return true;
  }
  return false;
}
