import { Writable } from 'node:stream';
import {
  ComponentType,
  InteractionResponseType,
  TextInputStyle,
  type APIInteraction,
  type APIInteractionResponse,
  type APIMessage,
  type APIModalInteractionResponseCallbackData,
} from '@discordjs/core/http-only';
import { DiscordAPIError } from '@discordjs/rest';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeModalId, encodeCustomId, encodeModalId, MODAL_TEXT_FIELD, type ButtonAction, type ModalAction } from '../src/discord/custom-id';
import { createInteractionDispatcher, FAILURE_TEXT, type InteractionDispatcher } from '../src/discord/dispatcher';
import { deliverLateAnswer, LATE_FORM_TEXT, type LateAnswerApi } from '../src/discord/late-answer';
import { createInFlight } from '../src/lifecycle/in-flight';
import { MODAL_SPECS } from '../src/discord/modals';
import { renderQuestionMessage, statusLabel } from '../src/discord/task-card';
import { createLogger } from '../src/logger';
import type { EmulatedMessage } from '../src/sandbox/discord-emulator';
import { buildButtonClick, buildModalSubmit, buildSlashCommand, newSnowflake } from '../src/sandbox/interaction-signer';
import { askingScript } from '../src/sandbox/jules-emulator';
import type { Member, TaskView } from '../src/shared/task';
import type { Store, TaskRecord } from '../src/store/store';
import { createTemporalTaskControl, type DecideResult, type TaskControl } from '../src/temporal/task-control';
import { buttonId, cardOf, eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';
import { openMigratedStore } from './helpers/migrated-store';
import { createSecretBox, generateEncryptionKey } from '../src/crypto/secret-box';

/** Seals what a form submits as a key; these tests never read it back in plaintext. */
const TEST_SECRETS = createSecretBox(generateEncryptionKey());

const EPHEMERAL = 64;
const APP = '1300000000000000001';
const GUILD_ID = '1300000000000000002';
const CHANNEL = '1300000000000000003';
const CONFIRM_ROLE = '1300000000000000010';
const DEV_ROLE = '1300000000000000011';
const requester = { id: '1300000000000000100', roles: [DEV_ROLE] };
const lead = { id: '1300000000000000101', roles: [CONFIRM_ROLE] };
const outsider = { id: '1300000000000000102', roles: [DEV_ROLE] };
const TASK = 'task-1300000000000000999';

type UpdateMethod = 'decide' | 'decidePlan' | 'reply' | 'cancel';

/**
 * A small fake of the TaskControl port: views by task id, scripted update results, and a record of calls.
 * An update answers `decided` with the stored view unless a result is scripted; an unknown task is `gone`.
 */
function fakeTasks() {
  const views = new Map<string, TaskView>();
  const results: Partial<Record<UpdateMethod, DecideResult>> = {};
  const calls: { method: string; taskId: string; arg?: unknown }[] = [];
  let failure: Error | undefined;
  let hang = false;
  let slowMs = 0;
  const pause = () => new Promise((resolve) => setTimeout(resolve, slowMs));

  async function update(method: UpdateMethod, taskId: string, arg: unknown, change: (view: TaskView) => TaskView): Promise<DecideResult> {
    calls.push({ method, taskId, arg });
    if (hang) return new Promise(() => {});
    await pause();
    if (failure) throw failure;
    if (results[method]) return results[method];
    const view = views.get(taskId);
    if (!view) return { kind: 'gone' };
    const next = change(view);
    views.set(taskId, next);
    return { kind: 'decided', view: next };
  }

  const control: TaskControl = {
    async submit() {
      if (hang) return new Promise(() => {});
      throw new Error('not used');
    },
    decide: (taskId, d) =>
      update('decide', taskId, d, (v) => ({ ...v, status: d.action === 'confirm' ? 'in_progress' : 'rejected', decidedBy: d.member.id, awaiting: undefined, ...(d.reason ? { error: d.reason } : {}) })),
    decidePlan: (taskId, d) => update('decidePlan', taskId, d, (v) => ({ ...v, awaiting: undefined })),
    reply: (taskId, r) => update('reply', taskId, r, (v) => ({ ...v, awaiting: undefined })),
    cancel: (taskId, c) => update('cancel', taskId, c, (v) => ({ ...v, status: 'cancelled', awaiting: undefined })),
    async view(taskId) {
      calls.push({ method: 'view', taskId });
      if (hang) return new Promise(() => {});
      await pause();
      if (failure) throw failure;
      return views.get(taskId);
    },
    async merge(taskId, member) {
      calls.push({ method: 'merge', taskId, arg: member });
      return { kind: 'gone' };
    },
    async fix(taskId, member) {
      calls.push({ method: 'fix', taskId, arg: member });
      return { kind: 'gone' };
    },
    async notifyJulesEvent() {
      return false;
    },
  };
  return {
    control,
    views,
    results,
    calls,
    /** Calls that change a task (everything but `view`). */
    updates: () => calls.filter((c) => c.method !== 'view'),
    failWith(err: Error) {
      failure = err;
    },
    hangForever() {
      hang = true;
    },
    /** Every call takes this long: past the dispatcher's deadline, the answer comes late. */
    slowBy(ms: number) {
      slowMs = ms;
    },
  };
}

/** The interaction webhook as the dispatcher sees it, recording what a late answer sent. */
function recordingWebhook() {
  const sent: { route: 'editReply' | 'followUp'; token: string; body: Record<string, unknown> }[] = [];
  const api: LateAnswerApi = {
    async editReply(_applicationId, token, body) {
      sent.push({ route: 'editReply', token, body: body as Record<string, unknown> });
      return {} as APIMessage;
    },
    async followUp(_applicationId, token, body) {
      sent.push({ route: 'followUp', token, body: body as Record<string, unknown> });
      return {} as APIMessage;
    },
  };
  return { api, sent };
}

function taskView(overrides: Partial<TaskView> = {}): TaskView {
  return {
    taskId: TASK,
    status: 'pending_confirmation',
    awaiting: 'confirmation',
    channelId: CHANNEL,
    cardMessageId: '1300000000000000500',
    confirmRoles: [CONFIRM_ROLE],
    prompt: 'Fix the flaky login test',
    repo: 'acme/widgets',
    requesterId: requester.id,
    keySource: 'guild',
    ...overrides,
  };
}

function click(user: Member, customId: string): APIInteraction {
  return buildButtonClick({ applicationId: APP, guildId: GUILD_ID, channelId: CHANNEL, user, customId, messageId: newSnowflake() });
}

function button(action: ButtonAction, user: Member = lead, taskId = TASK): APIInteraction {
  return click(user, encodeCustomId({ action, taskId }));
}

function submit(action: ModalAction, user: Member, text: string, message?: Partial<APIMessage>): APIInteraction {
  return buildModalSubmit({
    applicationId: APP,
    guildId: GUILD_ID,
    channelId: CHANNEL,
    user,
    customId: encodeModalId({ action, taskId: TASK }),
    fields: { [MODAL_TEXT_FIELD]: text },
    ...(message === undefined ? {} : { message: { id: newSnowflake(), channel_id: CHANNEL, content: '', ...message } as APIMessage }),
  });
}

/** The same interaction as Discord sends it from a DM: `user` instead of `member`, no guild. */
function inDirectMessage(interaction: APIInteraction): APIInteraction {
  const { member, guild_id: _guild, guild: _g, ...rest } = interaction as APIInteraction & { member: { user: unknown }; guild?: unknown };
  return { ...rest, user: member.user, context: 1 } as unknown as APIInteraction;
}

function command(user: Member, name: string, options?: Record<string, string | boolean>): APIInteraction {
  return buildSlashCommand({ applicationId: APP, guildId: GUILD_ID, channelId: CHANNEL, user, name, ...(options ? { options } : {}) });
}

/** Asserts an ephemeral message answer and returns its text. */
function ephemeralText(response: APIInteractionResponse): string {
  expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  const data = (response as { data: { content?: string; flags?: number } }).data;
  expect(data.flags).toBe(EPHEMERAL);
  return data.content ?? '';
}

/** Asserts a modal answer and returns it, checking Discord's limits on modals. */
function modalOf(response: APIInteractionResponse): APIModalInteractionResponseCallbackData {
  expect(response.type).toBe(InteractionResponseType.Modal);
  const modal = (response as { data: APIModalInteractionResponseCallbackData }).data;
  expect(modal.title.length).toBeGreaterThan(0);
  expect(modal.title.length).toBeLessThanOrEqual(45);
  expect(modal.custom_id.length).toBeLessThanOrEqual(100);
  expect(modal.components.length).toBeGreaterThanOrEqual(1);
  expect(modal.components.length).toBeLessThanOrEqual(5);
  return modal;
}

function updated(response: APIInteractionResponse) {
  expect(response.type).toBe(InteractionResponseType.UpdateMessage);
  return (response as { data: { content?: string; embeds?: { title?: string; description?: string; fields?: { name: string; value: string }[] }[]; components?: unknown[] } }).data;
}

function buttonLabels(components: unknown[] | undefined): string[] {
  return ((components ?? []) as { components: { label: string }[] }[]).flatMap((row) => row.components.map((c) => c.label));
}

let logs: string[];
let tasks: ReturnType<typeof fakeTasks>;
let webhook: ReturnType<typeof recordingWebhook>;
let store: Store;
let dispatch: InteractionDispatcher;

beforeAll(async () => {
  store = await openMigratedStore();
});

afterAll(async () => {
  await store.close();
});

beforeEach(() => {
  logs = [];
  tasks = fakeTasks();
  webhook = recordingWebhook();
  const log = createLogger('info', new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } }));
  dispatch = createInteractionDispatcher({ secrets: TEST_SECRETS, tasks: tasks.control, log, store, lateAnswers: webhook.api, answerWithinMs: 300 });
});

describe('the card’s buttons', () => {
  it('confirm by a confirmer updates the card in place, leaving only Cancel', async () => {
    tasks.views.set(TASK, taskView());
    const card = updated(await dispatch(button('confirm')));
    expect(card.embeds?.[0]?.fields).toContainEqual(expect.objectContaining({ name: 'Status', value: statusLabel('in_progress') }));
    expect(buttonLabels(card.components)).toEqual(['Cancel']);
    expect(tasks.updates()).toEqual([{ method: 'decide', taskId: TASK, arg: { action: 'confirm', member: lead } }]);
  });

  it('confirm by someone without the role gets the validator’s own words, privately', async () => {
    tasks.results.decide = { kind: 'refused', reason: 'Only members with a confirm role can confirm or reject this task.' };
    expect(ephemeralText(await dispatch(button('confirm', requester)))).toBe('🚫 Only members with a confirm role can confirm or reject this task.');
  });

  it('confirm on a finished task says it is no longer waiting', async () => {
    expect(ephemeralText(await dispatch(button('confirm')))).toBe(FAILURE_TEXT.gone);
  });

  it('reject by a confirmer opens a modal asking for an optional reason, and decides nothing yet', async () => {
    tasks.views.set(TASK, taskView());
    const modal = modalOf(await dispatch(button('reject')));
    expect(decodeModalId(modal.custom_id)).toEqual({ action: 'reject', taskId: TASK });
    expect(modal.components).toEqual([
      expect.objectContaining({
        type: ComponentType.Label,
        label: expect.any(String),
        component: expect.objectContaining({ type: ComponentType.TextInput, custom_id: MODAL_TEXT_FIELD, style: TextInputStyle.Paragraph, required: false, max_length: 500 }),
      }),
    ]);
    expect(tasks.updates()).toEqual([]);
  });

  it('reject by a member without a confirm role is refused before any modal opens', async () => {
    tasks.views.set(TASK, taskView());
    expect(ephemeralText(await dispatch(button('reject', requester)))).toContain('Only members with a confirm role');
    expect(tasks.updates()).toEqual([]);
  });

  it('reject on a task that is already running or finished opens no modal', async () => {
    tasks.views.set(TASK, taskView({ status: 'in_progress', awaiting: undefined }));
    expect(ephemeralText(await dispatch(button('reject')))).toContain('no longer waiting for a decision');
    tasks.views.set(TASK, taskView({ status: 'completed', awaiting: undefined }));
    expect(ephemeralText(await dispatch(button('reject')))).toBe(FAILURE_TEXT.gone);
    tasks.views.delete(TASK);
    expect(ephemeralText(await dispatch(button('reject')))).toContain('This task is finished');
  });

  it('the reject modal’s reason goes with the decision and the card is updated in place', async () => {
    tasks.views.set(TASK, taskView());
    const card = updated(await dispatch(submit('reject', lead, '  Out of scope this sprint ', { embeds: [] })));
    expect(tasks.updates()).toEqual([{ method: 'decide', taskId: TASK, arg: { action: 'reject', member: lead, reason: 'Out of scope this sprint' } }]);
    expect(card.embeds?.[0]?.fields).toContainEqual(expect.objectContaining({ name: 'Why', value: 'Out of scope this sprint' }));
    expect(card.components).toEqual([]);
  });

  it('the reject modal may be sent without a reason', async () => {
    tasks.views.set(TASK, taskView());
    updated(await dispatch(submit('reject', lead, '   ', {})));
    expect(tasks.updates()).toEqual([{ method: 'decide', taskId: TASK, arg: { action: 'reject', member: lead } }]);
  });

  it('a reject modal that lost the race to a confirm says so and gives the reason back', async () => {
    tasks.results.decide = { kind: 'refused', reason: 'This task is already in progress.' };
    const text = ephemeralText(await dispatch(submit('reject', lead, 'Too risky', {})));
    expect(text).toContain('🚫 This task is already in progress.');
    expect(text).toContain('> Too risky');
  });

  it('cancel by the requester marks the card cancelled and removes every button', async () => {
    tasks.views.set(TASK, taskView({ status: 'in_progress', awaiting: undefined }));
    const card = updated(await dispatch(button('cancel', requester)));
    expect(card.embeds?.[0]?.fields).toContainEqual(expect.objectContaining({ name: 'Status', value: statusLabel('cancelled') }));
    expect(card.components).toEqual([]);
    expect(tasks.updates()).toEqual([{ method: 'cancel', taskId: TASK, arg: { member: requester } }]);
  });

  it('cancel of someone else’s task passes the validator’s refusal through', async () => {
    tasks.results.cancel = { kind: 'refused', reason: 'Only the requester or a confirmer can cancel this task.' };
    expect(ephemeralText(await dispatch(button('cancel', outsider)))).toBe('🚫 Only the requester or a confirmer can cancel this task.');
  });

  it('cancel of a finished task says the task is finished', async () => {
    expect(ephemeralText(await dispatch(button('cancel', requester)))).toBe(FAILURE_TEXT.gone);
  });
});

describe('the plan’s buttons', () => {
  const waitingPlan = () => taskView({ status: 'in_progress', awaiting: 'plan_approval', plan: ['Read the code', 'Fix it'], decidedBy: lead.id });

  it('approve by a confirmer re-renders the plan saying who approved it, without buttons', async () => {
    tasks.views.set(TASK, waitingPlan());
    const plan = updated(await dispatch(button('approve_plan')));
    expect(plan.embeds?.[0]?.description).toContain('**1.** Read the code');
    expect(plan.embeds?.[0]?.fields?.[0]?.value).toBe(`✅ Approved by <@${lead.id}>`);
    expect(plan.components).toEqual([]);
    expect(tasks.updates()).toEqual([{ method: 'decidePlan', taskId: TASK, arg: { action: 'approve', member: lead } }]);
  });

  it('approve by a non-confirmer is refused with the validator’s words', async () => {
    tasks.views.set(TASK, waitingPlan());
    tasks.results.decidePlan = { kind: 'refused', reason: 'Only members with a confirm role can approve the plan or ask for changes.' };
    expect(ephemeralText(await dispatch(button('approve_plan', requester)))).toBe('🚫 Only members with a confirm role can approve the plan or ask for changes.');
  });

  it('approve on a finished task says the plan no longer waits', async () => {
    expect(ephemeralText(await dispatch(button('approve_plan')))).toBe(FAILURE_TEXT.planGone);
  });

  it('request changes by a non-confirmer is refused before the modal opens', async () => {
    tasks.views.set(TASK, waitingPlan());
    expect(ephemeralText(await dispatch(button('request_changes', requester)))).toContain('Only members with a confirm role');
    expect(tasks.updates()).toEqual([]);
  });

  it('request changes by a confirmer opens a modal for the feedback', async () => {
    tasks.views.set(TASK, waitingPlan());
    const modal = modalOf(await dispatch(button('request_changes')));
    expect(decodeModalId(modal.custom_id)).toEqual({ action: 'request_changes', taskId: TASK });
    expect(modal.components[0]).toMatchObject({
      type: ComponentType.Label,
      component: { type: ComponentType.TextInput, custom_id: MODAL_TEXT_FIELD, required: true, max_length: 2000 },
    });
  });

  it('request changes when the plan no longer waits opens no modal', async () => {
    tasks.views.set(TASK, taskView({ status: 'in_progress', awaiting: undefined, plan: ['Read the code'] }));
    expect(ephemeralText(await dispatch(button('request_changes')))).toBe(FAILURE_TEXT.planGone);
  });

  it('the feedback goes to the workflow and the plan message says who asked for changes', async () => {
    tasks.views.set(TASK, waitingPlan());
    const plan = updated(await dispatch(submit('request_changes', lead, 'Add tests first', {})));
    expect(tasks.updates()).toEqual([{ method: 'decidePlan', taskId: TASK, arg: { action: 'request_changes', member: lead, feedback: 'Add tests first' } }]);
    expect(plan.embeds?.[0]?.fields?.[0]?.value).toBe(`✏️ Changes requested by <@${lead.id}>`);
  });

  it('feedback refused by the validator comes back with the feedback quoted, so it is not lost', async () => {
    tasks.results.decidePlan = { kind: 'refused', reason: 'No plan is waiting for approval on this task.' };
    const text = ephemeralText(await dispatch(submit('request_changes', lead, 'Add tests first\nand docs', {})));
    expect(text).toContain('🚫 No plan is waiting for approval on this task.');
    expect(text).toContain('> Add tests first\n> and docs');
  });
});

describe('the question’s Reply button', () => {
  const asking = () => taskView({ status: 'in_progress', awaiting: 'reply', question: 'Which test runner?', decidedBy: lead.id });

  it('opens the reply modal for the requester and for a confirmer', async () => {
    tasks.views.set(TASK, asking());
    for (const member of [requester, lead]) {
      const modal = modalOf(await dispatch(button('reply', member)));
      expect(decodeModalId(modal.custom_id)).toEqual({ action: 'reply', taskId: TASK });
      expect(modal.components[0]).toMatchObject({ component: { custom_id: MODAL_TEXT_FIELD, required: true, max_length: 2000 } });
    }
  });

  it('is refused to anyone else before the modal opens', async () => {
    tasks.views.set(TASK, asking());
    expect(ephemeralText(await dispatch(button('reply', outsider)))).toBe('Only the requester or a member with a confirm role can reply to Jules for this task.');
    expect(tasks.updates()).toEqual([]);
  });

  it('on a finished task says the task is finished', async () => {
    expect(ephemeralText(await dispatch(button('reply', requester)))).toContain('This task is finished');
    tasks.views.set(TASK, asking());
    tasks.views.set(TASK, { ...asking(), status: 'failed' });
    expect(ephemeralText(await dispatch(button('reply', requester)))).toContain('This task is finished');
  });

  it('leaves the decision to the validator when the view does not carry the confirm roles', async () => {
    const { confirmRoles: _roles, ...withoutRoles } = asking();
    tasks.views.set(TASK, withoutRoles);
    modalOf(await dispatch(button('reply', outsider)));
    tasks.results.reply = { kind: 'refused', reason: 'Only the requester or a confirmer can reply to Jules.' };
    const text = ephemeralText(await dispatch(submit('reply', outsider, 'Vitest', {})));
    expect(text).toContain('🚫 Only the requester or a confirmer can reply to Jules.');
    expect(text).toContain('> Vitest');
  });

  it('sends the reply and shows it under the question, removing the button', async () => {
    tasks.views.set(TASK, asking());
    const question = renderQuestionMessage(asking());
    const message = updated(await dispatch(submit('reply', requester, 'Use vitest', { content: question.content! })));
    expect(tasks.updates()).toEqual([{ method: 'reply', taskId: TASK, arg: { member: requester, text: 'Use vitest' } }]);
    expect(message.content).toContain('> Which test runner?');
    expect(message.content).toContain(`↩️ <@${requester.id}> replied:\n> Use vitest`);
    expect(message.components).toEqual([]);
  });

  it('answers privately when the modal did not come from a message', async () => {
    tasks.views.set(TASK, asking());
    expect(ephemeralText(await dispatch(submit('reply', requester, 'Use vitest')))).toContain('Sent your reply');
  });

  it('a reply for a task that ended meanwhile is given back to its writer', async () => {
    const text = ephemeralText(await dispatch(submit('reply', requester, 'Use vitest', {})));
    expect(text).toContain('This task is finished');
    expect(text).toContain('> Use vitest');
  });
});

describe('modal submissions', () => {
  it('refuse an empty required text without calling the workflow', async () => {
    for (const action of ['request_changes', 'reply'] as const) {
      expect(ephemeralText(await dispatch(submit(action, lead, '  \n ', {}))), action).toContain('empty');
    }
    expect(tasks.updates()).toEqual([]);
  });

  it('refuse a forged text longer than the modal allows', async () => {
    for (const action of ['reject', 'request_changes', 'reply'] as const) {
      const text = 'x'.repeat(MODAL_SPECS[action].maxLength + 1);
      expect(ephemeralText(await dispatch(submit(action, lead, text, {}))), action).toContain('too long');
    }
    expect(tasks.updates()).toEqual([]);
  });

  it('read the text from an action row too, as older clients send it', async () => {
    tasks.views.set(TASK, taskView({ status: 'in_progress', awaiting: 'reply' }));
    const interaction = submit('reply', requester, 'ignored', {}) as APIInteraction & { data: { components: unknown[] } };
    interaction.data.components = [{ type: ComponentType.ActionRow, components: [{ type: ComponentType.TextInput, id: 2, custom_id: MODAL_TEXT_FIELD, value: 'From a row' }] }];
    await dispatch(interaction);
    expect(tasks.updates()).toEqual([{ method: 'reply', taskId: TASK, arg: { member: requester, text: 'From a row' } }]);
  });

  it('with a custom id that is not ours explain that the form is out of date', async () => {
    const interaction = submit('reply', requester, 'hi', {}) as APIInteraction & { data: { custom_id: string } };
    for (const customId of ['jo1m:merge:task-1', 'jo1:reply:task-1', 'other-bot:form']) {
      interaction.data.custom_id = customId;
      expect(ephemeralText(await dispatch(interaction)), customId).toBe(FAILURE_TEXT.staleModal);
    }
    expect(tasks.updates()).toEqual([]);
  });
});

describe('every failure has words', () => {
  it('an unknown command is named and the real ones suggested', async () => {
    const text = ephemeralText(await dispatch(command(requester, 'deploy')));
    expect(text).toContain('`/deploy`');
    expect(text).toContain('/jules-status');
  });

  it('a button whose custom id does not parse is called out of date', async () => {
    for (const customId of ['someone-elses:button', 'jo1:launch:task-1', 'jo0:confirm:task-1', `jo1:confirm:task-${'1'.repeat(30)}`]) {
      expect(ephemeralText(await dispatch(click(lead, customId))), customId).toBe(FAILURE_TEXT.staleButton);
    }
    expect(tasks.calls).toEqual([]);
  });

  it('a Merge click on a pull request nobody follows any more says so, in words', async () => {
    expect(ephemeralText(await dispatch(click(lead, encodeCustomId({ action: 'merge', taskId: TASK }))))).toBe(FAILURE_TEXT.prGone);
    expect(tasks.calls).toEqual([{ method: 'merge', taskId: TASK, arg: { id: lead.id, roles: lead.roles } }]);
  });

  it('an “Ask Jules to fix” click on a pull request nobody follows any more says so, in words', async () => {
    expect(ephemeralText(await dispatch(click(lead, encodeCustomId({ action: 'fix', taskId: TASK }))))).toBe(FAILURE_TEXT.prGone);
    expect(tasks.calls).toEqual([{ method: 'fix', taskId: TASK, arg: { id: lead.id, roles: lead.roles } }]);
  });

  it('buttons, modals and commands in a direct message are explained, and nothing is called', async () => {
    expect(ephemeralText(await dispatch(inDirectMessage(button('confirm'))))).toBe(FAILURE_TEXT.directMessage);
    expect(ephemeralText(await dispatch(inDirectMessage(submit('reply', requester, 'hi', {}))))).toBe(FAILURE_TEXT.directMessage);
    expect(ephemeralText(await dispatch(inDirectMessage(command(requester, 'jules-status'))))).toContain('server channel');
    expect(ephemeralText(await dispatch(inDirectMessage(command(requester, 'jules', { prompt: 'x' }))))).toContain('server channel');
    expect(tasks.calls).toEqual([]);
  });

  it('a call past Temporal’s deadline is not called “nothing was changed”: it may have gone through', async () => {
    const late = Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 });
    tasks.failWith(Object.assign(new Error('Workflow Update failed', { cause: late }), { name: 'ServiceError' }));
    for (const interaction of [button('confirm'), submit('reject', lead, 'no', {})]) {
      const text = ephemeralText(await dispatch(interaction));
      expect(text).toBe(FAILURE_TEXT.uncertain);
      expect(text).not.toContain('nothing was changed');
    }
    expect(logs.some((line) => line.includes('Temporal did not answer in time'))).toBe(true);
  });

  it('a Temporal that cannot be reached gets “try again”, and the error is logged', async () => {
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    tasks.failWith(Object.assign(new Error('Workflow Update failed', { cause: unavailable }), { name: 'ServiceError' }));
    for (const interaction of [button('confirm'), button('reply', requester), submit('reject', lead, 'no', {})]) {
      expect(ephemeralText(await dispatch(interaction))).toBe(FAILURE_TEXT.unreachable);
    }
    expect(logs.some((line) => line.includes('Temporal could not be reached'))).toBe(true);
  });

  it('a Temporal that does not answer in time gets a deferral before Discord’s 3 seconds are up', async () => {
    tasks.hangForever();
    const started = Date.now();
    expect(await dispatch(button('approve_plan'))).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    expect(await dispatch(command(requester, 'jules', { prompt: 'x' }))).toEqual({
      type: InteractionResponseType.DeferredChannelMessageWithSource,
      data: { flags: EPHEMERAL },
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(logs.some((line) => line.includes('interaction answer deferred'))).toBe(true);
    expect(webhook.sent).toEqual([]);
  });

  it('counts the time an interaction already waited before it reached the dispatcher against the deadline', async () => {
    // 150 ms of work fits the 300 ms deadline, unless the request had already waited 200 ms (queued under load).
    tasks.slowBy(150);
    expect((await dispatch(button('approve_plan'))).type).not.toBe(InteractionResponseType.DeferredMessageUpdate);
    expect(await dispatch(button('approve_plan'), { waitedMs: 200 })).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    // Waited past the whole deadline: deferred at once, the answer delivered later; an answer ready at once still wins.
    expect(await dispatch(button('approve_plan'), { waitedMs: 5_000 })).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    expect(ephemeralText(await dispatch(command(requester, '@everyone'), { waitedMs: 5_000 }))).toContain('I don');
    expect(logs.some((line) => line.includes('"beforeDispatchMs":5000'))).toBe(true);
  });

  it('an unexpected error is contained in a short apology that reveals nothing', async () => {
    tasks.failWith(new Error('secret internals at /srv/app.ts:42'));
    const text = ephemeralText(await dispatch(button('cancel', requester)));
    expect(text).toBe(FAILURE_TEXT.internal);
    expect(logs.some((line) => line.includes('secret internals'))).toBe(true);
  });

  it('autocomplete gets an empty list rather than a message Discord would reject', async () => {
    const autocomplete = { ...command(requester, 'jules'), type: 4 } as unknown as APIInteraction;
    expect(await dispatch(autocomplete)).toEqual({ type: InteractionResponseType.ApplicationCommandAutocompleteResult, data: { choices: [] } });
  });

  it('never pings anyone from an ephemeral explanation', async () => {
    const response = await dispatch(command(requester, '@everyone'));
    expect((response as { data: { allowed_mentions?: unknown } }).data.allowed_mentions).toEqual({ parse: [] });
  });
});

describe('answers that come after the deadline', () => {
  beforeEach(() => tasks.slowBy(500));

  it('a button that redraws the card defers silently, then edits the card through the webhook', async () => {
    tasks.views.set(TASK, taskView());
    const click = button('confirm');
    expect(await dispatch(click)).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    const edit = await eventually(() => webhook.sent[0], 'the late edit');
    expect(edit).toMatchObject({ route: 'editReply', token: click.token });
    expect(JSON.stringify(edit.body.embeds)).toContain(statusLabel('in_progress'));
    expect(buttonLabels(edit.body.components as unknown[])).toEqual(['Cancel']);
    expect(webhook.sent).toHaveLength(1);
  });

  it('a stopping process waits for a late answer still on its way, then finds nothing left to deliver', async () => {
    const lateDeliveries = createInFlight();
    const draining = createInteractionDispatcher({ secrets: TEST_SECRETS, tasks: tasks.control, log: createLogger('silent'), store, lateAnswers: webhook.api, answerWithinMs: 300, lateDeliveries });
    tasks.views.set(TASK, taskView());
    expect(await draining(button('confirm'))).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    expect(lateDeliveries.size).toBe(1);
    expect(webhook.sent).toHaveLength(0);
    expect(await lateDeliveries.settled(30_000)).toBe(0);
    expect(webhook.sent).toHaveLength(1);
  });

  it('a refusal after a button comes as a private follow-up, leaving the card alone', async () => {
    tasks.views.set(TASK, taskView());
    tasks.results.cancel = { kind: 'refused', reason: 'Only the requester or a member with a confirm role can cancel this task.' };
    const click = button('cancel', outsider);
    expect(await dispatch(click)).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    const followUp = await eventually(() => webhook.sent[0], 'the late follow-up');
    expect(followUp).toMatchObject({ route: 'followUp', token: click.token, body: { flags: EPHEMERAL } });
    expect(followUp.body.content).toContain('Only the requester');
  });

  it('a command shows “thinking…”, then its answer is edited in, without flags Discord refuses on an edit', async () => {
    const form = submit('reply', requester, 'Use the v2 API');
    tasks.views.set(TASK, taskView({ status: 'in_progress', awaiting: 'reply' }));
    expect(await dispatch(form)).toEqual({ type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: EPHEMERAL } });
    const edit = await eventually(() => webhook.sent[0], 'the late edit');
    expect(edit).toMatchObject({ route: 'editReply', token: form.token, body: { content: '📨 Sent your reply to Jules.' } });
    expect(edit.body).not.toHaveProperty('flags');
  });

  it('a form that can no longer be opened is explained: Discord takes a modal only as the first answer', async () => {
    tasks.views.set(TASK, taskView({ status: 'in_progress', awaiting: 'reply' }));
    expect(await dispatch(button('reply', requester))).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    const followUp = await eventually(() => webhook.sent[0], 'the late follow-up');
    expect(followUp).toMatchObject({ route: 'followUp', body: { content: LATE_FORM_TEXT, flags: EPHEMERAL } });
  });

  it('a failure after the deadline still reaches the member, in words', async () => {
    tasks.failWith(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }));
    expect(await dispatch(button('confirm'))).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    const followUp = await eventually(() => webhook.sent[0], 'the late follow-up');
    expect(followUp.body).toMatchObject({ content: FAILURE_TEXT.unreachable, flags: EPHEMERAL });
  });

  it('waits for Discord to know the deferral before giving up on the webhook', async () => {
    let refusals = 0;
    const unknownWebhook = () =>
      new DiscordAPIError({ code: 10015, message: 'Unknown Webhook' }, 10015, 404, 'PATCH', 'https://discord.test/webhooks/1/t/messages/@original', {});
    const api: LateAnswerApi = {
      ...webhook.api,
      async editReply(...args) {
        if (refusals++ < 2) throw unknownWebhook();
        return webhook.api.editReply(...args);
      },
    };
    const deferral = { type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: EPHEMERAL } } as const;
    const late = { type: InteractionResponseType.ChannelMessageWithSource, data: { content: 'done', flags: EPHEMERAL } } as const;
    const interaction = { application_id: APP, token: 'tok' };
    expect(await deliverLateAnswer(api, interaction, deferral, late, { retryDelayMs: 10 })).toBe('edited');
    expect(webhook.sent).toEqual([{ route: 'editReply', token: 'tok', body: { content: 'done' } }]);
    // A webhook that never appears (the deferral itself was too late) is given up after the last try.
    refusals = -100;
    await expect(deliverLateAnswer(api, interaction, deferral, late, { attempts: 3, retryDelayMs: 10 })).rejects.toThrow('Unknown Webhook');
  });
});

describe('/jules-status', () => {
  const guild = '1300000000000000777';
  let seq = 0;

  async function addTask(fields: Partial<TaskRecord> & Pick<TaskRecord, 'requesterId' | 'status'>): Promise<TaskRecord> {
    const id = `task-${guild.slice(0, 10)}${String(++seq).padStart(6, '0')}`;
    await store.createTask({
      id,
      guildId: fields.guildId ?? guild,
      channelId: CHANNEL,
      requesterId: fields.requesterId,
      prompt: fields.prompt ?? `Task number ${seq}`,
      repo: fields.repo ?? 'acme/widgets',
      branch: null,
      status: fields.status,
      keySource: 'guild',
    });
    return store.updateTask(id, {
      status: fields.status,
      ...(fields.cardMessageId ? { cardMessageId: fields.cardMessageId } : {}),
      ...(fields.endedAt ? { endedAt: fields.endedAt.toISOString() } : {}),
      ...(fields.julesSessionUrl ? { julesSessionUrl: fields.julesSessionUrl } : {}),
    });
  }

  function statusOf(user: Member, guildId = guild) {
    return dispatch(buildSlashCommand({ applicationId: APP, guildId, channelId: CHANNEL, user, name: 'jules-status' }));
  }

  function descriptionOf(response: APIInteractionResponse): string {
    expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    const data = (response as { data: { flags?: number; embeds?: { description?: string }[] } }).data;
    expect(data.flags).toBe(EPHEMERAL);
    return data.embeds?.[0]?.description ?? '';
  }

  it('says so, kindly, when nothing is open', async () => {
    expect(ephemeralText(await statusOf(requester, '1300000000000000666'))).toContain('no open Jules tasks');
  });

  it('lists the caller’s open tasks apart from the others’, with status, repo, prompt and links', async () => {
    await addTask({ requesterId: requester.id, status: 'pending_confirmation', prompt: 'Add a README\nwith details', cardMessageId: '1300000000000000801' });
    await addTask({ requesterId: requester.id, status: 'in_progress', repo: 'acme/api', julesSessionUrl: 'https://jules.google.com/session/42' });
    await addTask({ requesterId: requester.id, status: 'completed', prompt: 'Long done' });
    await addTask({ requesterId: lead.id, status: 'stalled', prompt: 'Lead’s task' });
    await addTask({ requesterId: lead.id, status: 'stalled', prompt: 'Gave up on', endedAt: new Date() });
    await addTask({ requesterId: lead.id, status: 'in_progress', prompt: 'Elsewhere', guildId: '1300000000000000888' });

    const description = descriptionOf(await statusOf(requester));
    const [mine, others] = description.split('\n\n');
    expect(mine).toContain('**Your open tasks**');
    expect(mine).toContain(`${statusLabel('pending_confirmation')} · \`acme/widgets\` · Add a README · [card](https://discord.com/channels/${guild}/${CHANNEL}/1300000000000000801)`);
    expect(mine).toContain(`${statusLabel('in_progress')} · \`acme/api\``);
    expect(mine).toContain('[Jules](https://jules.google.com/session/42)');
    expect(mine).not.toContain('with details');
    expect(description).not.toContain('Long done');
    expect(description).not.toContain('Elsewhere');
    // Stalled and still watched is open; stalled twice is the end.
    expect(description).not.toContain('Gave up on');
    expect(others).toContain(`${statusLabel('stalled')} · \`acme/widgets\` · Lead’s task · by <@${lead.id}>`);
  });

  it('stays within Discord’s embed limit when the server has many open tasks, and says there are more', async () => {
    for (let i = 0; i < 40; i++) {
      await addTask({ requesterId: i % 2 ? requester.id : outsider.id, status: 'in_progress', prompt: `${'p'.repeat(200)} ${i}`, cardMessageId: '1300000000000000802', julesSessionUrl: `https://jules.google.com/session/${'9'.repeat(40)}` });
    }
    const description = descriptionOf(await statusOf(requester));
    expect(description.length).toBeLessThanOrEqual(4096);
    expect(description).toContain('more not shown');
  });

  it('shows a prompt’s markdown and mentions as plain text', async () => {
    const g = '1300000000000000555';
    await store.createTask({ id: 'task-1300000000000055501', guildId: g, channelId: CHANNEL, requesterId: requester.id, prompt: '**bold** <@&123> [x](https://evil.example)', repo: 'acme/widgets', branch: null, status: 'in_progress', keySource: 'guild' });
    const description = descriptionOf(await statusOf(requester, g));
    expect(description).toContain('\\*\\*bold\\*\\* \\<\\@&123\\> \\[x\\]\\(https://evil.example\\)');
  });
});

describe('through the real stack', () => {
  let stack: TestStack | undefined;

  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });


  /** The card's thread has the card's id; messages posted in it are found by a predicate. */
  async function threadMessage(s: TestStack, cardId: string, what: string, match: (m: EmulatedMessage) => boolean) {
    return eventually(() => s.discord.channelMessages(cardId).find(match), what);
  }

  /** Clicks a button on a message where it is (the channel or the task's thread). */
  function clickOn(s: TestStack, user: Member, label: string, message: EmulatedMessage) {
    const customId = buttonId(message.components, label);
    if (!customId) throw new Error(`no ${label} button on the message`);
    return s.send(buildButtonClick({ applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: message.channel_id, user, customId, messageId: message.id, message: message as unknown as APIMessage }));
  }

  /** Submits the modal a click opened, from the message that button was on. */
  function submitModal(s: TestStack, user: Member, modal: APIModalInteractionResponseCallbackData, text: string, message: EmulatedMessage) {
    return s.send(
      buildModalSubmit({ applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: message.channel_id, user, customId: modal.custom_id, fields: { [MODAL_TEXT_FIELD]: text }, message: message as unknown as APIMessage }),
    );
  }

  it('a confirmer rejects through the reason modal; the card shows why and the requester is told privately', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Rewrite it in Rust' });
    const card = await cardOf(stack, asked.taskId);

    const refused = await clickOn(stack, MEMBERS.developer, 'Reject', card);
    expect(ephemeralText(refused.body)).toContain('Only members with a confirm role');

    const opened = await clickOn(stack, MEMBERS.lead, 'Reject', card);
    const modal = modalOf(opened.body);
    const submitted = await submitModal(stack, MEMBERS.lead, modal, 'Out of scope this sprint', card);
    const updatedCard = updated(submitted.body);
    expect(updatedCard.embeds?.[0]?.fields).toContainEqual(expect.objectContaining({ name: 'Why', value: 'Out of scope this sprint' }));
    expect(updatedCard.components).toEqual([]);

    expect((await stack.outcome(asked.taskId)).status).toBe('rejected');
    const dm = await eventually(() => stack!.discord.dmChannelOf(GUILD.developer), 'a DM to the requester');
    const told = await eventually(() => stack!.discord.channelMessages(dm).find((m) => m.content?.includes('was rejected')), 'the rejection DM');
    expect(told.content).toContain('Out of scope this sprint');
  });

  it('only a confirmer approves Jules’ plan; the others are refused with words', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Fix the flaky login test', plan_approval: true });
    const card = await cardOf(stack, asked.taskId);
    updated((await clickOn(stack, MEMBERS.lead, 'Confirm', card)).body);

    const plan = await threadMessage(stack, card.id, 'the plan', (m) => m.embeds?.[0]?.title === '📋 Jules’ plan' && buttonId(m.components, 'Approve') !== undefined);
    expect(plan.embeds?.[0]?.description).toContain('**1.** Read the code');

    expect(ephemeralText((await clickOn(stack, MEMBERS.developer, 'Approve', plan)).body)).toContain('Only members with a confirm role');
    expect(ephemeralText((await clickOn(stack, MEMBERS.developer, 'Request changes', plan)).body)).toContain('Only members with a confirm role');
    expect(stack.jules.sessions()[0]?.planApprovedAt).toBeUndefined();

    const approved = updated((await clickOn(stack, MEMBERS.lead, 'Approve', plan)).body);
    expect(approved.embeds?.[0]?.fields?.[0]?.value).toBe(`✅ Approved by <@${GUILD.lead}>`);
    expect(approved.components).toEqual([]);

    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    expect(stack.jules.sessions()[0]?.planApprovedAt).toBeDefined();
    const late = await clickOn(stack, MEMBERS.lead, 'Approve', plan);
    expect(ephemeralText(late.body)).toBe(FAILURE_TEXT.planGone);
  });

  it('only the requester or a confirmer answers Jules’ question, through the Reply modal', async () => {
    stack = await startTestStack({ jules: { script: () => askingScript('Which test runner should I use?') } });
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Add tests for the cart' });
    const card = await cardOf(stack, asked.taskId);
    updated((await clickOn(stack, MEMBERS.lead, 'Confirm', card)).body);

    const question = await threadMessage(stack, card.id, 'the question', (m) => (m.content ?? '').includes('Which test runner') && buttonId(m.components, 'Reply') !== undefined);
    expect(ephemeralText((await clickOn(stack, MEMBERS.outsider, 'Reply', question)).body)).toContain('Only the requester or a member with a confirm role');

    const modal = modalOf((await clickOn(stack, MEMBERS.developer, 'Reply', question)).body);
    const answered = updated((await submitModal(stack, MEMBERS.developer, modal, 'Use vitest', question)).body);
    expect(answered.content).toContain('Which test runner should I use?');
    expect(answered.content).toContain(`↩️ <@${GUILD.developer}> replied:\n> Use vitest`);
    expect(answered.components).toEqual([]);

    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    expect(stack.jules.sessions()[0]?.messages).toContain('Use vitest');
  });

  it('Cancel is refused to others and stops the task for its requester', async () => {
    stack = await startTestStack({ jules: { script: () => askingScript('Anything else?') } });
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Refactor the cart' });
    let card = await cardOf(stack, asked.taskId);
    updated((await clickOn(stack, MEMBERS.lead, 'Confirm', card)).body);
    await threadMessage(stack, card.id, 'the question', (m) => (m.content ?? '').includes('Anything else?'));
    card = await cardOf(stack, asked.taskId);

    expect(ephemeralText((await clickOn(stack, MEMBERS.outsider, 'Cancel', card)).body)).toContain('Only the requester or a confirmer can cancel');
    const cancelled = updated((await clickOn(stack, MEMBERS.developer, 'Cancel', card)).body);
    expect(cancelled.embeds?.[0]?.fields).toContainEqual(expect.objectContaining({ name: 'Status', value: statusLabel('cancelled') }));
    expect(cancelled.components).toEqual([]);
    expect((await stack.outcome(asked.taskId)).status).toBe('cancelled');
    expect(ephemeralText((await clickOn(stack, MEMBERS.developer, 'Cancel', card)).body)).toContain('This task is finished');
  });

  it('/jules-status lists a new request with a link to its card', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Document the API' });
    const card = await cardOf(stack, asked.taskId);
    await eventually(async () => (await stack!.store.getTask(asked.taskId))?.cardMessageId ?? undefined, 'the card in the projection');
    const answer = await stack.send(buildSlashCommand({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.developer, name: 'jules-status' }));
    expect(answer.body.data.flags).toBe(EPHEMERAL);
    const description: string = answer.body.data.embeds[0].description;
    expect(description).toContain(`${statusLabel('pending_confirmation')} · \`${GUILD.repo}\` · Document the API · [card](https://discord.com/channels/${GUILD.id}/${GUILD.channelId}/${card.id})`);
  });

  it('defers in time when Temporal cannot be reached, then says “try again” through the webhook', async () => {
    // A lazy connection to a port nobody listens on: every call fails, after gRPC retries that outlast Discord’s 3 s.
    const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }), namespace: 'default' });
    const unreachable = createTemporalTaskControl({ client, taskQueue: 'nowhere', settings: { confirmationTimeoutMs: 1_000, pollIntervalMs: 100, deadlineMs: 1_000 }, admission: { store, log: createLogger('silent') } });
    const local = createInteractionDispatcher({ secrets: TEST_SECRETS, tasks: unreachable, log: createLogger('silent'), store, lateAnswers: webhook.api });
    const started = Date.now();
    expect(await local(button('confirm'))).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    expect(Date.now() - started).toBeLessThan(3_000);
    const followUp = await eventually(() => webhook.sent[0], 'the late follow-up', 60_000);
    expect(followUp.body).toMatchObject({ content: FAILURE_TEXT.unreachable, flags: EPHEMERAL });
    await client.connection.close().catch(() => {});
  }, 90_000);
});
