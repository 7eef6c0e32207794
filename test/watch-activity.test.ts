import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWatchActivities, type WatchInput } from '../activities/watch.activities';
import { createSecretBox, generateEncryptionKey } from '../src/crypto/secret-box';
import { createHttpJulesClient, createHttpJulesClientFactory } from '../src/jules/http-jules-client';
import { createLogger } from '../src/logger';
import { askingScript, defaultScript, startJulesEmulator, type JulesEmulator, type SessionScript } from '../src/sandbox/jules-emulator';
import type { WatchCursor, WatchResult } from '../src/shared/jules-session';
import type { Store } from '../src/store/store';
import { fakeAnnouncer, THREAD_GONE, type FakeAnnouncerBehaviour } from './helpers/fake-announcer';
import { openMigratedStore } from './helpers/migrated-store';

/**
 * The session watcher on its own: the real Jules emulator over loopback and a real (in-memory) store, under
 * `MockActivityEnvironment`, with a fake announcer in place of Discord. What people see is the announcer's
 * business (test/task-thread-announcer.test.ts); these tests say when the watcher asks, and what it does with
 * the answer.
 */

const KEY = 'fake-jules-watch-key-0123456789';
const GUILD = '700000000000000001';
const REQUESTER = '700000000000000100';
const THREAD = '700000000000000003';

const secrets = createSecretBox(generateEncryptionKey());
let store: Store;
let jules: JulesEmulator;
let tasks = 0;

beforeAll(async () => {
  store = await openMigratedStore();
  // Script times are scaled to a twentieth: the default script takes about 175 ms.
  jules = await startJulesEmulator({ keys: [KEY], timeScale: 0.05 });
  await store.setGuildKey(GUILD, secrets.encrypt(KEY));
});

afterAll(async () => {
  await jules?.close();
  await store?.close();
});

/** A new task with its own Jules session following `script`, and a watcher whose announcer is a fake. */
async function newTask(script: SessionScript, options: { planApproval?: boolean; behaviour?: FakeAnnouncerBehaviour } = {}) {
  const taskId = `task-7000000000000${String(++tasks).padStart(5, '0')}`;
  await store.createTask({ id: taskId, guildId: GUILD, channelId: '700000000000000002', requesterId: REQUESTER, prompt: 'p', repo: 'acme/widgets', branch: null, status: 'in_progress', keySource: 'guild' });
  jules.setScript(() => script);
  const client = createHttpJulesClient({ baseUrl: jules.url, apiKey: KEY });
  const session = await client.createSession({ prompt: 'p', title: 't', source: 'sources/github/acme/widgets', ...(options.planApproval ? { requirePlanApproval: true } : {}) });
  const fake = fakeAnnouncer(options.behaviour);
  const { watchJulesSession } = createWatchActivities({ store, secrets, julesClientFor: createHttpJulesClientFactory(jules.url), announcerFor: fake.announcerFor, log: createLogger('silent') });
  const input = (more: Partial<WatchInput> = {}): WatchInput => ({
    taskId,
    guildId: GUILD,
    requesterId: REQUESTER,
    keySource: 'guild',
    session: session.name,
    knownState: 'QUEUED',
    cursor: { seenAtLastTime: [], lastChangeAt: Date.now(), delivered: [] },
    deliver: [],
    threadId: THREAD,
    view: { taskId, status: 'in_progress', prompt: 'p', repo: 'acme/widgets', requesterId: REQUESTER, keySource: 'guild' },
    planApproval: options.planApproval ?? false,
    pollIntervalMs: 50,
    stallAfterMs: 60_000,
    stalled: false,
    maxRunMs: 10_000,
    ...more,
  });
  return { taskId, session: session.name, fake, watch: watchJulesSession, input };
}

const reply = (id: string, text: string) => ({ kind: 'send_message' as const, id, text, actorId: REQUESTER, purpose: 'reply' as const });
const progress = (title: string, afterMs: number) => ({ afterMs, state: 'IN_PROGRESS', activity: { originator: 'agent' as const, progressUpdated: { title } } });
const completed = (afterMs: number) => ({ afterMs, state: 'COMPLETED', pullRequestUrl: 'https://github.com/{owner}/{repo}/pull/{number}', activity: { originator: 'system' as const, sessionCompleted: {} } });
/** Eight progress lines 100 ms apart (real time), far faster than the five-second coalescing interval. */
const burst: SessionScript = [...Array.from({ length: 8 }, (_, i) => progress(`Step ${i + 1} of 8`, 2_000)), completed(2_000)];

type Task = Awaited<ReturnType<typeof newTask>>;

interface WatchCase {
  readonly name: string;
  readonly script: SessionScript;
  readonly planApproval?: boolean;
  readonly behaviour?: FakeAnnouncerBehaviour;
  readonly input?: Partial<WatchInput>;
  readonly before?: () => void;
  readonly then: (result: WatchResult, task: Task) => void | Promise<void>;
}

const cases: WatchCase[] = [
  {
    name: 'shows Jules’ own plan once, for information, to the task’s thread, and watches on to the end',
    script: defaultScript(),
    then(result, { fake, taskId }) {
      expect(result.kind).toBe('ended');
      expect(fake.of('plan').map((a) => a.plan)).toEqual([{ id: 'plan-1', steps: ['Read the code', 'Make the change and test it'], approval: 'jules' }]);
      expect(fake.tasks).toEqual([expect.objectContaining({ taskId, threadId: THREAD, audience: { kind: 'task_thread' } })]);
    },
  },
  {
    name: 'puts a plan before people and returns it with the message the announcer showed',
    script: defaultScript(),
    planApproval: true,
    then(result, { fake }) {
      expect(result).toMatchObject({ kind: 'plan', planId: 'plan-1', plan: ['Read the code', 'Make the change and test it'], messageId: expect.stringMatching(/^plan-/) });
      expect(fake.of('plan').map((a) => a.plan.approval)).toEqual(['people']);
      expect(result.cursor.delivered).toContain('plan:plan-1');
    },
  },
  {
    name: 'returns discord_refused when nobody can be shown the plan they must approve',
    script: defaultScript(),
    planApproval: true,
    behaviour: { refuse: { plan: THREAD_GONE } },
    then(result) {
      expect(result).toMatchObject({ kind: 'discord_refused', reason: 'the channel or thread was deleted' });
      // Not remembered as shown: a later watch may try again.
      expect(result.cursor.delivered).not.toContain('plan:plan-1');
    },
  },
  {
    name: 'returns Jules’ question with the message the announcer showed',
    script: askingScript('Which port?'),
    then(result, { fake }) {
      expect(result).toMatchObject({ kind: 'question', question: 'Which port?', messageId: expect.stringMatching(/^question-/) });
      expect(fake.of('question').map((a) => a.question.text)).toEqual(['Which port?']);
    },
  },
  {
    name: 'returns discord_refused when nobody can be shown the question they must answer',
    script: askingScript('Which port?'),
    behaviour: { refuse: { question: THREAD_GONE } },
    then(result) {
      expect(result).toMatchObject({ kind: 'discord_refused', reason: 'the channel or thread was deleted' });
    },
  },
  {
    name: 'coalesces fast progress into a few edits of one message, ending with the latest line',
    script: burst,
    then(result, { fake }) {
      expect(result.kind).toBe('ended');
      const shown = fake.of('progress');
      expect(shown.length).toBeLessThan(8);
      expect(shown.at(-1)?.line).toBe('Step 8 of 8');
      // The first line posted the message; every later line edits that one.
      const first = shown[0]!;
      expect(first.message.messageId).toBeUndefined();
      for (const later of shown.slice(1)) expect(later.message.messageId).toBe('progress-1');
      expect(result.cursor).toMatchObject({ progressMessageId: 'progress-1' });
      expect(result.cursor.pendingProgress).toBeUndefined();
    },
  },
  {
    name: 'never fails the watch when the announcer refuses progress',
    script: burst,
    behaviour: { refuse: { progress: THREAD_GONE } },
    then(result, { fake }) {
      expect(result.kind).toBe('ended');
      expect(fake.of('progress').at(-1)?.line).toBe('Step 8 of 8');
      expect(fake.of('progress').every((a) => a.message.messageId === undefined)).toBe(true);
      expect(result.cursor.progressMessageId).toBeUndefined();
    },
  },
  {
    name: 'keeps the progress message the announcer posted anew, and how often, in its cursor',
    script: burst,
    behaviour: { progress: (_line, message) => ({ messageId: 'reposted', reposts: (message.reposts ?? 0) + 1 }) },
    then(result, { fake }) {
      expect(result.cursor).toMatchObject({ progressMessageId: 'reposted', progressReposts: fake.of('progress').length });
      expect(fake.of('progress')[1]?.message).toEqual({ messageId: 'reposted', reposts: 1 });
    },
  },
  {
    name: 'announces a reply Jules refuses as a notice, once, and watches on',
    script: askingScript('Which port?'),
    before: () => jules.injectFault({ status: 400, googleStatus: 'FAILED_PRECONDITION', match: { method: 'POST', path: /:sendMessage$/ } }),
    input: { deliver: [reply('reply-1', '8080')] },
    then(result, { fake }) {
      expect(result.kind).toBe('question');
      expect(fake.of('notice').map((a) => a.notice)).toEqual([{ kind: 'not_delivered', detail: 'Jules no longer takes messages in this state', step: 'not-delivered:reply-1' }]);
    },
  },
];

describe('the session watcher', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const task = await newTask(c.script, { ...(c.planApproval ? { planApproval: true } : {}), ...(c.behaviour ? { behaviour: c.behaviour } : {}) });
      c.before?.();
      const result = await runWatch(new MockActivityEnvironment(), task, task.input(c.input));
      await c.then(result, task);
    });
  }

  it('does not show a plan again in an attempt retried after the one that showed it', async () => {
    const task = await newTask([...defaultScript().slice(0, 4), progress('Reading the code', 2_000), progress('Writing the change', 40_000), completed(2_000)]);
    const first = new MockActivityEnvironment();
    let beat: WatchCursor | undefined;
    first.on('heartbeat', (details: WatchCursor) => (beat = details));
    const running = first.run(task.watch, task.input());
    await eventually(() => beat?.delivered.includes('plan:plan-1') && beat.progressMessageId);
    first.cancel();
    await expect(running).rejects.toThrow();

    // The retry resumes from the last heartbeat; the worker that ran the first attempt is gone.
    const result = await runWatch(new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beat }), task, task.input());
    expect(result.kind).toBe('ended');
    expect(task.fake.of('plan')).toHaveLength(1);
    const retried = task.fake.of('progress').filter((a) => a.retried);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((a) => a.message.messageId === beat!.progressMessageId)).toBe(true);
  });

  it('never sends Jules an action that an interrupted attempt already delivered', async () => {
    const task = await newTask(askingScript('Which port?'));
    // The interrupted attempt delivered "8080" and recorded it, then was cancelled before reporting back.
    await store.recordTaskEvent({ taskId: task.taskId, kind: 'message_to_jules', actorId: REQUESTER, detail: { action: 'reply-1' }, dedupeKey: 'reply-1' });
    await new MockActivityEnvironment().run(task.watch, task.input({ deliver: [reply('reply-1', '8080'), reply('reply-2', 'and 8443')], maxRunMs: 200 }));
    expect(jules.sessions().find((s) => s.name === task.session)!.messages).toEqual(['and 8443']);
    expect((await store.listTaskEvents(task.taskId)).filter((e) => e.kind === 'message_to_jules').map((e) => e.detail.action)).toEqual(['reply-1', 'reply-2']);
  });
});

/** Runs one watch attempt in `env` (the mock environment's `run` does not infer the result type). */
function runWatch(env: MockActivityEnvironment, task: Task, input: WatchInput): Promise<WatchResult> {
  return env.run(task.watch, input) as Promise<WatchResult>;
}

/** Waits until `check` holds, polling; fails after a few seconds. */
async function eventually(check: () => unknown): Promise<void> {
  for (const until = Date.now() + 5_000; Date.now() < until; ) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('timed out waiting');
}
