import type { Payload } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { createSecretBox, generateEncryptionKey } from '../src/crypto/secret-box';
import { askingScript, type SessionScript } from '../src/sandbox/jules-emulator';
import { pullRequestFollowId } from '../src/shared/ids';
import { planDecisionUpdate, replyUpdate, taskViewQuery } from '../workflows/messages';
import { buttonId, eventually, GITHUB, GUILD, KEYS, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** Every Payload object anywhere in a fetched history. */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (!value || typeof value !== 'object') return found;
  const candidate = value as { metadata?: unknown; data?: unknown };
  if (candidate.metadata && typeof candidate.metadata === 'object' && candidate.data instanceof Uint8Array) found.push(candidate as Payload);
  for (const child of Object.values(value)) payloadsIn(child, found);
  return found;
}

/**
 * A developer asks with plan approval; a lead confirms and approves the plan; the developer answers Jules'
 * question; the task completes.
 */
async function runConfirmedTaskWithPlanAndQuestion(s: TestStack, prompt: string, reply: string) {
  const asked = await s.ask(MEMBERS.developer, { prompt, plan_approval: true });
  const card = await eventually(() => s.discord.channelMessages(GUILD.channelId)[0], 'the card');
  await s.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
  const handle = s.client.workflow.getHandle(asked.taskId);
  await eventually(async () => (await handle.query(taskViewQuery))?.awaiting === 'plan_approval', 'the plan');
  await handle.executeUpdate(planDecisionUpdate, { args: [{ action: 'approve', member: MEMBERS.lead }] });
  await eventually(async () => (await handle.query(taskViewQuery))?.awaiting === 'reply', 'the question');
  await handle.executeUpdate(replyUpdate, { args: [{ member: MEMBERS.developer, text: reply }] });
  expect((await handle.result()).status).toBe('completed');
  return { asked, handle };
}

describe('a whole task with a plan, a question and a pull request', () => {
  it('leaves the key nowhere, and the prompt only in the decoded history and Discord', async () => {
    const prompt = 'Rewrite the invoice exporter (marker 7f3a9c)';
    stack = await startTestStack({ personalKey: true, github: true, jules: { script: () => askingScript('Keep the CSV header order?') } });
    const s = stack;
    const { asked, handle } = await runConfirmedTaskWithPlanAndQuestion(s, prompt, 'Yes, keep it (marker 51b2e0)');
    // The PR follow-through has looked at GitHub once (and recorded the PR): its history counts too.
    await eventually(async () => (await s.store.getTask(asked.taskId))?.prNumber ?? undefined, 'the PR follow-through');

    const histories = [await handle.fetchHistory(), await s.client.workflow.getHandle(pullRequestFollowId(asked.taskId)).fetchHistory()];
    const raw = JSON.stringify(histories, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    const decoded = (await s.codec.decode(payloadsIn(histories))).map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8')).join('\n');
    const logs = s.logs.join('\n');
    const discord = s.discord.allMessagesText();

    for (const secret of [...Object.values(KEYS), GITHUB.token, GITHUB.webhookSecret]) {
      for (const [where, text] of Object.entries({ raw, decoded, logs, discord })) {
        expect(text.includes(secret), `${where} contains a secret`).toBe(false);
      }
    }
    expect(raw.includes('7f3a9c'), 'the raw history shows the prompt').toBe(false);
    expect(raw.includes('51b2e0'), 'the raw history shows the reply').toBe(false);
    expect(logs.includes('7f3a9c'), 'a log line shows the prompt').toBe(false);
    expect(decoded).toContain(prompt);
    expect(discord).toContain(prompt);
  });

  it('is recorded in the audit trail, step by step', async () => {
    stack = await startTestStack({ jules: { script: () => askingScript('Which region?') } });
    const s = stack;
    const { asked } = await runConfirmedTaskWithPlanAndQuestion(s, 'Audit me', 'eu-west');

    const events = await s.store.listTaskEvents(asked.taskId);
    const kinds = events.map((e) => e.kind);
    expect(kinds.slice(0, 3)).toEqual(['admitted', 'confirmed', 'session_slot_acquired']);
    expect(kinds).toEqual(expect.arrayContaining(['jules_session_created', 'jules_state_changed', 'plan_approved', 'message_to_jules', 'completed']));
    expect(kinds.at(-1)).toBe('completed');
    expect(events.find((e) => e.kind === 'confirmed')?.actorId).toBe(GUILD.lead);
    expect(events.find((e) => e.kind === 'plan_approved')?.actorId).toBe(GUILD.lead);
    expect(events.find((e) => e.kind === 'message_to_jules')?.actorId).toBe(GUILD.developer);
    expect(kinds.filter((k) => k === 'completed')).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain('eu-west');

    const refused = await s.ask(MEMBERS.outsider, { prompt: 'Not allowed' });
    expect((await s.store.listTaskEvents(refused.taskId)).map((e) => [e.kind, e.outcome])).toEqual([['refused', 'not_allowed']]);
  });
});

describe('quotas', () => {
  it('refuse a request over the hourly limit and say when to try again', async () => {
    stack = await startTestStack();
    await stack.store.setGuildQuotas(GUILD.id, { userRequestsPerHour: 2 });
    for (let i = 0; i < 2; i++) expect((await stack.ask(MEMBERS.developer, { prompt: `Request ${i}` })).body.data.content).toContain('Request received');
    const third = await stack.ask(MEMBERS.developer, { prompt: 'One too many' });
    expect(third.body.data.content).toMatch(/You have used your 2 Jules requests for this hour.*You can ask again <t:\d+:R>/);
    expect(await stack.store.getTask(third.taskId)).toBeUndefined();
    // Another member is not held back by this one's limit.
    expect((await stack.ask({ id: '800000000000000103', roles: [GUILD.developerRole] }, { prompt: 'Mine' })).body.data.content).toContain('Request received');
  });

  it('make tasks over the concurrency limit wait their turn in order, and say so', async () => {
    const script: SessionScript = [
      { afterMs: 200, state: 'IN_PROGRESS', activity: { originator: 'agent', progressUpdated: { title: 'Working' } } },
      { afterMs: 1_200, state: 'COMPLETED', pullRequestUrl: 'https://github.com/{owner}/{repo}/pull/{number}', activity: { originator: 'system', sessionCompleted: {} } },
    ];
    stack = await startTestStack({ jules: { script: () => script, timeScale: 1 }, settings: { slotRetryMs: 200 } });
    const s = stack;
    await s.store.setGuildQuotas(GUILD.id, { concurrentSessionsPerKey: 1 });
    const tasks: { taskId: string }[] = [];
    for (let i = 0; i < 3; i++) tasks.push(await s.ask(MEMBERS.lead, { prompt: `Queued task ${i}` }));
    const outcomes = await Promise.all(tasks.map((t) => s.outcome(t.taskId)));
    expect(outcomes.map((o) => o.status)).toEqual(['completed', 'completed', 'completed']);

    // One session at a time: each session was created only after the previous task had finished.
    const sessions = s.jules.sessions().sort((a, b) => a.createdAt - b.createdAt);
    expect(sessions.map((x) => x.input.prompt)).toEqual(['Queued task 0', 'Queued task 1', 'Queued task 2']);
    const history = s.discord.messageHistory();
    const prReadyAt = (i: number) => history.find((h) => h.content?.includes('PR ready') && h.channelId === threadOf(i))!.at;
    const threadOf = (i: number) => s.discord.channelMessages(GUILD.channelId).find((m) => m.embeds?.[0]?.footer?.text === tasks[i]!.taskId)!.id;
    expect(sessions[1]!.createdAt).toBeGreaterThanOrEqual(prReadyAt(0) - 50);
    expect(sessions[2]!.createdAt).toBeGreaterThanOrEqual(prReadyAt(1) - 50);
    // The tasks that waited said so in their thread.
    const waited = [1, 2].map((i) => s.discord.channelMessages(threadOf(i)).some((m) => (m.content ?? '').includes('Jules session is free') || (m.content ?? '').includes('in line')));
    expect(waited).toEqual([true, true]);
  });
});

describe('a stored key that cannot be decrypted', () => {
  it('gives the user a plain refusal and the operator a clear log line, leaking nothing', async () => {
    stack = await startTestStack({ guildKey: false });
    const foreign = createSecretBox(generateEncryptionKey());
    await stack.store.setGuildKey(GUILD.id, foreign.encrypt('AQ.written-under-another-key-000'));
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Key from elsewhere' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome).toMatchObject({ status: 'failed', reason: 'The stored Jules API key cannot be used. An admin must set it again.' });
    const logs = stack.logs.join('\n');
    expect(logs).toContain('stored Jules key cannot be decrypted');
    expect(logs).not.toContain('written-under-another-key');
    expect(stack.jules.sessions()).toHaveLength(0);
  });
});
