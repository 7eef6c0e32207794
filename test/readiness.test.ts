import { InteractionResponseType } from '@discordjs/core/http-only';
import type { Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDiscordVerifier } from '../src/crypto/discord-signature';
import { buildApp } from '../src/http/app';
import { DRAINING_RETRY_AFTER_S } from '../src/http/readiness.route';
import { CHECK_TIMEOUT_MS, createReadiness, type Readiness } from '../src/lifecycle/readiness';
import { createInteractionSigner } from '../src/sandbox/interaction-signer';
import { openStore, storeProblem, type OpenedStore } from '../src/store/open-store';
import { connectClient, temporalProblem } from '../src/temporal/connection';
import { startPostgres, type PostgresServer } from './helpers/postgres';
import { eventually } from './helpers/stack';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy';

/**
 * `GET /readyz` against the real engines: a real PostgreSQL and the run's Temporal dev server, each reached through
 * a relay the test cuts (connections reset, new ones refused) and restores, as a network outage looks to a client.
 */

const OUTAGE_TIMEOUT_MS = 60_000;

let postgres: PostgresServer;
let postgresProxy: TcpProxy;
let temporalProxy: TcpProxy;
let store: OpenedStore;
let connection: Connection;
let readiness: Readiness;
let app: FastifyInstance;
let workerRunning = true;

beforeAll(async () => {
  postgres = await startPostgres();
  const databaseUrl = new URL(await postgres.createDatabase());
  postgresProxy = await startTcpProxy(databaseUrl.host);
  databaseUrl.host = postgresProxy.address;
  store = await openStore({ databaseUrl: databaseUrl.toString() });
  temporalProxy = await startTcpProxy(inject('temporalAddress'));
  connection = await connectClient({ address: temporalProxy.address, namespace: inject('temporalNamespace') });
  readiness = createReadiness({
    temporal: () => temporalProblem(connection, temporalProxy.address, CHECK_TIMEOUT_MS - 250),
    store: () => storeProblem(store),
    worker: async () => (workerRunning ? undefined : 'the worker is stopped'),
  });
  const signer = createInteractionSigner();
  app = buildApp({
    verifyDiscordSignature: createDiscordVerifier(signer.publicKeyHex),
    dispatch: async () => ({ type: InteractionResponseType.Pong }),
    readiness,
    logger: false,
  });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await connection?.close();
  await store?.close();
  await temporalProxy?.close();
  await postgresProxy?.close();
  await postgres?.stop();
});

async function readyz(): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const response = await app.inject({ method: 'GET', url: '/readyz' });
  return { status: response.statusCode, body: response.json() };
}

describe('GET /readyz', { timeout: 180_000 }, () => {
  it('answers 200 when Temporal and the store answer and the worker runs', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: { temporal: 'ok', store: 'ok', worker: 'ok' } } });
  });

  it('answers 503 naming the store while the store is down, and 200 once it is back', async () => {
    await postgresProxy.cut();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks).toMatchObject({ temporal: 'ok', worker: 'ok' });
    expect(down.body.checks.store).toMatch(/^the store is unreachable: /);

    await postgresProxy.restore();
    await eventually(async () => (await readyz()).status === 200, '/readyz 200 after the store came back', OUTAGE_TIMEOUT_MS);
  });

  it('answers 503 naming Temporal while Temporal is down, and 200 once it is back', async () => {
    await temporalProxy.cut();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.checks).toMatchObject({ store: 'ok', worker: 'ok' });
    expect(down.body.checks.temporal).toContain(`Temporal at ${temporalProxy.address} is unreachable`);

    await temporalProxy.restore();
    await eventually(async () => (await readyz()).status === 200, '/readyz 200 after Temporal came back', OUTAGE_TIMEOUT_MS);
  });

  it('answers 503 while the worker does not run', async () => {
    workerRunning = false;
    try {
      expect(await readyz()).toEqual({ status: 503, body: { status: 'not_ready', checks: { temporal: 'ok', store: 'ok', worker: 'the worker is stopped' } } });
    } finally {
      workerRunning = true;
    }
  });
});

describe('a process that is stopping', { timeout: 60_000 }, () => {
  it('refuses new interactions with 503 and Retry-After, says it is not ready, and stays alive for /healthz', async () => {
    readiness.startDraining();
    const interaction = await app.inject({ method: 'POST', url: '/interactions', payload: { type: 1 } });
    expect(interaction.statusCode).toBe(503);
    expect(interaction.headers['retry-after']).toBe(String(DRAINING_RETRY_AFTER_S));
    expect(interaction.json().error).toContain('shutting down');

    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ shutdown: 'the process is stopping', temporal: 'ok', store: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
