import { WorkflowNotFoundError } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { failingScript } from '../src/sandbox/jules-emulator';
import { buildModalSubmit, buildSlashCommand, createInteractionSigner } from '../src/sandbox/interaction-signer';
import { taskWorkflowId } from '../src/shared/ids';
import { keyLeaks } from './helpers/key-leaks';
import { buttonId, cardOf, GUILD, KEYS, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

const EPHEMERAL = 64;
let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});


/** Everything posted in the task's thread (its id is the card's message id). */
async function threadTexts(s: TestStack, taskId: string): Promise<string[]> {
  const card = await cardOf(s, taskId);
  return s.discord.channelMessages(card.id).map((m) => m.content ?? '');
}

async function expectNoWorkflow(s: TestStack, taskId: string) {
  await expect(s.client.workflow.getHandle(taskId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('a /jules request', () => {
  it('is confirmed by a confirmer and ends with the pull request in the channel', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Fix the flaky login test' });
    expect(asked.status).toBe(200);
    expect(asked.body.data.flags).toBe(EPHEMERAL);
    expect(asked.body.data.content).toContain('A confirmer must approve it');

    const card = await cardOf(stack, asked.taskId);
    expect((await stack.store.getTask(asked.taskId))?.status).toBe('pending_confirmation');
    const confirm = buttonId(card.components, 'Confirm');
    expect(confirm).toBeDefined();

    const clicked = await stack.click(MEMBERS.lead, confirm!, card.id);
    expect(clicked.body.type).toBe(7); // UPDATE_MESSAGE: the card loses Confirm and Reject at once
    expect(buttonId(clicked.body.data.components, 'Confirm')).toBeUndefined();
    expect(buttonId(clicked.body.data.components, 'Reject')).toBeUndefined();
    expect(buttonId(clicked.body.data.components, 'Cancel')).toBeDefined();

    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    expect(outcome.prUrl).toMatch(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/);

    const texts = await threadTexts(stack, asked.taskId);
    expect(texts.some((t) => t.startsWith('🛠️ Jules started working'))).toBe(true);
    expect(texts.filter((t) => t.includes(`PR ready: ${outcome.prUrl}`))).toHaveLength(1);
    // The channel itself holds only the card; everything after it is in the thread.
    expect(stack.discord.channelMessages(GUILD.channelId)).toHaveLength(1);
    expect(stack.discord.threads().map((t) => t.id)).toEqual([card.id]);
    expect((await stack.store.getTask(asked.taskId))?.threadId).toBe(card.id);
    // The card is edited twice (started, completed): the click's own answer already showed the confirmation.
    expect(stack.discord.message(card.id)?.editCount).toBe(2);
    const row = await stack.store.getTask(asked.taskId);
    expect(row).toMatchObject({ status: 'completed', prUrl: outcome.prUrl, decidedBy: GUILD.lead, keySource: 'guild', julesState: 'COMPLETED' });
    expect(row?.julesSessionId).toMatch(/^sessions\/\d+$/);
    expect(stack.jules.sessions()).toHaveLength(1);
  });

  it('starts at once when the requester holds a confirm role', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Bump the lodash version', repo: 'acme/widgets', branch: 'main' });
    expect(asked.body.data.content).toContain('Starting Jules');
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    expect(stack.jules.sessions()[0]?.input.sourceContext?.githubRepoContext?.startingBranch).toBe('main');
  });

  it('is refused, with nothing started, when the requester has no create role', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.outsider, { prompt: 'Delete the tests' });
    expect(asked.body.data.flags).toBe(EPHEMERAL);
    expect(asked.body.data.content).toContain('You need one of the roles');
    expect(await stack.store.getTask(asked.taskId)).toBeUndefined();
    expect(stack.discord.channelMessages(GUILD.channelId)).toHaveLength(0);
    expect(stack.jules.sessions()).toHaveLength(0);
  });

  it('is refused with a message naming what to configure when no key exists anywhere', async () => {
    stack = await startTestStack({ guildKey: false });
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Add a README' });
    expect(asked.body.data.content).toContain('No Jules API key is configured');
    expect(asked.body.data.content).toContain('`/jules-key set`');
    expect(asked.body.data.content).toContain(`guild set-key --guild-id ${GUILD.id}`);
    expect(await stack.store.getTask(asked.taskId)).toBeUndefined();
  });

  it('is refused when the server was never configured', async () => {
    stack = await startTestStack({ guild: false });
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Add a README' });
    expect(asked.body.data.content).toContain('not set up for Jules yet');
  });

  it("pays with the requester's personal key before the guild's", async () => {
    stack = await startTestStack({ personalKey: true });
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Refactor the cache' });
    const card = await cardOf(stack, asked.taskId);
    await stack.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    const keysSeen = new Set(stack.jules.requests.map((r) => r.apiKey));
    expect(keysSeen).toEqual(new Set([KEYS.personal]));
    expect((await stack.store.getTask(asked.taskId))?.keySource).toBe('personal');
  });

  it('starts exactly one workflow when Discord redelivers the interaction', async () => {
    stack = await startTestStack();
    const command = buildSlashCommand({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: 'Once only' } });
    const first = await stack.send(command);
    const second = await stack.send(command);
    expect(first.body.data.content).toContain('Starting Jules');
    expect(second.body.data.content).toContain('Starting Jules');
    const taskId = taskWorkflowId(command.id);
    expect((await stack.outcome(taskId)).status).toBe('completed');
    const third = await stack.send(command);
    expect(third.body.data.content).toContain('already received');
    const runs = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = "${taskId}"` })) runs.push(run);
    expect(runs).toHaveLength(1);
    expect(stack.jules.sessions()).toHaveLength(1);
  });
});

describe('the confirmation card', () => {
  it('refuses a member without a confirm role and leaves the task unchanged', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Rename the module' });
    const card = await cardOf(stack, asked.taskId);
    const clicked = await stack.click(MEMBERS.developer, buttonId(card.components, 'Confirm')!, card.id);
    expect(clicked.body.type).toBe(4);
    expect(clicked.body.data.flags).toBe(EPHEMERAL);
    expect(clicked.body.data.content).toContain('Only members with a confirm role');
    expect((await stack.store.getTask(asked.taskId))?.status).toBe('pending_confirmation');
    const history = await stack.client.workflow.getHandle(asked.taskId).fetchHistory();
    expect(JSON.stringify(history)).not.toContain('decision');
    expect(stack.jules.sessions()).toHaveLength(0);
  });

  it('tells the channel when a confirmer rejects, and starts nothing', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Rewrite it in Rust' });
    const card = await cardOf(stack, asked.taskId);
    const opened = await stack.click(MEMBERS.lead, buttonId(card.components, 'Reject')!, card.id);
    expect(opened.body.type).toBe(9); // the optional reason modal
    const clicked = await stack.send(
      buildModalSubmit({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, customId: opened.body.data.custom_id, fields: { text: 'Out of scope this sprint' }, message: card }),
    );
    expect(clicked.body.type).toBe(7);
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('rejected');
    expect((await stack.store.getTask(asked.taskId))?.status).toBe('rejected');
    const texts = await threadTexts(stack, asked.taskId);
    expect(texts.some((t) => t.includes('was rejected') && t.includes(`<@${GUILD.lead}>`))).toBe(true);
    const dm = stack.discord.dmChannelOf(GUILD.developer);
    expect(dm).toBeDefined();
    expect(stack.discord.channelMessages(dm!).map((m) => m.content)).toEqual([expect.stringContaining('was rejected')]);
    expect(stack.discord.channelMessages(dm!)[0]?.content).toContain('Out of scope this sprint');
    expect(stack.jules.sessions()).toHaveLength(0);
    const late = await stack.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
    expect(late.body.data.content).toContain('no longer waiting');
  });

  it('expires when nobody confirms in time', async () => {
    stack = await startTestStack({ settings: { confirmationTimeoutMs: 1_000 } });
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Nobody will answer' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('expired');
    expect((await stack.store.getTask(asked.taskId))?.status).toBe('expired');
    const card = stack.discord.channelMessages(GUILD.channelId).find((m) => m.embeds?.[0]?.footer?.text === asked.taskId);
    expect(card?.components).toEqual([]);
  });

  it('answers a button whose custom id it does not know with an ephemeral explanation', async () => {
    stack = await startTestStack();
    const clicked = await stack.click(MEMBERS.lead, 'someone-elses:button');
    expect(clicked.body.data.flags).toBe(EPHEMERAL);
    expect(clicked.body.data.content).toContain('out of date');
    const stale = await stack.click(MEMBERS.lead, 'jo1:confirm:task-123456789012345678');
    expect(stale.body.data.content).toContain('no longer waiting');
  });
});

describe('Jules', () => {
  it('failing marks the task failed with Jules’ reason', async () => {
    stack = await startTestStack({ jules: { script: () => failingScript('The repository could not be cloned') } });
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Doomed task' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome).toMatchObject({ status: 'failed', reason: 'The repository could not be cloned' });
    const row = await stack.store.getTask(asked.taskId);
    expect(row).toMatchObject({ status: 'failed', lastError: 'The repository could not be cloned', julesState: 'FAILED' });
    const texts = await threadTexts(stack, asked.taskId);
    expect(texts.some((t) => t.includes('failed: The repository could not be cloned'))).toBe(true);
  });

  it('answering 429 and 5xx is retried until the session is created, exactly once', async () => {
    stack = await startTestStack();
    stack.jules.injectFault({ status: 429, times: 1, retryAfterSeconds: 1, match: { method: 'POST', path: /\/sessions$/ } });
    stack.jules.injectFault({ status: 503, times: 1, match: { method: 'POST', path: /\/sessions$/ } });
    stack.jules.injectFault({ status: 500, times: 2, match: { method: 'GET', path: /\/sessions\/\d+$/ } });
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Survive the outage' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    const creates = stack.jules.requests.filter((r) => r.method === 'POST' && /\/sessions$/.test(r.path)).map((r) => r.status);
    expect(creates).toEqual([429, 503, 200]);
    expect(stack.jules.requests.filter((r) => r.status === 500)).toHaveLength(2);
    expect(stack.jules.sessions()).toHaveLength(1);
  });

  it('without access to the repository fails the task with what to do', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Wrong repo', repo: 'acme/secret-project' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('install the Jules GitHub app');
  });

  it('rejecting the stored key fails the task with a message to fix the key', async () => {
    stack = await startTestStack({ guildKey: false });
    await stack.store.setGuildKey(GUILD.id, stack.secrets.encrypt('AQ.revoked-key-000000000000'));
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Key was revoked' });
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/rejected the API key/i);
    expect(outcome.reason).not.toContain('revoked-key');
  });
});

describe('secrets', () => {
  it('never show up in workflow history, logs, Discord messages or stored rows', async () => {
    stack = await startTestStack({ personalKey: true });
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Check for leaks' });
    const card = await cardOf(stack, asked.taskId);
    await stack.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    const guildAsked = await stack.ask(MEMBERS.lead, { prompt: 'Guild key run' });
    expect((await stack.outcome(guildAsked.taskId)).status).toBe('completed');

    expect(await keyLeaks(stack, Object.values(KEYS), { taskIds: [asked.taskId, guildAsked.taskId] })).toEqual([]);
  });
});

describe('the /interactions endpoint', () => {
  it('answers 401 to a forged or missing signature and starts nothing', async () => {
    stack = await startTestStack();
    const command = buildSlashCommand({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: 'forged' } });
    const forged = await stack.send(command, { signer: createInteractionSigner() });
    expect(forged.status).toBe(401);
    const missing = await stack.app.inject({ method: 'POST', url: '/interactions', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(command) });
    expect(missing.statusCode).toBe(401);
    const tampered = stack.signer.sign(JSON.stringify(command));
    const swapped = await stack.app.inject({ method: 'POST', url: '/interactions', headers: tampered.headers, payload: JSON.stringify({ ...command, id: '1' }) });
    expect(swapped.statusCode).toBe(401);
    await expectNoWorkflow(stack, taskWorkflowId(command.id));
  });

  it('answers 400 to a signed body that is not an interaction', async () => {
    stack = await startTestStack();
    expect((await stack.send(undefined, { raw: '{"type": 2,' })).status).toBe(400);
    expect((await stack.send({ type: 2, id: 'x' })).status).toBe(400);
    expect((await stack.send({ id: '123', application_id: '456', type: 99, token: 't', version: 1 })).status).toBe(400);
    expect((await stack.send({ id: '123', application_id: '456', type: 3, token: 't', version: 1, data: {} })).status).toBe(400);
  });

  it('answers PING with PONG', async () => {
    stack = await startTestStack();
    const pong = await stack.send({ id: '123', application_id: '456', type: 1, token: 't', version: 1 });
    expect(pong).toEqual({ status: 200, body: { type: 1 } });
  });

  it('explains an unknown command and a /jules without a prompt', async () => {
    stack = await startTestStack();
    const unknown = await stack.send(buildSlashCommand({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'deploy' }));
    expect(unknown.body.data).toMatchObject({ flags: EPHEMERAL, content: expect.stringContaining('/deploy') });
    const empty = await stack.ask(MEMBERS.lead, { prompt: '   ' });
    expect(empty.body.data.content).toContain('Tell Jules what to do');
    const badRepo = await stack.ask(MEMBERS.lead, { prompt: 'x', repo: 'not a repo' });
    expect(badRepo.body.data.content).toContain('owner/name');
    await expectNoWorkflow(stack, empty.taskId);
  });

  it('reports health', async () => {
    stack = await startTestStack();
    const health = await stack.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.json()).toEqual({ status: 'ok' });
  });
});
