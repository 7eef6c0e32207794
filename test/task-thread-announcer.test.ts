import { Writable } from 'node:stream';
import { API } from '@discordjs/core/http-only';
import { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordAnnouncers } from '../src/discord/discord-announcers';
import { createRestMessenger } from '../src/discord/messenger';
import { createLogger } from '../src/logger';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';
import { TASK_THREAD } from '../src/shared/audience';
import type { TaskAnnouncer } from '../src/tasks/announcer';

/**
 * The task-thread announcer against the Discord emulator, through the real REST client: what a thread shows
 * for each thing a task announces, and what the announcer does when Discord refuses.
 */

const REQUESTER = '700000000000000100';
let discord: DiscordEmulator;
let threads = 0;

beforeAll(async () => {
  discord = await startDiscordEmulator();
});

afterAll(async () => {
  await discord?.close();
});

/** A new thread and an announcer for it, with the warnings it logs; `retries: 0` makes a 5xx reach it at once. */
function newThread(options: { retries?: number } = {}) {
  const threadId = `70000000000000${String(++threads).padStart(4, '0')}`;
  const taskId = `task-${threadId}`;
  const logs: string[] = [];
  const log = createLogger('warn', new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } }));
  const rest = new REST({ api: discord.apiUrl, ...(options.retries !== undefined ? { retries: options.retries } : {}) }).setToken(discord.token);
  const announcerFor = createDiscordAnnouncers({ discord: createRestMessenger(new API(rest)), log });
  const view = { taskId, status: 'in_progress' as const, prompt: 'p', repo: 'acme/widgets', requesterId: REQUESTER, keySource: 'guild' as const };
  const announcer: TaskAnnouncer = announcerFor({ taskId, threadId, view, audience: TASK_THREAD });
  return { threadId, taskId, logs, announcer, messages: () => discord.channelMessages(threadId) };
}

const messageIdOf = (shown: { messageId: string } | { refusal: unknown }) => ('messageId' in shown ? shown.messageId : undefined);
const buttonsOf = (message: { components?: unknown[] }) => JSON.stringify(message.components ?? []).match(/"label":"[^"]+"/g) ?? [];

async function deleteMessage(channelId: string, messageId: string): Promise<void> {
  const answer = await fetch(`${discord.apiUrl}/v10/channels/${channelId}/messages/${messageId}`, { method: 'DELETE', headers: { Authorization: `Bot ${discord.token}` } });
  expect(answer.status).toBe(204);
}

describe('the task-thread announcer', () => {
  it('posts a plan that waits for people with Approve and Request changes, once however often it is asked', async () => {
    const t = newThread();
    const plan = { id: 'plan-1', steps: ['Read the code', 'Fix it'], approval: 'people' as const };
    const first = await t.announcer.showPlan(plan);
    const again = await t.announcer.showPlan(plan);
    expect(messageIdOf(again)).toBe(messageIdOf(first));
    expect(t.messages()).toHaveLength(1);
    expect(t.messages()[0]!.embeds?.[0]?.description).toContain('Read the code');
    expect(buttonsOf(t.messages()[0]!)).toEqual(['"label":"Approve"', '"label":"Request changes"']);
  });

  it('shows a plan Jules approved itself without buttons', async () => {
    const t = newThread();
    await t.announcer.showPlan({ id: 'plan-1', steps: ['Read the code'], approval: 'jules' });
    expect(buttonsOf(t.messages()[0]!)).toEqual([]);
    expect(JSON.stringify(t.messages()[0]!.embeds)).toContain('Approved by Jules');
  });

  it('returns the refusal when the thread of a question is gone, and logs it', async () => {
    const t = newThread();
    discord.failNext({ status: 404, code: 10003, message: 'Unknown Channel', match: { method: 'POST', path: new RegExp(`^/channels/${t.threadId}/messages$`) } });
    const shown = await t.announcer.showQuestion({ id: 'q-1', text: 'Which port?' });
    expect(shown).toEqual({ refusal: expect.objectContaining({ kind: 'channel_gone', code: 10003 }) });
    expect(t.logs.join('')).toMatch(/could not post to the task's thread: the channel or thread was deleted/);
  });

  it('posts a question with a Reply button, mentioning only the requester', async () => {
    const t = newThread();
    await t.announcer.showQuestion({ id: 'q-1', text: 'Which port? @everyone' });
    const [message] = t.messages();
    expect(message!.content).toContain(`<@${REQUESTER}>, Jules asks:\n> Which port? @everyone`);
    expect(buttonsOf(message!)).toEqual(['"label":"Reply"']);
  });

  it('keeps one progress message, edited in place with the latest line', async () => {
    const t = newThread();
    const posted = await t.announcer.showProgress('Reading the code', {});
    const edited = await t.announcer.showProgress('Writing the fix', posted);
    expect(edited).toEqual(posted);
    expect(t.messages().map((m) => m.content)).toEqual(['🛠️ In progress · Writing the fix']);
  });

  it('posts progress anew, with a new nonce each time, when someone deletes the progress message', async () => {
    const t = newThread();
    const first = await t.announcer.showProgress('Reading the code', {});
    await deleteMessage(t.threadId, first.messageId!);
    const second = await t.announcer.showProgress('Writing the fix', first);
    expect(second).toEqual({ messageId: expect.any(String), reposts: 1 });
    expect(second.messageId).not.toBe(first.messageId);
    // Deleted again: the first repost's nonce would hand back the dead message, so the next one has its own.
    await deleteMessage(t.threadId, second.messageId!);
    const third = await t.announcer.showProgress('Running the tests', second);
    expect(third).toMatchObject({ reposts: 2 });
    expect(t.messages().map((m) => m.content)).toEqual(['🛠️ In progress · Running the tests']);
    expect(t.logs.join('')).toMatch(/progress not shown: the message was deleted/);
  });

  it('logs and drops a progress line when the bot may no longer edit the message (50013)', async () => {
    const t = newThread();
    const posted = await t.announcer.showProgress('Reading the code', {});
    discord.failNext({ status: 403, code: 50013, message: 'Missing Permissions', match: { method: 'PATCH', path: new RegExp(`^/channels/${t.threadId}/messages/`) } });
    const shown = await t.announcer.showProgress('Writing the fix', posted);
    expect(shown).toEqual({ ...posted, refusal: expect.objectContaining({ kind: 'no_access', code: 50013 }) });
    expect(t.messages().map((m) => m.content)).toEqual(['🛠️ In progress · Reading the code']);
    expect(t.logs.join('')).toMatch(/progress not shown: the bot has no access or permission there any more/);
  });

  it('brings the message of a dead attempt up to date when a retried attempt posts progress', async () => {
    const t = newThread();
    // The dead attempt posted, then died before its heartbeat carried the id.
    const dead = await t.announcer.showProgress('Reading the code', {});
    const retried = await t.announcer.showProgress('Writing the fix', {}, { retried: true });
    expect(retried.messageId).toBe(dead.messageId);
    expect(t.messages().map((m) => m.content)).toEqual(['🛠️ In progress · Writing the fix']);
  });

  it('throws what may heal (a 5xx), so the activity retries', async () => {
    const t = newThread({ retries: 0 });
    discord.failNext({ status: 500, code: 0, message: 'Internal Server Error', match: { method: 'POST', path: new RegExp(`^/channels/${t.threadId}/messages$`) } });
    await expect(t.announcer.showProgress('Reading the code', {})).rejects.toMatchObject({ status: 500 });
  });

  it('posts a notice once per step and edits it in place when asked', async () => {
    const t = newThread();
    const notice = { kind: 'waiting_slot' as const, detail: 'number 2 in line', step: 'slot' };
    const first = messageIdOf(await t.announcer.showNotice(notice));
    expect(messageIdOf(await t.announcer.showNotice(notice))).toBe(first);
    await t.announcer.showNotice({ kind: 'slot_free', step: 'slot', replaces: first! });
    expect(t.messages().map((m) => m.content)).toEqual(['✅ A Jules session is free: starting now.']);
  });
  it('keeps one PR status message: edited only when its text changes, posted anew when deleted, with Merge while green', async () => {
    const t = newThread();
    const pr = { number: 3, url: 'https://github.com/acme/widgets/pull/3', state: 'open' as const, headSha: 'abc', checks: [], missingRequired: [], requiredKnown: true, changesRequestedBy: [], approvedBy: [] };
    const first = await t.announcer.showPrStatus({ ...pr, verdict: 'pending', missingRequired: ['build'] }, {});
    expect(first.messageId).toBeDefined();
    expect(buttonsOf(t.messages()[0]!)).toEqual([]);
    const edits = () => discord.messageHistory(t.threadId).filter((e) => e.kind === 'edit').length;
    const same = await t.announcer.showPrStatus({ ...pr, verdict: 'pending', missingRequired: ['build'] }, first);
    expect(same).toEqual(first);
    expect(edits()).toBe(0);

    await deleteMessage(t.threadId, first.messageId!);
    const green = await t.announcer.showPrStatus({ ...pr, verdict: 'passed', checks: [{ name: 'build', state: 'passed', detail: 'success', required: true }] }, first);
    expect(green.messageId).not.toBe(first.messageId);
    expect(green.reposts).toBe(1);
    expect(t.messages()).toHaveLength(1);
    expect(t.messages()[0]!.content).toMatch(/all 1 checks passed/);
    expect(buttonsOf(t.messages()[0]!)).toEqual(['"label":"Merge"']);
  });
});
