import { afterEach, describe, expect, it } from 'vitest';
import { askingScript, type SessionScript } from '../src/sandbox/jules-emulator';
import type { TaskView } from '../src/shared/task';
import { cancelUpdate, planDecisionUpdate, replyUpdate, taskViewQuery } from '../workflows/messages';
import { buttonId, eventually, GUILD, KEYS, MEMBERS, refusal, startTestStack, threadOf, type TestStack, type TestStackOptions } from './helpers/stack';

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const PR = 'https://github.com/{owner}/{repo}/pull/{number}';
const inProgress = (title: string, afterMs = 200) => ({ afterMs, state: 'IN_PROGRESS', activity: { originator: 'agent' as const, progressUpdated: { title } } });

/** Starts a stack and a task asked by a confirmer (so it starts at once), returning the task id. */
async function runTask(options: TestStackOptions, command: Record<string, string | boolean> = {}) {
  stack = await startTestStack(options);
  const asked = await stack.ask(MEMBERS.lead, { prompt: 'Make the build green', ...command });
  expect(asked.body.data.content).toContain('Starting Jules');
  return { s: stack, taskId: asked.taskId, handle: stack.client.workflow.getHandle(asked.taskId) };
}



async function viewOf(s: TestStack, taskId: string): Promise<TaskView | undefined> {
  return s.client.workflow.getHandle(taskId).query(taskViewQuery);
}

describe('a Jules session', () => {
  it('that completes without a pull request needs attention, with the session url', async () => {
    const script: SessionScript = [inProgress('Looking around'), { afterMs: 200, state: 'COMPLETED', activity: { originator: 'system', sessionCompleted: {} } }];
    const { s, taskId, handle } = await runTask({ jules: { script: () => script } });
    const outcome = await handle.result();
    expect(outcome.status).toBe('needs_attention');
    expect(outcome.reason).toMatch(/without opening a pull request: see https:\/\/jules\.google\.com\/session\/\d+/);
    expect((await s.store.getTask(taskId))?.status).toBe('needs_attention');
  });

  it('waits for a confirmer to approve the plan, refusing anyone else', async () => {
    const { s, taskId, handle } = await runTask({}, { plan_approval: true });
    const thread = await threadOf(s, taskId);
    const planMessage = await eventually(() => s.discord.channelMessages(thread).find((m) => m.embeds?.[0]?.title?.includes('plan')), 'the plan message');
    expect(buttonId(planMessage.components, 'Approve')).toBeDefined();
    await eventually(async () => (await viewOf(s, taskId))?.awaiting === 'plan_approval', 'the plan to wait');

    expect(await refusal(handle.executeUpdate(planDecisionUpdate, { args: [{ action: 'approve', member: MEMBERS.developer }] }))).toMatch(/Only members with a confirm role/);
    expect(s.jules.requests.some((r) => r.path.endsWith(':approvePlan'))).toBe(false);

    await handle.executeUpdate(planDecisionUpdate, { args: [{ action: 'approve', member: MEMBERS.lead }] });
    const outcome = await handle.result();
    expect(outcome.status).toBe('completed');
    expect(s.jules.requests.filter((r) => r.path.endsWith(':approvePlan') && r.status === 200)).toHaveLength(1);
  });

  it('carries on when the plan is approved in Jules’ own app, says so in the thread, and the buttons then refuse', async () => {
    const { s, taskId, handle } = await runTask({}, { plan_approval: true });
    const thread = await threadOf(s, taskId);
    const planMessage = await eventually(() => s.discord.channelMessages(thread).find((m) => buttonId(m.components, 'Approve')), 'the plan message');
    await eventually(async () => (await viewOf(s, taskId))?.awaiting === 'plan_approval', 'the plan to wait');

    s.jules.answerInJulesApp(s.jules.sessions()[0]!.name, { approvePlan: true });
    expect((await handle.result()).status).toBe('completed');
    const texts = s.discord.channelMessages(thread).map((m) => m.content ?? '');
    expect(texts.filter((t) => t.includes('answered in Jules itself'))).toHaveLength(1);
    // Nobody here approved it, so nothing was sent to Jules for it.
    expect(s.jules.requests.filter((r) => r.path.endsWith(':approvePlan'))).toEqual([]);
    const late = await s.click(MEMBERS.lead, buttonId(planMessage.components, 'Approve')!, planMessage.id);
    expect(late.body.data.content).toContain('no longer waiting for approval');
  });

  it('carries on when the question is answered in Jules’ own app, without waiting for a reply here', async () => {
    const { s, taskId, handle } = await runTask({ jules: { script: () => askingScript('Which locale should dates use?') } });
    const thread = await threadOf(s, taskId);
    await eventually(async () => (await viewOf(s, taskId))?.awaiting === 'reply', 'the question to wait');

    s.jules.answerInJulesApp(s.jules.sessions()[0]!.name, { message: 'en-GB' });
    expect((await handle.result()).status).toBe('completed');
    expect(s.discord.channelMessages(thread).filter((m) => (m.content ?? '').includes('answered in Jules itself'))).toHaveLength(1);
    expect(s.jules.requests.filter((r) => r.path.endsWith(':sendMessage'))).toEqual([]);
    expect(s.jules.sessions()[0]?.messages).toEqual(['en-GB']);
  });

  it("waits for plan approval when the guild asks for it by default, unless the request says otherwise", async () => {
    stack = await startTestStack();
    const s = stack;
    await s.store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], planApprovalDefault: true });
    const byDefault = await s.ask(MEMBERS.lead, { prompt: 'Guild default' });
    await eventually(async () => (await viewOf(s, byDefault.taskId))?.awaiting === 'plan_approval', 'the plan to wait');
    expect(s.jules.sessions().find((x) => x.input.prompt === 'Guild default')?.input.requirePlanApproval).toBe(true);
    const optedOut = await s.ask(MEMBERS.lead, { prompt: 'No approval please', plan_approval: false });
    expect((await s.outcome(optedOut.taskId)).status).toBe('completed');
    await s.client.workflow.getHandle(byDefault.taskId).executeUpdate(planDecisionUpdate, { args: [{ action: 'approve', member: MEMBERS.lead }] });
    expect((await s.outcome(byDefault.taskId)).status).toBe('completed');
  });

  it('without plan approval shows the plan in the thread for information, with no buttons', async () => {
    const { s, taskId, handle } = await runTask({});
    expect((await handle.result()).status).toBe('completed');
    const plans = s.discord.channelMessages(await threadOf(s, taskId)).filter((m) => m.embeds?.[0]?.title?.includes('plan'));
    expect(plans).toHaveLength(1);
    expect(JSON.stringify(plans[0]!.embeds)).toContain('Approved by Jules');
    expect(plans[0]!.components ?? []).toEqual([]);
  });

  it('sends requested plan changes to Jules as a message', async () => {
    const { s, taskId, handle } = await runTask({}, { plan_approval: true });
    await eventually(async () => (await viewOf(s, taskId))?.awaiting === 'plan_approval', 'the plan to wait');
    expect(await refusal(handle.executeUpdate(planDecisionUpdate, { args: [{ action: 'request_changes', member: MEMBERS.lead, feedback: '  ' }] }))).toMatch(/Say what Jules should change/);
    await handle.executeUpdate(planDecisionUpdate, { args: [{ action: 'request_changes', member: MEMBERS.lead, feedback: 'Also update the docs' }] });
    await eventually(() => s.jules.sessions()[0]?.messages.includes('Also update the docs'), 'the feedback at Jules');
    await handle.executeUpdate(cancelUpdate, { args: [{ member: MEMBERS.lead }] });
    expect((await handle.result()).status).toBe('cancelled');
  });

  it("puts Jules' question in the thread and sends the requester's reply back", async () => {
    const { s, taskId, handle } = await runTask({ jules: { script: () => askingScript('Which database should the cache use?') } });
    const thread = await threadOf(s, taskId);
    const question = await eventually(() => s.discord.channelMessages(thread).find((m) => JSON.stringify(m).includes('Which database should the cache use?')), 'the question');
    expect(buttonId(question.components, 'Reply')).toBeDefined();
    await eventually(async () => (await viewOf(s, taskId))?.awaiting === 'reply', 'the question to wait');

    expect(await refusal(handle.executeUpdate(replyUpdate, { args: [{ member: MEMBERS.outsider, text: 'Use Mongo' }] }))).toMatch(/Only the requester or a confirmer/);
    await handle.executeUpdate(replyUpdate, { args: [{ member: MEMBERS.lead, text: 'Use Redis' }] });
    expect((await handle.result()).status).toBe('completed');
    expect(s.jules.sessions()[0]?.messages).toEqual(['Use Redis']);
  });

  it('that pauses is reported with what to do, and the task goes on when Jules resumes', async () => {
    const script: SessionScript = [inProgress('Reading'), { afterMs: 300, state: 'PAUSED' }, inProgress('Back at it', 1500), { afterMs: 200, state: 'COMPLETED', pullRequestUrl: PR, activity: { originator: 'system', sessionCompleted: {} } }];
    const { s, taskId, handle } = await runTask({ jules: { script: () => script, timeScale: 1 } });
    expect((await handle.result()).status).toBe('completed');
    const texts = s.discord.channelMessages(await threadOf(s, taskId)).map((m) => m.content ?? '');
    expect(texts.filter((t) => t.includes('Jules paused the session'))).toHaveLength(1);
  });

  it('with no change for too long alerts the confirmers once, then ends as stalled', async () => {
    const script: SessionScript = [inProgress('Thinking'), { afterMs: 600_000, state: 'COMPLETED' }];
    const { s, taskId, handle } = await runTask({ jules: { script: () => script, timeScale: 1 }, settings: { stallAfterMs: 1_500 } });
    const outcome = await handle.result();
    expect(outcome.status).toBe('stalled');
    const texts = s.discord.channelMessages(await threadOf(s, taskId)).map((m) => m.content ?? '');
    expect(texts.filter((t) => t.includes('has shown no progress for'))).toHaveLength(1);
    expect(texts.find((t) => t.includes('has shown no progress for'))).toContain(`<@&${GUILD.leadRole}>`);
    const row = await s.store.getTask(taskId);
    expect(row?.status).toBe('stalled');
    // Ended, so no longer listed as open (a task that is only alerted still is).
    expect(row?.endedAt).toBeInstanceOf(Date);
    expect(await s.store.listTasks({ guildId: GUILD.id, open: true })).toEqual([]);
    // And its card offers nothing more: no Cancel on a task that is over.
    expect(s.discord.message(row!.cardMessageId!)?.components ?? []).toEqual([]);
  });

  it('that goes quiet and then moves again is back in progress and completes', async () => {
    // Stall alert at ~2 s, the change at ~3 s, well before the second timeout at ~4 s.
    const script: SessionScript = [inProgress('Thinking'), inProgress('Found it', 3_000), { afterMs: 200, state: 'COMPLETED', pullRequestUrl: PR, activity: { originator: 'system', sessionCompleted: {} } }];
    const { s, taskId, handle } = await runTask({ jules: { script: () => script, timeScale: 1 }, settings: { stallAfterMs: 2_000 } });
    expect((await handle.result()).status).toBe('completed');
    const texts = s.discord.channelMessages(await threadOf(s, taskId)).map((m) => m.content ?? '');
    expect(texts.filter((t) => t.includes('has shown no progress for'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('working again'))).toHaveLength(1);
  });

  it('past the task deadline expires', async () => {
    const script: SessionScript = [inProgress('Slow'), { afterMs: 600_000, state: 'COMPLETED' }];
    const { handle } = await runTask({ jules: { script: () => script, timeScale: 1 }, settings: { deadlineMs: 2_500 } });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'expired', reason: 'The task ran past its deadline.' });
  });

  it('whose key is revoked mid-session fails with a message to fix the key', async () => {
    const script: SessionScript = [inProgress('Working'), { afterMs: 600_000, state: 'COMPLETED' }];
    const { s, handle, taskId } = await runTask({ jules: { script: () => script, timeScale: 1 } });
    await eventually(async () => (await s.store.getTask(taskId))?.julesSessionId ?? undefined, 'the session');
    s.jules.revokeKey(KEYS.guild);
    const outcome = await handle.result();
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/rejected the API key/i);
  });

  it('is cancelled by the requester and stops being watched', async () => {
    const script: SessionScript = [inProgress('Working'), { afterMs: 600_000, state: 'COMPLETED' }];
    stack = await startTestStack({ jules: { script: () => script, timeScale: 1 } });
    const s = stack;
    const asked = await s.ask(MEMBERS.developer, { prompt: 'Cancel me' });
    const card = await eventually(() => s.discord.channelMessages(GUILD.channelId)[0], 'the card');
    await s.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
    await eventually(async () => (await s.store.getTask(asked.taskId))?.julesSessionId ?? undefined, 'the session');
    const handle = s.client.workflow.getHandle(asked.taskId);
    expect(await refusal(handle.executeUpdate(cancelUpdate, { args: [{ member: MEMBERS.outsider }] }))).toMatch(/Only the requester or a confirmer/);
    await handle.executeUpdate(cancelUpdate, { args: [{ member: MEMBERS.developer }] });
    expect((await handle.result()).status).toBe('cancelled');
    // The workflow waited for the watcher to stop before it finished: no Jules call after that.
    const requestsAfter = s.jules.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(s.jules.requests.length).toBe(requestsAfter);
    expect((await s.store.getTask(asked.taskId))?.status).toBe('cancelled');
  });

  it('keeps one progress message in the thread, edited in place', async () => {
    const script: SessionScript = [
      ...Array.from({ length: 8 }, (_, i) => inProgress(`Step ${i + 1}`, 150)),
      { afterMs: 200, state: 'COMPLETED', pullRequestUrl: PR, activity: { originator: 'system', sessionCompleted: {} } },
    ];
    const { s, taskId, handle } = await runTask({ jules: { script: () => script, timeScale: 1 } });
    expect((await handle.result()).status).toBe('completed');
    const thread = await threadOf(s, taskId);
    const progress = s.discord.channelMessages(thread).filter((m) => JSON.stringify(m).includes('Step '));
    expect(progress).toHaveLength(1);
    expect(JSON.stringify(progress[0])).toContain('Step 8');
  });

  it('continues as new when history grows, and still finishes', async () => {
    const script: SessionScript = [inProgress('One'), { afterMs: 300, state: 'PAUSED' }, inProgress('Two', 300), { afterMs: 300, state: 'PAUSED' }, inProgress('Three', 300), { afterMs: 200, state: 'COMPLETED', pullRequestUrl: PR, activity: { originator: 'system', sessionCompleted: {} } }];
    const { s, taskId, handle } = await runTask({ jules: { script: () => script, timeScale: 1 }, settings: { maxHistoryEvents: 25 } });
    expect((await handle.result()).status).toBe('completed');
    const description = await handle.describe();
    expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId);
    expect(s.jules.sessions()).toHaveLength(1);
    expect(s.discord.channelMessages(await threadOf(s, taskId)).filter((m) => (m.content ?? '').includes('PR ready'))).toHaveLength(1);
  });
});

