import { temporal } from '@temporalio/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateEncryptionKey } from '../src/crypto/secret-box';
import { startPostgres, type PostgresServer } from './helpers/postgres';
import { eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';
import { startWorkerProcess, stopWorkerProcesses, type WorkerProcess } from './helpers/worker-process';
import { longSession } from './helpers/session-scripts';
import { tryFault } from './helpers/reliability-tally';

/**
 * A worker that crashes in the middle of a Jules session. The worker runs in a child process (the service's own
 * composition root, test/fixtures/worker-process.ts) and is SIGKILLed: no graceful shutdown, no last heartbeat,
 * no cancellation. The ingress, the emulators and the store stay in this process; the store is a real PostgreSQL
 * that both processes share.
 *
 * Temporal notices the dead worker only when the session watcher's heartbeat times out, so the test shortens that
 * timeout (`watchHeartbeatTimeoutMs`, 30 s by default) to 5 s. It takes about 17 s: two worker processes start
 * (about 3 s each, mostly bundling the workflows), and the 9 s Jules session runs to its end while no worker is up.
 */

const PROGRESS_STEPS = 30;
// A progress update every 300 ms, then a pull request: long enough to stop the process in the middle.
const LONG_SESSION = longSession(PROGRESS_STEPS);

let postgres: PostgresServer;
let stack: TestStack | undefined;
let taskId: string | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
});

afterAll(async () => {
  await postgres?.stop();
});

afterEach(async (context) => {
  // Children die even when the test failed; a worker left running would take work from other runs.
  await stopWorkerProcesses(workers, context.task.result?.state === 'fail');
  if (stack && taskId) {
    // A failed test leaves its workflow waiting for a worker that will never come.
    await stack.client.workflow.getHandle(taskId).terminate('test over').catch(() => undefined);
  }
  await stack?.stop();
  stack = undefined;
  taskId = undefined;
});

describe('a worker killed mid-session', () => {
  it(
    'leaves the task to a new worker, which finishes it with one Jules session and one "PR ready" message',
    async () => {
      const trial = tryFault('worker-sigkill', 'SIGKILL of the worker process mid-session, a new worker takes over after the heartbeat timeout');
      const env = { databaseUrl: await postgres.createDatabase(), secretsKey: generateEncryptionKey() };
      stack = await startTestStack({
        worker: false,
        databaseUrl: env.databaseUrl,
        secretsKey: env.secretsKey,
        jules: { script: () => LONG_SESSION, timeScale: 1 },
        // A dead worker is noticed after this long without a heartbeat (the watcher beats every 2 s or faster).
        settings: { watchHeartbeatTimeoutMs: 5_000, deadlineMs: 10 * 60_000 },
      });
      const s = stack;
      const first = await startWorkerProcess(s, env, workers);

      // A confirmer asks, so the task starts at once.
      const asked = await s.ask(MEMBERS.lead, { prompt: 'Rename the widget factory' });
      taskId = asked.taskId;
      expect(asked.status).toBe(200);
      expect(asked.body.data.content).toContain('Starting Jules');
      const handle = s.client.workflow.getHandle(asked.taskId);

      // Mid-way: the session exists, and the thread shows progress that is not the last step.
      const thread = await eventually(async () => (await s.store.getTask(asked.taskId))?.threadId ?? undefined, 'the task thread');
      await eventually(() => s.jules.sessions().length === 1, 'the Jules session');
      await eventually(() => s.discord.channelMessages(thread).some((m) => (m.content ?? '').includes('Editing file')), 'progress in the thread');

      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      // The crash really was in the middle of the session: Jules was still working when the worker died.
      expect(s.jules.sessions()[0]?.state).toBe('IN_PROGRESS');
      expect((await s.store.getTask(asked.taskId))?.status).toBe('in_progress');

      // Jules finishes while no worker runs (which also lets the heartbeat time out): the news must still arrive, once.
      await eventually(() => s.jules.sessions()[0]?.state === 'COMPLETED', 'Jules to finish the session', 30_000);
      await startWorkerProcess(s, env, workers);
      const outcome = await handle.result();
      expect(outcome.status).toBe('completed');
      expect(outcome.prUrl).toMatch(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/);

      // The new worker took over the watch the dead one was running: a retry after a heartbeat timeout.
      const history = await handle.fetchHistory();
      const watchScheduled = new Set(
        history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'watchJulesSession').map((e) => String(e.eventId)),
      );
      const watchStarts = history.events!.map((e) => e.activityTaskStartedEventAttributes).filter((a) => a && watchScheduled.has(String(a.scheduledEventId)));
      expect(
        watchStarts.some((a) => (a!.attempt ?? 1) >= 2 && a!.lastFailure?.timeoutFailureInfo?.timeoutType === temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT),
      ).toBe(true);

      // Exactly one Jules session, created once.
      expect(s.jules.sessions()).toHaveLength(1);
      expect(s.jules.requests.filter((r) => r.method === 'POST' && r.path === '/v1alpha/sessions' && r.status === 200)).toHaveLength(1);

      // Nothing posted twice: one card in the channel, one thread, and in it one "started", one progress message, one "PR ready".
      expect(s.discord.channelMessages(GUILD.channelId)).toHaveLength(1);
      expect(s.discord.threads()).toHaveLength(1);
      const texts = s.discord.channelMessages(thread).map((m) => m.content ?? '');
      expect(texts.filter((t) => t.includes('Jules started working'))).toHaveLength(1);
      // The one progress message shows the last step, not the one the dead worker had posted.
      expect(texts.filter((t) => t.includes('Editing file'))).toEqual([expect.stringContaining(`Editing file ${PROGRESS_STEPS} of ${PROGRESS_STEPS}`)]);
      expect(texts.filter((t) => t.includes('PR ready'))).toEqual([expect.stringContaining(`PR ready: ${outcome.prUrl}`)]);

      expect(await s.store.getTask(asked.taskId)).toMatchObject({
        status: 'completed',
        prUrl: outcome.prUrl,
        julesState: 'COMPLETED',
        julesSessionId: s.jules.sessions()[0]!.name,
      });
      trial.survived();
    },
    180_000,
  );
});
