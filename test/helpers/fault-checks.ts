import type { Client } from '@temporalio/client';
import { expect } from 'vitest';
import type { DiscordEmulator } from '../../src/sandbox/discord-emulator';
import type { JulesEmulator } from '../../src/sandbox/jules-emulator';
import { TASK_STATUS } from '../../src/shared/search-attributes';
import type { TaskOutcome } from '../../src/shared/task';
import type { Store } from '../../src/store/store';

/**
 * What every fault test of issue 12 asserts once its tasks have ended: nothing lost, nothing doubled. For each
 * task, exactly one Jules session (created once), one card, one thread with one "PR ready" message, a `tasks` row
 * that says what the workflow's history says, and an audit trail with each once-only step recorded once.
 */
export interface FaultSurvivors {
  readonly store: Store;
  readonly discord: DiscordEmulator;
  readonly jules: JulesEmulator;
  /** What the workflow histories say, from {@link readRuns}. */
  readonly runs: readonly RunSummary[];
  /** The channel the tasks were asked in: the bot posts their cards there and nothing else. */
  readonly channelId: string;
}

/** A task's run as its history tells it: how it closed, what it returned, the status it last published. */
export interface RunSummary {
  readonly taskId: string;
  readonly closedAs: string;
  readonly outcome: TaskOutcome;
  readonly statusAttribute: string | undefined;
}

/** Waits for each task's run to close and reads what its history says. */
export async function readRuns(client: Client, taskIds: readonly string[]): Promise<RunSummary[]> {
  return Promise.all(
    taskIds.map(async (taskId) => {
      const handle = client.workflow.getHandle(taskId);
      const outcome = (await handle.result()) as TaskOutcome;
      const description = await handle.describe();
      return { taskId, closedAs: description.status.name, outcome, statusAttribute: description.typedSearchAttributes.get(TASK_STATUS) };
    }),
  );
}

/** Steps a completed task records exactly once, whatever was retried. */
const ONCE_ONLY = ['admitted', 'session_slot_acquired', 'jules_session_created', 'completed'] as const;

/** Asserts nothing was lost or doubled for the tasks of `world.runs`, all expected to complete with a PR. */
export async function expectNothingLostOrDoubled(world: FaultSurvivors): Promise<void> {
  for (const { taskId, closedAs, outcome, statusAttribute } of world.runs) {
    expect(outcome, taskId).toMatchObject({ status: 'completed', prUrl: expect.stringMatching(/\/pull\/\d+$/) });
    // The row agrees with the history: the run closed as completed, with the status the workflow returned and
    // the status search attribute it last set.
    expect(closedAs, taskId).toBe('COMPLETED');
    expect(statusAttribute, taskId).toBe('completed');
    const row = await world.store.getTask(taskId);
    expect(row, taskId).toMatchObject({ status: outcome.status, prUrl: outcome.prUrl, julesState: 'COMPLETED' });
    expect(row?.endedAt, taskId).toBeTruthy();

    // One thread with one "PR ready" message and one "started".
    const texts = world.discord.channelMessages(row!.threadId!).map((m) => m.content ?? '');
    expect(texts.filter((t) => t.includes('PR ready')), taskId).toEqual([expect.stringContaining(`PR ready: ${outcome.prUrl}`)]);
    expect(texts.filter((t) => t.includes('Jules started working')), taskId).toHaveLength(1);

    // The audit trail: each once-only step once, and the task's end last.
    const kinds = (await world.store.listTaskEvents(taskId)).map((e) => e.kind);
    for (const kind of ONCE_ONLY) expect(kinds.filter((k) => k === kind), `${taskId}: ${kind} in ${kinds.join(', ')}`).toHaveLength(1);
    expect(kinds.at(-1), taskId).toBe('completed');
  }

  // One Jules session per task, each created once and named by exactly one row.
  const rows = await Promise.all(world.runs.map((run) => world.store.getTask(run.taskId)));
  const sessionNames = rows.map((row) => row!.julesSessionId);
  expect(new Set(sessionNames).size).toBe(world.runs.length);
  expect(world.jules.sessions().map((s) => s.name).sort()).toEqual([...sessionNames].sort());
  expect(world.jules.requests.filter((r) => r.method === 'POST' && r.path === '/v1alpha/sessions' && r.status === 200)).toHaveLength(world.runs.length);

  // One card per task in the channel (answers to the interactions, deferred ones included, are not the bot's
  // posts), one thread per task.
  const posted = world.discord.channelMessages(world.channelId).filter((m) => m.source === 'channel');
  expect(posted.map((m) => m.id).sort()).toEqual(rows.map((row) => row!.cardMessageId).sort());
  expect(world.discord.threads().map((t) => t.id).sort()).toEqual(rows.map((row) => row!.threadId).sort());
}
