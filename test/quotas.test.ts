import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/store/migrate';
import { createPostgresStore } from '../src/store/postgres-store';
import { createPgExecutor, type SqlExecutor } from '../src/store/sql-executor';
import type { KeyOwner, Store } from '../src/store/store';
import { startPostgres } from './helpers/postgres';
import { newTask, uniqueId } from './helpers/store-behaviour';
import { migratedExecutor } from './helpers/migrated-store';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Runs the quota behaviours on one engine; `concurrent` adds the races that need a real server. */
function describeQuotasOn(engine: string, openExecutor: () => Promise<SqlExecutor>, concurrent: boolean): void {
  describe(`quotas on ${engine}`, () => {
    let executor: SqlExecutor;
    let store: Store;
    const ready = (async () => {
      executor = await openExecutor();
      await migrate(executor);
      store = createPostgresStore(executor);
    })();
    afterAll(async () => {
      await ready;
      await executor.close();
    });
    const owner = (): KeyOwner => `user:${uniqueId('u')}`;

    describe('requests', () => {
      it('lets a member try again exactly when their oldest request of the hour leaves the window', async () => {
        await ready;
        const guildId = uniqueId('guild');
        const userId = uniqueId('user');
        const made = [];
        for (let i = 0; i < 5; i += 1) made.push(await store.createTask(newTask({ guildId, requesterId: userId })));
        const now = new Date(made[4]!.createdAt.getTime() + 1000);
        const refused = await store.checkRequestQuota(guildId, userId, now);
        expect(refused).toEqual({ allowed: false, limit: 'user_hourly', quota: 5, retryAt: new Date(made[0]!.createdAt.getTime() + HOUR) });
        if (refused.allowed) throw new Error('unreachable');
        expect(await store.checkRequestQuota(guildId, userId, new Date(refused.retryAt.getTime() + 1))).toEqual({ allowed: true });
        // One millisecond before, still refused: the window is exactly one hour.
        expect((await store.checkRequestQuota(guildId, userId, new Date(refused.retryAt.getTime() - 1))).allowed).toBe(false);
      });

      it('names the later of two counted requests when the limit was lowered below the count', async () => {
        await ready;
        const guildId = uniqueId('guild');
        const userId = uniqueId('user');
        const made = [];
        for (let i = 0; i < 3; i += 1) made.push(await store.createTask(newTask({ guildId, requesterId: userId })));
        await store.setGuildQuotas(guildId, { userRequestsPerHour: 2 });
        // Three in the window, two allowed: the request may go once two have left, i.e. the second oldest.
        expect(await store.checkRequestQuota(guildId, userId, new Date(made[2]!.createdAt.getTime() + 1))).toMatchObject({
          limit: 'user_hourly',
          retryAt: new Date(made[1]!.createdAt.getTime() + HOUR),
        });
      });

      it('refuses the whole guild over its daily limit, whoever asks', async () => {
        await ready;
        const guildId = uniqueId('guild');
        await store.setGuildQuotas(guildId, { guildRequestsPerDay: 3 });
        const made = [];
        for (let i = 0; i < 3; i += 1) made.push(await store.createTask(newTask({ guildId })));
        const decision = await store.checkRequestQuota(guildId, uniqueId('newcomer'), new Date(made[2]!.createdAt.getTime() + 1));
        expect(decision).toEqual({ allowed: false, limit: 'guild_daily', quota: 3, retryAt: new Date(made[0]!.createdAt.getTime() + DAY) });
        expect((await store.checkRequestQuota(uniqueId('other-guild'), uniqueId('newcomer'))).allowed).toBe(true);
      });

      it('records a task within quota, refuses one over it without recording it, and lets a retried admission through', async () => {
        await ready;
        const guildId = uniqueId('guild');
        const userId = uniqueId('user');
        await store.setGuildQuotas(guildId, { userRequestsPerHour: 1 });
        const first = newTask({ guildId, requesterId: userId });
        const admitted = await store.createTaskWithinQuota(first);
        expect(admitted).toMatchObject({ allowed: true, task: { id: first.id, status: 'pending_confirmation' } });
        const second = newTask({ guildId, requesterId: userId });
        const refused = await store.createTaskWithinQuota(second);
        expect(refused).toMatchObject({ allowed: false, limit: 'user_hourly', quota: 1 });
        expect(await store.getTask(second.id)).toBeUndefined();
        expect(await store.createTaskWithinQuota(first)).toMatchObject({ allowed: true, task: { id: first.id } });
        expect(await store.listTasks({ guildId })).toHaveLength(1);
      });
    });

    describe('Jules sessions', () => {
      it('hands out slots in arrival order and tells each waiting task its place', async () => {
        await ready;
        const key = owner();
        const tasks = [uniqueId('t'), uniqueId('t'), uniqueId('t'), uniqueId('t'), uniqueId('t')];
        for (const task of tasks) await store.enqueueSessionSlot(key, task);
        expect(await store.tryAcquireSessionSlot(key, tasks[4]!, 2)).toEqual({ acquired: false, position: 5, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(key, tasks[0]!, 2)).toEqual({ acquired: true });
        expect(await store.tryAcquireSessionSlot(key, tasks[2]!, 2)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(key, tasks[1]!, 2)).toEqual({ acquired: true });
        expect(await store.tryAcquireSessionSlot(key, tasks[2]!, 2)).toEqual({ acquired: false, position: 1, waitingFor: 'concurrent' });
        // Another owner's queue is its own.
        expect(await store.tryAcquireSessionSlot(owner(), uniqueId('t'), 2)).toEqual({ acquired: true });
        // A task that gives up its place lets the next one move up.
        expect(await store.releaseSessionSlot(tasks[2]!)).toBe(true);
        expect(await store.tryAcquireSessionSlot(key, tasks[4]!, 2)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        await store.releaseSessionSlot(tasks[0]!);
        expect(await store.tryAcquireSessionSlot(key, tasks[3]!, 2)).toEqual({ acquired: true });
      });

      it('goes in the order the tasks were admitted, counting a running task admitted earlier that has not reached the queue yet', async () => {
        await ready;
        const requesterId = uniqueId('u');
        const key: KeyOwner = `user:${requesterId}`;
        const mine = (status: 'in_progress' | 'pending_confirmation') => store.createTask(newTask({ requesterId, keySource: 'personal', status }));
        const [first, second, third, unconfirmed] = [await mine('in_progress'), await mine('in_progress'), await mine('in_progress'), await mine('pending_confirmation')];
        // Admission times a second apart, whatever the engine's clock resolution.
        const admittedAt = (task: { id: string }, seconds: number) => executor.query('update public.tasks set created_at = $2 where id = $1', [task.id, new Date(Date.UTC(2026, 11, 1, 9, 0, seconds))]);
        await admittedAt(first, 1);
        await admittedAt(unconfirmed, 2);
        await admittedAt(second, 3);
        await admittedAt(third, 4);
        const at = new Date(Date.UTC(2026, 11, 1, 9, 0, 30));
        // The third reaches the queue first: the two running tasks admitted before it are ahead, on their way; the one
        // still waiting for its confirmer is not.
        expect(await store.tryAcquireSessionSlot(key, third.id, 1, at)).toEqual({ acquired: false, position: 3, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(key, second.id, 1, at)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(key, first.id, 1, at)).toEqual({ acquired: true });
        expect(await store.tryAcquireSessionSlot(key, third.id, 1, at)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        // Confirmed now, the older request takes its place by admission time, ahead of the later ones.
        await store.updateTask(unconfirmed.id, { status: 'in_progress' });
        expect(await store.tryAcquireSessionSlot(key, unconfirmed.id, 1, at)).toEqual({ acquired: false, position: 1, waitingFor: 'concurrent' });
        expect(await store.tryAcquireSessionSlot(key, second.id, 1, at)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        await store.updateTask(first.id, { status: 'completed', endedAt: new Date().toISOString() });
        expect(await store.tryAcquireSessionSlot(key, second.id, 1, at)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(key, unconfirmed.id, 1, at)).toEqual({ acquired: true });
      });

      it('lets a burst admitted at once take every slot the limit allows, whichever of its tasks asks first', async () => {
        await ready;
        const requesterId = uniqueId('u');
        const key: KeyOwner = `user:${requesterId}`;
        const burst = [];
        for (let i = 0; i < 4; i += 1) burst.push(await store.createTask(newTask({ requesterId, keySource: 'personal', status: 'in_progress' })));
        for (const [i, task] of burst.entries()) await executor.query('update public.tasks set created_at = $2 where id = $1', [task.id, new Date(Date.UTC(2026, 11, 1, 9, 0, i))]);
        const at = new Date(Date.UTC(2026, 11, 1, 9, 0, 30));
        // Three slots: the third asks first, with two ahead of it on their way and a slot left for each.
        expect(await store.tryAcquireSessionSlot(key, burst[2]!.id, 3, at)).toEqual({ acquired: true });
        // The fourth would take the slot the first two still need: it waits, third in line.
        expect(await store.tryAcquireSessionSlot(key, burst[3]!.id, 3, at)).toEqual({ acquired: false, position: 3, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(key, burst[1]!.id, 3, at)).toEqual({ acquired: true });
        expect(await store.tryAcquireSessionSlot(key, burst[0]!.id, 3, at)).toEqual({ acquired: true });
        expect(await store.tryAcquireSessionSlot(key, burst[3]!.id, 3, at)).toEqual({ acquired: false, position: 1, waitingFor: 'concurrent' });
        // With the day's cap, the same: a slot of the day is kept for each task ahead.
        const daily = { concurrent: 10, daily: 4 };
        const later = [];
        for (let i = 0; i < 3; i += 1) later.push(await store.createTask(newTask({ requesterId, keySource: 'personal', status: 'in_progress' })));
        for (const [i, task] of later.entries()) await executor.query('update public.tasks set created_at = $2 where id = $1', [task.id, new Date(Date.UTC(2026, 11, 1, 9, 0, 10 + i))]);
        expect(await store.tryAcquireSessionSlot(key, later[1]!.id, daily, at)).toMatchObject({ acquired: false, position: 3, waitingFor: 'queue' });
      });

      it('does not hold the queue for a running task that never reached it within two minutes (its workflow never started)', async () => {
        await ready;
        const requesterId = uniqueId('u');
        const key: KeyOwner = `user:${requesterId}`;
        const orphan = await store.createTask(newTask({ requesterId, keySource: 'personal', status: 'in_progress' }));
        const next = await store.createTask(newTask({ requesterId, keySource: 'personal', status: 'in_progress' }));
        await executor.query('update public.tasks set created_at = $2 where id = $1', [orphan.id, new Date(Date.UTC(2026, 11, 1, 9, 0, 0))]);
        await executor.query('update public.tasks set created_at = $2 where id = $1', [next.id, new Date(Date.UTC(2026, 11, 1, 9, 0, 10))]);
        expect(await store.tryAcquireSessionSlot(key, next.id, 1, new Date(Date.UTC(2026, 11, 1, 9, 1, 0)))).toMatchObject({ acquired: false, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(key, next.id, 1, new Date(Date.UTC(2026, 11, 1, 9, 2, 1)))).toEqual({ acquired: true });
      });

      it('stops at the daily cap and says when the oldest session of the day ages out', async () => {
        await ready;
        const key = owner();
        const t0 = new Date('2026-11-21T08:00:00.000Z');
        const limits = { concurrent: 3, daily: 2 };
        const [a, b, c] = [uniqueId('t'), uniqueId('t'), uniqueId('t')];
        expect(await store.tryAcquireSessionSlot(key, a, limits, t0)).toEqual({ acquired: true });
        await store.releaseSessionSlot(a);
        expect(await store.tryAcquireSessionSlot(key, b, limits, new Date(t0.getTime() + HOUR))).toEqual({ acquired: true });
        await store.releaseSessionSlot(b);
        expect(await store.tryAcquireSessionSlot(key, c, limits, new Date(t0.getTime() + 2 * HOUR))).toEqual({
          acquired: false,
          position: 1,
          waitingFor: 'daily',
          retryAt: new Date(t0.getTime() + DAY),
        });
        expect(await store.tryAcquireSessionSlot(key, c, limits, new Date(t0.getTime() + DAY + 1))).toEqual({ acquired: true });
      });

      it('frees the slot of a task that ended without releasing it, and skips an ended task in line', async () => {
        await ready;
        const key = owner();
        const running = await store.createTask(newTask({ status: 'in_progress' }));
        const waiting = await store.createTask(newTask({ status: 'in_progress' }));
        const next = uniqueId('t');
        expect(await store.tryAcquireSessionSlot(key, running.id, 1)).toEqual({ acquired: true });
        await store.enqueueSessionSlot(key, waiting.id);
        expect(await store.tryAcquireSessionSlot(key, next, 1)).toMatchObject({ acquired: false, waitingFor: 'queue', position: 2 });
        // Its workflow was terminated, say, and the reconciler ended the row; the one in line was cancelled.
        await store.updateTask(running.id, { status: 'failed', endedAt: new Date().toISOString() });
        await store.updateTask(waiting.id, { status: 'cancelled', endedAt: new Date().toISOString() });
        expect(await store.tryAcquireSessionSlot(key, next, 1)).toEqual({ acquired: true });
      });

      it('decides who holds a slot by whether the task ended, not by its status', async () => {
        await ready;
        const key = owner();
        // Stalled is an alert while the task runs: it keeps its slot. Stalled twice is an end: it does not.
        const alerted = await store.createTask(newTask({ status: 'stalled' }));
        const next = uniqueId('t');
        expect(await store.tryAcquireSessionSlot(key, alerted.id, 1)).toEqual({ acquired: true });
        expect(await store.tryAcquireSessionSlot(key, next, 1)).toMatchObject({ acquired: false, waitingFor: 'concurrent' });
        // A row with a final status whose end was never written still holds: only ended_at frees it.
        await store.updateTask(alerted.id, { status: 'failed' });
        expect(await store.tryAcquireSessionSlot(key, next, 1)).toMatchObject({ acquired: false, waitingFor: 'concurrent' });
        await store.updateTask(alerted.id, { status: 'stalled', endedAt: new Date().toISOString() });
        expect(await store.tryAcquireSessionSlot(key, next, 1)).toEqual({ acquired: true });
      });

      it('releases idempotently, and a task that asks again after releasing waits at the back', async () => {
        await ready;
        const key = owner();
        const [a, b] = [uniqueId('t'), uniqueId('t')];
        await store.tryAcquireSessionSlot(key, a, 1);
        await store.enqueueSessionSlot(key, b);
        expect(await store.releaseSessionSlot(a)).toBe(true);
        expect(await store.releaseSessionSlot(a)).toBe(false);
        expect(await store.releaseSessionSlot(uniqueId('never-queued'))).toBe(false);
        expect(await store.tryAcquireSessionSlot(key, a, 1)).toEqual({ acquired: false, position: 2, waitingFor: 'queue' });
        expect(await store.tryAcquireSessionSlot(key, b, 1)).toEqual({ acquired: true });
      });

      it('refuses a key owner that is neither user:<id> nor guild:<id>', async () => {
        await ready;
        await expect(store.enqueueSessionSlot('team:1' as KeyOwner, uniqueId('t'))).rejects.toMatchObject({ code: '23514' });
      });
    });

    if (concurrent) {
      describe('under concurrency', () => {
        it('gives exactly 3 slots to 20 tasks asking at the same moment with a limit of 3', async () => {
          await ready;
          for (let round = 0; round < 5; round += 1) {
            const key = owner();
            const tasks = Array.from({ length: 20 }, () => uniqueId('t'));
            const decisions = await Promise.all(tasks.map((task) => store.tryAcquireSessionSlot(key, task, 3)));
            expect(decisions.filter((decision) => decision.acquired)).toHaveLength(3);
            const [held] = await executor.query<{ n: number }>(
              'select count(*)::int as n from session_slots where key_owner = $1 and acquired_at is not null',
              [key],
            );
            expect(held?.n).toBe(3);
          }
        });

        it('never lets more than 3 of 20 concurrent workers hold a slot, and serves them all', async () => {
          await ready;
          const key = owner();
          const tasks = Array.from({ length: 20 }, () => uniqueId('t'));
          for (const task of tasks) await store.enqueueSessionSlot(key, task);
          let holding = 0;
          let most = 0;
          const order: string[] = [];
          await Promise.all(
            tasks.map(async (task) => {
              for (;;) {
                const decision = await store.tryAcquireSessionSlot(key, task, 3);
                if (decision.acquired) break;
                await new Promise((resolve) => setTimeout(resolve, 5));
              }
              holding += 1;
              most = Math.max(most, holding);
              order.push(task);
              await new Promise((resolve) => setTimeout(resolve, 10));
              holding -= 1;
              await store.releaseSessionSlot(task);
            }),
          );
          expect(most).toBe(3);
          // Arrival order itself is checked step by step above; here every task got its turn.
          expect([...order].sort()).toEqual([...tasks].sort());
        });

        it('records no more requests than the hourly limit when a member fires 12 at once', async () => {
          await ready;
          const guildId = uniqueId('guild');
          const userId = uniqueId('user');
          const decisions = await Promise.all(
            Array.from({ length: 12 }, () => store.createTaskWithinQuota(newTask({ guildId, requesterId: userId }))),
          );
          expect(decisions.filter((decision) => decision.allowed)).toHaveLength(5);
          expect(await store.listTasks({ guildId })).toHaveLength(5);
          expect(decisions.find((decision) => !decision.allowed)).toMatchObject({ limit: 'user_hourly', quota: 5 });
        });
      });
    }
  });
}

describeQuotasOn('PGlite in memory', () => migratedExecutor(), false);

const server = await startPostgres();
afterAll(() => server.stop());
describeQuotasOn(`a PostgreSQL server (${server.source})`, async () => createPgExecutor(await server.createDatabase(), { maxConnections: 25 }), true);
