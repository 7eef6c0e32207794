import { TaskNotFoundError } from './errors';
import { GUILD_COLUMNS, toGuildConfig, toTaskRecord, type GuildRow, type KeyRow, type TaskRow } from './rows';
import type { SqlExecutor } from './sql-executor';
import type { GuildConfig, GuildSettings, NewTask, Store, TaskPatch, TaskQuery, TaskRecord } from './store';

/** How many tasks `listTasks` returns when the query sets no limit. */
export const DEFAULT_TASK_LIST_LIMIT = 25;

/** The most `listTasks` returns whatever the query asks, so one command cannot pull the whole table. */
export const MAX_TASK_LIST_LIMIT = 500;

/** Patch fields and the column each one writes; the only names ever put into SQL text by updateTask. */
const PATCH_COLUMNS = {
  status: 'status',
  cardMessageId: 'card_message_id',
  threadId: 'thread_id',
  decidedBy: 'decided_by',
  julesSessionId: 'jules_session_id',
  julesSessionUrl: 'jules_session_url',
  julesState: 'jules_state',
  prUrl: 'pr_url',
  lastError: 'last_error',
} as const satisfies Record<keyof TaskPatch, string>;

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
    const rows = await executor.query<GuildRow>(
      `insert into guilds (guild_id, create_roles, confirm_roles, default_repo, default_branch)
       values ($1, $2::text[], $3::text[], $4, $5)
       on conflict (guild_id) do update set
         create_roles = excluded.create_roles,
         confirm_roles = excluded.confirm_roles,
         default_repo = case when $6::boolean then excluded.default_repo else guilds.default_repo end,
         default_branch = case when $7::boolean then excluded.default_branch else guilds.default_branch end,
         updated_at = now()
       returning ${GUILD_COLUMNS}`,
      [
        settings.guildId,
        [...settings.createRoles],
        [...settings.confirmRoles],
        settings.defaultRepo ?? null,
        settings.defaultBranch ?? null,
        setsRepo,
        setsBranch,
      ],
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
    // Strictly increasing per row even when two writes share a clock tick (PGlite's clock is coarse).
    const assignments = ["updated_at = greatest(now(), updated_at + interval '1 microsecond')"];
    const params: unknown[] = [id];
    for (const [field, column] of Object.entries(PATCH_COLUMNS) as [keyof TaskPatch, string][]) {
      const value = patch[field];
      if (value === undefined) continue;
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

  return {
    getGuild,
    upsertGuild,
    createTask,
    getTask,
    updateTask,
    listTasks,
    findTaskBySession,
    findTaskByThread,
    setGuildKey,
    getGuildKey,
    setUserKey,
    getUserKey,
    close: () => executor.close(),
  };
}
