import { PlanItemNotFoundError, PlanRunNotFoundError, TaskNotFoundError } from './errors';
import {
  GUILD_COLUMNS,
  GUILD_EVENT_COLUMNS,
  GUILD_PLAN_COLUMNS,
  PATCH_COLUMNS,
  PLAN_ITEM_PATCH_COLUMNS,
  PLAN_RUN_PATCH_COLUMNS,
  TASK_EVENT_COLUMNS,
  planRunIdPrefix,
  toGuildConfig,
  toGuildEvent,
  toGuildUsage,
  toGuildPlanSettingsRow,
  toGuildQuotas,
  toNewPlanItemRow,
  toNewPlanRunRow,
  toPlanItemPatchRow,
  toPlanItemRecord,
  toPlanRunPatchRow,
  toPlanRunRecord,
  toQuotaDecision,
  toSlotDecision,
  toStoredKey,
  toTaskEvent,
  toTaskPatchRow,
  toTaskCounts,
  toTaskRecord,
  type GuildEventRow,
  type GuildUsageRow,
  type GuildQuotasRow,
  type GuildRow,
  type KeyRow,
  type PlanItemRow,
  type PlanRunRow,
  type QuotaDecisionRow,
  type SlotDecisionRow,
  type StoredKeyRow,
  type TaskCountsRow,
  type TaskEventRow,
  type TaskRow,
} from './rows';
import type { SqlExecutor } from './sql-executor';
import type {
  GuildConfig,
  GuildEvent,
  GuildUsage,
  KeyOwner,
  GuildQuotaSettings,
  GuildQuotas,
  GuildSettings,
  NewTask,
  NewTaskEvent,
  PlanRepository,
  QuotaRepository,
  Store,
  StoredKey,
  TaskCounts,
  TaskEvent,
  TaskPatch,
  TaskQuery,
  TaskRecord,
  TaskTransition,
} from './store';

/** How many tasks `listTasks` returns when the query sets no limit. */
export const DEFAULT_TASK_LIST_LIMIT = 25;

/** The most `listTasks` returns whatever the query asks, so one command cannot pull the whole table. */
export const MAX_TASK_LIST_LIMIT = 500;

/** How many plan runs `listPlanRuns` returns when the query sets no limit. */
export const DEFAULT_PLAN_LIST_LIMIT = 25;

/** The most `listPlanRuns` returns whatever the query asks. */
export const MAX_PLAN_LIST_LIMIT = 500;

/** The most ids `searchPlanRunIds` returns: Discord shows at most 25 autocomplete choices. */
export const MAX_PLAN_SEARCH_LIMIT = 25;

/** A requested list length as a whole number from 1 to `max` (`fallback` when none was asked). */
export function clampLimit(requested: number | undefined, fallback: number, max: number): number {
  const wanted = requested === undefined || !Number.isFinite(requested) ? fallback : Math.floor(requested);
  return Math.min(Math.max(wanted, 1), max);
}

/** Quota settings and the `guild_quotas` column each one writes. */
export const QUOTA_COLUMNS = {
  userRequestsPerHour: 'user_requests_per_hour',
  guildRequestsPerDay: 'guild_requests_per_day',
  concurrentSessionsPerKey: 'concurrent_sessions_per_key',
  dailySessionsPerKey: 'daily_sessions_per_key',
} as const satisfies Record<keyof GuildQuotaSettings, string>;

/** The session limits a caller passed as a number (concurrent only) or as limits. */
export function sessionLimits(limit: number | { concurrent: number; daily?: number }): { concurrent: number; daily: number | null } {
  return typeof limit === 'number' ? { concurrent: limit, daily: null } : { concurrent: limit.concurrent, daily: limit.daily ?? null };
}

/**
 * The Store over any {@link SqlExecutor} (pg for Supabase or Postgres, PGlite embedded). Parameterised SQL
 * only; keys are stored and returned as the ciphertext they are given.
 */
export function createPostgresStore(executor: SqlExecutor): Store {
  async function getGuild(guildId: string): Promise<GuildConfig | undefined> {
    const [row] = await executor.query<GuildRow>(`select ${GUILD_COLUMNS} from guilds where guild_id = $1`, [guildId]);
    return row && toGuildConfig(row);
  }

  async function upsertGuild(settings: GuildSettings): Promise<GuildConfig> {
    // undefined keeps what is stored, null clears it: the flags say which of the two the caller meant.
    const setsRepo = settings.defaultRepo !== undefined;
    const setsBranch = settings.defaultBranch !== undefined;
    const params: unknown[] = [
      settings.guildId,
      [...settings.createRoles],
      [...settings.confirmRoles],
      settings.defaultRepo ?? null,
      settings.defaultBranch ?? null,
      setsRepo,
      setsBranch,
      settings.planApprovalDefault ?? null,
      settings.mergeMethod ?? null,
      settings.actorId ?? null,
    ];
    // The plan settings given are written, the others left out: a new row takes the table's defaults, an
    // existing one keeps its values. Only GUILD_PLAN_COLUMNS' fixed names reach SQL text.
    const known: ReadonlySet<string> = new Set(Object.values(GUILD_PLAN_COLUMNS));
    const planColumns: string[] = [];
    const planValues: string[] = [];
    for (const [column, value] of Object.entries(toGuildPlanSettingsRow(settings))) {
      if (!known.has(column)) continue;
      params.push(value);
      planColumns.push(column);
      planValues.push(`$${params.length}`);
    }
    const planUpdates = planColumns.map((column) => `${column} = excluded.${column},`).join(' ');
    const rows = await executor.query<GuildRow>(
      `insert into guilds (guild_id, create_roles, confirm_roles, default_repo, default_branch, plan_approval_default, merge_method, updated_by${planColumns.map((column) => `, ${column}`).join('')})
       values ($1, $2::text[], $3::text[], $4, $5, coalesce($8::boolean, false), coalesce($9::text, 'squash'), $10${planValues.map((value) => `, ${value}`).join('')})
       on conflict (guild_id) do update set
         create_roles = excluded.create_roles,
         confirm_roles = excluded.confirm_roles,
         default_repo = case when $6::boolean then excluded.default_repo else guilds.default_repo end,
         default_branch = case when $7::boolean then excluded.default_branch else guilds.default_branch end,
         plan_approval_default = coalesce($8::boolean, guilds.plan_approval_default),
         merge_method = coalesce($9::text, guilds.merge_method),
         updated_by = excluded.updated_by,
         ${planUpdates}
         updated_at = now()
       returning ${GUILD_COLUMNS}`,
      params,
    );
    // An upsert with `returning` always yields exactly one row.
    return toGuildConfig(rows[0]!);
  }

  async function createTask(task: NewTask): Promise<TaskRecord> {
    // A retried activity records the same task again; the first write wins and is returned unchanged.
    await executor.query(
      `insert into tasks (id, guild_id, channel_id, requester_id, prompt, repo, branch, status, key_source)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       on conflict (id) do nothing`,
      [
        task.id,
        task.guildId,
        task.channelId,
        task.requesterId,
        task.prompt,
        task.repo,
        task.branch,
        task.status,
        task.keySource,
      ],
    );
    const record = await getTask(task.id);
    if (!record) throw new TaskNotFoundError(task.id); // only if deleted between the two statements
    return record;
  }

  async function getTask(id: string): Promise<TaskRecord | undefined> {
    const [row] = await executor.query<TaskRow>('select * from tasks where id = $1', [id]);
    return row && toTaskRecord(row);
  }

  async function updateTask(id: string, patch: TaskPatch): Promise<TaskRecord> {
    // updated_at is stamped by the tasks_touch_updated_at trigger; `id = id` keeps an empty patch an update.
    const assignments = ['id = id'];
    const params: unknown[] = [id];
    const known: ReadonlySet<string> = new Set(Object.values(PATCH_COLUMNS));
    for (const [column, value] of Object.entries(toTaskPatchRow(patch))) {
      if (!known.has(column)) continue; // only the fixed column names ever reach SQL text
      params.push(value);
      assignments.push(`${column} = $${params.length}`);
    }
    const [row] = await executor.query<TaskRow>(
      `update tasks set ${assignments.join(', ')} where id = $1 returning *`,
      params,
    );
    if (!row) throw new TaskNotFoundError(id);
    return toTaskRecord(row);
  }

  async function findTaskBySession(session: string): Promise<TaskRecord | undefined> {
    const [row] = await executor.query<TaskRow>('select * from tasks where jules_session_id = $1 order by created_at desc limit 1', [session]);
    return row && toTaskRecord(row);
  }

  async function findTaskByThread(threadId: string): Promise<TaskRecord | undefined> {
    const [row] = await executor.query<TaskRow>('select * from tasks where thread_id = $1 limit 1', [threadId]);
    return row && toTaskRecord(row);
  }

  async function findTaskByPullRequest(repo: string, match: { readonly number: number } | { readonly headSha: string }): Promise<TaskRecord | undefined> {
    const [column, value] = 'number' in match ? ['pr_number', match.number] : ['pr_head_sha', match.headSha];
    const [row] = await executor.query<TaskRow>(`select * from tasks where repo = $1 and ${column} = $2 order by created_at desc limit 1`, [repo, value]);
    return row && toTaskRecord(row);
  }

  async function countTasks(): Promise<TaskCounts[]> {
    const rows = await executor.query<TaskCountsRow>('select * from jo_task_counts()');
    return rows.map(toTaskCounts);
  }

  async function listTasks(query: TaskQuery): Promise<TaskRecord[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (query.guildId !== undefined) {
      params.push(query.guildId);
      conditions.push(`guild_id = $${params.length}`);
    }
    if (query.requesterId !== undefined) {
      params.push(query.requesterId);
      conditions.push(`requester_id = $${params.length}`);
    }
    if (query.statuses !== undefined) {
      // An empty list matches no status, as `status in ()` would.
      if (query.statuses.length === 0) return [];
      params.push([...query.statuses]);
      conditions.push(`status = any($${params.length}::text[])`);
    }
    if (query.open) conditions.push('ended_at is null');
    const requested = query.limit ?? DEFAULT_TASK_LIST_LIMIT;
    params.push(Math.min(Math.max(Math.floor(requested), 1), MAX_TASK_LIST_LIMIT));
    params.push(Math.max(Math.floor(query.offset ?? 0), 0));
    const where = conditions.length > 0 ? `where ${conditions.join(' and ')}` : '';
    const rows = await executor.query<TaskRow>(
      `select * from tasks ${where} order by created_at desc, id desc limit $${params.length - 1} offset $${params.length}`,
      params,
    );
    return rows.map(toTaskRecord);
  }

  async function setGuildKey(guildId: string, ciphertext: string, setBy?: string | null): Promise<void> {
    // `guild set-key` may come before `guild set`: the guild row is created with no roles yet.
    await executor.query(
      `insert into guilds (guild_id, default_jules_key, default_key_set_at, default_key_set_by, updated_by) values ($1, $2, now(), $3, $3)
       on conflict (guild_id) do update set default_jules_key = excluded.default_jules_key, default_key_set_at = excluded.default_key_set_at,
         default_key_set_by = excluded.default_key_set_by, updated_by = excluded.updated_by, updated_at = now()`,
      [guildId, ciphertext, setBy ?? null],
    );
  }

  async function getGuildKey(guildId: string): Promise<string | undefined> {
    const [row] = await executor.query<KeyRow>('select default_jules_key as ciphertext from guilds where guild_id = $1', [
      guildId,
    ]);
    return row?.ciphertext ?? undefined;
  }

  async function setUserKey(discordId: string, ciphertext: string): Promise<void> {
    await executor.query(
      `insert into users (discord_id, jules_key, jules_key_set_at) values ($1, $2, now())
       on conflict (discord_id) do update set jules_key = excluded.jules_key, jules_key_set_at = now(), updated_at = now()`,
      [discordId, ciphertext],
    );
  }

  async function getUserKeySetAt(discordId: string): Promise<Date | undefined> {
    const [row] = await executor.query<{ set_at: Date | string | null }>(
      'select coalesce(jules_key_set_at, updated_at) as set_at from users where discord_id = $1 and jules_key is not null',
      [discordId],
    );
    return row?.set_at ? new Date(row.set_at) : undefined;
  }

  async function removeUserKey(discordId: string): Promise<boolean> {
    const rows = await executor.query<{ discord_id: string }>(
      'update users set jules_key = null, jules_key_set_at = null where discord_id = $1 and jules_key is not null returning discord_id',
      [discordId],
    );
    return rows.length > 0;
  }

  async function getUserKey(discordId: string): Promise<string | undefined> {
    const [row] = await executor.query<KeyRow>('select jules_key as ciphertext from users where discord_id = $1', [
      discordId,
    ]);
    return row?.ciphertext ?? undefined;
  }

  async function transitionTask(id: string, transition: TaskTransition): Promise<TaskRecord | undefined> {
    const [row] = await executor.query<TaskRow>(
      'select * from jo_transition_task($1, $2::text[], $3, $4, $5, $6::jsonb, $7, $8::jsonb)',
      [
        id,
        [...transition.from],
        transition.to,
        transition.event,
        transition.actorId ?? null,
        JSON.stringify(toTaskPatchRow(transition.patch ?? {})),
        transition.outcome ?? null,
        JSON.stringify(transition.detail ?? {}),
      ],
    );
    return row && toTaskRecord(row);
  }

  async function recordTaskEvent(event: NewTaskEvent): Promise<boolean> {
    const [row] = await executor.query<{ recorded: boolean }>(
      'select jo_record_task_event($1, $2, $3, $4, $5, $6::jsonb, $7) as recorded',
      [
        event.taskId,
        event.kind,
        event.guildId ?? null,
        event.actorId ?? null,
        event.outcome ?? null,
        JSON.stringify(event.detail ?? {}),
        event.dedupeKey ?? null,
      ],
    );
    return row?.recorded === true;
  }

  async function listTaskEvents(taskId: string): Promise<TaskEvent[]> {
    const rows = await executor.query<TaskEventRow>(
      `select ${TASK_EVENT_COLUMNS} from task_events where task_id = $1 order by id`,
      [taskId],
    );
    return rows.map(toTaskEvent);
  }

  async function listGuildEvents(guildId: string, limit = 25): Promise<GuildEvent[]> {
    const rows = await executor.query<GuildEventRow>(
      `select ${GUILD_EVENT_COLUMNS} from guild_events where guild_id = $1 order by id desc limit $2`,
      [guildId, Math.min(Math.max(Math.floor(limit), 1), 500)],
    );
    return rows.map(toGuildEvent);
  }

  async function guildUsage(guildId: string, since: Date): Promise<GuildUsage> {
    return toGuildUsage(await executor.query<GuildUsageRow>('select * from jo_guild_usage($1, $2)', [guildId, since.toISOString()]));
  }

  async function keySessionsUsed(keyOwners: readonly KeyOwner[], now?: Date): Promise<Map<KeyOwner, number>> {
    const rows = await executor.query<{ key_owner: KeyOwner; used: number }>('select * from jo_key_sessions_used($1::text[], coalesce($2::timestamptz, now()))', [
      [...keyOwners],
      now?.toISOString() ?? null,
    ]);
    return new Map(rows.map((row) => [row.key_owner, row.used]));
  }

  async function getGuildQuotas(guildId: string): Promise<GuildQuotas> {
    const [row] = await executor.query<GuildQuotasRow>('select * from jo_guild_quotas($1)', [guildId]);
    return toGuildQuotas(row!); // the function always returns one row
  }

  async function setGuildQuotas(guildId: string, settings: GuildQuotaSettings, actorId?: string | null): Promise<GuildQuotas> {
    // `updated_by` is always written, so the audit row names who made this change (null: the CLI), not the last one.
    const columns = ['guild_id', 'updated_by'];
    const params: unknown[] = [guildId, actorId ?? null];
    for (const [field, column] of Object.entries(QUOTA_COLUMNS) as [keyof GuildQuotaSettings, string][]) {
      const value = settings[field];
      if (value === undefined) continue;
      params.push(value);
      columns.push(column);
    }
    const updates = columns.slice(1).map((column) => `${column} = excluded.${column}`);
    await executor.query(
      `insert into guild_quotas (${columns.join(', ')}) values (${params.map((_, i) => `$${i + 1}`).join(', ')})
       on conflict (guild_id) do update set ${updates.join(', ')}`,
      params,
    );
    return getGuildQuotas(guildId);
  }

  const checkRequestQuota: QuotaRepository['checkRequestQuota'] = async (guildId, userId, now) => {
    const [row] = await executor.query<QuotaDecisionRow>(
      'select * from jo_check_request_quota($1, $2, coalesce($3::timestamptz, now()))',
      [guildId, userId, now ?? null],
    );
    return toQuotaDecision(row!);
  };

  const createTaskWithinQuota: QuotaRepository['createTaskWithinQuota'] = async (task, now) => {
    const [row] = await executor.query<QuotaDecisionRow>(
      'select * from jo_create_task_within_quota($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10::timestamptz, now()))',
      [task.id, task.guildId, task.channelId, task.requesterId, task.prompt, task.repo, task.branch, task.status, task.keySource, now ?? null],
    );
    const decision = toQuotaDecision(row!);
    if (!decision.allowed) return decision;
    const record = await getTask(task.id);
    if (!record) throw new TaskNotFoundError(task.id); // only if deleted between the two statements
    return { allowed: true, task: record };
  };

  const enqueueSessionSlot: QuotaRepository['enqueueSessionSlot'] = async (keyOwner, taskId) => {
    await executor.query('select jo_enqueue_session_slot($1, $2)', [keyOwner, taskId]);
  };

  const tryAcquireSessionSlot: QuotaRepository['tryAcquireSessionSlot'] = async (keyOwner, taskId, limit, now) => {
    const limits = sessionLimits(limit);
    const [row] = await executor.query<SlotDecisionRow>(
      'select * from jo_try_acquire_session_slot($1, $2, $3, $4, coalesce($5::timestamptz, now()))',
      [keyOwner, taskId, limits.concurrent, limits.daily, now ?? null],
    );
    return toSlotDecision(row!);
  };

  const releaseSessionSlot: QuotaRepository['releaseSessionSlot'] = async (taskId) => {
    const [row] = await executor.query<{ released: boolean }>('select jo_release_session_slot($1) as released', [taskId]);
    return row?.released === true;
  };

  async function listStoredKeys(): Promise<StoredKey[]> {
    const rows = await executor.query<StoredKeyRow>(
      `select 'guild' as scope, guild_id as owner_id, default_jules_key as ciphertext from guilds
         where default_jules_key is not null
       union all
       select 'user', discord_id, jules_key from users where jules_key is not null
       order by scope, owner_id`,
    );
    return rows.map(toStoredKey);
  }

  async function replaceStoredKey(key: StoredKey, ciphertext: string): Promise<boolean> {
    const sql =
      key.scope === 'guild'
        ? 'update guilds set default_jules_key = $3 where guild_id = $1 and default_jules_key = $2 returning 1'
        : 'update users set jules_key = $3 where discord_id = $1 and jules_key = $2 returning 1';
    const rows = await executor.query(sql, [key.ownerId, key.ciphertext, ciphertext]);
    return rows.length === 1;
  }

  const getPlanRun: PlanRepository['getPlanRun'] = async (id) => {
    const [row] = await executor.query<PlanRunRow>('select * from plan_runs where id = $1', [id]);
    return row && toPlanRunRecord(row);
  };

  const createPlanRun: PlanRepository['createPlanRun'] = async (run) => {
    // A retried activity proposes the same run again; the first write wins and is returned unchanged.
    const row = toNewPlanRunRow(run);
    await executor.query(
      `insert into plan_runs (id, guild_id, channel_id, repo, label, proposed_by, key_source)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (id) do nothing`,
      [row.id, row.guild_id, row.channel_id, row.repo, row.label, row.proposed_by, row.key_source],
    );
    const record = await getPlanRun(run.id);
    if (!record) throw new PlanRunNotFoundError(run.id); // only if deleted between the two statements
    return record;
  };

  /** `update … set` assignments for a patch's columns, appended to `params`; `known` guards the SQL text. */
  function assignmentsOf(patchRow: Record<string, unknown>, known: Record<string, string>, params: unknown[], keep: string): string {
    const allowed: ReadonlySet<string> = new Set(Object.values(known));
    const assignments = [`${keep} = ${keep}`]; // an empty patch is still an update: it returns the row, or finds none
    for (const [column, value] of Object.entries(patchRow)) {
      if (!allowed.has(column)) continue;
      params.push(value);
      assignments.push(`${column} = $${params.length}`);
    }
    return assignments.join(', ');
  }

  const updatePlanRun: PlanRepository['updatePlanRun'] = async (id, patch) => {
    const params: unknown[] = [id];
    const assignments = assignmentsOf(toPlanRunPatchRow(patch), PLAN_RUN_PATCH_COLUMNS, params, 'id');
    const [row] = await executor.query<PlanRunRow>(`update plan_runs set ${assignments} where id = $1 returning *`, params);
    if (!row) throw new PlanRunNotFoundError(id);
    return toPlanRunRecord(row);
  };

  const listPlanRuns: PlanRepository['listPlanRuns'] = async (query) => {
    const open = query.open ? 'and ended_at is null' : '';
    const rows = await executor.query<PlanRunRow>(
      `select * from plan_runs where guild_id = $1 ${open} order by created_at desc, id desc limit $2`,
      [query.guildId, clampLimit(query.limit, DEFAULT_PLAN_LIST_LIMIT, MAX_PLAN_LIST_LIMIT)],
    );
    return rows.map(toPlanRunRecord);
  };

  const searchPlanRunIds: PlanRepository['searchPlanRunIds'] = async (guildId, prefix, limit) => {
    const start = planRunIdPrefix(prefix);
    if (start === undefined) return [];
    const rows = await executor.query<{ id: string }>(
      `select id from plan_runs where guild_id = $1 and id like $2 order by created_at desc, id desc limit $3`,
      [guildId, `${start}%`, clampLimit(limit, MAX_PLAN_SEARCH_LIMIT, MAX_PLAN_SEARCH_LIMIT)],
    );
    return rows.map((row) => row.id);
  };

  const listPlanItems: PlanRepository['listPlanItems'] = async (runId) => {
    const rows = await executor.query<PlanItemRow>('select * from plan_items where run_id = $1 order by position, issue_number', [runId]);
    return rows.map(toPlanItemRecord);
  };

  const savePlanItems: PlanRepository['savePlanItems'] = async (runId, items) => {
    if (items.length > 0) {
      // One statement, so the list is saved whole or not at all. A conflict updates the proposal's fields only:
      // status and progress are never set back by a retry.
      await executor.query(
        `insert into plan_items (run_id, issue_number, position, title, issue_url)
         select $1, item.issue_number, item.position, item.title, item.issue_url
         from jsonb_to_recordset($2::jsonb) as item(issue_number integer, position integer, title text, issue_url text)
         on conflict (run_id, issue_number) do update set
           position = excluded.position,
           title = excluded.title,
           issue_url = excluded.issue_url`,
        [runId, JSON.stringify(items.map((item) => toNewPlanItemRow(runId, item)))],
      );
    }
    return listPlanItems(runId);
  };

  const updatePlanItem: PlanRepository['updatePlanItem'] = async (runId, issueNumber, patch) => {
    const params: unknown[] = [runId, issueNumber];
    const assignments = assignmentsOf(toPlanItemPatchRow(patch), PLAN_ITEM_PATCH_COLUMNS, params, 'run_id');
    const [row] = await executor.query<PlanItemRow>(
      `update plan_items set ${assignments} where run_id = $1 and issue_number = $2 returning *`,
      params,
    );
    if (!row) throw new PlanItemNotFoundError(runId, issueNumber);
    return toPlanItemRecord(row);
  };

  const issuesInOpenPlans: PlanRepository['issuesInOpenPlans'] = async (repo) => {
    const [row] = await executor.query<{ issues: number[] }>('select jo_issues_in_open_plans($1) as issues', [repo]);
    return row?.issues ?? [];
  };

  const findPlanItemByTask: PlanRepository['findPlanItemByTask'] = async (taskId) => {
    const [row] = await executor.query<PlanItemRow>('select * from plan_items where task_id = $1', [taskId]);
    return row && toPlanItemRecord(row);
  };

  const findPlanItemByPullRequest: PlanRepository['findPlanItemByPullRequest'] = async (repo, match) => {
    const [row] = await executor.query<PlanItemRow>(
      'select * from jo_find_plan_item_by_pull_request($1, $2, $3)',
      'number' in match ? [repo, match.number, null] : [repo, null, match.headSha],
    );
    return row && toPlanItemRecord(row);
  };

  return {
    createPlanRun,
    getPlanRun,
    updatePlanRun,
    listPlanRuns,
    searchPlanRunIds,
    savePlanItems,
    updatePlanItem,
    listPlanItems,
    issuesInOpenPlans,
    findPlanItemByTask,
    findPlanItemByPullRequest,
    transitionTask,
    recordTaskEvent,
    listTaskEvents,
    listGuildEvents,
    guildUsage,
    keySessionsUsed,
    getGuildQuotas,
    setGuildQuotas,
    checkRequestQuota,
    createTaskWithinQuota,
    enqueueSessionSlot,
    tryAcquireSessionSlot,
    releaseSessionSlot,
    listStoredKeys,
    replaceStoredKey,
    getGuild,
    upsertGuild,
    createTask,
    getTask,
    updateTask,
    listTasks,
    countTasks,
    findTaskBySession,
    findTaskByPullRequest,
    findTaskByThread,
    setGuildKey,
    getGuildKey,
    setUserKey,
    getUserKey,
    getUserKeySetAt,
    removeUserKey,
    close: () => executor.close(),
  };
}
