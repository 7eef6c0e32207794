import { Client, Connection, WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import { taskWorkflowId } from '../src/shared/ids';
import { GUILD_ID, REQUESTER_ID } from '../src/shared/search-attributes';
import type { TaskRequest } from '../src/shared/task';
import { createTemporalTaskControl } from '../src/temporal/task-control';
import { reconcileClosedTasks } from '../src/temporal/task-reconciler';
import { admissionUpdate } from '../workflows/messages';
import type { taskWorkflow } from '../workflows/task.workflow';
import { GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

/**
 * Issue 12 item 4 (docs/ack-design.md, option C): the ingress admits a `/jules` against the store and then starts
 * the task's workflow with the admission in its input, so the answer waits for no workflow task. What that must
 * keep: a refusal starts nothing, a redelivery is one task, an admission whose start failed is ended by the
 * reconciler, and a task started the older way (update-with-start) is still admitted by its workflow.
 */

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function admittedCount(s: TestStack): Promise<number> {
  const metric = await s.metrics.registry.getSingleMetric('jules_admitted_tasks_total')?.get();
  return (metric?.values ?? []).reduce((sum, value) => sum + value.value, 0);
}

async function workflowTasksCompleted(s: TestStack, taskId: string): Promise<number> {
  const history = await s.client.workflow.getHandle(taskId).fetchHistory();
  return (history.events ?? []).filter((event) => event.workflowTaskCompletedEventAttributes).length;
}

describe('a /jules admitted by the ingress', () => {
  it('is answered with its row and audit event written before any worker has run the task', async () => {
    // No worker at all: the answer cannot have come from a workflow task.
    stack = await startTestStack({ worker: false });
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Admitted without a worker' });
    expect(asked.body.type).toBe(4);
    expect(asked.body.data.content).toContain(`Starting Jules on \`${GUILD.repo}\``);
    expect(await stack.store.getTask(asked.taskId)).toMatchObject({ status: 'in_progress', repo: GUILD.repo, keySource: 'guild', endedAt: null });
    expect((await stack.store.listTaskEvents(asked.taskId)).map((e) => [e.kind, e.outcome])).toEqual([['admitted', 'in_progress']]);
    const handle = stack.client.workflow.getHandle(asked.taskId);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(await workflowTasksCompleted(stack, asked.taskId)).toBe(0);
    expect(await admittedCount(stack)).toBe(1);
    await handle.terminate('test over');
  });

  it('refused, starts no workflow and writes no row, with the refusal in the audit trail once', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.outsider, { prompt: 'Not mine to ask' });
    expect(asked.body.data.content).toContain('You need one of the roles allowed to ask Jules');
    await expect(stack.client.workflow.getHandle(asked.taskId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(await stack.store.getTask(asked.taskId)).toBeUndefined();
    expect((await stack.store.listTaskEvents(asked.taskId)).map((e) => [e.kind, e.outcome])).toEqual([['refused', 'not_allowed']]);
    expect(await admittedCount(stack)).toBe(0);
  });

  it('redelivered is one row, one workflow and one admission, counted once, with the same answer while it waits', async () => {
    stack = await startTestStack();
    const command = buildSlashCommand({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.developer, name: 'jules', options: { prompt: 'Asked twice' } });
    const [first, second] = await Promise.all([stack.send(command), stack.send(command)]);
    for (const answer of [first, second]) expect(answer.body.data.content).toContain('A confirmer must approve it');
    const taskId = taskWorkflowId(command.id);
    expect((await stack.store.listTaskEvents(taskId)).map((e) => e.kind)).toEqual(['admitted']);
    expect(await stack.store.listTasks({ open: true })).toHaveLength(1);
    expect(await admittedCount(stack)).toBe(1);
    await stack.client.workflow.getHandle(taskId).terminate('test over');
  });

  it('whose start fails (Temporal unreachable) leaves an open row that the reconciler ends once its workflow is still unknown', async () => {
    stack = await startTestStack({ worker: false });
    // No retries, so the failure comes at once: the SDK's own retries of UNAVAILABLE only make it later.
    const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', interceptors: [] }), namespace: 'default' });
    const unreachable = createTemporalTaskControl({
      client,
      taskQueue: stack.taskQueue,
      settings: { confirmationTimeoutMs: 1_000, pollIntervalMs: 100, deadlineMs: 1_000 },
      admission: { store: stack.store, log: createLogger('silent'), metrics: stack.metrics },
    });
    const request: TaskRequest = { taskId: 'task-never-started', guildId: GUILD.id, channelId: GUILD.channelId, requester: MEMBERS.lead, prompt: 'Lost to an outage' };
    await expect(unreachable.submit(request)).rejects.toThrow();
    await client.connection.close().catch(() => {});
    expect(await stack.store.getTask(request.taskId)).toMatchObject({ status: 'in_progress', endedAt: null });
    expect(await admittedCount(stack)).toBe(0);

    const reconcile = (now: number) => reconcileClosedTasks({ client: stack!.client, store: stack!.store, log: createLogger('silent'), now: () => now });
    // Within its first minute the row is left alone: a start may still be on its way.
    expect((await reconcile(Date.now())).ended).toEqual({});
    expect((await reconcile(Date.now() + 5 * 60_000)).ended).toEqual({ NOT_FOUND: 1 });
    expect(await stack.store.getTask(request.taskId)).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/never started/) });
  });

  it('started the older way, by an update-with-start, is still admitted by its workflow (a rolling deploy)', async () => {
    stack = await startTestStack();
    const request: TaskRequest = { taskId: 'task-admitted-by-the-workflow', guildId: GUILD.id, channelId: GUILD.channelId, requester: MEMBERS.developer, prompt: 'From an older ingress' };
    const start = new WithStartWorkflowOperation<typeof taskWorkflow>('taskWorkflow', {
      workflowId: request.taskId,
      taskQueue: stack.taskQueue,
      args: [{ request, settings: { confirmationTimeoutMs: 60_000, pollIntervalMs: 100, deadlineMs: 60_000 } }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: GUILD_ID, value: request.guildId },
        { key: REQUESTER_ID, value: request.requester.id },
      ],
    });
    const admission = await stack.client.workflow.executeUpdateWithStart(admissionUpdate, { startWorkflowOperation: start });
    expect(admission).toMatchObject({ admitted: true, status: 'pending_confirmation', repo: GUILD.repo });
    expect(await stack.store.getTask(request.taskId)).toMatchObject({ status: 'pending_confirmation' });
    expect((await stack.store.listTaskEvents(request.taskId)).map((e) => e.kind)).toEqual(['admitted']);
    await stack.client.workflow.getHandle(request.taskId).terminate('test over');
  });
});
