import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateEncryptionKey } from '../src/crypto/secret-box';
import { createLogger } from '../src/logger';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import { taskWorkflowId } from '../src/shared/ids';
import { reconcileClosedTasks } from '../src/temporal/task-reconciler';
import { expectNothingLostOrDoubled, readRuns } from './helpers/fault-checks';
import { startPostgres, type PostgresServer } from './helpers/postgres';
import { tryFault } from './helpers/reliability-tally';
import { freePort, killServiceProcess, startServiceProcess, type ServiceProcess } from './helpers/service-process';
import { longSession } from './helpers/session-scripts';
import { eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';
import { startWorkerProcess, stopWorkerProcesses, type WorkerProcess } from './helpers/worker-process';

/**
 * Issue 12's deployment fault: two `ingress` processes and two worker processes on one shared PostgreSQL and the
 * run's Temporal server, as a small production deployment runs. During a burst of `/jules` spread over both
 * ingresses, one ingress and one worker are SIGKILLed. Every task that exists afterwards (each one answered, and
 * any the dead ingress started before it could answer) completes once: one session, one card, one "PR ready".
 *
 * The dead worker's session watches are taken over once their heartbeat times out (WATCH_HEARTBEAT_TIMEOUT, which
 * the ingress processes start tasks with: configured from the environment as in production, 10 s here). The
 * other steps the dead worker may have held (a Discord post, the session's start) heartbeat too, with a shorter
 * timeout (workflows/lib/heartbeat.ts): before they did, one of them waited out its 2-minute start-to-close
 * timeout, and the test took about 2.5 minutes.
 */

const BURST = 8;

let postgres: PostgresServer;
let stack: TestStack | undefined;
const ingresses: ServiceProcess[] = [];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});
afterEach(async (context) => {
  const failed = context.task.result?.state === 'fail';
  for (const ingress of ingresses.splice(0)) {
    if (failed) console.log(`ingress ${ingress.child.pid} printed:\n${ingress.output().slice(-4_000)}`);
    await killServiceProcess(ingress);
  }
  await stopWorkerProcesses(workers, failed);
  await stack?.stop();
  stack = undefined;
});

describe('two ingress and two worker processes, one of each killed during a burst', { timeout: 240_000 }, () => {
  it('completes every task once', async () => {
    const trial = tryFault('deployment-kill-one-of-each', `2 ingress + 2 worker processes on shared Postgres and Temporal; SIGKILL of one ingress and one worker during a burst of ${BURST} /jules`);
    const env = { databaseUrl: await postgres.createDatabase(), secretsKey: generateEncryptionKey() };
    // The stack is the emulators, the store (guild set up) and a client here; its own ingress and worker stay unused.
    stack = await startTestStack({ worker: false, databaseUrl: env.databaseUrl, secretsKey: env.secretsKey, jules: { script: () => longSession(20), timeScale: 1 } });
    const s = stack;
    await s.store.setGuildQuotas(GUILD.id, { userRequestsPerHour: 100, concurrentSessionsPerKey: BURST });
    const ingressEnv = async () => ({
      PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      TEMPORAL_TASK_QUEUE: s.taskQueue,
      DATABASE_URL: env.databaseUrl,
      SECRETS_ENCRYPTION_KEY: env.secretsKey,
      DISCORD_API_URL: s.discord.apiUrl,
      DISCORD_TOKEN: s.discord.token,
      DISCORD_APPLICATION_ID: s.discord.applicationId,
      DISCORD_PUBLIC_KEY: s.signer.publicKeyHex,
      JULES_API_URL: s.jules.url,
      JULES_POLL_INTERVAL: '500ms',
      // The dead worker's session watches are taken over once their heartbeat times out (default 30 s).
      WATCH_HEARTBEAT_TIMEOUT: '10s',
    });
    const ports: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const ingressConfig = await ingressEnv();
      ports.push(ingressConfig.PORT);
      ingresses.push(startServiceProcess('ingress', ingressConfig));
    }
    const [doomedWorker] = await Promise.all([startWorkerProcess(s, env, workers), startWorkerProcess(s, env, workers), ...ingresses.map((i) => i.waitFor(/^Ready\./m))]);
    const [doomedIngress] = ingresses;

    const commands = Array.from({ length: BURST }, (_, i) =>
      buildSlashCommand({ applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: `Task ${i} of the burst` } }),
    );
    // Alternating between the ingresses, a quarter of a second apart; the kills come half-way.
    const sent = commands.map(async (command, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 250));
      const port = i >= BURST / 2 ? ports[1]! : ports[i % 2]!;
      try {
        return (await deliverInteraction({ ingressUrl: `http://127.0.0.1:${port}`, signer: s.signer, discord: s.discord }, command)).status;
      } catch {
        return 'no answer';
      }
    });
    await eventually(() => s.jules.sessions().length >= 2, 'the first sessions', 60_000);
    doomedIngress!.child.kill('SIGKILL');
    doomedWorker.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await doomedIngress!.exited).toBe('SIGKILL');
    expect(await doomedWorker.exited).toBe('SIGKILL');
    const statuses = await Promise.all(sent);

    // Answered: must complete. Unanswered (the dead ingress): complete if it was started. Else nothing exists, or the
    // ingress died between its admission and the start: an open row without a workflow, which the reconciler ends.
    const taskIds: string[] = [];
    const neverStarted: string[] = [];
    for (const [i, command] of commands.entries()) {
      const taskId = taskWorkflowId(command.id);
      if (statuses[i] === 200) taskIds.push(taskId);
      else if (await s.client.workflow.getHandle(taskId).describe().then(() => true, () => false)) taskIds.push(taskId);
      else if (await s.store.getTask(taskId)) neverStarted.push(taskId);
    }
    if (neverStarted.length > 0) {
      const report = await reconcileClosedTasks({ client: s.client, store: s.store, log: createLogger('silent'), now: () => Date.now() + 5 * 60_000 });
      expect(report.ended.NOT_FOUND).toBe(neverStarted.length);
      for (const taskId of neverStarted) expect(await s.store.getTask(taskId), taskId).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/never started/) });
    }
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(BURST / 2);

    const runs = await readRuns(s.client, taskIds);
    await expectNothingLostOrDoubled({ runs, store: s.store, discord: s.discord, jules: s.jules, channelId: GUILD.channelId });
    trial.survived({ burst: BURST, answered: statuses.filter((status) => status === 200).length, completed: runs.length, admittedNeverStarted: neverStarted.length, allCompletedMsAfterKill: Date.now() - killedAt });
  });
});
