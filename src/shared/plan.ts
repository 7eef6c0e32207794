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

/** One issue on a plan: what the card shows and what its task is built from. */
export interface PlanItem {
  readonly issueNumber: number;
  readonly title: string;
  readonly url: string;
  readonly status: PlanItemStatus;
  /** Why it failed, was dropped or skipped, in words. */
  readonly reason?: string;
  readonly prUrl?: string;
}

/** A plan run as Discord shows it and as the plan's updates check it. No secrets. */
export interface PlanView {
  readonly runId: string;
  readonly status: PlanRunStatus;
  readonly guildId: string;
  readonly channelId: string;
  readonly repo: string;
  readonly label: string;
  /** Who ran `/plan`; absent when a schedule proposed it. */
  readonly proposedBy?: string;
  readonly approvedBy?: string;
  /** Which key pays, and whose it is for a personal key. */
  readonly keySource: 'personal' | 'guild';
  readonly payerId?: string;
  /** Role ids that may approve, drop, cancel and ship. */
  readonly confirmRoles: readonly string[];
  /** Whoever proposed may not approve too (`guild set --two-person-rule on`). */
  readonly twoPersonRule: boolean;
  /** Items merge as they turn green, without a `/ship` (`guild set --auto-ship on`). */
  readonly autoShip?: boolean;
  /** Bumped whenever the items change before approval, so a stale button never approves what nobody saw. */
  readonly revision: number;
  readonly items: readonly PlanItem[];
  readonly cardMessageId?: string;
  readonly threadId?: string;
  /** When an unapproved plan expires (epoch ms). */
  readonly expiresAt?: number;
  /** The Jules requests the run would use of the guild's daily quota, when there is one. */
  readonly quota?: { readonly used: number; readonly limit: number };
}

/** `/plan`'s answer: the proposed plan, or why there is none. */
export type PlanProposal =
  | { readonly kind: 'proposed'; readonly view: PlanView }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'empty'; readonly reason: string };

/** What `/ship` did with one item. */
export interface ShipLine {
  readonly issueNumber: number;
  readonly outcome: 'merged' | 'skipped' | 'updating';
  readonly reason?: string;
  readonly prNumber?: number;
}

/** `/ship`'s answer, item by item in issue order. */
export interface ShipReport {
  readonly lines: readonly ShipLine[];
}

/** How far along an item is; a status never moves an item back (a late "queued" must not hide "green"). */
const ITEM_RANK: Record<PlanItemStatus, number> = { planned: 0, queued: 1, in_jules: 2, waiting: 2, pr_open: 3, green: 4, red: 4, merged: 9, dropped: 9, failed: 9 };

/**
 * Whether an item in `from` may be set to `to`. Final statuses win and stay; before its PR an item moves forward
 * or sideways (in Jules, waiting for a reply); once its PR is open, checks may go from green or red back to pending.
 */
export function planItemMayMove(from: PlanItemStatus, to: PlanItemStatus): boolean {
  if (isFinalPlanItem(from)) return from === to;
  if (ITEM_RANK[from] >= ITEM_RANK.pr_open && ITEM_RANK[to] >= ITEM_RANK.pr_open) return true;
  return ITEM_RANK[to] >= ITEM_RANK[from];
}
