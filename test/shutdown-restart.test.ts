import { rmSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { buildSlashCommand, createInteractionSigner } from '../src/sandbox/interaction-signer';
import { startJulesEmulator, type JulesEmulator } from '../src/sandbox/jules-emulator';
import { taskWorkflowId } from '../src/shared/ids';
import { openStore } from '../src/store/open-store';
import { dataDirWithGuild, emulatorEnv, exitWithin, freePort, killServiceProcess, startServiceProcess, type ServiceProcess } from './helpers/service-process';
import { eventually, GUILD, MEMBERS } from './helpers/stack';
import { longSession } from './helpers/session-scripts';
import { tryFault } from './helpers/reliability-tally';

/**
 * Issue 10's proof of a clean stop: `start` (embedded Temporal and PGlite in one DATA_DIR) runs a task halfway,
 * gets SIGTERM and exits 0 within 20 s; started again on the same data, it finishes the task with one Jules
 * session and one "PR ready" message. Discord and Jules are emulated in this process so they outlive both runs.
 */

const PROGRESS_STEPS = 60;
/** What issue 10 asks of a stop. */
const STOP_BOUND_MS = 20_000;
// A progress update every 300 ms, then a pull request: long enough to stop the process in the middle.
const LONG_SESSION = longSession(PROGRESS_STEPS);

const dirs: string[] = [];
let service: ServiceProcess | undefined;
let discord: DiscordEmulator | undefined;
let jules: JulesEmulator | undefined;

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && service) console.log(service.output().slice(-8_000));
  await killServiceProcess(service);
  service = undefined;
  await discord?.close();
  await jules?.close();
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('start stopped by SIGTERM in the middle of a task', () => {
  it(
    'exits 0 within 20 s, and started again on the same data finishes the task with one Jules session and one PR message',
    async () => {
      const trial = tryFault('start-sigterm-restart', 'SIGTERM of start mid-task, started again on the same DATA_DIR');
      const dataDir = await dataDirWithGuild('jo-restart-');
      dirs.push(dataDir);

      discord = await startDiscordEmulator();
      jules = await startJulesEmulator({ script: () => LONG_SESSION, timeScale: 1 });
      const signer = createInteractionSigner();
      const port = String(await freePort());
      const env = {
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        PORT: port,
        TEMPORAL_PORT: String(await freePort()),
        TEMPORAL_UI_PORT: String(await freePort()),
        // Any free port for the embedded server's metrics: the default 9233 is one per host, and another file's `start` may hold it.
        TEMPORAL_SERVER_METRICS_PORT: '0',
        ...emulatorEnv(discord, signer, jules),
        SHUTDOWN_GRACE_TIME: '2s',
      };
      const endpoint = { ingressUrl: `http://127.0.0.1:${port}`, signer, discord };

      service = startServiceProcess('start', env);
      await service.waitFor(/^Ready\./m);
      // A confirmer asks, so the task starts at once.
      const command = buildSlashCommand({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: 'Rename the widget factory' } });
      expect((await deliverInteraction(endpoint, command)).status).toBe(200);
      const taskId = taskWorkflowId(command.id);

      // Halfway: the session exists and the thread shows progress that is not the last step.
      const thread = await eventually(() => discord!.threads()[0]?.id, 'the task thread', 60_000);
      await eventually(() => jules!.sessions().length === 1, 'the Jules session', 60_000);
      await eventually(() => discord!.channelMessages(thread).some((m) => (m.content ?? '').includes('Editing file')), 'progress in the thread', 60_000);

      service.child.kill('SIGTERM');
      expect(await exitWithin(service, STOP_BOUND_MS)).toBe(0);
      expect(jules.sessions()[0]?.state).toBe('IN_PROGRESS');

      service = startServiceProcess('start', env);
      await service.waitFor(/^Ready\./m);
      await eventually(() => discord!.channelMessages(thread).some((m) => (m.content ?? '').includes('PR ready')), 'the "PR ready" message', 120_000);
      service.child.kill('SIGTERM');
      expect(await exitWithin(service, STOP_BOUND_MS)).toBe(0);

      // Exactly one Jules session, created once.
      expect(jules.sessions()).toHaveLength(1);
      expect(jules.requests.filter((r) => r.method === 'POST' && r.path === '/v1alpha/sessions' && r.status === 200)).toHaveLength(1);
      // Nothing posted twice: one card, one thread, one "started", one "PR ready".
      expect(discord.channelMessages(GUILD.channelId)).toHaveLength(1);
      expect(discord.threads()).toHaveLength(1);
      const texts = discord.channelMessages(thread).map((m) => m.content ?? '');
      expect(texts.filter((t) => t.includes('Jules started working'))).toHaveLength(1);
      expect(texts.filter((t) => t.includes('PR ready'))).toHaveLength(1);

      const store = await openStore({ dataDir });
      try {
        expect(await store.getTask(taskId)).toMatchObject({ status: 'completed', julesState: 'COMPLETED', julesSessionId: jules.sessions()[0]!.name });
      } finally {
        await store.close();
      }
      trial.survived();
    },
    300_000,
  );
});
