import { afterEach, describe, expect, inject, it } from 'vitest';
import { webUiWorkflowUrl } from '../src/temporal/web-ui';
import { GUILD, MEMBERS, startTestStack, threadOf, type TestStack } from './helpers/stack';

/** Issue 11, part 3: the task's thread offers operators the run's page in the Temporal Web UI. */

const UI = 'http://127.0.0.1:8233';
let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const linkLines = (s: TestStack, thread: string) => s.discord.channelMessages(thread).filter((m) => (m.content ?? '').startsWith('🔎 For operators'));

describe('the Web UI link of a run', () => {
  it('is built once, for the embedded UI or a cluster\'s, with the namespace and id escaped', () => {
    expect(webUiWorkflowUrl('http://127.0.0.1:8233', 'default', 'task-1234')).toBe('http://127.0.0.1:8233/namespaces/default/workflows/task-1234');
    expect(webUiWorkflowUrl('https://cloud.temporal.io/', 'jules.a1b2c', 'plan-2026-12-03 x')).toBe('https://cloud.temporal.io/namespaces/jules.a1b2c/workflows/plan-2026-12-03%20x');
  });

  it('opens the task\'s thread, once, when the UI\'s address is known', async () => {
    stack = await startTestStack({ webUiUrl: UI });
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Document the Web UI link' });
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    const thread = await threadOf(stack, asked.taskId);
    expect(linkLines(stack, thread).map((m) => m.content)).toEqual([
      `🔎 For operators: this run in the Temporal Web UI: <${UI}/namespaces/${inject('temporalNamespace')}/workflows/${asked.taskId}>`,
    ]);
    // The first message of the thread, before Jules' own.
    expect(stack.discord.channelMessages(thread)[0]?.content).toContain('For operators');
  });

  it('is left out when the UI\'s address is unknown', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'No UI here' });
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    expect(linkLines(stack, await threadOf(stack, asked.taskId))).toEqual([]);
  });

  it('does not hold the task up when Discord refuses it', async () => {
    stack = await startTestStack({ webUiUrl: UI });
    // The first post to a channel other than the guild's is the link, in the new thread.
    stack.discord.failNext({ status: 403, code: 50001, message: 'Missing Access', match: { method: 'POST', path: new RegExp(`/channels/(?!${GUILD.channelId})\\d+/messages$`) } });
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Refuse the link' });
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    const thread = await threadOf(stack, asked.taskId);
    expect(linkLines(stack, thread)).toEqual([]);
    expect(stack.discord.channelMessages(thread).some((m) => (m.content ?? '').includes('PR ready'))).toBe(true);
    expect(stack.logs.some((line) => line.includes('could not post the Web UI link'))).toBe(true);
  });
});
