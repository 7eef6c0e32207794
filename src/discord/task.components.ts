import { InteractionResponseType } from '@discordjs/core/http-only';
import { isConfirmer, isRequesterOrConfirmer } from '../shared/permissions';
import { hasEnded, type Member } from '../shared/task';
import type { TaskControl } from '../temporal/task-control';
import { BUTTON_PREFIX, decodeCustomId, decodeModalId, MODAL_PREFIX, type ModalAction } from './custom-id';
import { answerDecision, ephemeral, FAILURE_TEXT, memberOf, updateMessage, withWrittenText, type ComponentRoute } from './interaction-kit';
import { buildTaskModal, MODAL_SPECS, readModalText } from './modals';
import { renderAnsweredQuestion, renderPlanMessage, renderTaskCard, statusLabel } from './task-card';

/**
 * The task's buttons (card, plan, question, PR status) and the modals they open. Each click becomes an Update on
 * the task workflow, whose validator has the last word; the checks here only spare a member a form for nothing.
 */
export function createTaskComponents({ tasks }: { readonly tasks: TaskControl }): ComponentRoute[] {
  const buttons: ComponentRoute = {
    prefix: BUTTON_PREFIX,
    async handleComponent(interaction) {
      const button = decodeCustomId(interaction.data.custom_id);
      if (!button) return ephemeral(FAILURE_TEXT.staleButton);
      if (!interaction.member) return ephemeral(FAILURE_TEXT.directMessage);
      const member = memberOf(interaction.member);
      const { taskId } = button;
      switch (button.action) {
        case 'confirm':
          return answerDecision(await tasks.decide(taskId, { action: 'confirm', member }), (view) => updateMessage(renderTaskCard(view)));
        case 'cancel':
          return answerDecision(await tasks.cancel(taskId, { member }), (view) => updateMessage(renderTaskCard(view)));
        case 'approve_plan':
          return answerDecision(
            await tasks.decidePlan(taskId, { action: 'approve', member }),
            (view) => updateMessage(renderPlanMessage(view, { action: 'approve', by: member.id })),
            FAILURE_TEXT.planGone,
          );
        case 'merge': {
          const merged = await tasks.merge(taskId, member);
          if (merged.kind === 'gone') return ephemeral(FAILURE_TEXT.prGone);
          return ephemeral(merged.kind === 'refused' ? merged.reason : merged.answer.text);
        }
        case 'fix': {
          const asked = await tasks.fix(taskId, member);
          if (asked.kind === 'gone') return ephemeral(FAILURE_TEXT.prGone);
          return ephemeral(asked.kind === 'refused' ? `🚫 ${asked.reason}` : asked.answer.text);
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
    },
  };

  const modals: ComponentRoute = {
    prefix: MODAL_PREFIX,
    async handleModal(interaction) {
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
      const kept = (reason: string) => withWrittenText(reason, text);
      switch (modal.action) {
        case 'reject':
          return answerDecision(
            await tasks.decide(modal.taskId, { action: 'reject', member, ...(text ? { reason: text } : {}) }),
            (view) => (message ? updateMessage(renderTaskCard(view)) : ephemeral('🚫 Rejected; the requester will be told.')),
            FAILURE_TEXT.gone,
            kept,
          );
        case 'request_changes':
          return answerDecision(
            await tasks.decidePlan(modal.taskId, { action: 'request_changes', member, feedback: text }),
            (view) =>
              message ? updateMessage(renderPlanMessage(view, { action: 'request_changes', by: member.id })) : ephemeral('✏️ Sent your changes to Jules.'),
            FAILURE_TEXT.planGone,
            kept,
          );
        case 'reply':
          return answerDecision(
            await tasks.reply(modal.taskId, { member, text }),
            () => (message ? updateMessage(renderAnsweredQuestion(message.content, { by: member.id, text })) : ephemeral('📨 Sent your reply to Jules.')),
            FAILURE_TEXT.gone,
            kept,
          );
      }
    },
  };

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

  return [buttons, modals];
}
