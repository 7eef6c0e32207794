import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { buildSlashCommand, createInteractionSigner } from '../src/sandbox/interaction-signer';
import { startJulesEmulator, type JulesEmulator } from '../src/sandbox/jules-emulator';
import { taskWorkflowId } from '../src/shared/ids';
import { openStore } from '../src/store/open-store';
import { connectClient, connectWorker, temporalConnectionOptions } from '../src/temporal/connection';
import { startDevServer, type DevServer } from '../src/temporal/dev-server';
import { resolveTemporalCli } from '../src/temporal/toolchain';
import { startGrpcTlsProxy, type GrpcTlsProxy } from './helpers/grpc-tls-proxy';
import { dataDirWithGuild, emulatorEnv, exitWithin, freePort, killServiceProcess, startServiceProcess, type ServiceProcess } from './helpers/service-process';
import { eventually, GUILD, MEMBERS } from './helpers/stack';
import { makeTestCertificates, type TestCertificates } from './helpers/test-certificates';

/**
 * Issue 10's "test TLS for real on loopback": a CA made for this run, a TLS-terminating gRPC relay in front of a
 * real dev server (which speaks plaintext only), and the service's own connection options reaching it with a
 * server CA and name, with an mTLS client pair, and with an API key, as for a self-hosted cluster and Temporal
 * Cloud. The last tests run whole tasks through `start` over each kind of TLS.
 */

const SERVER_NAME = 'temporal.test';
const API_KEY = 'test-temporal-api-key-0123456789';
const GET_SYSTEM_INFO = '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo';
const POLL_WORKFLOW_TASKS = '/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue';
const STOP_BOUND_MS = 20_000;

let certs: TestCertificates;
let server: DevServer;
const proxies: GrpcTlsProxy[] = [];
let service: ServiceProcess | undefined;
let discord: DiscordEmulator | undefined;
let jules: JulesEmulator | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  certs = makeTestCertificates(SERVER_NAME);
  const cli = await resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, pathEnv: process.env.PATH });
  server = await startDevServer({ cli, namespace: 'default', ui: false, logLevel: 'error' });
}, 120_000);
afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && service) console.log(service.output().slice(-8_000));
  await killServiceProcess(service);
  service = undefined;
  await Promise.all(proxies.splice(0).map((relay) => relay.close()));
  await discord?.close();
  discord = undefined;
  await jules?.close();
  jules = undefined;
});
afterAll(async () => {
  await server?.stop();
  certs?.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The relay in front of the dev server: mTLS when `mtls`, an API key when `apiKey`. */
async function tlsProxy(mode: { mtls?: boolean; apiKey?: string }): Promise<GrpcTlsProxy> {
  const relay = await startGrpcTlsProxy({
    target: server.address,
    cert: certs.pem(certs.serverCertPath),
    key: certs.pem(certs.serverKeyPath),
    ...(mode.mtls ? { clientCa: certs.pem(certs.caCertPath) } : {}),
    ...(mode.apiKey ? { apiKey: mode.apiKey } : {}),
  });
  proxies.push(relay);
  return relay;
}

/** The TLS variables an operator sets for a cluster with its own CA (the server name must match its certificate). */
function serverTlsEnv(): Record<string, string> {
  return { TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCertPath, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME };
}

function mtlsEnv(): Record<string, string> {
  return { ...serverTlsEnv(), TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCertPath, TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKeyPath };
}

/** The options the service builds from `env` for TEMPORAL_ADDRESS=`address`. */
function optionsFor(address: string, env: Record<string, string>) {
  const { temporal } = loadConfig({ TEMPORAL_ADDRESS: address, ...env });
  return temporalConnectionOptions({ ...temporal, address: temporal.address! });
}

/** A Client and a Worker connection through the relay, each making one call; resolves once both answered. */
async function connectBoth(address: string, env: Record<string, string>): Promise<void> {
  const options = optionsFor(address, env);
  const client = await connectClient(options);
  try {
    await client.workflowService.getSystemInfo({});
  } finally {
    await client.close();
  }
  const worker = await connectWorker(options);
  await worker.close();
}

describe('the Temporal connection over TLS on loopback', { timeout: 60_000 }, () => {
  it('verifies the server against TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME', async () => {
    const relay = await tlsProxy({});

    await connectBoth(relay.address, serverTlsEnv());

    expect(relay.calls.some((call) => call.path === GET_SYSTEM_INFO)).toBe(true);
  });

  // One test for the three refusals, made at once: each waits out the SDK's 10 s connect timeout.
  it('refuses an untrusted server certificate, a server name it does not carry, and a missing client certificate', async () => {
    const [relay, mtlsRelay] = await Promise.all([tlsProxy({}), tlsProxy({ mtls: true })]);

    const attempts = await Promise.allSettled([
      // No CA configured: the system roots, which do not hold this run's CA.
      connectClient(optionsFor(relay.address, { TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: SERVER_NAME })),
      connectClient(optionsFor(relay.address, { ...serverTlsEnv(), TEMPORAL_TLS_SERVER_NAME: 'elsewhere.test' })),
      connectBoth(mtlsRelay.address, serverTlsEnv()),
    ]);

    expect(attempts.map((attempt) => attempt.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect([...relay.calls, ...mtlsRelay.calls]).toHaveLength(0);
  });

  it('presents the client pair of TEMPORAL_TLS_CLIENT_CERT_PATH and _KEY_PATH where mTLS is required', async () => {
    const relay = await tlsProxy({ mtls: true });

    await connectBoth(relay.address, mtlsEnv());

    expect(relay.calls.length).toBeGreaterThan(0);
    expect(relay.calls.every((call) => call.clientCertCn === 'jules-worker')).toBe(true);
  });

  it('sends TEMPORAL_API_KEY as a bearer token on every call of both connections', async () => {
    const relay = await tlsProxy({ apiKey: API_KEY });

    await connectBoth(relay.address, { ...serverTlsEnv(), TEMPORAL_API_KEY: API_KEY });

    expect(relay.calls.length).toBeGreaterThan(1);
    expect(relay.calls.every((call) => call.authorized)).toBe(true);
  });

  it('is refused with UNAUTHENTICATED for a wrong API key', async () => {
    const relay = await tlsProxy({ apiKey: API_KEY });

    const refused = await connectClient(optionsFor(relay.address, { ...serverTlsEnv(), TEMPORAL_API_KEY: 'not-the-key' })).then(
      () => undefined,
      (err: unknown) => err as Error & { cause?: { code?: number } },
    );

    expect(`${refused?.message} ${refused?.cause ? String(refused.cause) : ''}`).toContain('UNAUTHENTICATED');
    expect(relay.calls.every((call) => !call.authorized)).toBe(true);
  });
});

describe('start against a Temporal server behind TLS', () => {
  async function runTaskThrough(relay: GrpcTlsProxy, tlsEnv: Record<string, string>): Promise<void> {
    const dataDir = await dataDirWithGuild('jo-tls-');
    dirs.push(dataDir);

    discord = await startDiscordEmulator();
    jules = await startJulesEmulator();
    const signer = createInteractionSigner();
    const port = String(await freePort());
    service = startServiceProcess('start', {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      PORT: port,
      TEMPORAL_ADDRESS: relay.address,
      ...tlsEnv,
      ...emulatorEnv(discord, signer, jules),
      SHUTDOWN_GRACE_TIME: '2s',
    });
    await service.waitFor(/^Ready\./m);
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 || undefined, '/readyz 200', 60_000);

    const command = buildSlashCommand({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'jules', options: { prompt: 'Rename the widget factory' } });
    expect((await deliverInteraction({ ingressUrl: `http://127.0.0.1:${port}`, signer, discord }, command)).status).toBe(200);
    const thread = await eventually(() => discord!.threads()[0]?.id, 'the task thread', 60_000);
    await eventually(() => discord!.channelMessages(thread).some((m) => (m.content ?? '').includes('PR ready')), 'the "PR ready" message', 120_000);

    service.child.kill('SIGTERM');
    expect(await exitWithin(service, STOP_BOUND_MS)).toBe(0);
    expect(jules.sessions()).toHaveLength(1);
    const store = await openStore({ dataDir });
    try {
      expect(await store.getTask(taskWorkflowId(command.id))).toMatchObject({ status: 'completed' });
    } finally {
      await store.close();
    }
    // The search attributes were checked over the same TLS, and found (the dev server behind the relay has them).
    expect(service.output()).not.toContain('lacks the custom search attributes');
    // The worker polled through the relay, not around it.
    expect(relay.calls.some((call) => call.path === POLL_WORKFLOW_TASKS)).toBe(true);
  }

  it('worker: a refused API key ends the process with the refusal named, instead of waiting as for a server that is down', async () => {
    const relay = await tlsProxy({ apiKey: API_KEY });
    const dataDir = mkdtempSync(join(tmpdir(), 'jo-tls-'));
    dirs.push(dataDir);

    service = startServiceProcess('worker', { DATA_DIR: dataDir, LOG_LEVEL: 'info', TEMPORAL_ADDRESS: relay.address, ...serverTlsEnv(), TEMPORAL_API_KEY: 'not-the-key', SHUTDOWN_GRACE_TIME: '2s' });

    expect(await exitWithin(service, 60_000)).not.toBe(0);
    expect(service.output()).toContain(`Temporal at ${relay.address} refused the credentials (unauthenticated): check TEMPORAL_API_KEY`);
    expect(service.output()).not.toContain('the worker tries again');
    expect(service.output()).not.toContain('not-the-key');
  }, 90_000);

  it('start: a server certificate the configured CA did not sign is named on /readyz, not waited for', async () => {
    const relay = await tlsProxy({});
    const dataDir = mkdtempSync(join(tmpdir(), 'jo-tls-'));
    dirs.push(dataDir);
    const port = String(await freePort());

    // The system roots (no CA set) do not hold this run's CA.
    service = startServiceProcess('start', { DATA_DIR: dataDir, LOG_LEVEL: 'info', PORT: port, TEMPORAL_ADDRESS: relay.address, TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: SERVER_NAME, SHUTDOWN_GRACE_TIME: '2s' });
    await service.waitFor(/the worker could not start/);

    const answer = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = (await answer.json()) as { checks: Record<string, string> };
    expect(answer.status).toBe(503);
    expect(body.checks.worker).toContain('failed the TLS handshake: check TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME');
    expect(service.output()).not.toContain('the worker tries again');
    service.child.kill('SIGTERM');
    expect(await exitWithin(service, STOP_BOUND_MS)).toBe(0);
  }, 90_000);

  it('runs a task over mTLS with a server CA and name', async () => {
    const relay = await tlsProxy({ mtls: true });

    await runTaskThrough(relay, mtlsEnv());

    expect(relay.calls.every((call) => call.clientCertCn === 'jules-worker')).toBe(true);
  }, 240_000);

  it('runs a task with an API key, as on Temporal Cloud', async () => {
    const relay = await tlsProxy({ apiKey: API_KEY });

    await runTaskThrough(relay, { ...serverTlsEnv(), TEMPORAL_API_KEY: API_KEY });

    expect(relay.calls.every((call) => call.authorized)).toBe(true);
  }, 240_000);
});
