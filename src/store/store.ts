import type { PlanItemPatch, PlanItemStatus, PlanRunPatch, PlanRunStatus } from '../shared/plan';
import type { KeySource, PrFollowWakes, TaskPatch } from '../shared/task';

export type { PlanItemPatch, PlanRunPatch, TaskPatch };
import type { TaskStatus } from '../shared/task-status';

/** A guild's configuration, as the domain sees it (rows are mapped once, in the adapter). */
export interface GuildConfig {
  readonly guildId: string;
  readonly createRoles: readonly string[];
  readonly confirmRoles: readonly string[];
  readonly defaultRepo: string | null;
  readonly defaultBranch: string | null;
  readonly hasDefaultKey: boolean;
  /** When the default key was last set; null when never, or set before this was recorded. */
  readonly defaultKeySetAt: Date | null;
  /** Who set it from Discord (`/jules-setup`); null when it was set from the CLI. */
  readonly defaultKeySetBy: string | null;
  /** Whether tasks wait for a confirmer to approve Jules' plan unless `/jules plan_approval:` says otherwise. */
  readonly planApprovalDefault: boolean;
  /** How a Merge click in Discord merges this guild's pull requests. */
  readonly mergeMethod: 'merge' | 'squash' | 'rebase';
  /** The GitHub label `/plan` gathers open issues by (default `ready`). */
  readonly planLabel: string;
  /** The label put on an issue while Jules works on it (default `jules-in-progress`). */
  readonly inProgressLabel: string;
  /** The most issues one plan takes, 1 to 50 (default 10). */
  readonly planMaxItems: number;
  /** Whether a plan needs a confirmer other than the member who proposed it. */
  readonly twoPersonRule: boolean;
  /** Whether a running plan merges what is green without waiting for `/ship`. */
  readonly autoShip: boolean;
  /** Whether failing checks go back to the item's Jules session, at most {@link GuildConfig.maxFixAttempts} times. */
  readonly fixFailingChecks: boolean;
  /** How many times failing checks of one item may go back to Jules, 0 to 10 (default 2). */
  readonly maxFixAttempts: number;
  readonly updatedAt: Date;
}

/** Fields an operator sets with `guild set`. */
export interface GuildSettings {
  readonly guildId: string;
  readonly createRoles: readonly string[];
  readonly confirmRoles: readonly string[];
  readonly defaultRepo?: string | null;
  readonly defaultBranch?: string | null;
  /** Undefined keeps what is stored. */
  readonly planApprovalDefault?: boolean;
  /** Undefined keeps what is stored (default squash). */
  readonly mergeMethod?: 'merge' | 'squash' | 'rebase';
  /** The plan settings (see {@link GuildConfig}); each undefined keeps what is stored (the defaults at first). */
  readonly planLabel?: string;
  readonly inProgressLabel?: string;
  readonly planMaxItems?: number;
  readonly twoPersonRule?: boolean;
  readonly autoShip?: boolean;
  readonly fixFailingChecks?: boolean;
  readonly maxFixAttempts?: number;
  /** The member making the change, for the audit trail (`guild_events`); null or absent: the CLI. */
  readonly actorId?: string | null;
}

/** A task as projected in the `tasks` table. Written only by activities (and read by `/jules-status`). */
export interface TaskRecord {
  readonly id: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly requesterId: string;
  readonly prompt: string;
  readonly repo: string;
  readonly branch: string | null;
  readonly status: TaskStatus;
  readonly keySource: KeySource;
  readonly cardMessageId: string | null;
  /** The Discord thread under the card where the task's conversation happens. */
  readonly threadId: string | null;
  readonly decidedBy: string | null;
  readonly julesSessionId: string | null;
  readonly julesSessionUrl: string | null;
  readonly julesState: string | null;
  readonly prUrl: string | null;
  readonly lastError: string | null;
  /**
   * When the task's workflow ended; null while it runs. The status alone cannot tell: `stalled` is both a state
   * of a running task (confirmers alerted) and an end (stalled twice in a row).
   */
  readonly endedAt: Date | null;
  /** The pull request Jules opened, once the follow-through read it; null before. */
  readonly prNumber: number | null;
  readonly prHeadSha: string | null;
  readonly prState: 'open' | 'merged' | 'closed' | null;
  readonly checksState: 'no_checks' | 'pending' | 'passed' | 'failed' | null;
  readonly mergedAt: Date | null;
  /** How its PR follow-through is woken by a webhook delivery; null: by a signal (as before the column existed). */
  readonly prFollowWakes: PrFollowWakes | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What admission records about a new task; the other fields start empty. */
export type NewTask = Pick<TaskRecord, 'id' | 'guildId' | 'channelId' | 'requesterId' | 'prompt' | 'repo' | 'branch' | 'status' | 'keySource'>;

/** Filters for listing tasks. */
export interface TaskQuery {
  readonly guildId?: string;
  readonly requesterId?: string;
  readonly statuses?: readonly TaskStatus[];
  /** Only tasks whose workflow still runs (`ended_at is null`). */
  readonly open?: boolean;
  readonly limit?: number;
  /** Rows to skip, newest first (a page of `/jules-history`); default 0. */
  readonly offset?: number;
}

/** Stored Jules keys are ciphertext here; only `src/crypto` turns them into plaintext. */
export interface KeyRepository {
  /** Stores the guild's default key, when and by whom (`setBy`: a member's id from Discord; absent: the CLI). */
  setGuildKey(guildId: string, ciphertext: string, setBy?: string | null): Promise<void>;
  getGuildKey(guildId: string): Promise<string | undefined>;
  /** Stores a member's personal key and when it was set (`/jules-key status` says since when). */
  setUserKey(discordId: string, ciphertext: string): Promise<void>;
  getUserKey(discordId: string): Promise<string | undefined>;
  /** When the member's personal key was set, or undefined when they have none. */
  getUserKeySetAt(discordId: string): Promise<Date | undefined>;
  /** Deletes the member's personal key; false when there was none. Their next tasks use the server's default. */
  removeUserKey(discordId: string): Promise<boolean>;
}

/** Guild configuration. */
export interface GuildRepository {
  getGuild(guildId: string): Promise<GuildConfig | undefined>;
  upsertGuild(settings: GuildSettings): Promise<GuildConfig>;
}

/** The task projection. */
/** One group of {@link TaskRepository.countTasks}. */
export interface TaskCounts {
  readonly status: TaskStatus;
  /** The Jules session's last state (`AWAITING_PLAN_APPROVAL`, …), null before a session. */
  readonly julesState: string | null;
  /** The task's workflow still runs (`tasks.ended_at` is null). */
  readonly open: boolean;
  readonly count: number;
}

export interface TaskRepository {
  /** Inserts the task; a second call with the same id returns the existing row unchanged. */
  createTask(task: NewTask): Promise<TaskRecord>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  /** Applies the patch; throws TaskNotFoundError when no such task exists. */
  updateTask(id: string, patch: TaskPatch): Promise<TaskRecord>;
  listTasks(query: TaskQuery): Promise<TaskRecord[]>;
  /**
   * How many tasks there are by status, Jules session state and whether they are open (no `ended_at`): one grouped
   * query (`jo_task_counts()`), read at each metrics scrape.
   */
  countTasks(): Promise<TaskCounts[]>;
  /** The task whose Jules session this is (`sessions/…`), for webhook pushes. */
  findTaskBySession(session: string): Promise<TaskRecord | undefined>;
  /** The task whose Discord thread this is, for messages forwarded from the thread. */
  findTaskByThread(threadId: string): Promise<TaskRecord | undefined>;
  /** The newest task following this pull request of `repo` (`owner/name`), by number or by its head sha. */
  findTaskByPullRequest(repo: string, match: { readonly number: number } | { readonly headSha: string }): Promise<TaskRecord | undefined>;
}

/**
 * What the audit trail records. The database checks only the shape (snake_case), so an older schema never
 * refuses a newer worker's event; this list is where kinds are named.
 */
export const TASK_EVENT_KINDS = [
  'admitted',
  'refused',
  'confirmed',
  'rejected',
  'expired',
  'jules_session_created',
  'jules_state_changed',
  'plan_approved',
  'changes_requested',
  'message_to_jules',
  'message_not_delivered',
  'cancelled',
  'failed',
  'completed',
  'needs_attention',
  'stalled',
  'session_queued',
  'session_slot_acquired',
  // The daily plan's events, recorded under the run id (`task_id` = `plan-…`); `plan_approved` above stays
  // Jules' plan of one task, so a run's approval is `plan_approved_run`.
  'plan_proposed',
  'plan_approved_run',
  'plan_item_dropped',
  'plan_cancelled',
  'plan_expired',
  'plan_shipped',
  'plan_item_started',
  'plan_completed',
  'pull_request_merged',
  'fix_requested',
] as const;

/** One of {@link TASK_EVENT_KINDS}. */
export type TaskEventKind = (typeof TASK_EVENT_KINDS)[number];

/**
 * An event's detail: ids, states and counts, flat. Never a key, a prompt or a message; the database refuses
 * the obvious field names (`prompt`, `text`, `message`, `key`, `token`, …) outright.
 */
export type TaskEventDetail = Readonly<Record<string, string | number | boolean | null>>;

/** One row of the audit trail (`task_events`). */
export interface TaskEvent {
  /** Increasing in the order events were recorded. */
  readonly id: number;
  readonly taskId: string;
  readonly guildId: string;
  /** The Discord id of the member who acted; null when the service did (a timeout, Jules). */
  readonly actorId: string | null;
  /** A {@link TaskEventKind}, or a kind a newer worker recorded. */
  readonly kind: string;
  readonly outcome: string | null;
  readonly detail: TaskEventDetail;
  readonly createdAt: Date;
}

/** An event to append without a transition. */
export interface NewTaskEvent {
  /** The task's id, or a plan run's id for the plan's events. */
  readonly taskId: string;
  /**
   * Defaults to the task's guild, or the plan run's; required for a request that was refused before a task (or a
   * run) was recorded.
   */
  readonly guildId?: string;
  readonly actorId?: string | null;
  readonly kind: TaskEventKind;
  readonly outcome?: string | null;
  readonly detail?: TaskEventDetail;
  /** For callers that may retry: the same key for the same task records the event once. */
  readonly dedupeKey?: string;
}

/** A guarded status change and the event that records it. */
export interface TaskTransition {
  /** The statuses the task must be in for the transition to happen. */
  readonly from: readonly TaskStatus[];
  readonly to: TaskStatus;
  readonly event: TaskEventKind;
  readonly actorId?: string | null;
  /** Other fields set in the same update; the status is `to`. */
  readonly patch?: Omit<TaskPatch, 'status'>;
  /** Defaults to `to`. */
  readonly outcome?: string | null;
  readonly detail?: TaskEventDetail;
}

/** The audit trail and the transitions that write it. */
export interface TaskEventRepository {
  /**
   * Moves the task from one of `from` to `to`, applies the patch and appends the event, atomically (SQL
   * function `jo_transition_task`). Returns the updated task, or undefined when the task was not in
   * `from` or does not exist: of two concurrent confirmers exactly one gets the task.
   */
  transitionTask(id: string, transition: TaskTransition): Promise<TaskRecord | undefined>;
  /** Appends an event (`jo_record_task_event`); false when its dedupe key was already recorded. */
  recordTaskEvent(event: NewTaskEvent): Promise<boolean>;
  /** The task's events, oldest first. */
  listTaskEvents(taskId: string): Promise<TaskEvent[]>;
}

/** The request quotas and session limits in force for a guild. */
export interface GuildQuotas {
  /** `/jules` requests one member may make per rolling hour in the guild (default 5). */
  readonly userRequestsPerHour: number;
  /** `/jules` requests the whole guild may make per rolling day (default 50). */
  readonly guildRequestsPerDay: number;
  /** Jules sessions running at once per key owner (default 3, Jules' free plan). */
  readonly concurrentSessionsPerKey: number;
  /** Jules sessions started per rolling day per key owner (default 15, Jules' free plan). */
  readonly dailySessionsPerKey: number;
  /** Whether the guild has settings of its own; false means all defaults. */
  readonly customised: boolean;
}

/** Per-guild quota settings: a number sets the quota, null returns it to the default, undefined keeps it. */
export type GuildQuotaSettings = {
  readonly [K in Exclude<keyof GuildQuotas, 'customised'>]?: number | null;
};

/** Which request limit refused a request. */
export type RequestLimit = 'user_hourly' | 'guild_daily';

/** Whether one more `/jules` request is within quota; when not, which limit and when to try again. */
export type QuotaDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly limit: RequestLimit; readonly quota: number; readonly retryAt: Date };

/** Who pays for a Jules session: `user:<discord id>` (personal key) or `guild:<guild id>` (default key). */
export type KeyOwner = `user:${string}` | `guild:${string}`;

/** The key owner of a task, from which key pays for it. */
export function keyOwnerOf(task: Pick<TaskRecord, 'keySource' | 'requesterId' | 'guildId'>): KeyOwner {
  return task.keySource === 'personal' ? `user:${task.requesterId}` : `guild:${task.guildId}`;
}

/** The session limits of a key owner; `daily` unset means no daily cap. */
export interface SessionLimits {
  readonly concurrent: number;
  readonly daily?: number;
}

/**
 * The answer of {@link QuotaRepository.tryAcquireSessionSlot}: acquired, or the task's 1-based place among
 * its owner's waiting tasks and what it waits for (`queue`: tasks ahead; `concurrent`: a free slot;
 * `daily`: the daily cap, which lifts at `retryAt`).
 */
export type SlotDecision =
  | { readonly acquired: true }
  | {
      readonly acquired: false;
      readonly position: number;
      readonly waitingFor: 'queue' | 'concurrent' | 'daily';
      readonly retryAt?: Date;
    };

/** Quotas and the Jules session queue, counted in the database so that all workers share them. */
export interface QuotaRepository {
  /** The quotas in force for the guild: its settings over the defaults. */
  getGuildQuotas(guildId: string): Promise<GuildQuotas>;
  /** Changes the guild's settings (see {@link GuildQuotaSettings}) and returns the quotas now in force. */
  setGuildQuotas(guildId: string, settings: GuildQuotaSettings, actorId?: string | null): Promise<GuildQuotas>;
  /** Whether the member may make one more request in the guild at `now` (default: the database's clock). */
  checkRequestQuota(guildId: string, userId: string, now?: Date): Promise<QuotaDecision>;
  /**
   * Records the task only if the request is within quota, atomically across workers; a task already
   * recorded is returned as allowed (a retried admission is not counted twice).
   */
  createTaskWithinQuota(
    task: NewTask,
    now?: Date,
  ): Promise<{ readonly allowed: true; readonly task: TaskRecord } | Extract<QuotaDecision, { allowed: false }>>;
  /** Puts the task in its key owner's queue for a Jules session (first come, first served); idempotent. */
  enqueueSessionSlot(keyOwner: KeyOwner, taskId: string): Promise<void>;
  /**
   * Takes a session slot when it is the task's turn and fewer than the limit are held (a number is the
   * concurrent limit alone); enqueues the task if it was not. Atomic across workers; idempotent for a holder.
   */
  tryAcquireSessionSlot(keyOwner: KeyOwner, taskId: string, limit: number | SessionLimits, now?: Date): Promise<SlotDecision>;
  /** Gives the task's slot back or takes it out of the queue; idempotent (true only when it did something). */
  releaseSessionSlot(taskId: string): Promise<boolean>;
}

/** A stored Jules key, as `keys rotate` sees it: whose it is and its ciphertext. */
export interface StoredKey {
  readonly scope: 'guild' | 'user';
  /** The guild id or the member's Discord id. */
  readonly ownerId: string;
  readonly ciphertext: string;
}

/** What key rotation needs: every stored ciphertext, and a replace that loses no concurrent change. */
export interface KeyRotationRepository {
  /** Every stored key's ciphertext, guilds first, in id order. */
  listStoredKeys(): Promise<StoredKey[]>;
  /**
   * Replaces the key's ciphertext only if it is still `key.ciphertext` (one statement, so one transaction
   * per row); false when it changed meanwhile (a concurrent `set-key`) and was left alone.
   */
  replaceStoredKey(key: StoredKey, ciphertext: string): Promise<boolean>;
}

/** A daily plan run as projected in `plan_runs`. Written only by the plan workflow's activities. */
export interface PlanRunRecord {
  /** The run id people type, also the plan workflow's id (`planRunId` in src/shared/plan.ts). */
  readonly id: string;
  readonly guildId: string;
  readonly channelId: string;
  /** `owner/name`. */
  readonly repo: string;
  /** The GitHub label its issues were gathered by. */
  readonly label: string;
  readonly status: PlanRunStatus;
  /** The member who ran `/plan`; null when a schedule proposed it. */
  readonly proposedBy: string | null;
  readonly approvedBy: string | null;
  /** Which stored key pays; null until known (a scheduled proposal is decided at its approval). */
  readonly keySource: KeySource | null;
  readonly cardMessageId: string | null;
  readonly threadId: string | null;
  /** Bumped when items are dropped before approval. */
  readonly revision: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly approvedAt: Date | null;
  /** When the run ended; null while it is open. */
  readonly endedAt: Date | null;
}

/** What proposing a plan records about its run; it starts `proposed`, revision 0, the other fields empty. */
export type NewPlanRun = Pick<PlanRunRecord, 'id' | 'guildId' | 'channelId' | 'repo' | 'label' | 'proposedBy' | 'keySource'>;

/** One issue of a plan run as projected in `plan_items`. Titles and urls only: never an issue body or a prompt. */
export interface PlanItemRecord {
  readonly runId: string;
  readonly issueNumber: number;
  /** Its place on the plan, from 0; items are listed and run in this order. */
  readonly position: number;
  readonly title: string;
  readonly issueUrl: string;
  readonly status: PlanItemStatus;
  /** The child task workflow's id once it started (`planItemTaskId` in src/shared/ids.ts). */
  readonly taskId: string | null;
  readonly prNumber: number | null;
  readonly prUrl: string | null;
  readonly prHeadSha: string | null;
  readonly checksState: 'no_checks' | 'pending' | 'passed' | 'failed' | null;
  /** How many times failing checks went back to Jules. */
  readonly fixAttempts: number;
  /** Why it failed, was dropped or was skipped, in a line. */
  readonly reason: string | null;
  readonly mergedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** One issue as a proposal lists it; it starts `planned`. */
export type NewPlanItem = Pick<PlanItemRecord, 'issueNumber' | 'position' | 'title' | 'issueUrl'>;

/** Filters for listing a guild's plan runs. */
export interface PlanRunQuery {
  readonly guildId: string;
  /** Only runs that have not ended (`ended_at is null`). */
  readonly open?: boolean;
  /** Default 25, at most 500. */
  readonly limit?: number;
}

/** The daily plan's projection: runs and their items. */
export interface PlanRepository {
  /** Inserts the run (status `proposed`); a second call with the same id returns the existing row unchanged. */
  createPlanRun(run: NewPlanRun): Promise<PlanRunRecord>;
  getPlanRun(id: string): Promise<PlanRunRecord | undefined>;
  /** Applies the patch; throws PlanRunNotFoundError when no such run exists. */
  updatePlanRun(id: string, patch: PlanRunPatch): Promise<PlanRunRecord>;
  /** A guild's runs, newest first. */
  listPlanRuns(query: PlanRunQuery): Promise<PlanRunRecord[]>;
  /**
   * Ids of a guild's runs that start with `prefix` (case-insensitive), newest first, at most `limit` (1 to 25,
   * Discord's autocomplete cap), for `/approve run_id:` and `/ship run_id:`. A prefix no run id could start with
   * matches nothing.
   */
  searchPlanRunIds(guildId: string, prefix: string, limit: number): Promise<string[]>;
  /**
   * Records the proposed items of a run, idempotently: a new item is inserted `planned`; an item already there gets
   * the position, title and url given and keeps its status and progress (a retried activity, or a revised card,
   * never sets a running item back). Items not in the list are left as they are (drop one with updatePlanItem).
   * All or nothing; a run that does not exist is refused. Returns the run's items by position.
   */
  savePlanItems(runId: string, items: readonly NewPlanItem[]): Promise<PlanItemRecord[]>;
  /** Applies the patch to one item; throws PlanItemNotFoundError when the run has no such item. */
  updatePlanItem(runId: string, issueNumber: number, patch: PlanItemPatch): Promise<PlanItemRecord>;
  /** A run's items by position (then issue number). */
  listPlanItems(runId: string): Promise<PlanItemRecord[]>;
  /**
   * Issue numbers `/plan` must leave out for `repo` (`owner/name`, case-insensitive): items of open runs (no
   * `ended_at`) that were neither dropped nor failed, ascending.
   */
  issuesInOpenPlans(repo: string): Promise<number[]>;
  /** The item whose child task this is, for events that arrive about a task. */
  findPlanItemByTask(taskId: string): Promise<PlanItemRecord | undefined>;
  /** The newest item following this pull request of `repo` (`owner/name`), by number or by its head sha. */
  findPlanItemByPullRequest(repo: string, match: { readonly number: number } | { readonly headSha: string }): Promise<PlanItemRecord | undefined>;
}

/** One change to a guild's configuration or quotas, as the triggers on `guilds` and `guild_quotas` record it. */
export interface GuildEvent {
  /** Increasing in the order changes were made; the newest one is the configuration's revision. */
  readonly id: number;
  readonly guildId: string;
  /** The member who made it from Discord; null when it came from the CLI. */
  readonly actorId: string | null;
  readonly kind: 'settings_changed' | 'quotas_changed' | (string & {});
  /** The changed columns (snake_case) and their new values; a new key is `default_key: "set"`, never the key. */
  readonly detail: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
}

/** The audit trail of guild configuration, written by the database itself with each change. */
export interface GuildEventRepository {
  /** The guild's changes, newest first, at most `limit` (default 25, at most 500). */
  listGuildEvents(guildId: string, limit?: number): Promise<GuildEvent[]>;
}

/** A count of tasks and their pull requests over a period (`/jules-usage`). */
export interface UsageFigures {
  readonly tasks: number;
  readonly prsOpened: number;
  readonly prsMerged: number;
  /** The median time from a request to its pull request; null when no task opened one. */
  readonly medianSecondsToPr: number | null;
}

/** One member's figures, and whether a personal key of theirs paid for any of their tasks. */
export interface MemberUsage extends UsageFigures {
  readonly requesterId: string;
  readonly personalKey: boolean;
}

/** A guild's usage since a time: each requester's figures (most tasks first) and the guild's. */
export interface GuildUsage {
  readonly members: readonly MemberUsage[];
  readonly total: UsageFigures;
}

/** What `/jules-usage` reads (`jo_guild_usage`, `jo_key_sessions_used`). */
export interface UsageRepository {
  /** The guild's tasks requested at or after `since`, by requester and in all. */
  guildUsage(guildId: string, since: Date): Promise<GuildUsage>;
  /** Jules sessions each key owner took in the rolling day before `now` (default: the database's clock), as its daily limit counts them. */
  keySessionsUsed(keyOwners: readonly KeyOwner[], now?: Date): Promise<Map<KeyOwner, number>>;
}

/** The repository port: everything the service keeps in Postgres. */
export interface Store
  extends GuildRepository,
    TaskRepository,
    KeyRepository,
    TaskEventRepository,
    QuotaRepository,
    KeyRotationRepository,
    PlanRepository,
    GuildEventRepository,
    UsageRepository {
  /** Releases connections. */
  close(): Promise<void>;
}
