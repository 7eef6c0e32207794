import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_ITEM_STATUSES, PLAN_RUN_STATUSES, type PlanItemStatus } from '../../src/shared/plan';
import { planItemTaskId } from '../../src/shared/ids';
import { PlanItemNotFoundError, PlanRunNotFoundError } from '../../src/store/errors';
import type { NewPlanItem, NewPlanRun, Store } from '../../src/store/store';
import { uniqueId, type StoreUnderTest } from './store-behaviour';

let runSequence = 0;
/** A run id of the typed shape, unique across tests sharing a database (`plan-…`, lowercase, digits and dashes). */
export function uniqueRunId(repoName = 'widgets'): string {
  runSequence += 1;
  return `plan-20261201-${repoName}-${process.pid}-${String(runSequence).padStart(6, '0')}`;
}

/** A new plan run of a guild and repository of its own unless the overrides say otherwise. */
export function newPlanRun(overrides: Partial<NewPlanRun> = {}): NewPlanRun {
  return {
    id: uniqueRunId(),
    guildId: uniqueId('guild'),
    channelId: 'channel-1',
    repo: `acme/${uniqueId('repo')}`,
    label: 'ready',
    proposedBy: uniqueId('member'),
    keySource: 'guild',
    ...overrides,
  };
}

/** Proposed items for issues `numbers`, in that order. */
export function newPlanItems(repo: string, numbers: readonly number[]): NewPlanItem[] {
  return numbers.map((issueNumber, position) => ({
    issueNumber,
    position,
    title: `Issue ${issueNumber}`,
    issueUrl: `https://github.com/${repo}/issues/${issueNumber}`,
  }));
}

/**
 * The daily plan's part of the Store port (runs, items, the lookups `/plan` and the webhook make, its audit
 * events), for any adapter over any engine, like describeStoreBehaviour.
 */
export function describePlanStoreBehaviour(engine: string, open: () => Promise<StoreUnderTest>): void {
  describe(`the plan store on ${engine}`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await subject.close();
    });

    describe('plan runs', () => {
      it('records a proposed run with empty progress, and returns it unchanged when proposed again', async () => {
        const input = newPlanRun();
        const run = await store.createPlanRun(input);
        expect(run).toEqual({
          ...input,
          status: 'proposed',
          approvedBy: null,
          cardMessageId: null,
          threadId: null,
          revision: 0,
          createdAt: expect.any(Date),
          updatedAt: expect.any(Date),
          approvedAt: null,
          endedAt: null,
        });
        expect(await store.getPlanRun(input.id)).toEqual(run);
        await store.updatePlanRun(input.id, { cardMessageId: 'card-1' });
        const again = await store.createPlanRun({ ...input, label: 'other', proposedBy: null });
        expect(again).toMatchObject({ label: 'ready', proposedBy: input.proposedBy, cardMessageId: 'card-1' });
        expect(again.createdAt).toEqual(run.createdAt);
      });

      it('records a scheduled proposal with no proposer and no key chosen yet', async () => {
        const run = await store.createPlanRun(newPlanRun({ proposedBy: null, keySource: null }));
        expect(run).toMatchObject({ proposedBy: null, keySource: null });
      });

      it('has no run for an unknown id', async () => {
        expect(await store.getPlanRun(uniqueRunId())).toBeUndefined();
      });

      it('refuses a run id, repository, status or key source it does not know, recording nothing', async () => {
        const bad: Partial<NewPlanRun>[] = [{ id: 'task-123' }, { id: 'plan-With Spaces' }, { repo: 'https://github.com/acme/widgets' }, { keySource: 'stolen' as never }];
        for (const overrides of bad) {
          const run = newPlanRun(overrides);
          await expect(store.createPlanRun(run), JSON.stringify(overrides)).rejects.toMatchObject({ code: '23514' });
          expect(await store.getPlanRun(run.id)).toBeUndefined();
        }
        const run = await store.createPlanRun(newPlanRun());
        await expect(store.updatePlanRun(run.id, { status: 'shipping' as never })).rejects.toMatchObject({ code: '23514' });
        expect((await store.getPlanRun(run.id))?.status).toBe('proposed');
      });

      it('accepts every run status the plan knows', async () => {
        const run = await store.createPlanRun(newPlanRun());
        for (const status of PLAN_RUN_STATUSES) expect((await store.updatePlanRun(run.id, { status })).status).toBe(status);
      });

      it('changes only the fields a patch sets, clears those set to null, and bumps updated_at', async () => {
        const created = await store.createPlanRun(newPlanRun());
        const approvedAt = new Date('2026-12-01T09:30:00.000Z');
        const approved = await store.updatePlanRun(created.id, {
          status: 'running',
          approvedBy: 'confirmer-1',
          keySource: 'personal',
          cardMessageId: 'card-1',
          threadId: 'thread-1',
          revision: 2,
          approvedAt: approvedAt.toISOString(),
        });
        expect(approved).toMatchObject({ status: 'running', approvedBy: 'confirmer-1', keySource: 'personal', cardMessageId: 'card-1', threadId: 'thread-1', revision: 2, approvedAt, endedAt: null, label: created.label });
        const [bumped] = await subject.sql.query<{ later: boolean }>('select updated_at > created_at as later from plan_runs where id = $1', [created.id]);
        expect(bumped?.later).toBe(true);

        const ended = await store.updatePlanRun(created.id, { status: 'completed', threadId: null, endedAt: '2026-12-01T12:00:00.000Z', approvedBy: undefined });
        expect(ended).toMatchObject({ status: 'completed', threadId: null, approvedBy: 'confirmer-1', cardMessageId: 'card-1', revision: 2 });
        expect(ended.endedAt?.toISOString()).toBe('2026-12-01T12:00:00.000Z');
        expect(await store.getPlanRun(created.id)).toEqual(ended);
        // An empty patch changes nothing but still finds the run.
        expect(await store.updatePlanRun(created.id, {})).toMatchObject({ status: 'completed', revision: 2 });
      });

      it('refuses to update a run that does not exist', async () => {
        const id = uniqueRunId();
        const failure = await store.updatePlanRun(id, { status: 'cancelled' }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(PlanRunNotFoundError);
        expect(failure).toMatchObject({ code: 'PLAN_RUN_NOT_FOUND', status: 404, runId: id });
      });

      it('lists a guild’s runs newest first, all or open only, within the limit', async () => {
        const guildId = uniqueId('guild');
        const made: string[] = [];
        for (let i = 0; i < 4; i += 1) made.push((await store.createPlanRun(newPlanRun({ guildId }))).id);
        await store.createPlanRun(newPlanRun()); // another guild
        await store.updatePlanRun(made[1]!, { status: 'cancelled', endedAt: new Date().toISOString() });
        await store.updatePlanRun(made[3]!, { status: 'expired', endedAt: new Date().toISOString() });

        expect((await store.listPlanRuns({ guildId })).map((run) => run.id)).toEqual([...made].reverse());
        expect((await store.listPlanRuns({ guildId, open: true })).map((run) => run.id)).toEqual([made[2], made[0]]);
        expect((await store.listPlanRuns({ guildId, limit: 2 })).map((run) => run.id)).toEqual([made[3], made[2]]);
        expect(await store.listPlanRuns({ guildId, limit: 0 })).toHaveLength(1);
        expect(await store.listPlanRuns({ guildId: uniqueId('guild') })).toEqual([]);
      });

      it('finds a guild’s run ids by what a member has typed so far, newest first', async () => {
        const guildId = uniqueId('guild');
        const older = await store.createPlanRun(newPlanRun({ guildId, id: uniqueRunId('widgets') }));
        const newer = await store.createPlanRun(newPlanRun({ guildId, id: uniqueRunId('widgets') }));
        const gadgets = await store.createPlanRun(newPlanRun({ guildId, id: uniqueRunId('gadgets') }));
        await store.createPlanRun(newPlanRun({ id: uniqueRunId('widgets') })); // another guild's

        // Runs made in one clock tick sort by id, so only runs of one repository are compared in order.
        expect((await store.searchPlanRunIds(guildId, '', 25)).sort()).toEqual([gadgets.id, newer.id, older.id].sort());
        expect(await store.searchPlanRunIds(guildId, 'plan-20261201-widgets', 25)).toEqual([newer.id, older.id]);
        expect(await store.searchPlanRunIds(guildId, 'plan-20261201-widgets', 1)).toEqual([newer.id]);
        expect(await store.searchPlanRunIds(guildId, ' PLAN-20261201-GADGETS', 25)).toEqual([gadgets.id]);
        expect(await store.searchPlanRunIds(guildId, older.id, 25)).toEqual([older.id]);
        // What no run id could start with finds nothing, wildcards included.
        expect(await store.searchPlanRunIds(guildId, '%', 25)).toEqual([]);
        expect(await store.searchPlanRunIds(guildId, 'plan_', 25)).toEqual([]);
        expect(await store.searchPlanRunIds(guildId, 'task-', 25)).toEqual([]);
      });
    });

    describe('plan items', () => {
      it('saves the proposed list as planned items in issue order, and saving it again changes nothing', async () => {
        const run = await store.createPlanRun(newPlanRun());
        const proposed = newPlanItems(run.repo, [42, 7, 19]);
        const saved = await store.savePlanItems(run.id, proposed);
        expect(saved.map((item) => [item.issueNumber, item.position, item.status])).toEqual([
          [42, 0, 'planned'],
          [7, 1, 'planned'],
          [19, 2, 'planned'],
        ]);
        expect(saved[0]).toEqual({
          runId: run.id,
          issueNumber: 42,
          position: 0,
          title: 'Issue 42',
          issueUrl: `https://github.com/${run.repo}/issues/42`,
          status: 'planned',
          taskId: null,
          prNumber: null,
          prUrl: null,
          prHeadSha: null,
          checksState: null,
          fixAttempts: 0,
          reason: null,
          mergedAt: null,
          createdAt: expect.any(Date),
          updatedAt: expect.any(Date),
        });
        expect(await store.savePlanItems(run.id, proposed)).toEqual(saved);
        expect(await store.listPlanItems(run.id)).toEqual(saved);
        expect(await store.savePlanItems(run.id, [])).toEqual(saved);
      });

      it('never sets a started item back when the list is saved again, and updates the proposal’s fields', async () => {
        const run = await store.createPlanRun(newPlanRun());
        await store.savePlanItems(run.id, newPlanItems(run.repo, [1, 2]));
        await store.updatePlanItem(run.id, 1, { status: 'in_jules', taskId: planItemTaskId(run.id, 1) });
        await store.updatePlanItem(run.id, 2, { status: 'dropped', reason: 'dropped by a member' });
        const again = await store.savePlanItems(run.id, [
          { issueNumber: 2, position: 0, title: 'Issue 2, renamed', issueUrl: `https://github.com/${run.repo}/issues/2` },
          { issueNumber: 1, position: 1, title: 'Issue 1', issueUrl: `https://github.com/${run.repo}/issues/1` },
        ]);
        expect(again.map((item) => [item.issueNumber, item.position, item.title, item.status, item.taskId])).toEqual([
          [2, 0, 'Issue 2, renamed', 'dropped', null],
          [1, 1, 'Issue 1', 'in_jules', planItemTaskId(run.id, 1)],
        ]);
      });

      it('saves a list whole or not at all, and refuses items of a run that does not exist', async () => {
        const run = await store.createPlanRun(newPlanRun());
        const good = newPlanItems(run.repo, [1, 2]);
        await expect(store.savePlanItems(run.id, [...good, { ...good[0]!, issueNumber: 0 }])).rejects.toMatchObject({ code: '23514' });
        await expect(store.savePlanItems(run.id, [...good, { ...good[0]!, issueUrl: 'javascript:alert(1)', issueNumber: 3 }])).rejects.toMatchObject({ code: '23514' });
        await expect(store.savePlanItems(run.id, [...good, good[0]!])).rejects.toThrow(); // one issue twice
        expect(await store.listPlanItems(run.id)).toEqual([]);
        await expect(store.savePlanItems(uniqueRunId(), good)).rejects.toMatchObject({ code: '23503' });
      });

      it('changes only the fields an item patch sets, clears those set to null, and refuses a status it does not know', async () => {
        const run = await store.createPlanRun(newPlanRun());
        await store.savePlanItems(run.id, newPlanItems(run.repo, [5]));
        const taskId = planItemTaskId(run.id, 5);
        const red = await store.updatePlanItem(run.id, 5, {
          status: 'red',
          taskId,
          prNumber: 31,
          prUrl: `https://github.com/${run.repo}/pull/31`,
          prHeadSha: 'abc123',
          checksState: 'failed',
          fixAttempts: 1,
          reason: 'lint failed',
        });
        expect(red).toMatchObject({ status: 'red', taskId, prNumber: 31, prHeadSha: 'abc123', checksState: 'failed', fixAttempts: 1, reason: 'lint failed', title: 'Issue 5' });
        const mergedAt = new Date('2026-12-01T15:00:00.000Z');
        const merged = await store.updatePlanItem(run.id, 5, { status: 'merged', checksState: 'passed', reason: null, mergedAt: mergedAt.toISOString(), prUrl: undefined });
        expect(merged).toMatchObject({ status: 'merged', checksState: 'passed', reason: null, mergedAt, prUrl: `https://github.com/${run.repo}/pull/31`, fixAttempts: 1 });
        expect(merged.updatedAt.getTime()).toBeGreaterThanOrEqual(red.updatedAt.getTime());
        await expect(store.updatePlanItem(run.id, 5, { status: 'shipped' as never })).rejects.toMatchObject({ code: '23514' });
        await expect(store.updatePlanItem(run.id, 5, { reason: 'x'.repeat(501) })).rejects.toMatchObject({ code: '23514' });
        expect(await store.listPlanItems(run.id)).toEqual([merged]);
      });

      it('accepts every item status the plan knows', async () => {
        const run = await store.createPlanRun(newPlanRun());
        await store.savePlanItems(run.id, newPlanItems(run.repo, [1]));
        for (const status of PLAN_ITEM_STATUSES) expect((await store.updatePlanItem(run.id, 1, { status })).status).toBe(status);
      });

      it('refuses to update an item the run does not have', async () => {
        const run = await store.createPlanRun(newPlanRun());
        await store.savePlanItems(run.id, newPlanItems(run.repo, [1]));
        const failure = await store.updatePlanItem(run.id, 2, { status: 'queued' }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(PlanItemNotFoundError);
        expect(failure).toMatchObject({ code: 'PLAN_ITEM_NOT_FOUND', status: 404, runId: run.id, issueNumber: 2 });
        await expect(store.updatePlanItem(uniqueRunId(), 1, {})).rejects.toBeInstanceOf(PlanItemNotFoundError);
      });

      it('removes a run’s items with the run', async () => {
        const run = await store.createPlanRun(newPlanRun());
        await store.savePlanItems(run.id, newPlanItems(run.repo, [1, 2]));
        await subject.sql.query('delete from plan_runs where id = $1', [run.id]);
        expect(await store.listPlanItems(run.id)).toEqual([]);
      });
    });

    describe('lookups', () => {
      it('names the issues open plans hold for a repository, leaving out dropped and failed items and ended runs', async () => {
        const repo = `acme/${uniqueId('repo')}`;
        const open = await store.createPlanRun(newPlanRun({ repo }));
        await store.savePlanItems(open.id, newPlanItems(repo, [3, 1, 2, 4, 9]));
        const statuses: [number, PlanItemStatus][] = [[2, 'dropped'], [4, 'failed'], [9, 'merged'], [3, 'in_jules']];
        for (const [issue, status] of statuses) await store.updatePlanItem(open.id, issue, { status });
        const running = await store.createPlanRun(newPlanRun({ repo, guildId: open.guildId }));
        await store.savePlanItems(running.id, newPlanItems(repo, [10, 3]));
        const ended = await store.createPlanRun(newPlanRun({ repo }));
        await store.savePlanItems(ended.id, newPlanItems(repo, [20]));
        await store.updatePlanRun(ended.id, { status: 'completed', endedAt: new Date().toISOString() });
        const elsewhere = await store.createPlanRun(newPlanRun({ repo: `${repo}-fork` }));
        await store.savePlanItems(elsewhere.id, newPlanItems(`${repo}-fork`, [30]));

        expect(await store.issuesInOpenPlans(repo)).toEqual([1, 3, 9, 10]);
        // GitHub names are case-insensitive.
        expect(await store.issuesInOpenPlans(repo.toUpperCase())).toEqual([1, 3, 9, 10]);
        expect(await store.issuesInOpenPlans(`acme/${uniqueId('repo')}`)).toEqual([]);
        // Once the run is cancelled, its issues may be planned again.
        await store.updatePlanRun(running.id, { status: 'cancelled', endedAt: new Date().toISOString() });
        expect(await store.issuesInOpenPlans(repo)).toEqual([1, 3, 9]);
      });

      it('saves an issue on one open run of a repository at a time, even when two runs save at the same moment', async () => {
        const repo = `acme/${uniqueId('repo')}`;
        const first = await store.createPlanRun(newPlanRun({ repo }));
        await store.savePlanItems(first.id, newPlanItems(repo, [1, 2, 3]));
        await store.updatePlanItem(first.id, 3, { status: 'dropped' });
        // Another run of the repository gets only what the first does not hold: not 1 or 2, but the dropped 3.
        const second = await store.createPlanRun(newPlanRun({ repo: repo.toUpperCase() }));
        expect((await store.savePlanItems(second.id, newPlanItems(repo, [2, 3, 4]))).map((item) => item.issueNumber)).toEqual([3, 4]);
        // Saving its own list again is still an update, and another repository's issue 1 is another issue.
        expect((await store.savePlanItems(first.id, newPlanItems(repo, [1, 2, 3]))).map((item) => item.issueNumber)).toEqual([1, 2, 3]);
        const fork = await store.createPlanRun(newPlanRun({ repo: `${repo}-fork` }));
        expect((await store.savePlanItems(fork.id, newPlanItems(`${repo}-fork`, [1]))).map((item) => item.issueNumber)).toEqual([1]);

        // Two `/plan`s at once: each issue lands on exactly one of them.
        const racing = `acme/${uniqueId('repo')}`;
        const [a, b] = await Promise.all([store.createPlanRun(newPlanRun({ repo: racing })), store.createPlanRun(newPlanRun({ repo: racing }))]);
        const numbers = [5, 6, 7, 8];
        const [savedA, savedB] = await Promise.all([store.savePlanItems(a.id, newPlanItems(racing, numbers)), store.savePlanItems(b.id, newPlanItems(racing, numbers))]);
        expect([...savedA, ...savedB].map((item) => item.issueNumber).sort()).toEqual(numbers);
        // Once a run has ended, its issues may be planned again.
        const ended = savedA.length ? a : b;
        await store.updatePlanRun(ended.id, { status: 'completed', endedAt: new Date().toISOString() });
        const third = await store.createPlanRun(newPlanRun({ repo: racing }));
        expect((await store.savePlanItems(third.id, newPlanItems(racing, numbers))).map((item) => item.issueNumber)).toEqual((ended === a ? savedA : savedB).map((item) => item.issueNumber));
      });

      it('finds an item by its child task, and by its pull request’s number or head sha', async () => {
        const repo = `acme/${uniqueId('repo')}`;
        const run = await store.createPlanRun(newPlanRun({ repo }));
        await store.savePlanItems(run.id, newPlanItems(repo, [7, 8]));
        const taskId = planItemTaskId(run.id, 8);
        await store.updatePlanItem(run.id, 8, { status: 'pr_open', taskId, prNumber: 12, prHeadSha: 'abc123' });

        expect(await store.findPlanItemByTask(taskId)).toMatchObject({ runId: run.id, issueNumber: 8 });
        expect(await store.findPlanItemByTask(planItemTaskId(run.id, 7))).toBeUndefined();
        expect(await store.findPlanItemByPullRequest(repo, { number: 12 })).toMatchObject({ runId: run.id, issueNumber: 8 });
        expect(await store.findPlanItemByPullRequest(repo, { headSha: 'abc123' })).toMatchObject({ runId: run.id, issueNumber: 8 });
        expect((await store.findPlanItemByPullRequest(repo.toUpperCase(), { number: 12 }))?.issueNumber).toBe(8);
        // Another repository's PR 12 is another PR.
        expect(await store.findPlanItemByPullRequest(`${repo}-other`, { number: 12 })).toBeUndefined();
        expect(await store.findPlanItemByPullRequest(repo, { number: 13 })).toBeUndefined();
        expect(await store.findPlanItemByPullRequest(repo, { headSha: 'def456' })).toBeUndefined();
        // A child task belongs to one item.
        await expect(store.updatePlanItem(run.id, 7, { taskId })).rejects.toMatchObject({ code: '23505' });
      });

      it('finds the newest item when a later run follows the same pull request', async () => {
        const repo = `acme/${uniqueId('repo')}`;
        const first = await store.createPlanRun(newPlanRun({ repo }));
        await store.savePlanItems(first.id, newPlanItems(repo, [1]));
        await store.updatePlanItem(first.id, 1, { status: 'failed', prNumber: 5 });
        const second = await store.createPlanRun(newPlanRun({ repo }));
        await store.savePlanItems(second.id, newPlanItems(repo, [1]));
        await store.updatePlanItem(second.id, 1, { status: 'pr_open', prNumber: 5 });
        expect((await store.findPlanItemByPullRequest(repo, { number: 5 }))?.runId).toBe(second.id);
      });
    });

    describe('the audit trail of a plan', () => {
      it('records a plan’s events under its run id, in the run’s guild when none is given, and lists them', async () => {
        const run = await store.createPlanRun(newPlanRun());
        expect(await store.recordTaskEvent({ taskId: run.id, kind: 'plan_proposed', actorId: run.proposedBy, detail: { items: 3, revision: 0 }, dedupeKey: 'proposed' })).toBe(true);
        expect(await store.recordTaskEvent({ taskId: run.id, kind: 'plan_proposed', actorId: run.proposedBy, dedupeKey: 'proposed' })).toBe(false);
        await store.recordTaskEvent({ taskId: run.id, kind: 'plan_item_dropped', actorId: 'member-2', detail: { issue: 7, revision: 1 } });
        await store.recordTaskEvent({ taskId: run.id, guildId: run.guildId, kind: 'plan_approved_run', actorId: 'confirmer-1', outcome: 'running' });
        const events = await store.listTaskEvents(run.id);
        expect(events.map((event) => [event.kind, event.guildId, event.actorId, event.outcome])).toEqual([
          ['plan_proposed', run.guildId, run.proposedBy, null],
          ['plan_item_dropped', run.guildId, 'member-2', null],
          ['plan_approved_run', run.guildId, 'confirmer-1', 'running'],
        ]);
        expect(events[0]?.detail).toEqual({ items: 3, revision: 0 });
      });
    });
  });
}
