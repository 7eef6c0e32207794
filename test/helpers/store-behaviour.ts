import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATUSES, type TaskStatus } from '../../src/shared/task-status';
import { TaskNotFoundError } from '../../src/store/errors';
import type { SqlExecutor } from '../../src/store/sql-executor';
import type { NewTask, Store } from '../../src/store/store';

/** A store under test and a direct SQL line to the same database, to check what the store wrote. */
export interface StoreUnderTest {
  readonly store: Store;
  readonly sql: SqlExecutor;
  close(): Promise<void>;
}

let sequence = 0;
/** A unique id, so tests sharing one database never see each other's rows. */
export function uniqueId(prefix: string): string {
  sequence += 1;
  // Fixed width, like the snowflakes in real task ids: ids of tasks created in one clock tick sort by creation.
  return `${prefix}-${process.pid}-${String(sequence).padStart(8, '0')}`;
}

/** A new task in a guild of its own unless the overrides say otherwise. */
export function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: uniqueId('task'),
    guildId: uniqueId('guild'),
    channelId: 'channel-1',
    requesterId: uniqueId('user'),
    prompt: 'Add a health check endpoint',
    repo: 'acme/widgets',
    branch: 'main',
    status: 'pending_confirmation',
    keySource: 'personal',
    ...overrides,
  };
}

/**
 * Every behaviour of the Store port, for any adapter over any engine: the SQL adapter on PGlite and on a
 * real PostgreSQL server, and the supabase-js adapter through PostgREST's contract.
 */
export function describeStoreBehaviour(engine: string, open: () => Promise<StoreUnderTest>): void {
  describe(`the store on ${engine}`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await subject.close();
    });

    describe('guilds', () => {
      it('has no configuration for a guild nobody set up', async () => {
        expect(await store.getGuild(uniqueId('guild'))).toBeUndefined();
      });

      it('stores a guild’s roles and defaults', async () => {
        const guildId = uniqueId('guild');
        const saved = await store.upsertGuild({
          guildId,
          createRoles: ['111', '222'],
          confirmRoles: ['333'],
          defaultRepo: 'acme/widgets',
          defaultBranch: 'develop',
        });
        expect(saved).toMatchObject({
          guildId,
          createRoles: ['111', '222'],
          confirmRoles: ['333'],
          defaultRepo: 'acme/widgets',
          defaultBranch: 'develop',
          hasDefaultKey: false,
        });
        expect(saved.updatedAt).toBeInstanceOf(Date);
        expect(await store.getGuild(guildId)).toEqual(saved);
      });

      it('keeps the default repo and branch when a later update leaves them out, and clears them with null', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: [], defaultRepo: 'acme/a', defaultBranch: 'dev' });
        const kept = await store.upsertGuild({ guildId, createRoles: ['2'], confirmRoles: ['3'] });
        expect(kept).toMatchObject({ createRoles: ['2'], confirmRoles: ['3'], defaultRepo: 'acme/a', defaultBranch: 'dev' });
        const changed = await store.upsertGuild({ guildId, createRoles: ['2'], confirmRoles: ['3'], defaultRepo: 'acme/b' });
        expect(changed).toMatchObject({ defaultRepo: 'acme/b', defaultBranch: 'dev' });
        const cleared = await store.upsertGuild({ guildId, createRoles: [], confirmRoles: [], defaultRepo: null, defaultBranch: null });
        expect(cleared).toMatchObject({ createRoles: [], confirmRoles: [], defaultRepo: null, defaultBranch: null });
        expect(cleared.updatedAt.getTime()).toBeGreaterThanOrEqual(kept.updatedAt.getTime());
      });

      it('merges by squash unless the guild says otherwise, and keeps its choice when an update leaves it out', async () => {
        const guildId = uniqueId('guild');
        expect((await store.upsertGuild({ guildId, createRoles: [], confirmRoles: [] })).mergeMethod).toBe('squash');
        expect((await store.upsertGuild({ guildId, createRoles: [], confirmRoles: [], mergeMethod: 'rebase' })).mergeMethod).toBe('rebase');
        expect((await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: [] })).mergeMethod).toBe('rebase');
        await expect(store.upsertGuild({ guildId, createRoles: [], confirmRoles: [], mergeMethod: 'octopus' as never })).rejects.toThrow();
      });

      it('reports a default key once the guild key is set, without exposing it', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: [], confirmRoles: [] });
        expect((await store.getGuild(guildId))?.hasDefaultKey).toBe(false);
        await store.setGuildKey(guildId, 'v1:abc:ciphertext');
        const config = await store.getGuild(guildId);
        expect(config?.hasDefaultKey).toBe(true);
        expect(JSON.stringify(config)).not.toContain('ciphertext');
      });

      it('says when and by whom the default key was set, and nothing of the key', async () => {
        const guildId = uniqueId('guild');
        await store.setGuildKey(guildId, 'v1:abc:ciphertext');
        const fromCli = await store.getGuild(guildId);
        expect(fromCli?.defaultKeySetAt).toBeInstanceOf(Date);
        expect(fromCli?.defaultKeySetBy).toBeNull();
        await store.setGuildKey(guildId, 'v1:abc:other', '800000000000000777');
        expect((await store.getGuild(guildId))?.defaultKeySetBy).toBe('800000000000000777');
      });

      it('records every configuration and quota change with who made it, and never the key', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: [], actorId: '900000000000000001' });
        await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: [], defaultRepo: 'acme/a' });
        // The same values again change nothing, so they record nothing.
        await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: [], defaultRepo: 'acme/a', actorId: '900000000000000001' });
        await store.setGuildKey(guildId, 'v1:abc:secret-ciphertext', '900000000000000002');
        await store.setGuildQuotas(guildId, { userRequestsPerHour: 7 }, '900000000000000003');
        const events = await store.listGuildEvents(guildId);
        expect(events.map((event) => [event.kind, event.actorId])).toEqual([
          ['quotas_changed', '900000000000000003'],
          ['settings_changed', '900000000000000002'],
          ['settings_changed', null],
          ['settings_changed', '900000000000000001'],
        ]);
        expect(events[0]!.detail).toEqual({ user_requests_per_hour: 7 });
        expect(events[1]!.detail).toEqual({ default_key: 'set' });
        expect(events[2]!.detail).toEqual({ default_repo: 'acme/a' });
        expect(events[3]!.detail).toMatchObject({ create_roles: ['1'], confirm_roles: [] });
        expect(events[0]!.id).toBeGreaterThan(events[1]!.id);
        expect(JSON.stringify(events)).not.toContain('ciphertext');
        expect(await store.listGuildEvents(uniqueId('guild'))).toEqual([]);
      });

      it('refuses a default repo that is not owner/repo', async () => {
        const upsert = store.upsertGuild({
          guildId: uniqueId('guild'),
          createRoles: [],
          confirmRoles: [],
          defaultRepo: 'https://github.com/acme/widgets',
        });
        await expect(upsert).rejects.toMatchObject({ code: '23514' });
      });

      it('plans the `ready` issues, ten at most, with one approver, no auto-ship and no fixes, for a guild that set nothing', async () => {
        const guildId = uniqueId('guild');
        expect(await store.upsertGuild({ guildId, createRoles: [], confirmRoles: [] })).toMatchObject({
          planLabel: 'ready',
          inProgressLabel: 'jules-in-progress',
          planMaxItems: 10,
          twoPersonRule: false,
          autoShip: false,
          fixFailingChecks: false,
          maxFixAttempts: 2,
        });
        // A guild created by `guild set-key` alone has them too.
        const keyOnly = uniqueId('guild');
        await store.setGuildKey(keyOnly, 'v1:sealed');
        expect(await store.getGuild(keyOnly)).toMatchObject({ planLabel: 'ready', planMaxItems: 10 });
      });

      it('stores the settings given and keeps each one a later update leaves out', async () => {
        const guildId = uniqueId('guild');
        const set = await store.upsertGuild({
          guildId,
          createRoles: ['1'],
          confirmRoles: ['2'],
          planLabel: 'jules',
          inProgressLabel: 'jules: working',
          planMaxItems: 25,
          twoPersonRule: true,
          autoShip: true,
          fixFailingChecks: true,
          maxFixAttempts: 0,
        });
        const expected = {
          planLabel: 'jules',
          inProgressLabel: 'jules: working',
          planMaxItems: 25,
          twoPersonRule: true,
          autoShip: true,
          fixFailingChecks: true,
          maxFixAttempts: 0,
        };
        expect(set).toMatchObject(expected);
        expect(await store.getGuild(guildId)).toEqual(set);
        const kept = await store.upsertGuild({ guildId, createRoles: ['3'], confirmRoles: [], mergeMethod: 'merge' });
        expect(kept).toMatchObject({ ...expected, createRoles: ['3'], mergeMethod: 'merge' });
        const changed = await store.upsertGuild({ guildId, createRoles: ['3'], confirmRoles: [], autoShip: false, planMaxItems: 1 });
        expect(changed).toMatchObject({ ...expected, autoShip: false, planMaxItems: 1 });
      });

      it('refuses settings out of range, a label GitHub could not match, or one label for both, and keeps what was stored', async () => {
        const guildId = uniqueId('guild');
        const before = await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: [], planMaxItems: 5 });
        const base = { guildId, createRoles: ['9'], confirmRoles: ['9'] };
        const refused = [
          { planMaxItems: 0 },
          { planMaxItems: 51 },
          { maxFixAttempts: -1 },
          { maxFixAttempts: 11 },
          { planLabel: '' },
          { planLabel: 'ready,now' },
          { planLabel: ' ready' },
          { planLabel: 'x'.repeat(51) },
          { inProgressLabel: 'Ready' },
          { planLabel: 'jules-in-progress' },
        ];
        for (const settings of refused) {
          await expect(store.upsertGuild({ ...base, ...settings }), JSON.stringify(settings)).rejects.toMatchObject({ code: '23514' });
        }
        expect(await store.getGuild(guildId)).toEqual(before);
      });
    });

    describe('keys', () => {
      it('returns no key for a guild or member that never set one', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: [], confirmRoles: [] });
        expect(await store.getGuildKey(guildId)).toBeUndefined();
        expect(await store.getGuildKey(uniqueId('guild'))).toBeUndefined();
        expect(await store.getUserKey(uniqueId('user'))).toBeUndefined();
      });

      it('stores a guild key as given and replaces it on a second set', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: ['9'], confirmRoles: [] });
        await store.setGuildKey(guildId, 'v1:first');
        await store.setGuildKey(guildId, 'v1:second');
        expect(await store.getGuildKey(guildId)).toBe('v1:second');
        expect((await store.getGuild(guildId))?.createRoles).toEqual(['9']);
      });

      it('creates the guild when its key is set before its roles', async () => {
        const guildId = uniqueId('guild');
        await store.setGuildKey(guildId, 'v1:early');
        expect(await store.getGuild(guildId)).toMatchObject({ guildId, createRoles: [], confirmRoles: [], hasDefaultKey: true });
        await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: ['2'] });
        expect(await store.getGuildKey(guildId)).toBe('v1:early');
      });

      it('stores a member’s personal key and replaces it on a second set', async () => {
        const userId = uniqueId('user');
        await store.setUserKey(userId, 'v1:mine');
        expect(await store.getUserKey(userId)).toBe('v1:mine');
        await store.setUserKey(userId, 'v1:rotated');
        expect(await store.getUserKey(userId)).toBe('v1:rotated');
        expect(await store.getUserKey(uniqueId('user'))).toBeUndefined();
      });

      it('says since when a member’s key is set, and removes it once', async () => {
        const userId = uniqueId('user');
        expect(await store.getUserKeySetAt(userId)).toBeUndefined();
        const before = Date.now();
        await store.setUserKey(userId, 'v1:mine');
        const setAt = await store.getUserKeySetAt(userId);
        expect(setAt).toBeInstanceOf(Date);
        // The database's clock and ours may differ by a little; a day off would be a wrong column.
        expect(Math.abs(setAt!.getTime() - before)).toBeLessThan(60_000);

        expect(await store.removeUserKey(userId)).toBe(true);
        expect(await store.getUserKey(userId)).toBeUndefined();
        expect(await store.getUserKeySetAt(userId)).toBeUndefined();
        expect(await store.removeUserKey(userId)).toBe(false);
        expect(await store.removeUserKey(uniqueId('user'))).toBe(false);
        // A removed key is not one to rotate.
        expect((await store.listStoredKeys()).some((key) => key.ownerId === userId)).toBe(false);
      });

      it('lists every stored key for rotation and replaces one only if nobody changed it meanwhile', async () => {
        const guildId = uniqueId('guild');
        const userId = uniqueId('user');
        await store.setGuildKey(guildId, 'v1:guild-old');
        await store.setUserKey(userId, 'v1:user-old');
        await store.upsertGuild({ guildId: uniqueId('guild'), createRoles: [], confirmRoles: [] }); // no key: not listed
        const listed = await store.listStoredKeys();
        expect(listed).toContainEqual({ scope: 'guild', ownerId: guildId, ciphertext: 'v1:guild-old' });
        expect(listed).toContainEqual({ scope: 'user', ownerId: userId, ciphertext: 'v1:user-old' });
        expect(listed.every((key) => key.ciphertext.length > 0)).toBe(true);

        expect(await store.replaceStoredKey({ scope: 'user', ownerId: userId, ciphertext: 'v1:user-old' }, 'v1:user-new')).toBe(true);
        expect(await store.getUserKey(userId)).toBe('v1:user-new');
        // A stale expectation (the key was set again meanwhile) leaves the newer key alone.
        expect(await store.replaceStoredKey({ scope: 'user', ownerId: userId, ciphertext: 'v1:user-old' }, 'v1:lost')).toBe(false);
        expect(await store.getUserKey(userId)).toBe('v1:user-new');
        expect(await store.replaceStoredKey({ scope: 'guild', ownerId: guildId, ciphertext: 'v1:guild-old' }, 'v1:guild-new')).toBe(true);
        expect(await store.getGuildKey(guildId)).toBe('v1:guild-new');
      });
    });

    describe('tasks', () => {
      it('accepts every status the service knows and refuses one it does not', async () => {
        for (const status of TASK_STATUSES) {
          expect((await store.createTask(newTask({ status }))).status).toBe(status);
        }
        await expect(store.createTask(newTask({ status: 'on_fire' as TaskStatus }))).rejects.toMatchObject({ code: '23514' });
      });

      it('counts tasks by status, Jules state and whether they are open, in one grouped answer', async () => {
        const count = (rows: Awaited<ReturnType<Store['countTasks']>>, status: TaskStatus, julesState: string | null, open: boolean) =>
          rows.find((r) => r.status === status && r.julesState === julesState && r.open === open)?.count ?? 0;
        const before = await store.countTasks();
        await store.createTask(newTask({ status: 'pending_confirmation' }));
        const asking = await store.createTask(newTask({ status: 'in_progress' }));
        await store.updateTask(asking.id, { julesState: 'AWAITING_USER_FEEDBACK' });
        const done = await store.createTask(newTask({ status: 'in_progress' }));
        await store.updateTask(done.id, { status: 'completed', endedAt: new Date().toISOString() });
        const after = await store.countTasks();
        expect(count(after, 'pending_confirmation', null, true) - count(before, 'pending_confirmation', null, true)).toBe(1);
        expect(count(after, 'in_progress', 'AWAITING_USER_FEEDBACK', true) - count(before, 'in_progress', 'AWAITING_USER_FEEDBACK', true)).toBe(1);
        expect(count(after, 'completed', null, false) - count(before, 'completed', null, false)).toBe(1);
        expect(after.every((r) => Number.isInteger(r.count) && r.count > 0)).toBe(true);
      });

      it('records a new task with empty progress fields', async () => {
        const input = newTask({ branch: null, keySource: 'guild' });
        const task = await store.createTask(input);
        expect(task).toMatchObject({
          ...input,
          cardMessageId: null,
          threadId: null,
          decidedBy: null,
          julesSessionId: null,
          julesSessionUrl: null,
          julesState: null,
          prUrl: null,
          lastError: null,
        });
        expect(task.createdAt).toBeInstanceOf(Date);
        expect(await store.getTask(input.id)).toEqual(task);
      });

      it('returns the first record unchanged when the same task is recorded twice', async () => {
        const input = newTask();
        const first = await store.createTask(input);
        await store.updateTask(input.id, { status: 'in_progress' });
        const again = await store.createTask({ ...input, prompt: 'something else', status: 'pending_confirmation' });
        expect(again.prompt).toBe(first.prompt);
        expect(again.status).toBe('in_progress');
        expect(again.createdAt).toEqual(first.createdAt);
      });

      it('has no task for an unknown id', async () => {
        expect(await store.getTask(uniqueId('task'))).toBeUndefined();
      });

      it('changes only the fields a patch sets, clears those set to null, and bumps updated_at', async () => {
        const created = await store.createTask(newTask());
        const started = await store.updateTask(created.id, {
          status: 'in_progress',
          decidedBy: 'confirmer-1',
          julesSessionId: 'sessions/42',
          julesSessionUrl: 'https://jules.google.com/session/42',
          lastError: 'transient',
        });
        expect(started).toMatchObject({ status: 'in_progress', decidedBy: 'confirmer-1', julesSessionId: 'sessions/42', prompt: created.prompt, cardMessageId: null });
        // Compared in SQL: Date has millisecond precision, timestamptz has microseconds.
        const [bumped] = await subject.sql.query<{ later: boolean }>('select updated_at > created_at as later from tasks where id = $1', [created.id]);
        expect(bumped?.later).toBe(true);
        expect(started.createdAt).toEqual(created.createdAt);

        const finished = await store.updateTask(created.id, {
          status: 'completed',
          prUrl: 'https://github.com/acme/widgets/pull/7',
          lastError: null,
          julesState: undefined,
        });
        expect(finished).toMatchObject({
          status: 'completed',
          prUrl: 'https://github.com/acme/widgets/pull/7',
          lastError: null,
          decidedBy: 'confirmer-1',
          julesSessionUrl: 'https://jules.google.com/session/42',
        });
        expect(await store.getTask(created.id)).toEqual(finished);
      });

      it('refuses to update a task that does not exist', async () => {
        const id = uniqueId('task');
        const failure = await store.updateTask(id, { status: 'failed' }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(TaskNotFoundError);
        expect(failure).toMatchObject({ code: 'TASK_NOT_FOUND', status: 404, taskId: id });
      });

      it('finds a task by its Jules session and by its Discord thread', async () => {
        const task = await store.createTask(newTask());
        const session = `sessions/${uniqueId('s')}`;
        const thread = uniqueId('thread');
        await store.updateTask(task.id, { julesSessionId: session, threadId: thread });
        expect((await store.findTaskBySession(session))?.id).toBe(task.id);
        expect((await store.findTaskByThread(thread))?.id).toBe(task.id);
        expect(await store.findTaskBySession('sessions/none')).toBeUndefined();
        expect(await store.findTaskByThread(uniqueId('thread'))).toBeUndefined();
      });

      it('keeps the pull request a task follows, and finds the task by PR number or head sha', async () => {
        const repo = `acme/${uniqueId('repo')}`;
        const task = await store.createTask(newTask({ repo }));
        const mergedAt = new Date('2026-12-01T10:00:00.000Z');
        const updated = await store.updateTask(task.id, { prNumber: 12, prHeadSha: 'abc123', prState: 'merged', checksState: 'passed', mergedAt: mergedAt.toISOString() });
        expect(updated).toMatchObject({ prNumber: 12, prHeadSha: 'abc123', prState: 'merged', checksState: 'passed', mergedAt });
        expect((await store.findTaskByPullRequest(repo, { number: 12 }))?.id).toBe(task.id);
        expect((await store.findTaskByPullRequest(repo, { headSha: 'abc123' }))?.id).toBe(task.id);
        // Another repository's PR 12 is another PR.
        expect(await store.findTaskByPullRequest(`${repo}-other`, { number: 12 })).toBeUndefined();
        expect(await store.findTaskByPullRequest(repo, { headSha: 'def456' })).toBeUndefined();
        await expect(store.updateTask(task.id, { checksState: 'green' as never })).rejects.toThrow();
      });

      it('lists a guild’s tasks newest first, filtered by requester and status', async () => {
        const guildId = uniqueId('guild');
        const alice = uniqueId('alice');
        const bob = uniqueId('bob');
        const made: string[] = [];
        const plan: [string, TaskStatus][] = [
          [alice, 'pending_confirmation'],
          [bob, 'in_progress'],
          [alice, 'completed'],
          [alice, 'in_progress'],
        ];
        for (const [requesterId, status] of plan) {
          made.push((await store.createTask(newTask({ guildId, requesterId, status }))).id);
        }
        await store.createTask(newTask({ requesterId: alice, status: 'in_progress' })); // another guild

        const all = await store.listTasks({ guildId });
        expect(all.map((task) => task.id)).toEqual([...made].reverse());
        const alicesOpen = await store.listTasks({ guildId, requesterId: alice, statuses: ['pending_confirmation', 'in_progress'] });
        expect(alicesOpen.map((task) => task.id)).toEqual([made[3], made[0]]);
        expect(await store.listTasks({ requesterId: alice, statuses: ['in_progress'] })).toHaveLength(2);
        expect(await store.listTasks({ guildId, limit: 2 })).toHaveLength(2);
        // Pages, newest first: the second page of two starts where the first ended.
        expect((await store.listTasks({ guildId, limit: 2, offset: 2 })).map((task) => task.id)).toEqual([made[1], made[0]]);
        expect(await store.listTasks({ guildId, limit: 2, offset: 4 })).toEqual([]);
        expect(await store.listTasks({ guildId, statuses: [] })).toEqual([]);
      });

      it('tells a running task from an ended one by ended_at, not by status: a stalled task may still run', async () => {
        const guildId = uniqueId('guild');
        const alerted = await store.createTask(newTask({ guildId, status: 'in_progress' }));
        await store.transitionTask(alerted.id, { from: ['in_progress'], to: 'stalled', event: 'stalled' });
        const gaveUp = await store.createTask(newTask({ guildId, status: 'in_progress' }));
        const endedAt = '2026-11-21T10:00:00.000Z';
        const ended = await store.transitionTask(gaveUp.id, { from: ['in_progress'], to: 'stalled', event: 'stalled', patch: { endedAt } });
        expect(ended?.endedAt?.toISOString()).toBe(endedAt);
        expect((await store.getTask(alerted.id))?.endedAt).toBeNull();
        expect((await store.listTasks({ guildId, open: true })).map((task) => task.id)).toEqual([alerted.id]);
        expect(await store.listTasks({ guildId, statuses: ['stalled'] })).toHaveLength(2);
        // A plain update may stamp it too (the path a row that disagreed with its workflow takes).
        await store.updateTask(alerted.id, { status: 'stalled', endedAt });
        expect(await store.listTasks({ guildId, open: true })).toEqual([]);
      });

      it('lists at most 25 tasks unless asked for more', async () => {
        const guildId = uniqueId('guild');
        for (let i = 0; i < 27; i += 1) await store.createTask(newTask({ guildId }));
        expect(await store.listTasks({ guildId })).toHaveLength(25);
        expect(await store.listTasks({ guildId, limit: 100 })).toHaveLength(27);
      });
    });

    describe('transitions and the audit trail', () => {
      it('confirms a pending task, sets the confirmer, and records one event saying who did it', async () => {
        const task = await store.createTask(newTask());
        const moved = await store.transitionTask(task.id, {
          from: ['pending_confirmation'],
          to: 'in_progress',
          event: 'confirmed',
          actorId: 'confirmer-7',
          patch: { decidedBy: 'confirmer-7', cardMessageId: 'card-1' },
          detail: { via: 'button' },
        });
        expect(moved).toMatchObject({ id: task.id, status: 'in_progress', decidedBy: 'confirmer-7', cardMessageId: 'card-1', prompt: task.prompt });
        expect(await store.getTask(task.id)).toEqual(moved);
        const events = await store.listTaskEvents(task.id);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          taskId: task.id,
          guildId: task.guildId,
          actorId: 'confirmer-7',
          kind: 'confirmed',
          outcome: 'in_progress',
          detail: { via: 'button' },
        });
        expect(events[0]?.createdAt).toBeInstanceOf(Date);
      });

      it('does not confirm a task that is no longer pending, and records nothing', async () => {
        const task = await store.createTask(newTask());
        await store.transitionTask(task.id, { from: ['pending_confirmation'], to: 'rejected', event: 'rejected', actorId: 'a' });
        const late = await store.transitionTask(task.id, { from: ['pending_confirmation'], to: 'in_progress', event: 'confirmed', actorId: 'b' });
        expect(late).toBeUndefined();
        expect((await store.getTask(task.id))?.status).toBe('rejected');
        expect((await store.listTaskEvents(task.id)).map((event) => event.kind)).toEqual(['rejected']);
        expect(await store.transitionTask(uniqueId('task'), { from: ['pending_confirmation'], to: 'in_progress', event: 'confirmed' })).toBeUndefined();
      });

      it('clears a field a transition patch sets to null and keeps those it leaves out', async () => {
        const task = await store.createTask(newTask({ status: 'in_progress' }));
        await store.updateTask(task.id, { lastError: 'rate limited', julesSessionId: 'sessions/9' });
        const done = await store.transitionTask(task.id, {
          from: ['in_progress'],
          to: 'completed',
          event: 'completed',
          patch: { lastError: null, prUrl: 'https://github.com/acme/widgets/pull/3' },
          outcome: 'pr_opened',
        });
        expect(done).toMatchObject({ status: 'completed', lastError: null, julesSessionId: 'sessions/9', prUrl: 'https://github.com/acme/widgets/pull/3' });
        expect((await store.listTaskEvents(task.id))[0]).toMatchObject({ actorId: null, outcome: 'pr_opened' });
      });

      it('records events without a transition, once per dedupe key, in order', async () => {
        const task = await store.createTask(newTask({ status: 'in_progress' }));
        expect(await store.recordTaskEvent({ taskId: task.id, kind: 'jules_state_changed', outcome: 'PLANNING', dedupeKey: 'state:PLANNING' })).toBe(true);
        expect(await store.recordTaskEvent({ taskId: task.id, kind: 'jules_state_changed', outcome: 'PLANNING', dedupeKey: 'state:PLANNING' })).toBe(false);
        expect(await store.recordTaskEvent({ taskId: task.id, kind: 'message_to_jules', actorId: 'member-1', detail: { length: 42 } })).toBe(true);
        const events = await store.listTaskEvents(task.id);
        expect(events.map((event) => [event.kind, event.guildId, event.actorId])).toEqual([
          ['jules_state_changed', task.guildId, null],
          ['message_to_jules', task.guildId, 'member-1'],
        ]);
        expect(events[0]!.id).toBeLessThan(events[1]!.id);
      });

      it('records a refusal for a request that never became a task, under the guild given', async () => {
        const taskId = uniqueId('task');
        const guildId = uniqueId('guild');
        await store.recordTaskEvent({ taskId, guildId, kind: 'refused', actorId: 'member-2', outcome: 'not_allowed' });
        expect(await store.listTaskEvents(taskId)).toEqual([expect.objectContaining({ guildId, kind: 'refused', outcome: 'not_allowed' })]);
      });

      it('refuses an event whose detail carries a prompt, a message or a key', async () => {
        const task = await store.createTask(newTask());
        for (const field of ['prompt', 'message', 'key', 'token']) {
          await expect(store.recordTaskEvent({ taskId: task.id, kind: 'message_to_jules', detail: { [field]: 'x' } })).rejects.toMatchObject({ code: '23514' });
        }
        expect(await store.listTaskEvents(task.id)).toEqual([]);
      });
    });

    describe('usage', () => {
      it('counts a guild’s tasks, PRs opened and merged by requester since a time, and the median time to a PR', async () => {
        const guildId = uniqueId('guild');
        const [ann, bob] = [uniqueId('user'), uniqueId('user')];
        const since = new Date(Date.now() - 60_000);
        const made = async (requesterId: string, pr: 'none' | 'open' | 'merged', keySource: 'guild' | 'personal' = 'guild') => {
          const task = await store.createTask(newTask({ guildId, requesterId, keySource, status: 'in_progress' }));
          if (pr === 'none') return task;
          await store.transitionTask(task.id, { from: ['in_progress'], to: 'completed', event: 'completed', patch: { prUrl: 'https://github.com/acme/widgets/pull/1' } });
          if (pr === 'merged') await store.updateTask(task.id, { prState: 'merged', mergedAt: new Date().toISOString() });
          return task;
        };
        await made(ann, 'merged');
        await made(ann, 'open', 'personal');
        await made(ann, 'none');
        await made(bob, 'open');
        // Another guild's task counts nowhere here.
        await store.createTask(newTask({ requesterId: ann }));
        const usage = await store.guildUsage(guildId, since);
        expect(usage.members.map(({ medianSecondsToPr: _median, ...rest }) => rest)).toEqual([
          { requesterId: ann, tasks: 3, prsOpened: 2, prsMerged: 1, personalKey: true },
          { requesterId: bob, tasks: 1, prsOpened: 1, prsMerged: 0, personalKey: false },
        ]);
        expect(usage.total).toMatchObject({ tasks: 4, prsOpened: 3, prsMerged: 1 });
        expect(usage.total.medianSecondsToPr).toBeGreaterThanOrEqual(0);
        expect(usage.total.medianSecondsToPr).toBeLessThan(60);
        expect(await store.guildUsage(guildId, new Date(Date.now() + 60_000))).toEqual({ members: [], total: { tasks: 0, prsOpened: 0, prsMerged: 0, medianSecondsToPr: null } });
      });

      it('counts the sessions each key owner took in the rolling day, as the daily limit does', async () => {
        const [taken, idle] = [`user:${uniqueId('u')}`, `guild:${uniqueId('g')}`] as const;
        const tasks = [await store.createTask(newTask()), await store.createTask(newTask())];
        for (const task of tasks) expect(await store.tryAcquireSessionSlot(taken, task.id, 5)).toEqual({ acquired: true });
        await store.releaseSessionSlot(tasks[0]!.id);
        const used = await store.keySessionsUsed([taken, idle]);
        expect(Object.fromEntries(used)).toEqual({ [taken]: 2, [idle]: 0 });
        expect((await store.keySessionsUsed([taken], new Date(Date.now() + 2 * 86_400_000))).get(taken)).toBe(0);
      });
    });

    describe('quotas', () => {
      it('has the free plan’s quotas for a guild that set none, and its own once it sets some', async () => {
        const guildId = uniqueId('guild');
        expect(await store.getGuildQuotas(guildId)).toEqual({
          userRequestsPerHour: 5,
          guildRequestsPerDay: 50,
          concurrentSessionsPerKey: 3,
          dailySessionsPerKey: 15,
          customised: false,
        });
        expect(await store.setGuildQuotas(guildId, { userRequestsPerHour: 2, concurrentSessionsPerKey: 15 })).toEqual({
          userRequestsPerHour: 2,
          guildRequestsPerDay: 50,
          concurrentSessionsPerKey: 15,
          dailySessionsPerKey: 15,
          customised: true,
        });
        expect(await store.setGuildQuotas(guildId, { guildRequestsPerDay: 10 })).toMatchObject({ userRequestsPerHour: 2, guildRequestsPerDay: 10 });
        expect(await store.setGuildQuotas(guildId, { userRequestsPerHour: null, concurrentSessionsPerKey: null, guildRequestsPerDay: null })).toMatchObject({
          userRequestsPerHour: 5,
          customised: false,
        });
        await expect(store.setGuildQuotas(guildId, { dailySessionsPerKey: 0 })).rejects.toMatchObject({ code: '23514' });
      });

      it('refuses a member’s request over the hourly limit and says when to try again', async () => {
        const guildId = uniqueId('guild');
        const userId = uniqueId('user');
        await store.setGuildQuotas(guildId, { userRequestsPerHour: 2 });
        expect(await store.checkRequestQuota(guildId, userId)).toEqual({ allowed: true });
        const first = await store.createTask(newTask({ guildId, requesterId: userId }));
        await store.createTask(newTask({ guildId, requesterId: userId }));
        const decision = await store.checkRequestQuota(guildId, userId);
        expect(decision).toEqual({ allowed: false, limit: 'user_hourly', quota: 2, retryAt: new Date(first.createdAt.getTime() + 3_600_000) });
        expect(await store.checkRequestQuota(guildId, uniqueId('user'))).toEqual({ allowed: true });
      });

      it('queues Jules sessions first come first served within the concurrency limit', async () => {
        const owner = `guild:${uniqueId('g')}` as const;
        const [a, b, c] = [uniqueId('task'), uniqueId('task'), uniqueId('task')];
        await store.enqueueSessionSlot(owner, a);
        await store.enqueueSessionSlot(owner, b);
        await store.enqueueSessionSlot(owner, b); // idempotent
        expect(await store.tryAcquireSessionSlot(owner, b, 1)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(owner, a, 1)).toEqual({ acquired: true });
        expect(await store.tryAcquireSessionSlot(owner, a, 1)).toEqual({ acquired: true });
        expect(await store.tryAcquireSessionSlot(owner, c, 1)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(owner, b, 1)).toEqual({ acquired: false, position: 1, waitingFor: 'concurrent' });
        expect(await store.releaseSessionSlot(a)).toBe(true);
        expect(await store.releaseSessionSlot(a)).toBe(false);
        expect(await store.tryAcquireSessionSlot(owner, b, { concurrent: 1, daily: 15 })).toEqual({ acquired: true });
      });
    });
  });
}
