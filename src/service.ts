import { join } from 'node:path';
import { API } from '@discordjs/core/http-only';
import { REST } from '@discordjs/rest';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import type { Config } from './config';
import { createDiscordVerifier } from './crypto/discord-signature';
import { loadOrCreateLocalKey } from './crypto/local-key';
import { createSecretBox, type SecretBox } from './crypto/secret-box';
import { createInteractionDispatcher } from './discord/dispatcher';
import { createRestMessenger } from './discord/messenger';
import { buildApp } from './http/app';
import { createHttpJulesClientFactory } from './jules/http-jules-client';
import { startDiscordEmulator, type DiscordEmulator } from './sandbox/discord-emulator';
import { createInteractionSigner, type InteractionSigner } from './sandbox/interaction-signer';
import { startJulesEmulator, type JulesEmulator } from './sandbox/jules-emulator';
import { openStore } from './store/open-store';
import type { Store } from './store/store';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createTemporalTaskControl } from './temporal/task-control';
import { installTemporalLogger } from './temporal/runtime';
import { resolveTemporalCli } from './temporal/toolchain';
import { connectWorker, createTaskWorker } from './temporal/worker';

/**
 * The composition root: opens what the config points at (or starts the embedded defaults), and wires the
 * worker and the ingress. Nothing else constructs adapters.
 */

/** Which parts of the service a process runs. */
export interface ServiceParts {
  readonly worker: boolean;
  readonly ingress: boolean;
}

/** A running service. */
export interface RunningService {
  readonly ingressUrl?: string;
  readonly temporal: { readonly address: string; readonly namespace: string; readonly uiUrl?: string; readonly embedded: boolean };
  readonly store: Store;
  readonly secrets: SecretBox;
  /** Present when no Discord credentials were set: the local emulator and the key pair that signs for it. */
  readonly sandbox?: { readonly discord: DiscordEmulator; readonly signer: InteractionSigner; readonly jules?: JulesEmulator };
  readonly client?: Client;
  /** Stops everything this process started, in reverse order. */
  stop(): Promise<void>;
}

/** Options for {@link startService}. */
export interface StartServiceOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly parts: ServiceParts;
  /** Lines for the person at the terminal (URLs, what was started). */
  readonly print?: (line: string) => void;
  /** Embedded store in memory instead of DATA_DIR (the demo uses a directory of its own instead). */
  readonly inMemoryStore?: boolean;
  /** Options for the emulated Jules (demo speed). */
  readonly julesEmulator?: Parameters<typeof startJulesEmulator>[0];
}

/** Starts the service: embedded Temporal, store, emulators where no credentials are set, worker, ingress. */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const { config, log, parts } = options;
  const print = options.print ?? (() => undefined);
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((err) => log.warn({ err }, 'error while stopping'));
  };

  installTemporalLogger(log);
  try {
    const store = await openStore({ databaseUrl: config.store.databaseUrl, dataDir: config.store.dataDir, inMemory: options.inMemoryStore ?? false });
    stops.push(() => store.close());
    const secrets = openSecrets(config, log);

    const temporal = await openTemporal(config, log, print);
    stops.push(() => temporal.stop());

    let sandbox: RunningService['sandbox'];
    let discordApiUrl = config.discord.apiUrl;
    let discordToken = config.discord.token;
    let publicKey = config.discord.publicKey;
    let julesApiUrl = config.jules.apiUrl;
    if (config.discord.emulated) {
      const discord = await startDiscordEmulator({ ...(config.discord.applicationId ? { applicationId: config.discord.applicationId } : {}) });
      stops.push(() => discord.close());
      const signer = createInteractionSigner();
      discordApiUrl = discord.apiUrl;
      discordToken = discord.token;
      publicKey = signer.publicKeyHex;
      let jules: JulesEmulator | undefined;
      if (!julesApiUrl) {
        jules = await startJulesEmulator(options.julesEmulator);
        stops.push(() => jules!.close());
        julesApiUrl = jules.url;
      }
      sandbox = { discord, signer, ...(jules ? { jules } : {}) };
      print(`Discord emulator: ${discord.apiUrl} (no DISCORD_TOKEN set)`);
      if (jules) print(`Jules emulator:   ${jules.url}`);
    }

    if (parts.worker) {
      const rest = new REST({ api: discordApiUrl }).setToken(discordToken ?? '');
      const activities = createActivities({
        store,
        secrets,
        julesClientFor: createHttpJulesClientFactory(julesApiUrl!),
        discord: createRestMessenger(new API(rest)),
        log,
      });
      const connection: NativeConnection = await connectWorker(temporal.address);
      const worker: Worker = await createTaskWorker({ connection, namespace: temporal.namespace, taskQueue: config.temporal.taskQueue, activities });
      const running = worker.run();
      stops.push(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch((err) => log.error({ err }, 'worker stopped with an error'));
        await connection.close();
      });
    }

    let client: Client | undefined;
    let ingressUrl: string | undefined;
    if (parts.ingress) {
      const connection = await Connection.connect({ address: temporal.address });
      stops.push(() => connection.close());
      client = new Client({ connection, namespace: temporal.namespace });
      const app: FastifyInstance = buildApp({
        verifyDiscordSignature: createDiscordVerifier(publicKey!),
        dispatch: createInteractionDispatcher({
          tasks: createTemporalTaskControl({
            client,
            taskQueue: config.temporal.taskQueue,
            settings: {
              confirmationTimeoutMs: config.timeouts.confirmationMs,
              pollIntervalMs: config.jules.pollIntervalMs,
              deadlineMs: config.timeouts.taskDeadlineMs,
            },
          }),
          log,
        }),
        logger: log,
      });
      ingressUrl = await app.listen({ host: config.http.host, port: config.http.port });
      stops.push(() => app.close());
      print(`Ingress:          ${ingressUrl} (POST /interactions, GET /healthz)`);
    }

    return {
      ...(ingressUrl ? { ingressUrl } : {}),
      temporal: { address: temporal.address, namespace: temporal.namespace, embedded: temporal.embedded, ...(temporal.uiUrl ? { uiUrl: temporal.uiUrl } : {}) },
      store,
      secrets,
      ...(sandbox ? { sandbox } : {}),
      ...(client ? { client } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The secret box for stored keys: the configured key, or for the embedded store a generated local one. */
export function openSecrets(config: Config, log: Logger): SecretBox {
  if (config.secrets.encryptionKey) return createSecretBox(config.secrets.encryptionKey);
  const { key, created } = loadOrCreateLocalKey(config.store.dataDir);
  if (created) log.warn({ file: join(config.store.dataDir, 'secrets.key') }, 'SECRETS_ENCRYPTION_KEY is unset: generated a local key for the embedded store');
  return createSecretBox(key);
}

interface OpenTemporal {
  readonly address: string;
  readonly namespace: string;
  readonly uiUrl?: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
}

/** Connects to TEMPORAL_ADDRESS, or starts the embedded dev server persisting to DATA_DIR with the Web UI on. */
async function openTemporal(config: Config, log: Logger, print: (line: string) => void): Promise<OpenTemporal> {
  const { namespace } = config.temporal;
  if (config.temporal.address) {
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      await ensureSearchAttributes(connection, namespace);
    } finally {
      await connection.close();
    }
    return { address: config.temporal.address, namespace, embedded: false, stop: async () => undefined };
  }
  const cli = await resolveTemporalCli({
    ...(config.temporal.cliPath ? { explicitPath: config.temporal.cliPath } : {}),
    ...(config.temporal.searchPath ? { pathEnv: config.temporal.searchPath } : {}),
    log: (msg) => print(msg),
  });
  log.debug({ source: cli.source }, 'Temporal CLI resolved');
  const server: DevServer = await startDevServer({
    cli,
    namespace,
    // Port 0 asks for any free port (the demo runs beside a `start`).
    ...(config.temporal.port ? { port: config.temporal.port } : {}),
    ui: true,
    ...(config.temporal.uiPort ? { uiPort: config.temporal.uiPort } : {}),
    dbFilename: join(config.store.dataDir, 'temporal.db'),
  });
  print(`Temporal:         ${server.address} (embedded dev server, state in ${join(config.store.dataDir, 'temporal.db')})`);
  if (server.uiUrl) print(`Temporal Web UI:  ${server.uiUrl}`);
  return { address: server.address, namespace: server.namespace, ...(server.uiUrl ? { uiUrl: server.uiUrl } : {}), embedded: true, stop: () => server.stop() };
}
