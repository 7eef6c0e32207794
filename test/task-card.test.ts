import { ComponentType, type APIButtonComponentWithCustomId } from '@discordjs/core/http-only';
import { describe, expect, it } from 'vitest';
import { decodeCustomId } from '../src/discord/custom-id';
import {
  renderAnnouncement,
  renderAnsweredQuestion,
  renderPlanMessage,
  renderProgressMessage,
  renderQuestionMessage,
  renderTaskCard,
  statusLabel,
} from '../src/discord/task-card';
import { isFinalStatus, TASK_STATUSES } from '../src/shared/task-status';
import type { TaskView } from '../src/shared/task';

/** Discord's message limits. @see https://discord.com/developers/docs/resources/message#embed-object-embed-limits */
const LIMITS = { content: 2000, description: 4096, fieldValue: 1024, embedTotal: 6000 } as const;

const requesterId = '1400000000000000004';
const deciderId = '1400000000000000009';
const prUrl = 'https://github.com/acme/widgets/pull/17';

function view(overrides: Partial<TaskView> = {}): TaskView {
  return {
    taskId: 'task-1600000000000000001',
    status: 'pending_confirmation',
    prompt: 'Add a README that explains how to run the tests',
    repo: 'acme/widgets',
    requesterId,
    keySource: 'guild',
    ...overrides,
  };
}

function buttonsOf(body: { components?: ReturnType<typeof renderTaskCard>['components'] }): APIButtonComponentWithCustomId[] {
  return (body.components ?? []).flatMap((row) =>
    'components' in row ? (row.components as unknown[]).filter((c): c is APIButtonComponentWithCustomId => (c as { type: number }).type === ComponentType.Button) : [],
  );
}

function embedOf(body: ReturnType<typeof renderTaskCard>) {
  const [embed, ...more] = body.embeds ?? [];
  expect(more).toEqual([]);
  if (!embed) throw new Error('the card has no embed');
  return embed;
}

function embedLength(embed: ReturnType<typeof embedOf>): number {
  return (
    (embed.title?.length ?? 0) +
    (embed.description?.length ?? 0) +
    (embed.footer?.text.length ?? 0) +
    (embed.fields ?? []).reduce((sum, f) => sum + f.name.length + f.value.length, 0)
  );
}

describe('the task card', () => {
  it('shows Confirm, Reject and Cancel buttons that decode to this task while it waits for a confirmer', () => {
    const card = renderTaskCard(view());
    const buttons = buttonsOf(card);
    expect(buttons.map((b) => b.label)).toEqual(['Confirm', 'Reject', 'Cancel']);
    expect(buttons.map((b) => decodeCustomId(b.custom_id))).toEqual([
      { action: 'confirm', taskId: 'task-1600000000000000001' },
      { action: 'reject', taskId: 'task-1600000000000000001' },
      { action: 'cancel', taskId: 'task-1600000000000000001' },
    ]);
  });

  it('drops Confirm and Reject once the task is decided, whatever the outcome', () => {
    for (const status of TASK_STATUSES.filter((s) => s !== 'pending_confirmation')) {
      const labels = buttonsOf(renderTaskCard(view({ status }))).map((b) => b.label);
      expect(labels, status).not.toContain('Confirm');
      expect(labels, status).not.toContain('Reject');
    }
  });

  it('keeps a Cancel button while the task is not finished, and no buttons at all once it is', () => {
    for (const status of TASK_STATUSES) {
      const card = renderTaskCard(view({ status }));
      if (isFinalStatus(status)) {
        expect(card.components, status).toEqual([]);
      } else {
        const cancel = buttonsOf(card).find((b) => b.label === 'Cancel');
        expect(decodeCustomId(cancel?.custom_id ?? ''), status).toEqual({ action: 'cancel', taskId: 'task-1600000000000000001' });
      }
    }
  });

  it('says in the card what the task waits for, pointing at its thread', () => {
    const embed = embedOf(renderTaskCard(view({ status: 'in_progress', awaiting: 'plan_approval', threadId: '1400000000000000077' })));
    const waiting = embed.fields?.find((f) => f.name === 'Waiting for');
    expect(waiting?.value).toContain('approve Jules’ plan');
    expect(waiting?.value).toContain('<#1400000000000000077>');
    expect(embedOf(renderTaskCard(view({ status: 'in_progress' }))).fields?.some((f) => f.name === 'Waiting for')).toBe(false);
  });

  it('never puts more than five buttons in a row or an empty row on the card', () => {
    for (const status of TASK_STATUSES) {
      for (const row of renderTaskCard(view({ status })).components ?? []) {
        const count = 'components' in row ? row.components.length : 0;
        expect(count, status).toBeGreaterThan(0);
        expect(count, status).toBeLessThanOrEqual(5);
      }
    }
  });

  it('truncates a very long prompt to fit the embed description, marking the cut', () => {
    const prompt = 'x'.repeat(10_000);
    const embed = embedOf(renderTaskCard(view({ prompt })));
    expect(embed.description!.length).toBeLessThanOrEqual(LIMITS.description);
    expect(embed.description!.endsWith('…')).toBe(true);
    expect(embed.description!.startsWith('x'.repeat(100))).toBe(true);
  });

  it('keeps a short prompt exactly as written', () => {
    const prompt = 'Fix the flaky test in src/cart.ts';
    expect(embedOf(renderTaskCard(view({ prompt }))).description).toBe(prompt);
  });

  it('keeps the whole card within Discord’s embed limits with the longest prompt and a long error', () => {
    const embed = embedOf(
      renderTaskCard(
        view({
          status: 'failed',
          prompt: 'p'.repeat(4000),
          branch: 'b'.repeat(255),
          decidedBy: deciderId,
          sessionUrl: 'https://jules.google.com/session/123456789',
          error: 'e'.repeat(5000),
        }),
      ),
    );
    for (const field of embed.fields ?? []) expect(field.value.length, field.name).toBeLessThanOrEqual(LIMITS.fieldValue);
    expect(embedLength(embed)).toBeLessThanOrEqual(LIMITS.embedTotal);
  });

  it('pings nobody, even when the prompt mentions everyone', () => {
    const card = renderTaskCard(view({ prompt: '@everyone <@&1500000000000000005> please look', decidedBy: deciderId, status: 'in_progress' }));
    expect(card.allowed_mentions).toEqual({ parse: [] });
  });

  it('shows the repository, the branch, the requester, which key pays and the status', () => {
    const embed = embedOf(renderTaskCard(view({ branch: 'develop', keySource: 'personal' })));
    const fields = Object.fromEntries((embed.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields).toMatchObject({
      Repository: '`acme/widgets`',
      Branch: '`develop`',
      'Requested by': `<@${requesterId}>`,
      Key: "requester's own",
      Status: statusLabel('pending_confirmation'),
    });
    expect(embed.footer?.text).toBe('task-1600000000000000001');
  });

  it('names who confirmed or rejected once the task is decided', () => {
    const confirmed = embedOf(renderTaskCard(view({ status: 'in_progress', decidedBy: deciderId })));
    expect(confirmed.fields).toContainEqual(expect.objectContaining({ name: 'Confirmed by', value: `<@${deciderId}>` }));
    const rejected = embedOf(renderTaskCard(view({ status: 'rejected', decidedBy: deciderId })));
    expect(rejected.fields).toContainEqual(expect.objectContaining({ name: 'Rejected by', value: `<@${deciderId}>` }));
  });

  it('links the pull request on a completed card', () => {
    const embed = embedOf(renderTaskCard(view({ status: 'completed', prUrl })));
    expect(embed.fields).toContainEqual(expect.objectContaining({ name: 'Pull request', value: prUrl }));
  });

  it('renders a card for every status with that status’s label', () => {
    for (const status of TASK_STATUSES) {
      const embed = embedOf(renderTaskCard(view({ status })));
      expect(embed.fields?.find((f) => f.name === 'Status')?.value, status).toBe(statusLabel(status));
    }
  });
});

describe('status labels', () => {
  it('gives each status its own non-empty label', () => {
    const labels = TASK_STATUSES.map((status) => statusLabel(status));
    for (const [i, label] of labels.entries()) expect(label.trim(), TASK_STATUSES[i]).not.toBe('');
    expect(new Set(labels).size).toBe(TASK_STATUSES.length);
  });

  it('never shows the raw snake_case status to people', () => {
    for (const status of TASK_STATUSES) expect(statusLabel(status)).not.toContain('_');
  });
});

describe('the channel announcement', () => {
  it('carries the pull request url when the task completed, and pings only the requester', () => {
    const body = renderAnnouncement(view({ status: 'completed', prUrl }), 'outcome');
    expect(body.content).toContain(prUrl);
    expect(body.content).toContain(`<@${requesterId}>`);
    expect(body.allowed_mentions).toEqual({ users: [requesterId] });
  });

  it('links the Jules session when the task starts', () => {
    const body = renderAnnouncement(view({ status: 'in_progress', sessionUrl: 'https://jules.google.com/session/42' }), 'started');
    expect(body.content).toContain('https://jules.google.com/session/42');
    expect(body.content).toContain('`acme/widgets`');
  });

  it('says who rejected the task without pinging them', () => {
    const body = renderAnnouncement(view({ status: 'rejected', decidedBy: deciderId }), 'outcome');
    expect(body.content).toContain(`<@${deciderId}>`);
    expect(body.allowed_mentions?.users).toEqual([requesterId]);
    expect(body.allowed_mentions?.parse).toBeUndefined();
  });

  it('gives the confirmer’s reason when one was given with the rejection', () => {
    const body = renderAnnouncement(view({ status: 'rejected', decidedBy: deciderId, error: 'Out of scope this sprint' }), 'outcome');
    expect(body.content).toBe(`🚫 <@${requesterId}>, your Jules task was rejected by <@${deciderId}>: Out of scope this sprint`);
  });

  it('gives Jules’ reason when the task failed', () => {
    const body = renderAnnouncement(view({ status: 'failed', error: 'The repository could not be cloned.' }), 'outcome');
    expect(body.content).toContain('The repository could not be cloned.');
  });

  it('does not ping @everyone when a failure reason contains it', () => {
    const body = renderAnnouncement(view({ status: 'failed', error: '@everyone look at this' }), 'outcome');
    expect(body.allowed_mentions).toEqual({ users: [requesterId] });
  });

  it('truncates a very long reason to Discord’s 2000-character message limit', () => {
    for (const status of ['failed', 'expired', 'needs_attention', 'stalled'] as const) {
      const body = renderAnnouncement(view({ status, error: 'r'.repeat(5000) }), 'outcome');
      expect(body.content!.length, status).toBeLessThanOrEqual(LIMITS.content);
      expect(body.content!.endsWith('…'), status).toBe(true);
    }
  });

  it('says something for every final status', () => {
    for (const status of TASK_STATUSES.filter((s) => s !== 'pending_confirmation' && s !== 'in_progress')) {
      const body = renderAnnouncement(view({ status, prUrl, error: 'why' }), 'outcome');
      expect(body.content?.trim(), status).not.toBe('');
      expect(body.content, status).not.toContain('undefined');
    }
  });
});

const plan = ['Read the login flow', 'Add a retry around the flaky call', 'Write a regression test'];

describe('the plan message', () => {
  it('lists Jules’ steps in order with Approve and Request changes while the plan waits', () => {
    const body = renderPlanMessage(view({ status: 'in_progress', awaiting: 'plan_approval', plan }));
    const embed = embedOf(body);
    expect(embed.description).toBe('**1.** Read the login flow\n**2.** Add a retry around the flaky call\n**3.** Write a regression test');
    expect(buttonsOf(body).map((b) => [b.label, decodeCustomId(b.custom_id)?.action])).toEqual([
      ['Approve', 'approve_plan'],
      ['Request changes', 'request_changes'],
    ]);
    expect(embed.fields?.[0]?.value).toContain('Waiting for a confirmer');
  });

  it('drops the buttons once the plan no longer waits', () => {
    for (const status of TASK_STATUSES) {
      expect(renderPlanMessage(view({ status, plan })).components, status).toEqual([]);
    }
    expect(renderPlanMessage(view({ status: 'cancelled', awaiting: 'plan_approval', plan })).components).toEqual([]);
  });

  it('says who approved the plan, or who asked for changes, right after the click', () => {
    const waiting = view({ status: 'in_progress', awaiting: 'plan_approval', plan });
    const approved = renderPlanMessage(waiting, { action: 'approve', by: deciderId });
    expect(approved.components).toEqual([]);
    expect(embedOf(approved).fields?.[0]?.value).toBe(`✅ Approved by <@${deciderId}>`);
    const changes = renderPlanMessage(waiting, { action: 'request_changes', by: deciderId });
    expect(embedOf(changes).fields?.[0]?.value).toBe(`✏️ Changes requested by <@${deciderId}>`);
  });

  it('fits a very long plan into the embed, saying how many steps were left out', () => {
    const long = Array.from({ length: 80 }, (_, i) => `Step ${i} ${'x'.repeat(400)}`);
    const embed = embedOf(renderPlanMessage(view({ status: 'in_progress', awaiting: 'plan_approval', plan: long })));
    expect(embed.description!.length).toBeLessThanOrEqual(LIMITS.description);
    expect(embed.description).toMatch(/…and \d+ more steps\.$/);
    expect(embedLength(embed)).toBeLessThanOrEqual(LIMITS.embedTotal);
  });

  it('says so when Jules shared no steps, and pings nobody', () => {
    const body = renderPlanMessage(view({ status: 'in_progress', awaiting: 'plan_approval', plan: ['@everyone look'] }));
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(embedOf(renderPlanMessage(view({ status: 'in_progress', awaiting: 'plan_approval' }))).description).toContain('did not share any steps');
  });
});

describe('the question message', () => {
  const question = 'Should the retry use exponential backoff?';

  it('quotes Jules’ question, mentions the requester and offers Reply while the task waits for one', () => {
    const body = renderQuestionMessage(view({ status: 'in_progress', awaiting: 'reply', question }));
    expect(body.content).toContain(`<@${requesterId}>`);
    expect(body.content).toContain(`> ${question}`);
    expect(buttonsOf(body).map((b) => [b.label, decodeCustomId(b.custom_id)?.action])).toEqual([['Reply', 'reply']]);
    expect(body.allowed_mentions).toEqual({ users: [requesterId] });
  });

  it('has no Reply button once the task no longer waits for a reply', () => {
    expect(renderQuestionMessage(view({ status: 'in_progress', question })).components).toEqual([]);
    expect(renderQuestionMessage(view({ status: 'failed', awaiting: 'reply', question })).components).toEqual([]);
  });

  it('stays within 2000 characters and quotes every line of a long question', () => {
    const body = renderQuestionMessage(view({ status: 'in_progress', awaiting: 'reply', question: `line one\n${'q'.repeat(5000)}` }));
    expect(body.content!.length).toBeLessThanOrEqual(LIMITS.content);
    expect(body.content).toContain('> line one\n> qqq');
  });

  it('shows the reply under the question it answers, without the button, pinging nobody', () => {
    const asked = renderQuestionMessage(view({ status: 'in_progress', awaiting: 'reply', question }));
    const answered = renderAnsweredQuestion(asked.content!, { by: deciderId, text: 'Yes, and cap it at 30 s.\n@everyone' });
    expect(answered.content).toContain(question);
    expect(answered.content).toContain(`↩️ <@${deciderId}> replied:\n> Yes, and cap it at 30 s.\n> @everyone`);
    expect(answered.content).not.toContain('answer with **Reply**');
    expect(answered.components).toEqual([]);
    expect(answered.allowed_mentions).toEqual({ parse: [] });
    const huge = renderAnsweredQuestion('q'.repeat(2000), { by: deciderId, text: 'a'.repeat(2000) });
    expect(huge.content!.length).toBeLessThanOrEqual(LIMITS.content);
  });
});

describe('the progress line', () => {
  it('is one line with the status and Jules’ latest step', () => {
    const body = renderProgressMessage(view({ status: 'in_progress', progress: 'Running the tests\nof the cart' }));
    expect(body.content).toBe(`${statusLabel('in_progress')} · Running the tests of the cart`);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it('is cut short when Jules is verbose, and shows only the status once the task is finished', () => {
    const long = renderProgressMessage(view({ status: 'in_progress', progress: 'p'.repeat(5000) }));
    expect(long.content!.length).toBeLessThanOrEqual(400);
    expect(long.content).not.toContain('\n');
    expect(renderProgressMessage(view({ status: 'completed', progress: 'Opening a PR' })).content).toBe(statusLabel('completed'));
    expect(renderProgressMessage(view({ status: 'in_progress' })).content).toBe(statusLabel('in_progress'));
  });
});
