import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateLocalKey } from '../src/crypto/local-key';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { buildSlashCommand, createInteractionSigner } from '../src/sandbox/interaction-signer';
import { startJulesEmulator, type JulesEmulator } from '../src/sandbox/jules-emulator';
import { taskWorkflowId } from '../src/shared/ids';
import { openStore } from '../src/store/open-store';
import { Client } from '@temporalio/client';
import { createEncryptionCodec, createPayloadKeyring } from '../src/temporal/codec';
import { connectClient } from '../src/temporal/connection';
import { createDataConverter } from '../src/temporal/data-converter';
import { expectNothingLostOrDoubled, readRuns, type RunSummary } from './helpers/fault-checks';
import { tryFault } from './helpers/reliability-tally';
import { dataDirWithGuild, emulatorEnv, freePort, killServiceProcess, startServiceProcess, type ServiceProcess } from './helpers/service-process';
import { longSession } from './helpers/session-scripts';
import { eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';
import { startExternalTemporal, type ExternalTemporal } from './helpers/temporal-server';

/**
 * Issue 12's first fault: the Temporal server `kill -9`ed in the middle of a task and started again on the same
 * SQLite file. Once against an external dev server (`temporal server start-dev --db-filename`) with the worker and
 * ingress in this process staying up through the outage, once with `start`'s embedded server, where the whole
 * process goes down with it and `start` runs again on the same DATA_DIR. Each ends with one Jules session, one
 * "PR ready" message, a `tasks` row that agrees with the history and a complete audit trail.
 */

/** How long Temporal stays down; the worker's polls back off to at most 10 s meanwhile. */
const DOWN_MS = 5_000;
const PROGRESS_STEPS = 30;

const dirs: string[] = [];
let temporal: ExternalTemporal | undefined;
let stack: TestStack | undefined;
let service: ServiceProcess | undefined;
let discord: DiscordEmulator | undefined;
let jules: JulesEmulator | undefined;

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && service) console.log(service.output().slice(-8_000));
  await stack?.stop();
  stack = undefined;
  await temporal?.close();
  temporal = undefined;
  await killServiceProcess(service);
  service = undefined;
  await discord?.close();
  discord = undefined;
  await jules?.close();
  jules = undefined;
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('Temporal killed with kill -9 in the middle of a task', { timeout: 240_000 }, () => {
  it('external dev server: the running worker and ingress wait it out, and the task completes once', async () => {
    const trial = tryFault('temporal-kill-9-external', 'kill -9 of an external `temporal server start-dev --db-filename` mid-session, restarted on the same file');
    temporal = await startExternalTemporal();
    stack = await startTestStack({ temporalAddress: temporal.address, jules: { script: () => longSession(PROGRESS_STEPS), timeScale: 1 } });
    const s = stack;
    const asked = await s.ask(MEMBERS.lead, { prompt: 'Rename the widget factory' });
    expect(asked.body.data.content).toContain('Starting Jules');
    const thread = await eventually(async () => (await s.store.getTask(asked.taskId))?.threadId ?? undefined, 'the task thread');
    await eventually(() => s.discord.channelMessages(thread).some((m) => (m.content ?? '').includes('Editing file')), 'progress in the thread');

    const pid = temporal.pid();
    await temporal.kill();
    const downAt = Date.now();
    expect(s.jules.sessions()[0]?.state).toBe('IN_PROGRESS');
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    await temporal.start();
    const downtimeMs = Date.now() - downAt;
    expect(temporal.pid()).not.toBe(pid);

    const runs = await readRuns(s.client, [asked.taskId]);
    await expectNothingLostOrDoubled({ runs, store: s.store, discord: s.discord, jules: s.jules, channelId: GUILD.channelId });
    trial.survived({ downtimeMs });
  });

  it('embedded in start: the server and then the process killed, start again on the same DATA_DIR finishes the task once', async () => {
    const trial = tryFault('temporal-kill-9-embedded', 'kill -9 of start’s embedded dev server and then of start itself mid-session, start again on the same DATA_DIR');
    const dataDir = await dataDirWithGuild('jo-temporal-crash-');
    dirs.push(dataDir);

    discord = await startDiscordEmulator();
    jules = await startJulesEmulator({ script: () => longSession(PROGRESS_STEPS * 2), timeScale: 1 });
    const signer = createInteractionSigner();
    const port = String(await freePort());
    const temporalPort = String(await freePort());
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      PORT: port,
      TEMPORAL_PORT: temporalPort,
      TEMPORAL_UI_PORT: String(await freePort()),
      TEMPORAL_SERVER_METRICS_PORT: '0',
      ...emulatorEnv(discord, signer, jules),
      SHUTDOWN_GRACE_TIME: '2s',
      // The killed process's session watch is taken over once its heartbeat times out: 10 s instead of the default 30 s.
      WATCH_HEARTBEAT_TIMEOUT: '10s',
    };
    service = startServiceProcess('start', env);
    await service.waitFor(/^Ready\./m);
    const command = buildSlashCommand({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: 'Rename the widget factory' } });
    expect((await deliverInteraction({ ingressUrl: `http://127.0.0.1:${port}`, signer, discord }, command)).status).toBe(200);
    const taskId = taskWorkflowId(command.id);
    const thread = await eventually(() => discord!.threads()[0]?.id, 'the task thread', 60_000);
    await eventually(() => discord!.channelMessages(thread).some((m) => (m.content ?? '').includes('Editing file')), 'progress in the thread', 60_000);

    // The embedded server is a child of `start` (or of a thread of it): found by pid through /proc, not by name.
    const serverPid = descendants(service.child.pid!).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-dev'));
    expect(serverPid, 'the embedded dev server among start’s children').toBeDefined();
    process.kill(serverPid!, 'SIGKILL');
    await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 503) || undefined, '/readyz 503 with Temporal gone');
    service.child.kill('SIGKILL');
    await service.exited;
    expect(jules.sessions()[0]?.state).toBe('IN_PROGRESS');

    service = startServiceProcess('start', env);
    await service.waitFor(/^Ready\./m);
    // The history, read through the restarted embedded server with the payload key `start` derives from DATA_DIR.
    let runs: RunSummary[];
    const connection = await connectClient({ address: `127.0.0.1:${temporalPort}`, namespace: 'default' });
    try {
      const codec = createEncryptionCodec(createPayloadKeyring({ secretsKey: loadOrCreateLocalKey(dataDir).key }));
      runs = await readRuns(new Client({ connection, namespace: 'default', dataConverter: createDataConverter(codec) }), [taskId]);
    } finally {
      await connection.close();
    }
    // The embedded store is one process's: read once `start` has stopped.
    service.child.kill('SIGTERM');
    await service.exited;
    const store = await openStore({ dataDir });
    try {
      await expectNothingLostOrDoubled({ runs, store, discord, jules, channelId: GUILD.channelId });
    } finally {
      await store.close();
    }
    trial.survived();
  });
});

/** Every process below `pid`, from /proc/<pid>/task/<tid>/children (Linux). */
function descendants(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number),
  );
  return children.flatMap((child) => [child, ...descendants(child)]);
}
