import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlotActivities, type SlotInput } from '../activities/slot.activities';
import type { PlanBoard } from '../src/discord/plan-board';
import type { Store } from '../src/store/store';
import { fakeAnnouncer, THREAD_GONE, type FakeAnnouncerBehaviour } from './helpers/fake-announcer';
import { openMigratedStore } from './helpers/migrated-store';

/** The session-slot wait under `MockActivityEnvironment`, on a real (in-memory) store, with a fake announcer. */

const REQUESTER = '700000000000000100';
let store: Store;
let guilds = 0;

beforeAll(async () => {
  store = await openMigratedStore();
});

afterAll(async () => {
  await store?.close();
});

/** The `/jules` tasks here have no plan card: a board that is never drawn on. */
const unusedBoard: PlanBoard = {
  itemChanged: () => Promise.reject(new Error('a /jules task has no plan card')),
  itemWaits: () => Promise.reject(new Error('a /jules task has no plan card')),
  redraw: () => Promise.reject(new Error('a /jules task has no plan card')),
};

/** A guild whose key runs one session at a time, a task holding it, and a second task's wait for it. */
async function waitBehindAnother(behaviour: FakeAnnouncerBehaviour) {
  const guildId = `71000000000000${String(++guilds).padStart(4, '0')}`;
  const [holder, waiter] = [`task-${guildId}1`, `task-${guildId}2`];
  for (const id of [holder, waiter]) {
    await store.createTask({ id, guildId, channelId: '700000000000000002', requesterId: REQUESTER, prompt: 'p', repo: 'acme/widgets', branch: null, status: 'in_progress', keySource: 'guild' });
  }
  await store.setGuildQuotas(guildId, { concurrentSessionsPerKey: 1 });
  expect(await store.tryAcquireSessionSlot(`guild:${guildId}`, holder, 1)).toEqual({ acquired: true });
  const fake = fakeAnnouncer(behaviour);
  const { waitForSessionSlot } = createSlotActivities({ store, announcerFor: fake.announcerFor, planBoard: unusedBoard });
  const input: SlotInput = {
    taskId: waiter,
    guildId,
    requesterId: REQUESTER,
    keySource: 'guild',
    threadId: '700000000000000003',
    view: { taskId: waiter, status: 'in_progress', prompt: 'p', repo: 'acme/widgets', requesterId: REQUESTER, keySource: 'guild' },
    retryEveryMs: 50,
  };
  const waiting = new MockActivityEnvironment().run(waitForSessionSlot, input) as Promise<{ waited: boolean }>;
  for (const until = Date.now() + 5_000; fake.of('notice').length === 0 && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 20));
  await store.releaseSessionSlot(holder);
  return { fake, waiter, result: await waiting };
}

describe('the session-slot wait', () => {
  it('shows one waiting notice and edits it when the session is free', async () => {
    const { fake, result } = await waitBehindAnother({});
    expect(result).toEqual({ waited: true });
    expect(fake.of('notice').map((a) => a.notice)).toEqual([
      { kind: 'waiting_slot', detail: 'number 1 in line; at most 1 at once', step: 'slot' },
      { kind: 'slot_free', step: 'slot', replaces: 'notice-1' },
    ]);
  });

  it('keeps its place in line when its notice is refused, and still starts', async () => {
    const { fake, waiter, result } = await waitBehindAnother({ refuse: { notice: THREAD_GONE } });
    expect(result).toEqual({ waited: true });
    expect(fake.of('notice').map((a) => a.notice.kind)).toEqual(['waiting_slot']);
    expect((await store.listTaskEvents(waiter)).map((e) => e.kind)).toEqual(['session_queued', 'session_slot_acquired']);
  });
});
