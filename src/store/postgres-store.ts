import { TaskNotFoundError } from './errors';
import {
  GUILD_COLUMNS,
  GUILD_PLAN_COLUMNS,
  PATCH_COLUMNS,
  TASK_EVENT_COLUMNS,
  toGuildConfig,
  toGuildPlanSettingsRow,
  toGuildQuotas,
  toQuotaDecision,
  toSlotDecision,
  toStoredKey,
  toTaskEvent,
  toTaskPatchRow,
  toTaskRecord,
  type GuildQuotasRow,
  type GuildRow,
  type KeyRow,
  type QuotaDecisionRow,
  type SlotDecisionRow,
  type StoredKeyRow,
  type TaskEventRow,
  type TaskRow,
} from './rows';
import type { SqlExecutor } from './sql-executor';
import type {
  GuildConfig,
  GuildQuotaSettings,
  GuildQuotas,
  GuildSettings,
  NewTask,
  NewTaskEvent,
  QuotaRepository,
  Store,
  StoredKey,
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
      `insert into guilds (guild_id, create_roles, confirm_roles, default_repo, default_branch, plan_approval_default, merge_method${planColumns.map((column) => `, ${column}`).join('')})
       values ($1, $2::text[], $3::text[], $4, $5, coalesce($8::boolean, false), coalesce($9::text, 'squash')${planValues.map((value) => `, ${value}`).join('')})
       on conflict (guild_id) do update set
         create_roles = excluded.create_roles,
         confirm_roles = excluded.confirm_roles,
         default_repo = case when $6::boolean then excluded.default_repo else guilds.default_repo end,
         default_branch = case when $7::boolean then excluded.default_branch else guilds.default_branch end,
         plan_approval_default = coalesce($8::boolean, guilds.plan_approval_default),
         merge_method = coalesce($9::text, guilds.merge_method),
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
    const where = conditions.length > 0 ? `where ${conditions.join(' and ')}` : '';
    const rows = await executor.query<TaskRow>(
      `select * from tasks ${where} order by created_at desc, id desc limit $${params.length}`,
      params,
    );
    return rows.map(toTaskRecord);
  }

  async function setGuildKey(guildId: string, ciphertext: string): Promise<void> {
    // `guild set-key` may come before `guild set`: the guild row is created with no roles yet.
    await executor.query(
      `insert into guilds (guild_id, default_jules_key) values ($1, $2)
       on conflict (guild_id) do update set default_jules_key = excluded.default_jules_key, updated_at = now()`,
      [guildId, ciphertext],
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
      `insert into users (discord_id, jules_key) values ($1, $2)
       on conflict (discord_id) do update set jules_key = excluded.jules_key, updated_at = now()`,
      [discordId, ciphertext],
    );
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

  async function getGuildQuotas(guildId: string): Promise<GuildQuotas> {
    const [row] = await executor.query<GuildQuotasRow>('select * from jo_guild_quotas($1)', [guildId]);
    return toGuildQuotas(row!); // the function always returns one row
  }

  async function setGuildQuotas(guildId: string, settings: GuildQuotaSettings): Promise<GuildQuotas> {
    const columns = ['guild_id'];
    const params: unknown[] = [guildId];
    for (const [field, column] of Object.entries(QUOTA_COLUMNS) as [keyof GuildQuotaSettings, string][]) {
      const value = settings[field];
      if (value === undefined) continue;
      params.push(value);
      columns.push(column);
    }
    const updates = columns.slice(1).map((column) => `${column} = excluded.${column}`);
    await executor.query(
      `insert into guild_quotas (${columns.join(', ')}) values (${params.map((_, i) => `$${i + 1}`).join(', ')})
       on conflict (guild_id) do ${updates.length > 0 ? `update set ${updates.join(', ')}` : 'nothing'}`,
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

  return {
    transitionTask,
    recordTaskEvent,
    listTaskEvents,
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
    findTaskBySession,
    findTaskByPullRequest,
    findTaskByThread,
    setGuildKey,
    getGuildKey,
    setUserKey,
    getUserKey,
    close: () => executor.close(),
  };
}
