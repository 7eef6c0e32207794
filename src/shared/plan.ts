import type { KeySource, TaskPatch } from './task';

/**
 * The daily plan's vocabulary, shared by the plan workflow, its activities, the store and Discord: statuses of a
 * run and of its items, and the run id people type. Plain data, no secrets (workflows import it).
 */

/**
 * A plan run's statuses, as stored in `plan_runs.status`.
 * - `proposed`: the card is up, waiting for `/approve` (or it expires after `PLAN_APPROVAL_TIMEOUT`).
 * - `running`: approved; its items run as child tasks, and `/ship` merges what is green.
 * - `completed`: every item merged, failed or dropped.
 * - `cancelled`, `expired`: ended before or after approval without finishing.
 */
export const PLAN_RUN_STATUSES = ['proposed', 'running', 'completed', 'cancelled', 'expired'] as const;

/** One of {@link PLAN_RUN_STATUSES}. */
export type PlanRunStatus = (typeof PLAN_RUN_STATUSES)[number];

/**
 * A plan item's statuses, as stored in `plan_items.status` and shown by `/status`.
 * - `planned`: on a proposed plan's card; `dropped` when a member took it off or its issue closed before it started.
 * - `queued`: approved, waiting for a Jules session slot; `in_jules`: Jules works on it; `waiting`: Jules waits for
 *   a plan approval or a reply in the plan's thread.
 * - `pr_open`: checks pending; `green`: every required check passed at the current head; `red`: a check failed.
 * - `merged`; `failed`: the task ended without a PR that can merge (the reason is kept).
 */
export const PLAN_ITEM_STATUSES = ['planned', 'dropped', 'queued', 'in_jules', 'waiting', 'pr_open', 'green', 'red', 'merged', 'failed'] as const;

/** One of {@link PLAN_ITEM_STATUSES}. */
export type PlanItemStatus = (typeof PLAN_ITEM_STATUSES)[number];

/** Item statuses after which nothing more happens to the item: a run ends when every item is in one. */
export const FINAL_PLAN_ITEM_STATUSES: ReadonlySet<PlanItemStatus> = new Set(['dropped', 'merged', 'failed']);

/** Whether an item is over. */
export function isFinalPlanItem(status: PlanItemStatus): boolean {
  return FINAL_PLAN_ITEM_STATUSES.has(status);
}

/** Defaults of the guild's plan settings (`guild set --plan-label …`). */
export const PLAN_DEFAULTS = { label: 'ready', inProgressLabel: 'jules-in-progress', maxItems: 10, maxFixAttempts: 2 } as const;

const RUN_ID_PATTERN = /^plan-\d{8}-[a-z0-9-]{1,24}-[0-9a-f]{4}$/;

/**
 * The run id people type: `plan-<yyyymmdd>-<repo name>-<4 hex>`, e.g. `plan-20261201-widgets-7f3a`. Short and
 * readable, unique enough within a day and a repo; the caller supplies the randomness (a workflow's `uuid4`, so
 * it stays deterministic).
 */
export function planRunId(at: Date, repo: string, random: string): string {
  const day = at.toISOString().slice(0, 10).replaceAll('-', '');
  const name = (repo.split('/')[1] ?? repo)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24)
    .replace(/-+$/, '');
  const hex = random.replace(/[^0-9a-f]/gi, '').toLowerCase().slice(0, 4).padEnd(4, '0');
  return `plan-${day}-${name || 'repo'}-${hex}`;
}

/** Whether `text` is shaped like a run id of ours (what `/approve run_id:` accepts before asking Temporal). */
export function isPlanRunId(text: string): boolean {
  return RUN_ID_PATTERN.test(text);
}

/**
 * Fields of a plan run's projection (`plan_runs`) a plan workflow step may change: `undefined` leaves a field as it
 * is, `null` clears it. Here rather than in the store so workflows can name it (they import src/shared only).
 */
export interface PlanRunPatch {
  readonly status?: PlanRunStatus;
  readonly approvedBy?: string | null;
  /** Which stored key pays; null while nobody's is chosen (a scheduled proposal before its approval). */
  readonly keySource?: KeySource | null;
  readonly cardMessageId?: string | null;
  readonly threadId?: string | null;
  /** The card's revision: bumped when items are dropped before approval. */
  readonly revision?: number;
  /** When a confirmer approved the run (ISO 8601). */
  readonly approvedAt?: string | null;
  /** When the run ended (ISO 8601): completed, cancelled or expired. Open runs have none. */
  readonly endedAt?: string | null;
}

/** Fields of a plan item's projection (`plan_items`) a plan workflow step may change; `undefined` keeps, `null` clears. */
export interface PlanItemPatch {
  readonly status?: PlanItemStatus;
  /** The child task workflow's id (`planItemTaskId` in ids.ts). */
  readonly taskId?: string | null;
  readonly prNumber?: number | null;
  readonly prUrl?: string | null;
  readonly prHeadSha?: string | null;
  readonly checksState?: TaskPatch['checksState'];
  /** How many times failing checks went back to Jules for this item. */
  readonly fixAttempts?: number;
  /** Why the item failed, was dropped or was skipped, in a line (at most 500 characters); never content. */
  readonly reason?: string | null;
  /** When its pull request was merged (ISO 8601). */
  readonly mergedAt?: string | null;
}
