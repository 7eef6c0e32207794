import { PLAN_DEFAULTS, PLAN_ITEM_STATUSES, PLAN_RUN_STATUSES, type PlanItemStatus, type PlanRunStatus } from '../shared/plan';
import type { KeySource } from '../shared/task';
import { TASK_STATUSES, type TaskStatus } from '../shared/task-status';
import { UnexpectedRowError } from './errors';
import type {
  GuildConfig,
  GuildEvent,
  GuildUsage,
  GuildQuotas,
  GuildSettings,
  NewPlanItem,
  NewPlanRun,
  NewTask,
  PlanItemPatch,
  PlanItemRecord,
  PlanRunPatch,
  PlanRunRecord,
  QuotaDecision,
  SlotDecision,
  StoredKey,
  TaskEvent,
  TaskCounts,
  TaskEventDetail,
  TaskPatch,
  TaskRecord,
} from './store';

/**
 * A `timestamptz` as a driver returns it: a Date from pg and PGlite, an ISO string from PostgREST's JSON.
 * Mappers take both, so each row type is mapped once whichever adapter read it.
 */
export type Timestamp = Date | string;

/** A {@link Timestamp} as a Date. */
export function toDate(value: Timestamp): Date {
  return value instanceof Date ? value : new Date(value);
}

/**
 * A `guilds` row as the store selects it ({@link GUILD_COLUMNS}): every column except the key's
 * ciphertext, which only `getGuildKey` reads; the generated `has_default_key` says whether there is one.
 */
export interface GuildRow {
  readonly guild_id: string;
  readonly create_roles: string[];
  readonly confirm_roles: string[];
  readonly default_repo: string | null;
  readonly default_branch: string | null;
  readonly has_default_key: boolean;
  // Migration 20261205100000; optional, so a row from before it maps.
  readonly default_key_set_at?: Timestamp | null;
  readonly default_key_set_by?: string | null;
  readonly plan_approval_default: boolean;
  readonly merge_method?: string;
  // The plan settings (migration 20261202101000); optional like merge_method, so a row from before them maps.
  readonly plan_label?: string;
  readonly in_progress_label?: string;
  readonly plan_max_items?: number;
  readonly two_person_rule?: boolean;
  readonly auto_ship?: boolean;
  readonly fix_failing_checks?: boolean;
  readonly max_fix_attempts?: number;
  readonly created_at: Timestamp;
  readonly updated_at: Timestamp;
}

// One literal, not a concatenation: supabase-js types a select from its literal text.
/** The select list that produces a {@link GuildRow}, in SQL and in PostgREST's `select=` alike. */
export const GUILD_COLUMNS = 'guild_id, create_roles, confirm_roles, default_repo, default_branch, plan_approval_default, merge_method, plan_label, in_progress_label, plan_max_items, two_person_rule, auto_ship, fix_failing_checks, max_fix_attempts, has_default_key, default_key_set_at, default_key_set_by, created_at, updated_at';

/** The plan settings of {@link GuildSettings} and the `guilds` column each one writes; the only such names put into SQL text. */
export const GUILD_PLAN_COLUMNS = {
  planLabel: 'plan_label',
  inProgressLabel: 'in_progress_label',
  planMaxItems: 'plan_max_items',
  twoPersonRule: 'two_person_rule',
  autoShip: 'auto_ship',
  fixFailingChecks: 'fix_failing_checks',
  maxFixAttempts: 'max_fix_attempts',
} as const satisfies Partial<Record<keyof GuildSettings & keyof GuildConfig, string>>;

/** The plan settings a {@link GuildSettings} sets, as columns: undefined ones are left out, so what is stored is kept. */
export function toGuildPlanSettingsRow(settings: GuildSettings): Record<string, string | number | boolean> {
  const row: Record<string, string | number | boolean> = {};
  for (const [field, column] of Object.entries(GUILD_PLAN_COLUMNS) as [keyof typeof GUILD_PLAN_COLUMNS, string][]) {
    const value = settings[field];
    if (value !== undefined) row[column] = value;
  }
  return row;
}

/** A `tasks` row, every column, as Postgres returns it. */
export interface TaskRow {
  readonly id: string;
  readonly guild_id: string;
  readonly channel_id: string;
  readonly requester_id: string;
  readonly prompt: string;
  readonly repo: string;
  readonly branch: string | null;
  readonly status: string;
  readonly key_source: string;
  readonly card_message_id: string | null;
  readonly thread_id: string | null;
  readonly decided_by: string | null;
  readonly jules_session_id: string | null;
  readonly jules_session_url: string | null;
  readonly jules_state: string | null;
  readonly pr_url: string | null;
  readonly last_error: string | null;
  readonly ended_at: Timestamp | null;
  readonly pr_number?: number | null;
  readonly pr_head_sha?: string | null;
  readonly pr_state?: string | null;
  readonly checks_state?: string | null;
  readonly merged_at?: Timestamp | null;
  readonly pr_follow_wakes?: string | null;
  readonly created_at: Timestamp;
  readonly updated_at: Timestamp;
}

/** A row holding one stored key's ciphertext (`guilds.default_jules_key` or `users.jules_key`, aliased). */
export interface KeyRow {
  readonly ciphertext: string | null;
}

const KNOWN_STATUSES: ReadonlySet<string> = new Set(TASK_STATUSES);

/** Maps a {@link GuildRow} to the domain's GuildConfig. */
export function toGuildConfig(row: GuildRow): GuildConfig {
  return {
    guildId: row.guild_id,
    createRoles: row.create_roles,
    confirmRoles: row.confirm_roles,
    defaultRepo: row.default_repo,
    defaultBranch: row.default_branch,
    hasDefaultKey: row.has_default_key,
    defaultKeySetAt: row.default_key_set_at ? toDate(row.default_key_set_at) : null,
    defaultKeySetBy: row.default_key_set_by ?? null,
    planApprovalDefault: row.plan_approval_default ?? false,
    mergeMethod: row.merge_method === 'merge' || row.merge_method === 'rebase' ? row.merge_method : 'squash',
    planLabel: row.plan_label ?? PLAN_DEFAULTS.label,
    inProgressLabel: row.in_progress_label ?? PLAN_DEFAULTS.inProgressLabel,
    planMaxItems: row.plan_max_items ?? PLAN_DEFAULTS.maxItems,
    twoPersonRule: row.two_person_rule ?? false,
    autoShip: row.auto_ship ?? false,
    fixFailingChecks: row.fix_failing_checks ?? false,
    maxFixAttempts: row.max_fix_attempts ?? PLAN_DEFAULTS.maxFixAttempts,
    updatedAt: toDate(row.updated_at),
  };
}

/** Maps a {@link TaskRow} to the domain's TaskRecord; throws UnexpectedRowError on a status or key source it does not know. */
export function toTaskRecord(row: TaskRow): TaskRecord {
  // The CHECK constraints guarantee these, unless a newer migration added values this process predates.
  if (!KNOWN_STATUSES.has(row.status)) throw new UnexpectedRowError('tasks', 'status', row.status);
  if (row.key_source !== 'personal' && row.key_source !== 'guild') {
    throw new UnexpectedRowError('tasks', 'key_source', row.key_source);
  }
  return {
    id: row.id,
    guildId: row.guild_id,
    channelId: row.channel_id,
    requesterId: row.requester_id,
    prompt: row.prompt,
    repo: row.repo,
    branch: row.branch,
    status: row.status as TaskStatus,
    keySource: row.key_source satisfies KeySource,
    cardMessageId: row.card_message_id,
    threadId: row.thread_id ?? null,
    decidedBy: row.decided_by,
    julesSessionId: row.jules_session_id,
    julesSessionUrl: row.jules_session_url,
    julesState: row.jules_state,
    prUrl: row.pr_url,
    lastError: row.last_error,
    endedAt: row.ended_at === null || row.ended_at === undefined ? null : toDate(row.ended_at),
    prNumber: row.pr_number ?? null,
    prHeadSha: row.pr_head_sha ?? null,
    prState: (row.pr_state ?? null) as TaskRecord['prState'],
    checksState: (row.checks_state ?? null) as TaskRecord['checksState'],
    mergedAt: row.merged_at === null || row.merged_at === undefined ? null : toDate(row.merged_at),
    prFollowWakes: row.pr_follow_wakes === 'signal' || row.pr_follow_wakes === 'deliveries' ? row.pr_follow_wakes : null,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** Patch fields and the column each one writes; the only names ever put into SQL text by updateTask. */
export const PATCH_COLUMNS = {
  status: 'status',
  cardMessageId: 'card_message_id',
  threadId: 'thread_id',
  decidedBy: 'decided_by',
  julesSessionId: 'jules_session_id',
  julesSessionUrl: 'jules_session_url',
  julesState: 'jules_state',
  prUrl: 'pr_url',
  lastError: 'last_error',
  endedAt: 'ended_at',
  prNumber: 'pr_number',
  prHeadSha: 'pr_head_sha',
  prState: 'pr_state',
  checksState: 'checks_state',
  mergedAt: 'merged_at',
  prFollowWakes: 'pr_follow_wakes',
} as const satisfies Record<keyof TaskPatch, string>;

/** A patch as columns: set fields only (null included, to clear), undefined ones left out. */
export function toTaskPatchRow(patch: TaskPatch): Record<string, string | number | null> {
  const row: Record<string, string | number | null> = {};
  for (const [field, column] of Object.entries(PATCH_COLUMNS) as [keyof TaskPatch, string][]) {
    const value = patch[field];
    if (value !== undefined) row[column] = value;
  }
  return row;
}

/** The columns of a new task's row. */
export function toNewTaskRow(task: NewTask): Record<string, string | null> {
  return {
    id: task.id,
    guild_id: task.guildId,
    channel_id: task.channelId,
    requester_id: task.requesterId,
    prompt: task.prompt,
    repo: task.repo,
    branch: task.branch,
    status: task.status,
    key_source: task.keySource,
  };
}

/** A `task_events` row as the store selects it ({@link TASK_EVENT_COLUMNS}). */
export interface TaskEventRow {
  /** bigint: a string from pg, a number from PGlite and PostgREST. */
  readonly id: string | number;
  readonly task_id: string;
  readonly guild_id: string;
  readonly actor_id: string | null;
  readonly kind: string;
  readonly outcome: string | null;
  readonly detail: TaskEventDetail;
  readonly created_at: Timestamp;
}

/** The select list that produces a {@link TaskEventRow} (the dedupe key stays in the database). */
export const TASK_EVENT_COLUMNS = 'id, task_id, guild_id, actor_id, kind, outcome, detail, created_at';

/** Maps a {@link TaskEventRow} to a TaskEvent. */
export function toTaskEvent(row: TaskEventRow): TaskEvent {
  return {
    id: Number(row.id),
    taskId: row.task_id,
    guildId: row.guild_id,
    actorId: row.actor_id,
    kind: row.kind,
    outcome: row.outcome,
    detail: row.detail,
    createdAt: toDate(row.created_at),
  };
}

/** A `guild_events` row as the store selects it ({@link GUILD_EVENT_COLUMNS}). */
export interface GuildEventRow {
  /** bigint: a string from pg, a number from PGlite and PostgREST. */
  readonly id: string | number;
  readonly guild_id: string;
  readonly actor_id: string | null;
  readonly kind: string;
  readonly detail: Record<string, unknown>;
  readonly created_at: Timestamp;
}

/** The select list that produces a {@link GuildEventRow}. */
export const GUILD_EVENT_COLUMNS = 'id, guild_id, actor_id, kind, detail, created_at';

/** Maps a {@link GuildEventRow} to a GuildEvent. */
export function toGuildEvent(row: GuildEventRow): GuildEvent {
  return { id: Number(row.id), guildId: row.guild_id, actorId: row.actor_id, kind: row.kind, detail: row.detail, createdAt: toDate(row.created_at) };
}

/** A row of `jo_guild_usage(guild_id, since)`: a requester's, or the guild's (`requester_id` null). */
export interface GuildUsageRow {
  readonly requester_id: string | null;
  readonly tasks: number;
  readonly prs_opened: number;
  readonly prs_merged: number;
  readonly personal_key: boolean | null;
  /** double precision: a number, or a string from some drivers. */
  readonly median_seconds_to_pr: number | string | null;
}

/** Maps the rows of `jo_guild_usage` to a GuildUsage: members by most tasks first, then by id. */
export function toGuildUsage(rows: readonly GuildUsageRow[]): GuildUsage {
  const figures = (row: GuildUsageRow | undefined) => ({
    tasks: row?.tasks ?? 0,
    prsOpened: row?.prs_opened ?? 0,
    prsMerged: row?.prs_merged ?? 0,
    medianSecondsToPr: row?.median_seconds_to_pr === null || row?.median_seconds_to_pr === undefined ? null : Number(row.median_seconds_to_pr),
  });
  const members = rows
    .filter((row): row is GuildUsageRow & { requester_id: string } => row.requester_id !== null)
    .map((row) => ({ requesterId: row.requester_id, personalKey: row.personal_key ?? false, ...figures(row) }))
    .sort((a, b) => b.tasks - a.tasks || a.requesterId.localeCompare(b.requesterId));
  return { members, total: figures(rows.find((row) => row.requester_id === null)) };
}

/** A row of `jo_guild_quotas(guild_id)`. */
export interface GuildQuotasRow {
  readonly user_requests_per_hour: number;
  readonly guild_requests_per_day: number;
  readonly concurrent_sessions_per_key: number;
  readonly daily_sessions_per_key: number;
  readonly customised: boolean;
}

/** Maps a {@link GuildQuotasRow} to GuildQuotas. */
export function toGuildQuotas(row: GuildQuotasRow): GuildQuotas {
  return {
    userRequestsPerHour: row.user_requests_per_hour,
    guildRequestsPerDay: row.guild_requests_per_day,
    concurrentSessionsPerKey: row.concurrent_sessions_per_key,
    dailySessionsPerKey: row.daily_sessions_per_key,
    customised: row.customised,
  };
}

/** A row of `jo_task_counts()`. */
export interface TaskCountsRow {
  readonly status: TaskStatus;
  readonly jules_state: string | null;
  readonly open: boolean;
  readonly count: number;
}

/** Maps a {@link TaskCountsRow} to TaskCounts. */
export function toTaskCounts(row: TaskCountsRow): TaskCounts {
  return { status: row.status, julesState: row.jules_state, open: row.open, count: Number(row.count) };
}

/** A row of `jo_check_request_quota` and `jo_create_task_within_quota`. */
export interface QuotaDecisionRow {
  readonly allowed: boolean;
  readonly limit_name: string | null;
  readonly retry_at: Timestamp | null;
  readonly quota: number | null;
}

/** Maps a {@link QuotaDecisionRow}; throws UnexpectedRowError on a limit this code does not know. */
export function toQuotaDecision(row: QuotaDecisionRow): QuotaDecision {
  if (row.allowed) return { allowed: true };
  if ((row.limit_name !== 'user_hourly' && row.limit_name !== 'guild_daily') || row.retry_at === null || row.quota === null) {
    throw new UnexpectedRowError('jo_check_request_quota', 'limit_name', row.limit_name);
  }
  return { allowed: false, limit: row.limit_name, quota: row.quota, retryAt: toDate(row.retry_at) };
}

/** A row of `jo_try_acquire_session_slot`. */
export interface SlotDecisionRow {
  readonly acquired: boolean;
  readonly queue_position: number;
  readonly waiting_for: string | null;
  readonly retry_at: Timestamp | null;
}

/** Maps a {@link SlotDecisionRow}; throws UnexpectedRowError on a reason this code does not know. */
export function toSlotDecision(row: SlotDecisionRow): SlotDecision {
  if (row.acquired) return { acquired: true };
  const waitingFor = row.waiting_for;
  if (waitingFor !== 'queue' && waitingFor !== 'concurrent' && waitingFor !== 'daily') {
    throw new UnexpectedRowError('jo_try_acquire_session_slot', 'waiting_for', waitingFor);
  }
  return {
    acquired: false,
    position: row.queue_position,
    waitingFor,
    ...(row.retry_at !== null ? { retryAt: toDate(row.retry_at) } : {}),
  };
}

/** A stored key's row, from either key table (aliased to these names). */
export interface StoredKeyRow {
  readonly scope: 'guild' | 'user';
  readonly owner_id: string;
  readonly ciphertext: string;
}

/** Maps a {@link StoredKeyRow}. */
export function toStoredKey(row: StoredKeyRow): StoredKey {
  return { scope: row.scope, ownerId: row.owner_id, ciphertext: row.ciphertext };
}

/** A `plan_runs` row, every column, as Postgres returns it. */
export interface PlanRunRow {
  readonly id: string;
  readonly guild_id: string;
  readonly channel_id: string;
  readonly repo: string;
  readonly label: string;
  readonly status: string;
  readonly proposed_by: string | null;
  readonly approved_by: string | null;
  readonly key_source: string | null;
  readonly card_message_id: string | null;
  readonly thread_id: string | null;
  readonly revision: number;
  readonly created_at: Timestamp;
  readonly updated_at: Timestamp;
  readonly approved_at: Timestamp | null;
  readonly ended_at: Timestamp | null;
}

/** A `plan_items` row, every column, as Postgres returns it. */
export interface PlanItemRow {
  readonly run_id: string;
  readonly issue_number: number;
  readonly position: number;
  readonly title: string;
  readonly issue_url: string;
  readonly status: string;
  readonly task_id: string | null;
  readonly pr_number: number | null;
  readonly pr_url: string | null;
  readonly pr_head_sha: string | null;
  readonly checks_state: string | null;
  readonly fix_attempts: number;
  readonly reason: string | null;
  readonly merged_at: Timestamp | null;
  readonly created_at: Timestamp;
  readonly updated_at: Timestamp;
}

const KNOWN_RUN_STATUSES: ReadonlySet<string> = new Set(PLAN_RUN_STATUSES);
const KNOWN_ITEM_STATUSES: ReadonlySet<string> = new Set(PLAN_ITEM_STATUSES);

function toDateOrNull(value: Timestamp | null | undefined): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}

/** Maps a {@link PlanRunRow} to a PlanRunRecord; throws UnexpectedRowError on a status or key source it does not know. */
export function toPlanRunRecord(row: PlanRunRow): PlanRunRecord {
  if (!KNOWN_RUN_STATUSES.has(row.status)) throw new UnexpectedRowError('plan_runs', 'status', row.status);
  if (row.key_source !== null && row.key_source !== 'personal' && row.key_source !== 'guild') {
    throw new UnexpectedRowError('plan_runs', 'key_source', row.key_source);
  }
  return {
    id: row.id,
    guildId: row.guild_id,
    channelId: row.channel_id,
    repo: row.repo,
    label: row.label,
    status: row.status as PlanRunStatus,
    proposedBy: row.proposed_by,
    approvedBy: row.approved_by,
    keySource: row.key_source satisfies KeySource | null,
    cardMessageId: row.card_message_id,
    threadId: row.thread_id,
    revision: row.revision,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    approvedAt: toDateOrNull(row.approved_at),
    endedAt: toDateOrNull(row.ended_at),
  };
}

/** Maps a {@link PlanItemRow} to a PlanItemRecord; throws UnexpectedRowError on a status it does not know. */
export function toPlanItemRecord(row: PlanItemRow): PlanItemRecord {
  if (!KNOWN_ITEM_STATUSES.has(row.status)) throw new UnexpectedRowError('plan_items', 'status', row.status);
  return {
    runId: row.run_id,
    issueNumber: row.issue_number,
    position: row.position,
    title: row.title,
    issueUrl: row.issue_url,
    status: row.status as PlanItemStatus,
    taskId: row.task_id,
    prNumber: row.pr_number,
    prUrl: row.pr_url,
    prHeadSha: row.pr_head_sha,
    checksState: row.checks_state as PlanItemRecord['checksState'],
    fixAttempts: row.fix_attempts,
    reason: row.reason,
    mergedAt: toDateOrNull(row.merged_at),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** The columns of a new run's row (status and revision take the table's defaults). */
export function toNewPlanRunRow(run: NewPlanRun): Record<string, string | null> {
  return {
    id: run.id,
    guild_id: run.guildId,
    channel_id: run.channelId,
    repo: run.repo,
    label: run.label,
    proposed_by: run.proposedBy,
    key_source: run.keySource,
  };
}

/**
 * The columns of a proposed item's row: the proposal's fields only. Status and progress are left out, so an
 * upsert of an item already there never sets them back.
 */
export function toNewPlanItemRow(runId: string, item: NewPlanItem): Record<string, string | number> {
  return { run_id: runId, issue_number: item.issueNumber, position: item.position, title: item.title, issue_url: item.issueUrl };
}

/** Run patch fields and the column each one writes; the only names ever put into SQL text by updatePlanRun. */
export const PLAN_RUN_PATCH_COLUMNS = {
  status: 'status',
  approvedBy: 'approved_by',
  keySource: 'key_source',
  cardMessageId: 'card_message_id',
  threadId: 'thread_id',
  revision: 'revision',
  approvedAt: 'approved_at',
  endedAt: 'ended_at',
} as const satisfies Record<keyof PlanRunPatch, string>;

/** Item patch fields and the column each one writes; the only names ever put into SQL text by updatePlanItem. */
export const PLAN_ITEM_PATCH_COLUMNS = {
  status: 'status',
  taskId: 'task_id',
  prNumber: 'pr_number',
  prUrl: 'pr_url',
  prHeadSha: 'pr_head_sha',
  checksState: 'checks_state',
  fixAttempts: 'fix_attempts',
  reason: 'reason',
  mergedAt: 'merged_at',
} as const satisfies Record<keyof PlanItemPatch, string>;

/** A patch as columns through `columns`: set fields only (null included, to clear), undefined ones left out. */
function toPatchRow<P extends object>(patch: P, columns: Record<keyof P, string>): Record<string, string | number | null> {
  const row: Record<string, string | number | null> = {};
  for (const [field, column] of Object.entries(columns) as [keyof P, string][]) {
    const value = patch[field] as string | number | null | undefined;
    if (value !== undefined) row[column] = value;
  }
  return row;
}

/** A {@link PlanRunPatch} as columns (see {@link PLAN_RUN_PATCH_COLUMNS}). */
export function toPlanRunPatchRow(patch: PlanRunPatch): Record<string, string | number | null> {
  return toPatchRow(patch, PLAN_RUN_PATCH_COLUMNS);
}

/** A {@link PlanItemPatch} as columns (see {@link PLAN_ITEM_PATCH_COLUMNS}). */
export function toPlanItemPatchRow(patch: PlanItemPatch): Record<string, string | number | null> {
  return toPatchRow(patch, PLAN_ITEM_PATCH_COLUMNS);
}

/**
 * The prefix of an autocomplete search, lowercased, or undefined when no run id could start with it. Run ids are
 * `plan-` and lowercase letters, digits and dashes (the table checks it), so the prefix then holds no LIKE wildcard
 * and needs no escaping in either adapter.
 */
export function planRunIdPrefix(prefix: string): string | undefined {
  const lowered = prefix.trim().toLowerCase();
  return /^[a-z0-9-]*$/.test(lowered) ? lowered : undefined;
}
