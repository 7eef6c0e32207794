import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateEncryptionKey } from '../src/crypto/secret-box';
import { expectNothingLostOrDoubled, readRuns } from './helpers/fault-checks';
import { startPostgres, type PostgresServer } from './helpers/postgres';
import { tryFault } from './helpers/reliability-tally';
import { longSession } from './helpers/session-scripts';
import { eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

/**
 * Issue 12's "PostgreSQL stopped mid-task": a real PostgreSQL 15 (the version Supabase runs) holds the store of a
 * task whose Jules session is under way; `pg_ctl stop -m immediate` drops every connection with no checkpoint, the
 * server stays down for a while and starts again on the same data (crash recovery). The activities that met the
 * outage are retried by Temporal, and afterwards there is one row of each kind, not two.
 *
 * The issue says 30 s down; the test holds it 10 s, which is already past the worker's store timeouts and several
 * retries of every activity that needs the store, and keeps CI's time small.
 */

const DOWN_MS = 10_000;
// About 4.5 s of session: it ends while the store is down, so the steps that record its end meet the outage.
const PROGRESS_STEPS = 15;

let postgres: PostgresServer;
let stack: TestStack | undefined;

beforeAll(async () => {
  // The crash must lose no committed row, as on a real server: the test's count of rows depends on it.
  postgres = await startPostgres({ majorVersion: 15, durableCommits: true });
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});
afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && stack) console.log(stack.logs.slice(-60).join(''));
  await stack?.stop();
  stack = undefined;
});

describe('PostgreSQL stopped with pg_ctl stop -m immediate in the middle of a task', { timeout: 180_000 }, () => {
  it('retries the activities that met the outage, completes once, and leaves no duplicate rows', async () => {
    const trial = tryFault('postgres-stop-immediate', `pg_ctl stop -m immediate mid-session, ${DOWN_MS / 1000} s down, start on the same data`);
    stack = await startTestStack({
      databaseUrl: await postgres.createDatabase(),
      secretsKey: generateEncryptionKey(),
      jules: { script: () => longSession(PROGRESS_STEPS), timeScale: 1 },
    });
    const s = stack;
    const asked = await s.ask(MEMBERS.lead, { prompt: 'Rename the widget factory' });
    expect(asked.body.data.content).toContain('Starting Jules');
    const thread = await eventually(async () => (await s.store.getTask(asked.taskId))?.threadId ?? undefined, 'the task thread');
    await eventually(() => s.discord.channelMessages(thread).some((m) => (m.content ?? '').includes('Editing file')), 'progress in the thread');

    await postgres.stopImmediately();
    const downAt = Date.now();
    // The outage really is in the middle of the task: Jules is still working, and finishes while the store is gone.
    expect(s.jules.sessions()[0]?.state).toBe('IN_PROGRESS');
    await eventually(() => s.jules.sessions()[0]?.state === 'COMPLETED', 'Jules to finish while the store is down', DOWN_MS);
    await new Promise((resolve) => setTimeout(resolve, downAt + DOWN_MS - Date.now()));
    expect((await s.client.workflow.getHandle(asked.taskId).describe()).status.name).toBe('RUNNING');
    await postgres.restart();
    const downtimeMs = Date.now() - downAt;

    const runs = await readRuns(s.client, [asked.taskId]);
    await expectNothingLostOrDoubled({ runs, store: s.store, discord: s.discord, jules: s.jules, channelId: GUILD.channelId });

    // Temporal retried what failed on the store: some activity of the run started again after a failure.
    const history = await s.client.workflow.getHandle(asked.taskId).fetchHistory();
    const retried = history.events!.map((e) => e.activityTaskStartedEventAttributes).filter((a) => a && (a.attempt ?? 1) >= 2 && a.lastFailure);
    expect(retried.length).toBeGreaterThan(0);

    // No duplicate rows: one session slot (the table has no unique key on the task), and no audit event twice (a
    // retried step that wrote its event before the outage cut it off must not write it again).
    const slots = await s.sql.query<{ task_id: string }>('select task_id from public.session_slots where task_id = $1', [asked.taskId]);
    expect(slots).toHaveLength(1);
    const events = await s.store.listTaskEvents(asked.taskId);
    const signatures = events.map((e) => JSON.stringify([e.kind, e.outcome, e.detail]));
    expect(signatures.filter((sig, i) => signatures.indexOf(sig) !== i), signatures.join('\n')).toEqual([]);
    trial.survived({ downtimeMs, retriedActivities: retried.length });
  });
});
