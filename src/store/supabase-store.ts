import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { DeliveryLog } from './delivery-log';
import { PlanItemNotFoundError, PlanRunNotFoundError, SupabaseRequestError, TaskNotFoundError } from './errors';
import {
  clampLimit,
  DEFAULT_PLAN_LIST_LIMIT,
  DEFAULT_TASK_LIST_LIMIT,
  MAX_PLAN_LIST_LIMIT,
  MAX_PLAN_SEARCH_LIMIT,
  MAX_TASK_LIST_LIMIT,
  QUOTA_COLUMNS,
  sessionLimits,
} from './postgres-store';
import {
  GUILD_COLUMNS,
  GUILD_EVENT_COLUMNS,
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
  toNewTaskRow,
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
  type PlanItemRow,
  type PlanRunRow,
  type QuotaDecisionRow,
  type SlotDecisionRow,
  type StoredKeyRow,
  type TaskCountsRow,
  type TaskEventRow,
  type TaskRow,
} from './rows';
import type { GuildQuotaSettings, GuildQuotas, KeyOwner, PlanItemRecord, PlanRunRecord, Store, StoredKey, TaskRecord } from './store';

/** Where the Supabase project is; `main` fills this from SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY. */
export interface SupabaseStoreOptions {
  /** The project URL, `https://<ref>.supabase.co` (the Data API is under `/rest/v1`). */
  readonly url: string;
  /**
   * The service role key (or a secret `sb_secret_…` key). It bypasses Row Level Security: keep it on the
   * server, never in a browser or a log line.
   */
  readonly serviceRoleKey: string;
  /** The fetch to use (tests pass one to watch requests); default the global fetch. */
  readonly fetch?: typeof fetch;
}

/** PostgREST's page size cap on Supabase (`max_rows`, 1000 by default): longer lists are read in pages. */
const PAGE_SIZE = 1000;

/** What every supabase-js call resolves to. */
interface Answer<T> {
  readonly data: T | null;
  readonly error: { code?: string; message?: string; hint?: string | null } | null;
  readonly status: number;
}

/** The data of an answer, or SupabaseRequestError. */
function dataOf<T>(operation: string, answer: Answer<T>): T {
  if (answer.error) throw new SupabaseRequestError(operation, answer.status, answer.error);
  return answer.data as T;
}

/** The rows of an answer (an empty body, e.g. of an rpc returning no row, is no rows). */
function rowsOf<T>(operation: string, answer: Answer<T[]>): T[] {
  return dataOf(operation, answer) ?? [];
}

/**
 * The realtime transport given to supabase-js. It builds its realtime client eagerly and, on Node 20 (no
 * global WebSocket), refuses to start without one; the store never subscribes, so this one refuses to connect.
 */
class NoRealtime {
  constructor() {
    throw new Error('jules-orchestrator does not use Supabase Realtime');
  }
}

/** A supabase-js client for the service: no auth session, no token refresh, no realtime, nothing kept between calls. */
export function createServiceClient(options: SupabaseStoreOptions): SupabaseClient {
  return createClient(options.url, options.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: NoRealtime as never },
    ...(options.fetch ? { global: { fetch: options.fetch } } : {}),
  });
}

/**
 * The Store over Supabase's Data API (PostgREST) with supabase-js, for deployments that have only
 * SUPABASE_URL and the service role key. Tables go through `from()` and the transitions, quotas and session
 * queue through `rpc()` to the same SQL functions the SQL adapter calls, so their logic exists once. The
 * schema must be migrated beforehand (`supabase db push`, or `jules-orchestrator migrate` with a
 * DATABASE_URL): PostgREST cannot run DDL.
 * @see https://supabase.com/docs/reference/javascript/select
 * @see https://docs.postgrest.org/en/stable/references/api.html
 */
export function createSupabaseStore(options: SupabaseStoreOptions): Store {
  const db = createServiceClient(options);

  async function getTask(id: string): Promise<TaskRecord | undefined> {
    const [row] = rowsOf<TaskRow>('select task', await db.from('tasks').select('*').eq('id', id));
    return row && toTaskRecord(row);
  }

  async function listKeys(scope: StoredKey['scope']): Promise<StoredKey[]> {
    const [table, idColumn, keyColumn] =
      scope === 'guild' ? (['guilds', 'guild_id', 'default_jules_key'] as const) : (['users', 'discord_id', 'jules_key'] as const);
    const keys: StoredKey[] = [];
    for (let from = 0; ; from += PAGE_SIZE) {
      const rows = rowsOf<Record<string, string>>(
        `list ${scope} keys`,
        await db
          .from(table)
          .select(`${idColumn}, ${keyColumn}`)
          .not(keyColumn, 'is', null)
          .order(idColumn)
          .range(from, from + PAGE_SIZE - 1),
      );
      for (const row of rows) {
        const stored: StoredKeyRow = { scope, owner_id: row[idColumn]!, ciphertext: row[keyColumn]! };
        keys.push(toStoredKey(stored));
      }
      if (rows.length < PAGE_SIZE) return keys;
    }
  }

  async function getGuildQuotas(guildId: string): Promise<GuildQuotas> {
    const [row] = rowsOf<GuildQuotasRow>('get guild quotas', await db.rpc('jo_guild_quotas', { p_guild_id: guildId }));
    return toGuildQuotas(row!); // the function always returns one row
  }

  async function getPlanRun(id: string): Promise<PlanRunRecord | undefined> {
    const [row] = rowsOf<PlanRunRow>('select plan run', await db.from('plan_runs').select('*').eq('id', id));
    return row && toPlanRunRecord(row);
  }

  async function listPlanItems(runId: string): Promise<PlanItemRecord[]> {
    const rows = rowsOf<PlanItemRow>(
      'list plan items',
      await db.from('plan_items').select('*').eq('run_id', runId).order('position').order('issue_number'),
    );
    return rows.map(toPlanItemRecord);
  }

  /** `p_now` only when the caller gave a time: left out, the function's default (the database's clock) applies. */
  const at = (now: Date | undefined) => (now ? { p_now: now.toISOString() } : {});

  return {
    async getGuild(guildId) {
      const [row] = rowsOf<GuildRow>('select guild', await db.from('guilds').select(GUILD_COLUMNS).eq('guild_id', guildId));
      return row && toGuildConfig(row);
    },

    async upsertGuild(settings) {
      // PostgREST's merge upsert updates only the columns in the body: leaving a field out keeps it.
      const row = {
        guild_id: settings.guildId,
        create_roles: [...settings.createRoles],
        confirm_roles: [...settings.confirmRoles],
        ...(settings.defaultRepo !== undefined ? { default_repo: settings.defaultRepo } : {}),
        ...(settings.defaultBranch !== undefined ? { default_branch: settings.defaultBranch } : {}),
        ...(settings.planApprovalDefault !== undefined ? { plan_approval_default: settings.planApprovalDefault } : {}),
        ...(settings.mergeMethod !== undefined ? { merge_method: settings.mergeMethod } : {}),
        ...toGuildPlanSettingsRow(settings),
        // Always written, so the audit row names who made this change (null: the CLI), not the last one.
        updated_by: settings.actorId ?? null,
      };
      const [saved] = rowsOf<GuildRow>(
        'upsert guild',
        await db.from('guilds').upsert(row, { onConflict: 'guild_id' }).select(GUILD_COLUMNS),
      );
      return toGuildConfig(saved!);
    },

    async createTask(task) {
      // A retried activity records the same task again; the first write wins and is returned unchanged.
      dataOf(
        'insert task',
        await db.from('tasks').upsert(toNewTaskRow(task), { onConflict: 'id', ignoreDuplicates: true }),
      );
      const record = await getTask(task.id);
      if (!record) throw new TaskNotFoundError(task.id);
      return record;
    },

    getTask,

    async updateTask(id, patch) {
      // updated_at is stamped by the database's trigger whatever is sent; sending it keeps an empty patch an update.
      const [row] = rowsOf<TaskRow>(
        'update task',
        await db
          .from('tasks')
          .update({ ...toTaskPatchRow(patch), updated_at: new Date().toISOString() })
          .eq('id', id)
          .select('*'),
      );
      if (!row) throw new TaskNotFoundError(id);
      return toTaskRecord(row);
    },

    async listTasks(query) {
      // An empty list matches no status, as `status in ()` would.
      if (query.statuses !== undefined && query.statuses.length === 0) return [];
      const limit = Math.min(Math.max(Math.floor(query.limit ?? DEFAULT_TASK_LIST_LIMIT), 1), MAX_TASK_LIST_LIMIT);
      let request = db.from('tasks').select('*');
      if (query.guildId !== undefined) request = request.eq('guild_id', query.guildId);
      if (query.requesterId !== undefined) request = request.eq('requester_id', query.requesterId);
      if (query.statuses !== undefined) request = request.in('status', [...query.statuses]);
      if (query.open) request = request.is('ended_at', null);
      const rows = rowsOf<TaskRow>(
        'list tasks',
        await request
          .order('created_at', { ascending: false })
          .order('id', { ascending: false })
          .range(Math.max(Math.floor(query.offset ?? 0), 0), Math.max(Math.floor(query.offset ?? 0), 0) + limit - 1),
      );
      return rows.map(toTaskRecord);
    },

    async countTasks() {
      return rowsOf<TaskCountsRow>('count tasks', await db.rpc('jo_task_counts')).map(toTaskCounts);
    },

    async findTaskBySession(session) {
      const [row] = rowsOf<TaskRow>(
        'find task by session',
        await db.from('tasks').select('*').eq('jules_session_id', session).order('created_at', { ascending: false }).limit(1),
      );
      return row && toTaskRecord(row);
    },

    async findTaskByPullRequest(repo, match) {
      const [column, value] = 'number' in match ? ['pr_number', match.number] : ['pr_head_sha', match.headSha];
      const [row] = rowsOf<TaskRow>(
        'find task by pull request',
        await db.from('tasks').select('*').eq('repo', repo).eq(column, value).order('created_at', { ascending: false }).limit(1),
      );
      return row && toTaskRecord(row);
    },

    async findTaskByThread(threadId) {
      const [row] = rowsOf<TaskRow>('find task by thread', await db.from('tasks').select('*').eq('thread_id', threadId).limit(1));
      return row && toTaskRecord(row);
    },

    async setGuildKey(guildId, ciphertext, setBy) {
      // `guild set-key` may come before `guild set`: the guild row is created with no roles yet.
      const row = { guild_id: guildId, default_jules_key: ciphertext, default_key_set_at: new Date().toISOString(), default_key_set_by: setBy ?? null, updated_by: setBy ?? null };
      dataOf('set guild key', await db.from('guilds').upsert(row, { onConflict: 'guild_id' }));
    },

    async getGuildKey(guildId) {
      const [row] = rowsOf<{ default_jules_key: string | null }>(
        'get guild key',
        await db.from('guilds').select('default_jules_key').eq('guild_id', guildId),
      );
      return row?.default_jules_key ?? undefined;
    },

    async setUserKey(discordId, ciphertext) {
      dataOf(
        'set user key',
        await db.from('users').upsert({ discord_id: discordId, jules_key: ciphertext, jules_key_set_at: new Date().toISOString() }, { onConflict: 'discord_id' }),
      );
    },

    async getUserKeySetAt(discordId) {
      const [row] = rowsOf<{ jules_key_set_at: string | null; updated_at: string }>(
        'get user key status',
        await db.from('users').select('jules_key_set_at, updated_at').eq('discord_id', discordId).not('jules_key', 'is', null),
      );
      return row ? new Date(row.jules_key_set_at ?? row.updated_at) : undefined;
    },

    async removeUserKey(discordId) {
      const rows = rowsOf<{ discord_id: string }>(
        'remove user key',
        await db.from('users').update({ jules_key: null, jules_key_set_at: null }).eq('discord_id', discordId).not('jules_key', 'is', null).select('discord_id'),
      );
      return rows.length > 0;
    },

    async getUserKey(discordId) {
      const [row] = rowsOf<{ jules_key: string | null }>('get user key', await db.from('users').select('jules_key').eq('discord_id', discordId));
      return row?.jules_key ?? undefined;
    },

    async transitionTask(id, transition) {
      const [row] = rowsOf<TaskRow>(
        'transition task',
        await db.rpc('jo_transition_task', {
          p_task_id: id,
          p_from: [...transition.from],
          p_to: transition.to,
          p_event: transition.event,
          p_actor_id: transition.actorId ?? null,
          p_patch: toTaskPatchRow(transition.patch ?? {}),
          p_outcome: transition.outcome ?? null,
          p_detail: transition.detail ?? {},
        }),
      );
      return row && toTaskRecord(row);
    },

    async recordTaskEvent(event) {
      const recorded = dataOf<boolean>(
        'record task event',
        await db.rpc('jo_record_task_event', {
          p_task_id: event.taskId,
          p_kind: event.kind,
          p_guild_id: event.guildId ?? null,
          p_actor_id: event.actorId ?? null,
          p_outcome: event.outcome ?? null,
          p_detail: event.detail ?? {},
          p_dedupe_key: event.dedupeKey ?? null,
        }),
      );
      return recorded === true;
    },

    async listTaskEvents(taskId) {
      const rows = rowsOf<TaskEventRow>(
        'list task events',
        await db.from('task_events').select(TASK_EVENT_COLUMNS).eq('task_id', taskId).order('id'),
      );
      return rows.map(toTaskEvent);
    },

    async listGuildEvents(guildId, limit = 25) {
      const rows = rowsOf<GuildEventRow>(
        'list guild events',
        await db
          .from('guild_events')
          .select(GUILD_EVENT_COLUMNS)
          .eq('guild_id', guildId)
          .order('id', { ascending: false })
          .limit(Math.min(Math.max(Math.floor(limit), 1), 500)),
      );
      return rows.map(toGuildEvent);
    },

    async guildUsage(guildId, since) {
      return toGuildUsage(rowsOf<GuildUsageRow>('guild usage', await db.rpc('jo_guild_usage', { p_guild_id: guildId, p_since: since.toISOString() })));
    },

    async keySessionsUsed(keyOwners, now) {
      const rows = rowsOf<{ key_owner: KeyOwner; used: number }>('key sessions used', await db.rpc('jo_key_sessions_used', { p_key_owners: [...keyOwners], ...at(now) }));
      return new Map(rows.map((row) => [row.key_owner, row.used]));
    },

    async createPlanRun(run) {
      // A retried activity proposes the same run again; the first write wins and is returned unchanged.
      dataOf('insert plan run', await db.from('plan_runs').upsert(toNewPlanRunRow(run), { onConflict: 'id', ignoreDuplicates: true }));
      const record = await getPlanRun(run.id);
      if (!record) throw new PlanRunNotFoundError(run.id);
      return record;
    },

    getPlanRun,

    async updatePlanRun(id, patch) {
      // updated_at is stamped by the database's trigger whatever is sent; sending it keeps an empty patch an update.
      const [row] = rowsOf<PlanRunRow>(
        'update plan run',
        await db
          .from('plan_runs')
          .update({ ...toPlanRunPatchRow(patch), updated_at: new Date().toISOString() })
          .eq('id', id)
          .select('*'),
      );
      if (!row) throw new PlanRunNotFoundError(id);
      return toPlanRunRecord(row);
    },

    async listPlanRuns(query) {
      let request = db.from('plan_runs').select('*').eq('guild_id', query.guildId);
      if (query.open) request = request.is('ended_at', null);
      const rows = rowsOf<PlanRunRow>(
        'list plan runs',
        await request
          .order('created_at', { ascending: false })
          .order('id', { ascending: false })
          .limit(clampLimit(query.limit, DEFAULT_PLAN_LIST_LIMIT, MAX_PLAN_LIST_LIMIT)),
      );
      return rows.map(toPlanRunRecord);
    },

    async searchPlanRunIds(guildId, prefix, limit) {
      // planRunIdPrefix lets through no LIKE wildcard, so the pattern is the prefix and one `%`.
      const start = planRunIdPrefix(prefix);
      if (start === undefined) return [];
      const rows = rowsOf<{ id: string }>(
        'search plan run ids',
        await db
          .from('plan_runs')
          .select('id')
          .eq('guild_id', guildId)
          .like('id', `${start}%`)
          .order('created_at', { ascending: false })
          .order('id', { ascending: false })
          .limit(clampLimit(limit, MAX_PLAN_SEARCH_LIMIT, MAX_PLAN_SEARCH_LIMIT)),
      );
      return rows.map((row) => row.id);
    },

    async savePlanItems(runId, items) {
      if (items.length > 0) {
        // One bulk upsert is one transaction: the list is saved whole or not at all. Only the proposal's columns
        // are in the body, and a merge upsert updates only those: status and progress are never set back.
        dataOf(
          'save plan items',
          await db.from('plan_items').upsert(
            items.map((item) => toNewPlanItemRow(runId, item)),
            { onConflict: 'run_id,issue_number' },
          ),
        );
      }
      return listPlanItems(runId);
    },

    async updatePlanItem(runId, issueNumber, patch) {
      const [row] = rowsOf<PlanItemRow>(
        'update plan item',
        await db
          .from('plan_items')
          .update({ ...toPlanItemPatchRow(patch), updated_at: new Date().toISOString() })
          .eq('run_id', runId)
          .eq('issue_number', issueNumber)
          .select('*'),
      );
      if (!row) throw new PlanItemNotFoundError(runId, issueNumber);
      return toPlanItemRecord(row);
    },

    listPlanItems,

    async issuesInOpenPlans(repo) {
      return dataOf<number[] | null>('issues in open plans', await db.rpc('jo_issues_in_open_plans', { p_repo: repo })) ?? [];
    },

    async findPlanItemByTask(taskId) {
      const [row] = rowsOf<PlanItemRow>('find plan item by task', await db.from('plan_items').select('*').eq('task_id', taskId));
      return row && toPlanItemRecord(row);
    },

    async findPlanItemByPullRequest(repo, match) {
      const [row] = rowsOf<PlanItemRow>(
        'find plan item by pull request',
        await db.rpc('jo_find_plan_item_by_pull_request', {
          p_repo: repo,
          ...('number' in match ? { p_pr_number: match.number } : { p_head_sha: match.headSha }),
        }),
      );
      return row && toPlanItemRecord(row);
    },

    getGuildQuotas,

    async setGuildQuotas(guildId, settings, actorId) {
      const row: Record<string, string | number | null> = { guild_id: guildId, updated_by: actorId ?? null };
      for (const [field, column] of Object.entries(QUOTA_COLUMNS) as [keyof GuildQuotaSettings, string][]) {
        const value = settings[field];
        if (value !== undefined) row[column] = value;
      }
      dataOf('set guild quotas', await db.from('guild_quotas').upsert(row, { onConflict: 'guild_id' }));
      return getGuildQuotas(guildId);
    },

    async checkRequestQuota(guildId, userId, now) {
      const [row] = rowsOf<QuotaDecisionRow>(
        'check request quota',
        await db.rpc('jo_check_request_quota', { p_guild_id: guildId, p_user_id: userId, ...at(now) }),
      );
      return toQuotaDecision(row!);
    },

    async createTaskWithinQuota(task, now) {
      const newRow = toNewTaskRow(task);
      const args = Object.fromEntries(Object.entries(newRow).map(([column, value]) => [`p_${column}`, value]));
      const [row] = rowsOf<QuotaDecisionRow>(
        'create task within quota',
        await db.rpc('jo_create_task_within_quota', { ...args, ...at(now) }),
      );
      const decision = toQuotaDecision(row!);
      if (!decision.allowed) return decision;
      const record = await getTask(task.id);
      if (!record) throw new TaskNotFoundError(task.id);
      return { allowed: true, task: record };
    },

    async enqueueSessionSlot(keyOwner, taskId) {
      dataOf('enqueue session slot', await db.rpc('jo_enqueue_session_slot', { p_key_owner: keyOwner, p_task_id: taskId }));
    },

    async tryAcquireSessionSlot(keyOwner, taskId, limit, now) {
      const limits = sessionLimits(limit);
      const [row] = rowsOf<SlotDecisionRow>(
        'acquire session slot',
        await db.rpc('jo_try_acquire_session_slot', {
          p_key_owner: keyOwner,
          p_task_id: taskId,
          p_limit: limits.concurrent,
          p_daily_limit: limits.daily,
          ...at(now),
        }),
      );
      return toSlotDecision(row!);
    },

    async releaseSessionSlot(taskId) {
      return dataOf<boolean>('release session slot', await db.rpc('jo_release_session_slot', { p_task_id: taskId })) === true;
    },

    async listStoredKeys() {
      return [...(await listKeys('guild')), ...(await listKeys('user'))];
    },

    async replaceStoredKey(key, ciphertext) {
      // Compare-and-swap in one PATCH: a key changed meanwhile (a concurrent set-key) matches no row.
      const answer =
        key.scope === 'guild'
          ? await db
              .from('guilds')
              .update({ default_jules_key: ciphertext })
              .eq('guild_id', key.ownerId)
              .eq('default_jules_key', key.ciphertext)
              .select('guild_id')
          : await db
              .from('users')
              .update({ jules_key: ciphertext })
              .eq('discord_id', key.ownerId)
              .eq('jules_key', key.ciphertext)
              .select('discord_id');
      return rowsOf<unknown>('replace stored key', answer as Answer<unknown[]>).length === 1;
    },

    // Nothing to release: supabase-js holds no connection between requests.
    close: async () => {},
  };
}

/**
 * The webhook {@link DeliveryLog} over the Data API. PostgREST's ignore-duplicates upsert returns only the
 * rows it inserted, so "first time" is one returned row, atomically, as with the SQL adapter.
 */
export function createSupabaseDeliveryLog(options: SupabaseStoreOptions): DeliveryLog {
  const db = createServiceClient(options);
  return {
    async recordDelivery(source, deliveryId) {
      const rows = rowsOf(
        'record delivery',
        await db
          .from('webhook_deliveries')
          .upsert({ source, delivery_id: deliveryId }, { onConflict: 'source,delivery_id', ignoreDuplicates: true })
          .select('delivery_id'),
      );
      return rows.length === 1;
    },
    async forgetDelivery(source, deliveryId) {
      dataOf('forget delivery', await db.from('webhook_deliveries').delete().eq('source', source).eq('delivery_id', deliveryId));
    },
    async pruneDeliveries(olderThan, source) {
      const older = db.from('webhook_deliveries').delete().lt('received_at', olderThan.toISOString());
      return rowsOf('prune deliveries', await (source === undefined ? older : older.eq('source', source)).select('delivery_id')).length;
    },
    async noteSubject(source, deliveryId, subject) {
      dataOf('note delivery subject', await db.from('webhook_deliveries').update({ subject }).eq('source', source).eq('delivery_id', deliveryId));
    },
    async countDeliveries(source, subjects) {
      if (subjects.length === 0) return new Map();
      // The same SQL function as the SQL adapter: counting on the server, not row by row over the wire.
      const rows = rowsOf<{ subject: string; deliveries: number }>('count deliveries', await db.rpc('jo_count_deliveries', { p_source: source, p_subjects: [...subjects] }));
      return new Map(rows.map((row) => [row.subject, Number(row.deliveries)]));
    },
  };
}
