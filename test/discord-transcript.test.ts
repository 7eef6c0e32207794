import { afterEach, describe, expect, it } from 'vitest';
import { buildModalSubmit } from '../src/sandbox/interaction-signer';
import { askingScript } from '../src/sandbox/jules-emulator';
import { buttonId, eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const EPHEMERAL = 64;

/** What a person reading the thread sees, message by message: content, or the embed's title. */
function readable(message: { content?: string; embeds?: { title?: string }[] }): string {
  return message.content || message.embeds?.[0]?.title || '';
}

describe.each(['http', 'gateway'] as const)('in %s mode, a task from /jules to its pull request', (mode) => {
  it('goes through plan approval and a question in its thread, with buttons only for the right people', async () => {
    stack = await startTestStack({ mode, jules: { script: () => askingScript('Should the export include archived invoices?') } });
    const s = stack;
    const asked = await s.ask(MEMBERS.developer, { prompt: 'Export invoices as CSV', plan_approval: true });
    expect(asked.body.data).toMatchObject({ flags: EPHEMERAL, content: expect.stringContaining('A confirmer must approve it') });

    // The card, in the channel: only a confirmer can confirm it.
    const cardOf = () => s.discord.channelMessages(GUILD.channelId).find((m) => m.embeds?.[0]?.footer?.text === asked.taskId);
    const card = await eventually(cardOf, 'the card');
    const refusedConfirm = await s.click(MEMBERS.developer, buttonId(card.components, 'Confirm')!, card.id);
    expect(refusedConfirm.body.data).toMatchObject({ flags: EPHEMERAL, content: expect.stringContaining('confirm role') });
    expect((await s.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id)).body.type).toBe(7);

    // The plan, in the thread: the requester cannot approve it, a confirmer can.
    const thread = card.id;
    const plan = await eventually(() => s.discord.channelMessages(thread).find((m) => buttonId(m.components, 'Approve')), 'the plan with buttons');
    const refusedApprove = await s.click(MEMBERS.developer, buttonId(plan.components, 'Approve')!, plan.id);
    expect(refusedApprove.body.data).toMatchObject({ flags: EPHEMERAL });
    expect(s.jules.requests.some((r) => r.path.endsWith(':approvePlan'))).toBe(false);
    const approved = await s.click(MEMBERS.lead, buttonId(plan.components, 'Approve')!, plan.id);
    expect(approved.body.type).toBe(7);
    expect(buttonId(approved.body.data.components, 'Approve')).toBeUndefined();

    // The question: an outsider may not answer; the requester answers through the Reply modal.
    const question = await eventually(() => s.discord.channelMessages(thread).find((m) => buttonId(m.components, 'Reply')), 'the question');
    const outsider = await s.click(MEMBERS.outsider, buttonId(question.components, 'Reply')!, question.id);
    expect(outsider.body.data).toMatchObject({ flags: EPHEMERAL });
    const modal = await s.click(MEMBERS.developer, buttonId(question.components, 'Reply')!, question.id);
    expect(modal.body.type).toBe(9);
    const replied = await s.send(
      buildModalSubmit({ applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: thread, user: MEMBERS.developer, customId: modal.body.data.custom_id, fields: { text: 'No, only active ones' }, message: question }),
    );
    expect([4, 7]).toContain(replied.body.type);

    const outcome = await s.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    expect(s.jules.sessions()[0]?.messages).toEqual(['No, only active ones']);

    // The thread reads in order: started, the plan, progress, the question, the PR.
    const transcript = s.discord.channelMessages(thread).map(readable);
    const at = (needle: string) => transcript.findIndex((t) => t.includes(needle));
    expect(at('Jules started working')).toBeGreaterThanOrEqual(0);
    expect(at('Jules started working')).toBeLessThan(at('plan'));
    expect(at('plan')).toBeLessThan(transcript.findIndex((t, i) => i > at('plan') && t.includes('archived invoices')) + 1);
    expect(transcript.filter((t) => t.includes('PR ready'))).toHaveLength(1);
    expect(at('PR ready')).toBe(transcript.length - 1);
    // And the card shows the outcome, with no buttons left.
    const finalCard = cardOf()!;
    expect(JSON.stringify(finalCard.embeds)).toContain(outcome.prUrl!);
    expect(finalCard.components ?? []).toEqual([]);
  });
});

describe('a plan nobody approves', () => {
  it('reminds the confirmers once', async () => {
    stack = await startTestStack({ settings: { reminderAfterMs: 800 } });
    const s = stack;
    const asked = await s.ask(MEMBERS.lead, { prompt: 'Remind me', plan_approval: true });
    const thread = await eventually(async () => (await s.store.getTask(asked.taskId))?.threadId ?? undefined, 'the thread');
    await eventually(() => s.discord.channelMessages(thread).find((m) => (m.content ?? '').includes('still waiting for approval')), 'the reminder');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const reminders = s.discord.channelMessages(thread).filter((m) => (m.content ?? '').includes('still waiting for approval'));
    expect(reminders).toHaveLength(1);
    expect(reminders[0]!.content).toContain(`<@&${GUILD.leadRole}>`);
  });
});

describe.each(['http', 'gateway'] as const)('in %s mode, on an engine slower than Discord waits', (mode) => {
  it('every answer is deferred in time and then delivered: the /jules reply edited in, the card redrawn, refusals said privately', async () => {
    // A deadline nobody meets: every answer goes the late way, through the interaction webhook.
    stack = await startTestStack({ mode, answerWithinMs: 1 });
    const s = stack;
    const asked = await s.ask(MEMBERS.developer, { prompt: 'Speed up the importer' });
    expect(asked.body).toEqual({ type: 5, data: { flags: EPHEMERAL } });
    expect(await s.answerText(asked)).toContain('A confirmer must approve it');

    const card = await eventually(() => s.discord.channelMessages(GUILD.channelId).find((m) => m.embeds?.[0]?.footer?.text === asked.taskId), 'the card');
    const confirm = buttonId(card.components, 'Confirm')!;

    // A refusal comes as a private follow-up; the card is left as it was.
    const refused = await s.click(MEMBERS.developer, confirm, card.id);
    expect(refused.body).toEqual({ type: 6 });
    const followUp = await eventually(() => s.discord.followUps.find((f) => f.content?.includes('confirm role')), 'the refusal');
    expect(followUp.flags! & EPHEMERAL).toBe(EPHEMERAL);
    expect(buttonId(s.discord.message(card.id)?.components, 'Confirm')).toBeDefined();

    // The confirmer's click: a silent deferral, then the card redrawn through @original.
    expect((await s.click(MEMBERS.lead, confirm, card.id)).body).toEqual({ type: 6 });
    await eventually(() => buttonId(s.discord.message(card.id)?.components, 'Confirm') === undefined, 'the card without Confirm');
    const cardEdits = s.discord.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original') && JSON.stringify(r.body).includes(asked.taskId));
    expect(cardEdits.map((r) => r.status)).toEqual([200]);
    expect((await s.outcome(asked.taskId)).status).toBe('completed');
  });
});
