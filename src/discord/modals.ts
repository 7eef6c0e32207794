import {
  ComponentType,
  TextInputStyle,
  type APIModalInteractionResponseCallbackData,
  type APIModalSubmissionComponent,
} from '@discordjs/core/http-only';
import { encodeModalId, MODAL_TEXT_FIELD, type ModalAction } from './custom-id';

/** What one of our modals asks for: its wording and the limits the dispatcher checks again on submit. */
export interface ModalSpec {
  /** The modal's title; Discord allows at most 45 characters. */
  readonly title: string;
  /** The Label above the text input; at most 45 characters. */
  readonly label: string;
  /** The Label's description; at most 100 characters. */
  readonly description: string;
  /** Grey hint inside the empty input; at most 100 characters. */
  readonly placeholder: string;
  readonly required: boolean;
  readonly maxLength: number;
}

/**
 * Every modal, said once: the dispatcher opens them from these specs and validates submissions against the
 * same limits (a forged submission is not bound by the client's `max_length`).
 */
export const MODAL_SPECS = {
  reject: {
    title: 'Reject this task',
    label: 'Reason (optional)',
    description: 'The requester is told privately, with this reason.',
    placeholder: 'e.g. Out of scope for this sprint',
    required: false,
    maxLength: 500,
  },
  request_changes: {
    title: 'Request changes to the plan',
    label: 'What should Jules change?',
    description: 'Sent to Jules as a message; it will revise the plan.',
    placeholder: 'e.g. Keep the public API unchanged and add tests first',
    required: true,
    maxLength: 2000,
  },
  reply: {
    title: 'Reply to Jules',
    label: 'Your answer',
    description: 'Sent to Jules as a message in this task’s session.',
    placeholder: 'Answer Jules’ question',
    required: true,
    maxLength: 2000,
  },
} as const satisfies Record<ModalAction, ModalSpec>;

/**
 * The modal for `action` on a task: one Label-wrapped paragraph input (the current layout; a text input in an
 * action row is deprecated in modals), whose custom id is {@link MODAL_TEXT_FIELD}.
 * @see https://discord.com/developers/docs/components/reference#label
 */
export function buildTaskModal(action: ModalAction, taskId: string): APIModalInteractionResponseCallbackData {
  const spec: ModalSpec = MODAL_SPECS[action];
  return {
    custom_id: encodeModalId({ action, taskId }),
    title: spec.title,
    components: [
      {
        type: ComponentType.Label,
        label: spec.label,
        description: spec.description,
        component: {
          type: ComponentType.TextInput,
          custom_id: MODAL_TEXT_FIELD,
          style: TextInputStyle.Paragraph,
          placeholder: spec.placeholder,
          required: spec.required,
          ...(spec.required ? { min_length: 1 } : {}),
          max_length: spec.maxLength,
        },
      },
    ],
  };
}

/**
 * The value of our one text input in a modal submission, whether the client sent it inside a Label (current
 * layout) or an action row (older clients); undefined when the field is missing, as when a Label or a row comes
 * empty (the dispatcher's shape check lets those through: they are well typed, only empty).
 */
export function readModalText(components: readonly APIModalSubmissionComponent[]): string | undefined {
  for (const component of components) {
    if (component.type === ComponentType.Label) {
      const inner = component.component as typeof component.component | undefined;
      if (inner?.type === ComponentType.TextInput && inner.custom_id === MODAL_TEXT_FIELD) return inner.value;
    } else if (component.type === ComponentType.ActionRow) {
      const input = (component.components as typeof component.components | undefined)?.find((c) => c.custom_id === MODAL_TEXT_FIELD);
      if (input) return input.value;
    }
  }
  return undefined;
}
