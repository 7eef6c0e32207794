/**
 * The one `custom_id` codec for buttons. Discord limits custom ids to 100 characters; ours carry a
 * version, the action and the task id, nothing else (anyone who sees a message can read its custom ids).
 */

/** Button actions the dispatcher understands. */
export const BUTTON_ACTIONS = ['confirm', 'reject'] as const;

/** One of {@link BUTTON_ACTIONS}. */
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

/** A decoded custom id. */
export interface ButtonId {
  readonly action: ButtonAction;
  readonly taskId: string;
}

const PATTERN = /^jo1:(confirm|reject):(task-\d{1,25})$/;

/**
 * Encodes a button's custom id.
 * @throws RangeError when the result would not decode (an unknown action or a task id that is not ours).
 */
export function encodeCustomId(id: ButtonId): string {
  const encoded = `jo1:${id.action}:${id.taskId}`;
  if (!PATTERN.test(encoded)) throw new RangeError(`not a button id of ours: ${id.action} for ${id.taskId}`);
  return encoded;
}

/** Decodes a custom id, or undefined when it is not one of ours (stale format, forged, foreign). */
export function decodeCustomId(customId: string): ButtonId | undefined {
  const match = PATTERN.exec(customId);
  if (!match) return undefined;
  return { action: match[1] as ButtonAction, taskId: match[2]! };
}
