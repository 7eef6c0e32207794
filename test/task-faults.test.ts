import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import { askingScript, type SessionScript } from '../src/sandbox/jules-emulator';
import { taskWorkflowId } from '../src/shared/ids';
import { reconcileClosedTasks } from '../src/temporal/task-reconciler';
import { cancelUpdate, replyUpdate, taskViewQuery } from '../workflows/messages';
import { eventually, GUILD, MEMBERS, refusal, startTestStack, threadOf, type TestStack, type TestStackOptions } from './helpers/stack';

/**
 * What Discord, Jules and Temporal do to a running task that is nobody's mistake: each ends in a clear outcome,
 * never in a task stuck retrying, a crashed worker or a failure caused by something that heals.
 */

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const PR = 'https://github.com/{owner}/{repo}/pull/{number}';
const progress = (title: string, afterMs: number) => ({ afterMs, state: 'IN_PROGRESS', activity: { originator: 'agent' as const, progressUpdated: { title } } });
const completed = (afterMs: number) => ({ afterMs, state: 'COMPLETED', pullRequestUrl: PR, activity: { originator: 'system' as const, sessionCompleted: {} } });
/** Real-time scripts (timeScale 1), so a test can act between steps. */
const slowly = (script: SessionScript): TestStackOptions['jules'] => ({ script: () => script, timeScale: 1 });

/** Starts a stack and a task asked by a confirmer (so it starts at once). */
async function runTask(options: TestStackOptions = {}, command: Record<string, string | boolean> = {}) {
  stack = await startTestStack(options);
  const asked = await stack.ask(MEMBERS.lead, { prompt: 'Make the build green', ...command });
  expect(asked.body.data.content).toContain('Starting Jules');
  return { s: stack, taskId: asked.taskId, handle: stack.client.workflow.getHandle(asked.taskId) };
}



const texts = (s: TestStack, channelId: string) => s.discord.channelMessages(channelId).map((m) => [m.content ?? '', ...(m.embeds ?? []).map((e) => `${e.title ?? ''} ${e.description ?? ''}`)].join(' '));

describe('a task and Jules', () => {
  it('completes when Jules answers 404 for a new session’s activities for a while', async () => {
    stack = await startTestStack();
    stack.jules.activitiesNotFoundAfterCreateMs = 1_500;
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Make the build green' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    // The condition really happened: the session was found while its activities were not.
    const lists = stack.jules.requests.filter((r) => r.path.endsWith('/activities'));
    expect(lists.some((r) => r.status === 404)).toBe(true);
    expect(stack.jules.requests.some((r) => /\/sessions\/\d+$/.test(r.path) && r.status === 404)).toBe(false);
  });

  it('whose reply Jules refuses says so in the thread and goes on, and the next reply reaches Jules', async () => {
    const { s, taskId, handle } = await runTask({ jules: { script: () => askingScript('Which port?') } });
    await eventually(async () => (await handle.query(taskViewQuery))?.awaiting === 'reply', 'the question');
    s.jules.injectFault({ status: 400, googleStatus: 'FAILED_PRECONDITION', match: { method: 'POST', path: /:sendMessage$/ } });
    await handle.executeUpdate(replyUpdate, { args: [{ member: MEMBERS.lead, text: '8080' }] });
    const thread = await threadOf(s, taskId);
    await eventually(() => texts(s, thread).some((t) => t.includes('Jules did not take the last message')), 'the not-delivered notice');
    expect((await handle.describe()).status.name).toBe('RUNNING');

    await handle.executeUpdate(replyUpdate, { args: [{ member: MEMBERS.lead, text: '8443' }] });
    expect((await handle.result()).status).toBe('completed');
    expect(s.jules.sessions()[0]!.messages).toEqual(['8443']);
    expect((await s.store.listTaskEvents(taskId)).map((e) => e.kind)).toEqual(expect.arrayContaining(['message_not_delivered', 'message_to_jules']));
  });

  it('that answers 503 to every create expires at the task’s deadline with words, not a failure', async () => {
    stack = await startTestStack({ settings: { deadlineMs: 6_000 } });
    stack.jules.injectFault({ status: 503, times: 10_000, match: { method: 'POST', path: /\/sessions$/ } });
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Make the build green' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('expired');
    expect(outcome.reason).toMatch(/could not be reached before the task’s deadline/);
    expect(stack.jules.sessions()).toHaveLength(0);
  });
});

describe('a task and Discord', () => {
  it('posts its progress anew when a moderator deletes the progress message, and completes', async () => {
    const script = [progress('Reading the code', 300), progress('Writing the fix', 2_500), progress('Running the tests', 1_500), completed(1_000)];
    const { s, taskId, handle } = await runTask({ jules: slowly(script) });
    const thread = await threadOf(s, taskId);
    const first = await eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.includes('Reading the code')), 'the progress message');
    const deleted = await fetch(`${s.discord.apiUrl}/v10/channels/${thread}/messages/${first.id}`, { method: 'DELETE', headers: { Authorization: `Bot ${s.discord.token}` } });
    expect(deleted.status).toBe(204);

    expect((await handle.result()).status).toBe('completed');
    // One progress message again: a new one, showing the latest line.
    const progressMessages = s.discord.channelMessages(thread).filter((m) => m.content?.includes('In progress ·'));
    expect(progressMessages.map((m) => m.id)).toHaveLength(1);
    expect(progressMessages[0]!.id).not.toBe(first.id);
    expect(progressMessages[0]!.content).toContain('Running the tests');
  });

  it('goes on when the bot loses permission to edit its progress message', async () => {
    const script = [progress('Reading the code', 300), progress('Writing the fix', 1_500), completed(1_000)];
    const { s, taskId, handle } = await runTask({ jules: slowly(script) });
    const thread = await threadOf(s, taskId);
    await eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.includes('Reading the code')), 'the progress message');
    s.discord.failNext({ status: 403, code: 50013, message: 'Missing Permissions', times: 1_000, match: { method: 'PATCH', path: new RegExp(`^/channels/${thread}/messages/`) } });
    expect((await handle.result()).status).toBe('completed');
  });

  it('whose thread is deleted before Jules’ plan is shown needs attention, with words, instead of retrying forever', async () => {
    const script: SessionScript = [
      { afterMs: 300, state: 'PLANNING' },
      { afterMs: 2_500, activity: { originator: 'agent', planGenerated: { plan: { id: 'plan-1', steps: [{ id: 's1', index: 0, title: 'Read the code' }] } } } },
      { afterMs: 0, state: 'AWAITING_PLAN_APPROVAL' },
      completed(500),
    ];
    const { s, taskId, handle } = await runTask({ jules: slowly(script) }, { plan_approval: true });
    const thread = await threadOf(s, taskId);
    await eventually(async () => (await s.store.getTask(taskId))?.julesSessionId ?? undefined, 'the session');
    s.discord.failNext({ status: 404, code: 10003, message: 'Unknown Channel', times: 1_000, match: { path: new RegExp(`^/channels/${thread}/`) } });

    const outcome = await handle.result();
    expect(outcome.status).toBe('needs_attention');
    expect(outcome.reason).toMatch(/Discord would not show Jules' plan in the task's thread \(the channel or thread was deleted\)/);
    expect(outcome.reason).toMatch(/still open in Jules: https:\/\/jules\.google\.com\/session\//);
    expect((await s.store.getTask(taskId))?.status).toBe('needs_attention');
  });
});

describe('a task that is ending', () => {
  it('refuses Cancel and Reply with words instead of accepting and dropping them', async () => {
    const { s, taskId, handle } = await runTask({ jules: slowly([progress('Writing the fix', 300), completed(1_500)]) });
    const thread = await threadOf(s, taskId);
    await eventually(() => texts(s, thread).some((t) => /started/i.test(t)), 'the started message');
    const card = (await s.store.getTask(taskId))!.cardMessageId!;
    // The final step's card edit waits out a rate limit: the task is ending for those seconds.
    s.discord.rateLimitNext({ retryAfterSeconds: 4, match: { method: 'PATCH', path: new RegExp(`^/channels/${GUILD.channelId}/messages/${card}$`) } });
    await eventually(async () => (await handle.query(taskViewQuery))?.ended === true || undefined, 'the task to be ending');

    expect(await refusal(handle.executeUpdate(cancelUpdate, { args: [{ member: MEMBERS.lead }] }))).toMatch(/already completed/);
    expect(await refusal(handle.executeUpdate(replyUpdate, { args: [{ member: MEMBERS.lead, text: 'one more thing' }] }))).toMatch(/not working on this task/);
    expect((await handle.result()).status).toBe('completed');
  });
});

describe('a task cancelled in Temporal itself (Web UI or CLI)', () => {
  it('ends as cancelled, tells the thread, frees its session slot, and the worker runs the next task', async () => {
    const { s, taskId, handle } = await runTask({ jules: slowly([progress('Thinking', 200), completed(600_000)]) });
    await s.store.setGuildQuotas(GUILD.id, { concurrentSessionsPerKey: 1 });
    await eventually(async () => (await s.store.getTask(taskId))?.julesSessionId ?? undefined, 'the session');
    await handle.cancel();

    const error = await handle.result().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const row = await s.store.getTask(taskId);
    expect(row?.status).toBe('cancelled');
    expect(row?.endedAt).toBeTruthy();
    expect(row?.lastError).toMatch(/Cancelled in Temporal/);
    const slots = await s.sql.query<{ released_at: Date | null }>('select released_at from public.session_slots where task_id = $1', [taskId]);
    expect(slots.every((slot) => slot.released_at !== null)).toBe(true);
    const thread = await threadOf(s, taskId);
    expect(texts(s, thread).filter((t) => /cancelled/i.test(t))).toHaveLength(1);

    // One slot per key, and the cancelled task gave its slot back: the next task starts and completes.
    s.jules.setScript(() => [progress('Again', 200), completed(300)]);
    const next = await s.ask(MEMBERS.lead, { prompt: 'And now the other test' });
    expect((await s.outcome(next.taskId)).status).toBe('completed');
  });
});

describe('a task terminated in Temporal', () => {
  it('is ended by the reconciler, which gives its session slot back and leaves running tasks alone', async () => {
    const { s, taskId, handle } = await runTask({ jules: slowly([progress('Thinking', 200), completed(600_000)]) });
    const other = await s.ask(MEMBERS.lead, { prompt: 'Another task that keeps running' });
    for (const id of [taskId, other.taskId]) await eventually(async () => (await s.store.getTask(id))?.julesSessionId ?? undefined, 'the session');
    await handle.terminate('an operator stopped it');
    const later = () => Date.now() + 5 * 60_000;

    const report = await reconcileClosedTasks({ client: s.client, store: s.store, log: createLogger('silent'), now: later });
    expect(report.ended).toEqual({ TERMINATED: 1 });
    const row = await s.store.getTask(taskId);
    expect(row).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/terminated in Temporal/) });
    expect(row?.endedAt).toBeTruthy();
    const slots = await s.sql.query<{ task_id: string; released_at: Date | null }>('select task_id, released_at from public.session_slots where task_id = any($1)', [[taskId, other.taskId]]);
    expect(Object.fromEntries(slots.map((slot) => [slot.task_id, slot.released_at !== null]))).toEqual({ [taskId]: true, [other.taskId]: false });
    expect((await s.store.getTask(other.taskId))?.endedAt).toBeNull();
    // A second pass finds nothing left to do.
    expect((await reconcileClosedTasks({ client: s.client, store: s.store, log: createLogger('silent'), now: later })).ended).toEqual({});
    await s.client.workflow.getHandle(other.taskId).terminate('end of test');
  });
});

describe('a /jules without a channel object', () => {
  it('is taken from its channel_id, as older payloads carry it', async () => {
    stack = await startTestStack();
    const command = buildSlashCommand({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: 'Make the build green' } });
    const { channel: _omitted, ...withoutChannel } = command as typeof command & { channel?: unknown };
    const answer = await stack.send(withoutChannel);
    expect(answer.body.data.content).toContain('Starting Jules');
    expect((await stack.outcome(taskWorkflowId(command.id))).status).toBe('completed');
    expect((await stack.store.getTask(taskWorkflowId(command.id)))?.channelId).toBe(GUILD.channelId);
  });
});
