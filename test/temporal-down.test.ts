import { rmSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';
import { deliverInteraction, settledAnswerText } from '../src/sandbox/http-delivery';
import { buildSlashCommand, createInteractionSigner } from '../src/sandbox/interaction-signer';
import { startDevServer, type DevServer } from '../src/temporal/dev-server';
import { resolveTemporalCli } from '../src/temporal/toolchain';
import { dataDirWithGuild, exitWithin, freePort, killServiceProcess, startServiceProcess, type ServiceProcess } from './helpers/service-process';
import { eventually, GUILD, MEMBERS } from './helpers/stack';
import { tryFault } from './helpers/reliability-tally';

/**
 * Issue 12's "Temporal down when a worker starts": `start` and `worker` pointed at a TEMPORAL_ADDRESS where nothing
 * listens yet. The worker waits with backoff and says so, `/readyz` answers 503 with the reason (never an
 * up-but-idle process), a `/jules` meanwhile gets words saying to try again, and once a Temporal server comes up
 * on that address the worker runs and `/readyz` is 200.
 */

const TEST_TIMEOUT_MS = 240_000;
const STOP_BOUND_MS = 20_000;
/** For the start that ran a late answer and a worker: its grace time is raised to 30 s in its environment. */
const SLOW_STOP_BOUND_MS = 50_000;

const dirs: string[] = [];
let service: ServiceProcess | undefined;
let server: DevServer | undefined;
let discord: DiscordEmulator | undefined;

afterEach(async () => {
  await killServiceProcess(service);
  service = undefined;
  await server?.stop();
  server = undefined;
  await discord?.close();
  discord = undefined;
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A set-up guild with a key, so a `/jules` is admitted (from the store alone) and then needs Temporal to start. */
async function envWithTemporalAt(temporalPort: number): Promise<Record<string, string>> {
  const dataDir = await dataDirWithGuild('jo-temporal-down-');
  dirs.push(dataDir);
  return {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    PORT: String(await freePort()),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    SHUTDOWN_GRACE_TIME: '2s',
  };
}

async function readyz(port: string): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
}

describe('a worker started while Temporal is down', { timeout: TEST_TIMEOUT_MS }, () => {
  it('start: comes up not ready, retries with backoff saying so, and is ready once Temporal is up', async () => {
    const trial = tryFault('temporal-down-at-start', 'Temporal down when start comes up and when a /jules arrives: /readyz 503, try-again answer, ready once it is up');
    const temporalPort = await freePort();
    discord = await startDiscordEmulator();
    const signer = createInteractionSigner();
    const env: Record<string, string> = {
      ...(await envWithTemporalAt(temporalPort)),
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_PUBLIC_KEY: signer.publicKeyHex,
      SHUTDOWN_GRACE_TIME: '30s',
    };
    service = startServiceProcess('start', env);
    await service.waitFor(/^Ready\./m);
    await service.waitFor(/Temporal is unreachable: the worker tries again/);

    const down = await readyz(env.PORT!);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.temporal).toContain(`Temporal at 127.0.0.1:${temporalPort} is unreachable`);
    expect(down.body.checks.worker).toMatch(new RegExp(`^waiting for Temporal at 127\\.0\\.0\\.1:${temporalPort}`));
    expect(down.body.checks.store).toBe('ok');

    // A /jules meanwhile is answered, with words that say to try again (late, through the interaction webhook).
    const command = buildSlashCommand({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: 'Rename the widget factory' } });
    const delivered = await deliverInteraction({ ingressUrl: `http://127.0.0.1:${env.PORT!}`, signer, discord }, command);
    expect(delivered.status).toBe(200);
    expect(await settledAnswerText(discord, delivered, 120_000)).toContain('try again');

    const cli = await resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, pathEnv: process.env.PATH });
    server = await startDevServer({ cli, namespace: 'default', port: temporalPort, ui: false, logLevel: 'error' });
    const up = await eventually(async () => {
      const answer = await readyz(env.PORT!);
      return answer.status === 200 ? answer : undefined;
    }, '/readyz 200 once Temporal is up', 90_000);
    expect(up.body).toEqual({ status: 'ready', checks: { temporal: 'ok', store: 'ok', worker: 'ok' } });
    // `/readyz` follows the worker's state, which turns RUNNING a moment before the line is logged.
    await service.waitFor(/"msg":"worker running"/, 30_000);

    service.child.kill('SIGTERM');
    // This test is about Temporal being down, not about the stop's bound (test/shutdown*.test.ts hold that): on a
    // loaded machine the stop after this much work has been seen to pass the default grace time plus its margin.
    expect(await exitWithin(service, SLOW_STOP_BOUND_MS), service.output().slice(-4_000)).toBe(0);
    trial.survived();
  });

  it('start: a SIGTERM while a /jules still retries against the down server exits 0 (the SDK leaves the retry’s timer behind)', async () => {
    discord = await startDiscordEmulator();
    const signer = createInteractionSigner();
    const env: Record<string, string> = {
      ...(await envWithTemporalAt(await freePort())),
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_PUBLIC_KEY: signer.publicKeyHex,
    };
    service = startServiceProcess('start', env);
    await service.waitFor(/^Ready\./m);
    const ingressUrl = `http://127.0.0.1:${env.PORT!}`;
    // Several at once, so some are between two retries when the connection closes.
    const commands = Array.from({ length: 4 }, () =>
      buildSlashCommand({ applicationId: discord!.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: 'Rename the widget factory' } }),
    );
    await Promise.all(commands.map(async (command) => expect((await deliverInteraction({ ingressUrl, signer, discord: discord! }, command)).status).toBe(200)));
    service.child.kill('SIGTERM');
    expect(await exitWithin(service, STOP_BOUND_MS), service.output().slice(-4_000)).toBe(0);
    expect(service.output()).not.toContain('Channel has been shut down');
  });

  it('worker: keeps trying until stopped, and a SIGTERM while it waits ends it with exit 0', async () => {
    service = startServiceProcess('worker', await envWithTemporalAt(await freePort()));
    await service.waitFor(/"attempt":2,.*Temporal is unreachable: the worker tries again/);
    expect(service.output()).not.toContain('Ready.');
    service.child.kill('SIGTERM');
    expect(await exitWithin(service, STOP_BOUND_MS)).toBe(0);
    expect(service.output()).toContain('Stopped before start-up finished.');
  });
});
