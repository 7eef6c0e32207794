import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SupabaseRequestError } from '../src/store/errors';
import { migrate } from '../src/store/migrate';
import { openStore } from '../src/store/open-store';
import type { SqlExecutor } from '../src/store/sql-executor';
import type { Store } from '../src/store/store';
import { createSupabaseDeliveryLog, createSupabaseStore } from '../src/store/supabase-store';
import { signJwt, startPostgrestEmulator, type PostgrestEmulator, type RecordedRequest } from './helpers/postgrest-emulator';
import { describePlanStoreBehaviour, newPlanItems, newPlanRun } from './helpers/plan-store-behaviour';
import { describeStoreBehaviour, newTask, uniqueId } from './helpers/store-behaviour';
import { migratedExecutor } from './helpers/migrated-store';

const JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
const SERVICE_ROLE_KEY = signJwt({ iss: 'supabase', role: 'service_role' }, JWT_SECRET);
const ANON_KEY = signJwt({ iss: 'supabase', role: 'anon' }, JWT_SECRET);

/** A migrated PGlite behind the PostgREST contract. */
async function startBackend(): Promise<{ sql: SqlExecutor; api: PostgrestEmulator; close(): Promise<void> }> {
  const sql = await migratedExecutor();
  await migrate(sql);
  const api = await startPostgrestEmulator({ executor: sql, jwtSecret: JWT_SECRET });
  return {
    sql,
    api,
    close: async () => {
      await api.close();
      await sql.close();
    },
  };
}

// Every behaviour of the port, through supabase-js, PostgREST's contract, and the same SQL functions.
describeStoreBehaviour('supabase-js through the PostgREST contract (PGlite behind)', async () => {
  const backend = await startBackend();
  return { store: createSupabaseStore({ url: backend.api.url, serviceRoleKey: SERVICE_ROLE_KEY }), sql: backend.sql, close: backend.close };
});

describePlanStoreBehaviour('supabase-js through the PostgREST contract (PGlite behind)', async () => {
  const backend = await startBackend();
  return { store: createSupabaseStore({ url: backend.api.url, serviceRoleKey: SERVICE_ROLE_KEY }), sql: backend.sql, close: backend.close };
});

describe('the supabase-js adapter’s requests', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let store: Store;
  beforeAll(async () => {
    backend = await startBackend();
    store = createSupabaseStore({ url: backend.api.url, serviceRoleKey: SERVICE_ROLE_KEY });
  });
  afterAll(() => backend.close());
  let seen: RecordedRequest[];
  beforeEach(() => {
    backend.api.requests.length = 0;
    seen = backend.api.requests;
  });

  it('carry the service role key as apikey and as bearer token, to the Data API only', async () => {
    await store.getGuild(uniqueId('guild'));
    await store.createTask(newTask());
    expect(seen.length).toBeGreaterThan(0);
    for (const request of seen) {
      expect(request.path.startsWith('/rest/v1/')).toBe(true);
      expect(request.headers.apikey).toBe(SERVICE_ROLE_KEY);
      expect(request.headers.authorization).toBe(`Bearer ${SERVICE_ROLE_KEY}`);
    }
  });

  it('confirm through POST /rest/v1/rpc/jo_transition_task with named arguments', async () => {
    const task = await store.createTask(newTask());
    seen.length = 0;
    await store.transitionTask(task.id, {
      from: ['pending_confirmation'],
      to: 'in_progress',
      event: 'confirmed',
      actorId: 'confirmer-1',
      patch: { decidedBy: 'confirmer-1', lastError: null },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/rest/v1/rpc/jo_transition_task',
      body: {
        p_task_id: task.id,
        p_from: ['pending_confirmation'],
        p_to: 'in_progress',
        p_event: 'confirmed',
        p_actor_id: 'confirmer-1',
        p_patch: { decided_by: 'confirmer-1', last_error: null },
        p_outcome: null,
        p_detail: {},
      },
    });
    expect(seen[0]?.headers['content-type']).toContain('application/json');
  });

  it('record a task with an ignore-duplicates upsert on id, then read it back by id', async () => {
    const task = newTask();
    await store.createTask(task);
    const [insert, read] = seen;
    expect(insert).toMatchObject({ method: 'POST', path: '/rest/v1/tasks', body: expect.objectContaining({ id: task.id, prompt: task.prompt }) });
    expect(insert?.query.get('on_conflict')).toBe('id');
    expect(insert?.headers.prefer).toContain('resolution=ignore-duplicates');
    expect(read).toMatchObject({ method: 'GET', path: '/rest/v1/tasks' });
    expect(read?.query.get('id')).toBe(`eq.${task.id}`);
    expect(read?.query.get('select')).toBe('*');
  });

  it('update a task with PATCH filtered on its id, asking for the row back', async () => {
    const task = await store.createTask(newTask());
    seen.length = 0;
    await store.updateTask(task.id, { status: 'in_progress', cardMessageId: 'card-1' });
    expect(seen[0]).toMatchObject({ method: 'PATCH', path: '/rest/v1/tasks', body: expect.objectContaining({ status: 'in_progress', card_message_id: 'card-1' }) });
    expect(seen[0]?.query.get('id')).toBe(`eq.${task.id}`);
    expect(seen[0]?.headers.prefer).toContain('return=representation');
  });

  it('read a guild without ever selecting its sealed key', async () => {
    const guildId = uniqueId('guild');
    await store.setGuildKey(guildId, 'v1:sealed-secret');
    seen.length = 0;
    expect(await store.getGuild(guildId)).toMatchObject({ hasDefaultKey: true });
    expect(seen[0]?.query.get('select')).not.toContain('default_jules_key');
    expect(seen[0]?.query.get('guild_id')).toBe(`eq.${guildId}`);
  });

  it('list tasks with in., order and limit as PostgREST reads them', async () => {
    const guildId = uniqueId('guild');
    await store.listTasks({ guildId, statuses: ['pending_confirmation', 'in_progress'], limit: 3 });
    const query = seen[0]!.query;
    expect(query.get('guild_id')).toBe(`eq.${guildId}`);
    expect(query.get('status')).toBe('in.(pending_confirmation,in_progress)');
    expect(query.get('order')).toBe('created_at.desc,id.desc');
    expect(query.get('limit')).toBe('3');
  });

  it('save a plan’s items in one merge upsert on (run_id, issue_number) that never sends a status', async () => {
    const run = await store.createPlanRun(newPlanRun());
    seen.length = 0;
    await store.savePlanItems(run.id, newPlanItems(run.repo, [4, 2]));
    const [upsert] = seen;
    expect(upsert).toMatchObject({ method: 'POST', path: '/rest/v1/plan_items' });
    expect(upsert?.query.get('on_conflict')).toBe('run_id,issue_number');
    expect(upsert?.headers.prefer).toContain('resolution=merge-duplicates');
    expect(upsert?.body).toHaveLength(2);
    for (const row of upsert?.body as Record<string, unknown>[]) expect(Object.keys(row).sort()).toEqual(['issue_url', 'issue_number', 'position', 'run_id', 'title'].sort());
  });

  it('search run ids with a like. prefix filter, and ask the joins through the SQL functions', async () => {
    const run = await store.createPlanRun(newPlanRun());
    seen.length = 0;
    await store.searchPlanRunIds(run.guildId, 'plan-2026', 25);
    expect(seen[0]?.query.get('id')).toBe('like.plan-2026%');
    expect(seen[0]?.query.get('order')).toBe('created_at.desc,id.desc');
    await store.issuesInOpenPlans(run.repo);
    await store.findPlanItemByPullRequest(run.repo, { headSha: 'abc' });
    expect(seen.slice(1).map((request) => [request.path, request.body])).toEqual([
      ['/rest/v1/rpc/jo_issues_in_open_plans', { p_repo: run.repo }],
      ['/rest/v1/rpc/jo_find_plan_item_by_pull_request', { p_repo: run.repo, p_head_sha: 'abc' }],
    ]);
  });

  it('turn a PostgREST error into a SupabaseRequestError with the SQLSTATE and without the failing row', async () => {
    const secretPrompt = 'a prompt that must not appear in an error';
    const failure = await store.createTask(newTask({ prompt: secretPrompt, status: 'on_fire' as never })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SupabaseRequestError);
    expect(failure).toMatchObject({ code: '23514', status: 400 });
    expect((failure as Error).message).toContain('tasks_status_known');
    expect((failure as Error).message).not.toContain(secretPrompt);
  });

  it('are refused to the anon key: every table and function is closed to it', async () => {
    const task = await store.createTask(newTask());
    const anonymous = createSupabaseStore({ url: backend.api.url, serviceRoleKey: ANON_KEY });
    await expect(anonymous.getTask(task.id)).rejects.toMatchObject({ code: '42501', status: 401 });
    await expect(anonymous.listTasks({})).rejects.toMatchObject({ code: '42501' });
    await expect(anonymous.transitionTask(task.id, { from: ['pending_confirmation'], to: 'in_progress', event: 'confirmed' })).rejects.toMatchObject({ code: '42501' });
    await expect(anonymous.setUserKey(uniqueId('u'), 'v1:x')).rejects.toMatchObject({ code: '42501' });
    await expect(anonymous.listPlanRuns({ guildId: task.guildId })).rejects.toMatchObject({ code: '42501' });
    await expect(anonymous.issuesInOpenPlans(task.repo)).rejects.toMatchObject({ code: '42501' });
    expect((await store.getTask(task.id))?.status).toBe('pending_confirmation');
  });

  it('are refused without an API key or with a token not signed by the project', async () => {
    const forged = signJwt({ role: 'service_role' }, 'another-secret-another-secret-another');
    await expect(createSupabaseStore({ url: backend.api.url, serviceRoleKey: forged }).getGuild('g')).rejects.toMatchObject({ status: 401, code: 'PGRST301' });
    const bare = await fetch(`${backend.api.url}/rest/v1/tasks`);
    expect(bare.status).toBe(401);
  });

  it('record a webhook delivery once, and forget it again', async () => {
    const deliveries = createSupabaseDeliveryLog({ url: backend.api.url, serviceRoleKey: SERVICE_ROLE_KEY });
    const id = uniqueId('delivery');
    expect(await deliveries.recordDelivery('jules', id)).toBe(true);
    expect(await deliveries.recordDelivery('jules', id)).toBe(false);
    await deliveries.forgetDelivery('jules', id);
    expect(await deliveries.recordDelivery('jules', id)).toBe(true);
    // Pruning forgets what was received before the cutoff, and only that.
    expect(await deliveries.pruneDeliveries(new Date(Date.now() - 60_000))).toBe(0);
    expect(await deliveries.pruneDeliveries(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await deliveries.recordDelivery('jules', id)).toBe(true);
    // Given a source, only that source's deliveries are forgotten.
    expect(await deliveries.recordDelivery('github', id)).toBe(true);
    expect(await deliveries.pruneDeliveries(new Date(Date.now() + 60_000), 'jules')).toBeGreaterThanOrEqual(1);
    expect(await deliveries.recordDelivery('jules', id)).toBe(true);
    expect(await deliveries.recordDelivery('github', id)).toBe(false);
  });

  it('note which task a delivery was about, and count them per task', async () => {
    const deliveries = createSupabaseDeliveryLog({ url: backend.api.url, serviceRoleKey: SERVICE_ROLE_KEY });
    const [one, two, other] = [uniqueId('delivery'), uniqueId('delivery'), uniqueId('delivery')];
    const [task, quiet] = [uniqueId('task'), uniqueId('task')];
    for (const id of [one, two, other]) await deliveries.recordDelivery('github', id);
    await deliveries.noteSubject('github', one, task);
    await deliveries.noteSubject('github', two, task);
    expect(await deliveries.countDeliveries('github', [task, quiet])).toEqual(new Map([[task, 2]]));
    expect(await deliveries.countDeliveries('jules', [task])).toEqual(new Map());
    expect(await deliveries.countDeliveries('github', [])).toEqual(new Map());
  });

  it('are what openStore uses when only SUPABASE_URL and the service role key are set', async () => {
    const opened = await openStore({ supabaseUrl: backend.api.url, serviceRoleKey: SERVICE_ROLE_KEY, dataDir: '/nonexistent/never-created' });
    expect(opened.executor).toBeUndefined();
    const task = await opened.createTask(newTask());
    expect(seen.some((request) => request.path === '/rest/v1/tasks')).toBe(true);
    expect((await opened.getTask(task.id))?.id).toBe(task.id);
    await opened.close();
    await expect(openStore({ supabaseUrl: backend.api.url })).rejects.toThrow('serviceRoleKey');
  });
});
