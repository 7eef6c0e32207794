/**
 * The one `custom_id` codec for buttons and modals. Discord limits custom ids to 100 characters; ours carry a
 * version, the action and the task id, nothing else (anyone who sees a message can read its custom ids).
 */

/** Button actions the dispatcher understands. */
export const BUTTON_ACTIONS = ['confirm', 'reject', 'approve_plan', 'request_changes', 'reply', 'cancel', 'merge', 'fix'] as const;

/** One of {@link BUTTON_ACTIONS}. */
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

/** Modals the dispatcher opens; each has one text field, `text`. */
export const MODAL_ACTIONS = ['reject', 'request_changes', 'reply'] as const;

/** One of {@link MODAL_ACTIONS}. */
export type ModalAction = (typeof MODAL_ACTIONS)[number];

/** A decoded button custom id. */
export interface ButtonId {
  readonly action: ButtonAction;
  readonly taskId: string;
}

/** A decoded modal custom id. */
export interface ModalId {
  readonly action: ModalAction;
  readonly taskId: string;
}

/** The custom id of the single text input in every modal of ours. */
export const MODAL_TEXT_FIELD = 'text';

/** The namespace of task buttons: the dispatcher routes every `custom_id` starting with it here. */
export const BUTTON_PREFIX = 'jo1:';

/** The namespace of task modals. */
export const MODAL_PREFIX = 'jo1m:';

// Numbers are written one way only (no leading zeros), so each id has one custom id and decoding inverts encoding.
const NUMBER = (maxDigits: number) => `(?:0|[1-9]\\d{0,${maxDigits - 1}})`;
// A `/jules` task (`task-<interaction id>`) or a plan item's task (`task-<run id>-<issue number>`, src/shared/ids.ts).
const TASK = `(task-(?:${NUMBER(25)}|plan-\\d{8}-[a-z0-9-]{1,24}-[0-9a-f]{4}-${NUMBER(9)}))`;
const BUTTON_PATTERN = new RegExp(`^${BUTTON_PREFIX}(${BUTTON_ACTIONS.join('|')}):${TASK}$`);
const MODAL_PATTERN = new RegExp(`^${MODAL_PREFIX}(${MODAL_ACTIONS.join('|')}):${TASK}$`);

/**
 * Encodes a button's custom id.
 * @throws RangeError when the result would not decode (an unknown action or a task id that is not ours).
 */
export function encodeCustomId(id: ButtonId): string {
  const encoded = `${BUTTON_PREFIX}${id.action}:${id.taskId}`;
  if (!BUTTON_PATTERN.test(encoded)) throw new RangeError(`not a button id of ours: ${id.action} for ${id.taskId}`);
  return encoded;
}

/** Decodes a button custom id, or undefined when it is not one of ours (stale format, forged, foreign). */
export function decodeCustomId(customId: string): ButtonId | undefined {
  const match = BUTTON_PATTERN.exec(customId);
  if (!match) return undefined;
  return { action: match[1] as ButtonAction, taskId: match[2]! };
}

/**
 * Encodes a modal's custom id.
 * @throws RangeError when the result would not decode.
 */
export function encodeModalId(id: ModalId): string {
  const encoded = `${MODAL_PREFIX}${id.action}:${id.taskId}`;
  if (!MODAL_PATTERN.test(encoded)) throw new RangeError(`not a modal id of ours: ${id.action} for ${id.taskId}`);
  return encoded;
}

/** Decodes a modal custom id, or undefined when it is not one of ours. */
export function decodeModalId(customId: string): ModalId | undefined {
  const match = MODAL_PATTERN.exec(customId);
  if (!match) return undefined;
  return { action: match[1] as ModalAction, taskId: match[2]! };
}

/** The namespace of the personal key form (`/jules-key set`); it carries no id: the key is the submitter's. */
export const KEY_MODAL_PREFIX = 'jk1m:';

/** The custom id of the personal key form. */
export const KEY_MODAL_ID = `${KEY_MODAL_PREFIX}set`;

/** The namespace of `/jules-history`'s page buttons. */
export const HISTORY_PREFIX = 'jh1:';

/** A decoded page button of `/jules-history`: whose history, which page (0 is the newest). */
export interface HistoryPageId {
  readonly memberId: string;
  readonly page: number;
}

const HISTORY_PATTERN = new RegExp(`^${HISTORY_PREFIX}(${NUMBER(20)}):(${NUMBER(4)})$`);

/**
 * Encodes a history page button's custom id.
 * @throws RangeError when the result would not decode (a member id that is not a snowflake, a page out of range).
 */
export function encodeHistoryId(id: HistoryPageId): string {
  const encoded = `${HISTORY_PREFIX}${id.memberId}:${id.page}`;
  if (!HISTORY_PATTERN.test(encoded)) throw new RangeError(`not a history page id of ours: ${id.memberId} page ${id.page}`);
  return encoded;
}

/** Decodes a history page button's custom id, or undefined when it is not one of ours. */
export function decodeHistoryId(customId: string): HistoryPageId | undefined {
  const match = HISTORY_PATTERN.exec(customId);
  if (!match) return undefined;
  return { memberId: match[1]!, page: Number(match[2]) };
}

/** The namespace of a plan card's buttons and menu. */
export const PLAN_PREFIX = 'jp1:';

/** What a plan card's components do. `approve` and `drop` carry the revision they were shown for. */
export const PLAN_ACTIONS = ['approve', 'cancel', 'drop'] as const;

/** One of {@link PLAN_ACTIONS}. */
export type PlanAction = (typeof PLAN_ACTIONS)[number];

/** A decoded plan component id: the action, the run and (for approve and drop) the card's revision. */
export interface PlanComponentId {
  readonly action: PlanAction;
  readonly runId: string;
  readonly revision?: number;
}

const PLAN_PATTERN = new RegExp(`^${PLAN_PREFIX}(${PLAN_ACTIONS.join('|')}):(plan-\\d{8}-[a-z0-9-]{1,24}-[0-9a-f]{4})(?::(${NUMBER(6)}))?$`);

/**
 * Encodes a plan component's custom id.
 * @throws RangeError when the result would not decode.
 */
export function encodePlanId(id: PlanComponentId): string {
  const encoded = `${PLAN_PREFIX}${id.action}:${id.runId}${id.revision !== undefined ? `:${id.revision}` : ''}`;
  if (!PLAN_PATTERN.test(encoded)) throw new RangeError(`not a plan component id of ours: ${id.action} for ${id.runId}`);
  return encoded;
}

/** Decodes a plan component's custom id, or undefined when it is not one of ours. */
export function decodePlanId(customId: string): PlanComponentId | undefined {
  const match = PLAN_PATTERN.exec(customId);
  if (!match) return undefined;
  return { action: match[1] as PlanAction, runId: match[2]!, ...(match[3] !== undefined ? { revision: Number(match[3]) } : {}) };
}

/** The namespace of `/jules-setup`'s buttons and menus. */
export const SETUP_PREFIX = 'js1:';

/** The namespace of `/jules-setup`'s forms. */
export const SETUP_MODAL_PREFIX = 'js1m:';

/**
 * What `/jules-setup`'s components change: the two role menus, the buttons that open a form, and the toggles
 * (`merge_method` steps through squash, merge and rebase).
 */
export const SETUP_ACTIONS = [
  'create_roles',
  'confirm_roles',
  'repo',
  'quotas',
  'key',
  'plan_approval',
  'merge_method',
  'two_person_rule',
  'auto_ship',
  'fix_failing_checks',
] as const;

/** One of {@link SETUP_ACTIONS}. */
export type SetupAction = (typeof SETUP_ACTIONS)[number];

/** `/jules-setup`'s forms: the default repo and branch, the quotas, the default key. */
export const SETUP_FORMS = ['repo', 'quotas', 'key'] as const;

/** One of {@link SETUP_FORMS}. */
export type SetupForm = (typeof SETUP_FORMS)[number];

/**
 * A decoded setup component or form id: what it changes and the configuration's revision it was shown at (the id
 * of the guild's newest `guild_events` row, 0 before any), so a click on an out-of-date message changes nothing.
 * The guild is the interaction's own, never read from the id.
 */
export interface SetupId<A extends string = SetupAction> {
  readonly action: A;
  readonly revision: number;
}

const SETUP_PATTERN = new RegExp(`^${SETUP_PREFIX}(${SETUP_ACTIONS.join('|')}):(${NUMBER(19)})$`);
const SETUP_MODAL_PATTERN = new RegExp(`^${SETUP_MODAL_PREFIX}(${SETUP_FORMS.join('|')}):(${NUMBER(19)})$`);
// A bigint identity stays within 2^63; revisions above 2^53 would not round-trip through a number.
const isRevision = (revision: number) => Number.isSafeInteger(revision) && revision >= 0;

/**
 * Encodes a setup component's custom id.
 * @throws RangeError when the result would not decode.
 */
export function encodeSetupId(id: SetupId): string {
  const encoded = `${SETUP_PREFIX}${id.action}:${id.revision}`;
  if (!isRevision(id.revision) || !SETUP_PATTERN.test(encoded)) throw new RangeError(`not a setup component id of ours: ${id.action} at ${id.revision}`);
  return encoded;
}

/** Decodes a setup component's custom id, or undefined when it is not one of ours. */
export function decodeSetupId(customId: string): SetupId | undefined {
  const match = SETUP_PATTERN.exec(customId);
  if (!match || !isRevision(Number(match[2]))) return undefined;
  return { action: match[1] as SetupAction, revision: Number(match[2]) };
}

/**
 * Encodes a setup form's custom id.
 * @throws RangeError when the result would not decode.
 */
export function encodeSetupModalId(id: SetupId<SetupForm>): string {
  const encoded = `${SETUP_MODAL_PREFIX}${id.action}:${id.revision}`;
  if (!isRevision(id.revision) || !SETUP_MODAL_PATTERN.test(encoded)) throw new RangeError(`not a setup form id of ours: ${id.action} at ${id.revision}`);
  return encoded;
}

/** Decodes a setup form's custom id, or undefined when it is not one of ours. */
export function decodeSetupModalId(customId: string): SetupId<SetupForm> | undefined {
  const match = SETUP_MODAL_PATTERN.exec(customId);
  if (!match || !isRevision(Number(match[2]))) return undefined;
  return { action: match[1] as SetupForm, revision: Number(match[2]) };
}
