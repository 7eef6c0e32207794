import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config';
import { openSecrets } from './crypto/open-secrets';
import type { SecretBox } from './crypto/secret-box';
import { buildApp } from './http/app';
import { codecEndpointForUi, defaultUiOrigins, loadOrCreateCodecAuthToken } from './http/codec.route';
import { createOctokitGitHubClient, gitHubClientOptionsOf } from './github/octokit-github-client';
import { startDiscordEmulator, type DiscordEmulator } from './sandbox/discord-emulator';
import { startGatewayEmulator, type GatewayEmulator } from './sandbox/discord-gateway';
import { startGitHubEmulator, type GitHubEmulator } from './sandbox/github-emulator';
import { createInteractionSigner, type InteractionSigner } from './sandbox/interaction-signer';
import { startJulesEmulator, type JulesEmulator } from './sandbox/jules-emulator';
import { retryWithBackoff } from './lifecycle/backoff';
import { CHECK_TIMEOUT_MS, createReadiness } from './lifecycle/readiness';
import { openConfiguredStore, storeProblem, type OpenedStore } from './store/open-store';
import { openPayloadCodec } from './temporal/codec';
import { createDataConverter } from './temporal/data-converter';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { connectClient, connectClientLazily, connectProbeLazily, connectWorker, isTemporalUnreachable, temporalConnectionOptions, temporalCredentialsProblem, temporalProblem, type TemporalConnectionOptions } from './temporal/connection';
import { TemporalConnectionError } from './temporal/errors';
import { createPullRequestWakes } from './tasks/pull-request-wakes';
import { createPullRequestEventSink } from './temporal/pull-request-events';
import { checkSearchAttributes, registerSearchAttributes } from './temporal/search-attributes';
import { startTaskReconciler } from './temporal/task-reconciler';
import { installTemporalRuntime } from './temporal/runtime';
import { buildMetricsApp } from './http/metrics.route';
import { createServiceMetrics, gitHubObserverOf } from './metrics/service-metrics';
import { resolveTemporalCli } from './temporal/toolchain';
import { createTaskWorker } from './temporal/worker';
import { loadWorkflowBundle } from './temporal/workflow-bundle';
import type { Tracing } from './telemetry/tracing';
import { wireIngress, wireWorker } from './wiring';
import { planSettingsOf, taskSettingsOf } from './workflow-settings';

/**
 * The process's composition root: opens what the config points at (or starts the embedded defaults) and hands
 * the opened ports to `wireWorker` / `wireIngress` (src/wiring.ts), which the test stack calls too.
 */

/** How often a worker process looks for tasks whose workflow Temporal closed from outside. */
const TASK_RECONCILE_EVERY_MS = 10 * 60_000;

/** Which parts of the service a process runs. */
export interface ServiceParts {
  readonly worker: boolean;
  readonly ingress: boolean;
}

/** A running service. */
export interface RunningService {
  readonly ingressUrl?: string;
  readonly temporal: {
    readonly address: string;
    readonly namespace: string;
    /** The options this process connects with (TLS and API key included), for more workers or clients beside it. */
    readonly connection: TemporalConnectionOptions;
    readonly uiUrl?: string;
    readonly embedded: boolean;
  };
  /** The store, with the webhook delivery log on the same database. */
  readonly store: OpenedStore;
  readonly secrets: SecretBox;
  /** Present when no Discord credentials were set: the local emulator and the key pair that signs for it. */
  readonly sandbox?: {
    readonly discord: DiscordEmulator;
    readonly signer: InteractionSigner;
    readonly jules?: JulesEmulator;
    /** Without GitHub credentials: the emulated GitHub where emulated Jules opens its pull requests. */
    readonly github?: GitHubEmulator;
    /** In gateway mode: the emulated gateway the bot connects to (`GET /gateway/bot` points at it). */
    readonly gateway?: GatewayEmulator;
  };
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
  /** Options for the emulated Discord REST (e.g. a stricter `routeLimit` for a burst benchmark). */
  readonly discordEmulator?: Parameters<typeof startDiscordEmulator>[0];
  /**
   * With worker and ingress in this one process, the ingress wakes the worker's PR follow-throughs in memory
   * (default true). False makes them learn of deliveries through the store only, as separate processes do (bench).
   */
  readonly wakeInProcess?: boolean;
  /**
   * Aborted when a stop is asked for during start-up (the CLI's SIGTERM): each step checks it, so the start stops
   * what it opened and throws the abort reason instead of finishing.
   */
  readonly signal?: AbortSignal;
  /**
   * OTEL_EXPORTER_OTLP_ENDPOINT's tracing (`openTracing`), started by the caller before its logger; the caller shuts
   * it down after `stop()`. Absent: no interceptors, no spans.
   */
  readonly tracing?: Tracing;
}

/** Starts the service: embedded Temporal, store, emulators where no credentials are set, worker, ingress. */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const { config, log, parts, tracing } = options;
  // Every Client of the process carries the active span into the workflows it starts, updates and signals.
  const clientTracing = tracing ? { interceptors: tracing.clientInterceptors } : {};
  const print = options.print ?? (() => undefined);
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((err) => log.warn({ err }, 'error while stopping'));
  };

  const checkNotAborted = () => options.signal?.throwIfAborted();

  // The SDK's metrics (worker slots, schedule-to-start, sticky cache) on a port of their own, when asked for.
  const sdkMetrics = config.metrics.sdkPort ? `${config.http.host}:${config.metrics.sdkPort}` : undefined;
  const installed = installTemporalRuntime(log, sdkMetrics ? { metricsBindAddress: sdkMetrics } : {});
  if (sdkMetrics) {
    if (installed) print(`Temporal SDK metrics: http://${browserHost(config.http.host)}:${config.metrics.sdkPort}/metrics`);
    else log.warn({ sdkMetrics }, 'TEMPORAL_SDK_METRICS_PORT is ignored: the Temporal Runtime of this process was installed before');
  }
  // One registry per process: the worker's activities and the ingress count into it, /metrics serves it.
  const metrics = createServiceMetrics();
  try {
    checkNotAborted();
    const store = await openConfiguredStore(config, { inMemory: options.inMemoryStore ?? false });
    stops.push(() => store.close());
    checkNotAborted();
    const secrets = openSecrets(config, log);
    // One data converter for every Client and Worker: payloads and failure messages are ciphertext in Temporal.
    const codec = openPayloadCodec(config);
    const dataConverter = createDataConverter(codec);
    const codecAuth = parts.ingress ? openCodecAuth(config, log) : undefined;
    // The embedded Web UI decodes through this process's /codec, so its address must be known before the UI starts.
    const ingressPort = parts.ingress && config.http.port === 0 && !config.temporal.address ? await findFreePort(config.http.host) : config.http.port;
    const codecEndpoint =
      codecAuth && !config.temporal.address ? codecEndpointForUi(`http://${browserHost(config.http.host)}:${ingressPort}`, codecAuth.token) : undefined;

    const temporal = await openTemporal(config, log, print, codecEndpoint);
    stops.push(() => temporal.stop());
    // Where runs are looked at: the embedded server's UI, or TEMPORAL_UI_URL for a cluster (unknown: no links).
    const webUiUrl = temporal.uiUrl ?? config.temporal.uiUrl;
    checkNotAborted();

    let sandbox: RunningService['sandbox'];
    let discordApiUrl = config.discord.apiUrl;
    let discordToken = config.discord.token;
    let publicKey = config.discord.publicKey;
    let julesApiUrl = config.jules.apiUrl;
    let githubOptions = gitHubClientOptionsOf(config.github);
    let githubWebhookSecrets = config.secrets.githubWebhookSecrets;
    let githubEmulator: GitHubEmulator | undefined;
    if (config.discord.emulated && !githubOptions) {
      // No GitHub credentials with the Discord emulator: the GitHub emulator, where emulated Jules opens its PRs.
      const token = randomBytes(24).toString('hex');
      const emulator = await startGitHubEmulator({ tokens: { [token]: {} } });
      stops.push(() => emulator.close());
      githubEmulator = emulator;
      githubOptions = { baseUrl: emulator.url, auth: { token } };
      if (githubWebhookSecrets.length === 0) githubWebhookSecrets = [randomBytes(24).toString('hex')];
      print(`GitHub emulator:  ${emulator.url} (no GitHub credentials set)`);
    }
    const github = githubOptions ? createOctokitGitHubClient({ ...githubOptions, log, observe: gitHubObserverOf(metrics) }) : undefined;
    // One per process: the ingress's sink wakes this process's follow-throughs at once; others count in the store.
    const pullRequestWakes = github ? createPullRequestWakes({ deliveries: store.deliveries, log }) : undefined;
    if (pullRequestWakes) stops.push(async () => pullRequestWakes.stop());
    if (config.discord.emulated) {
      const discord = await startDiscordEmulator({ ...options.discordEmulator, ...(config.discord.applicationId ? { applicationId: config.discord.applicationId } : {}) });
      stops.push(() => discord.close());
      const signer = createInteractionSigner();
      discordApiUrl = discord.apiUrl;
      discordToken = discord.token;
      publicKey = signer.publicKeyHex;
      let jules: JulesEmulator | undefined;
      if (!julesApiUrl) {
        const hub = githubEmulator;
        jules = await startJulesEmulator({
          ...(hub
            ? {
                openPullRequest: (pr) => ({ url: hub.openPullRequest({ repo: `${pr.owner}/${pr.repo}`, headRef: pr.branch, title: pr.title, body: pr.body }).htmlUrl }),
                // A fix asked of Jules after its PR opened arrives as a commit on the PR's branch, as on GitHub.
                pushToPullRequest: (push) => hub.pushCommit({ repo: `${push.owner}/${push.repo}`, branch: push.branch }),
              }
            : {}),
          ...options.julesEmulator,
        });
        stops.push(() => jules!.close());
        julesApiUrl = jules.url;
      }
      let gateway: GatewayEmulator | undefined;
      if (config.discord.mode === 'gateway') {
        // Started after (so stopped before) the REST emulator; it points the REST emulator's /gateway/bot at itself.
        gateway = await startGatewayEmulator({ rest: discord });
        stops.push(() => gateway!.close());
      }
      sandbox = { discord, signer, ...(jules ? { jules } : {}), ...(gateway ? { gateway } : {}), ...(githubEmulator ? { github: githubEmulator } : {}) };
      print(`Discord emulator: ${discord.apiUrl} (no DISCORD_TOKEN set)`);
      if (gateway) print(`Gateway emulator: ${gateway.url}`);
      if (jules) print(`Jules emulator:   ${jules.url}`);
    }

    // `/readyz`'s worker check: undefined while the worker runs, otherwise what it is doing instead.
    let workerProblem: (() => string | undefined) | undefined;
    if (parts.worker) {
      checkNotAborted();
      // Stops the wait for Temporal when the service is stopped (or the start aborted) before it came up.
      const stopWaiting = new AbortController();
      const waitSignal = options.signal ? AbortSignal.any([options.signal, stopWaiting.signal]) : stopWaiting.signal;
      let worker: Worker | undefined;
      let notRunning = `waiting for Temporal at ${temporal.address}`;
      const workerStops: (() => Promise<unknown>)[] = [];
      const startWorker = async () => {
        // Bundled (or read back from the last start's bundle) while the connection is made.
        // Not keeping it is no fault (a read-only install): only the next start is slower.
        const bundling = loadWorkflowBundle({ ...(tracing ? { tracing } : {}), log: (message) => log.info(message) });
        bundling.catch(() => undefined); // awaited below; a stop before then must not leave it unhandled
        // A worker whose Temporal is down waits for it, saying so, rather than failing or idling: /readyz says why.
        const connection = await retryWithBackoff(() => connectWorker(temporal.connection), {
          signal: waitSignal,
          retryable: isTemporalUnreachable,
          onRetry: ({ attempt, delayMs, error }) => {
            const why = error instanceof Error ? error.message : String(error);
            notRunning = `waiting for Temporal at ${temporal.address}: attempt ${attempt} failed (${why}), next in ${Math.round(delayMs / 1000)} s`;
            log.warn({ address: temporal.address, attempt, retryInMs: delayMs, reason: why }, 'Temporal is unreachable: the worker tries again');
          },
        }).catch((err: unknown) => {
          // A refusal is not an outage: waiting would only hide it.
          const refused = temporalCredentialsProblem(err);
          throw refused ? new TemporalConnectionError(`Temporal at ${temporal.address} ${refused}`, { cause: err, code: 'refused' }) : err;
        });
        workerStops.push(() => connection.close());
        const { bundle: workflowBundle, cached: bundleKept } = await bundling;
        const created: Worker = await createTaskWorker(
          wireWorker({
            connection,
            namespace: temporal.namespace,
            taskQueue: config.temporal.taskQueue,
            store,
            secrets,
            dataConverter,
            discord: { apiUrl: discordApiUrl, token: discordToken ?? '' },
            julesApiUrl: julesApiUrl!,
            ...(github ? { github } : {}),
            ...(pullRequestWakes ? { pullRequestWakes } : {}),
            log,
            metrics,
            shutdownGraceTime: `${config.shutdown.graceMs}ms`,
            ...(tracing ? { tracing } : {}),
            ...(webUiUrl ? { webUiUrl } : {}),
            workflowBundle,
          }),
        );
        const running = created.run();
        worker = created;
        workerStops.push(async () => {
          if (created.getState() === 'RUNNING') created.shutdown();
          await running.catch((err) => log.error({ err }, 'worker stopped with an error'));
        });
        // Ends the rows of tasks that Temporal closed from outside (terminate, run timeout), freeing their session slots.
        const reconcilerConnection = await connectClient(temporal.connection);
        const reconciler = startTaskReconciler({
          client: new Client({ connection: reconcilerConnection, namespace: temporal.namespace, dataConverter, ...clientTracing }),
          store,
          log,
          everyMs: TASK_RECONCILE_EVERY_MS,
        });
        workerStops.push(async () => {
          await reconciler.stop();
          await reconcilerConnection.close();
        });
        log.info({ address: temporal.address, taskQueue: config.temporal.taskQueue, workflowBundle: bundleKept ? 'kept' : 'bundled' }, 'worker running');
        if (!temporal.embedded && !config.temporal.registerSearchAttributes) {
          // A server we may not change: a missing search attribute is named now, not by the first task's failed start.
          await checkSearchAttributes(reconcilerConnection, temporal.namespace, log).catch((err: unknown) => log.error({ err }, 'the custom search attributes are unusable'));
        }
      };
      const started = startWorker();
      stops.push(async () => {
        stopWaiting.abort();
        await started.catch(() => undefined);
        for (const fn of workerStops.reverse()) await fn().catch((err) => log.warn({ err }, 'error while stopping the worker'));
      });
      workerProblem = () => (worker ? (worker.getState() === 'RUNNING' ? undefined : `the worker is ${worker.getState().toLowerCase()}`) : notRunning);
      if (parts.ingress && !temporal.embedded) {
        // The ingress comes up meanwhile: Discord gets "try again" answers and /readyz a 503 with the reason.
        started.catch((err: unknown) => {
          if (waitSignal.aborted) return;
          notRunning = `the worker could not start: ${err instanceof Error ? err.message : String(err)}`;
          log.error({ err }, 'the worker could not start');
        });
      } else {
        await started;
      }
      if (!parts.ingress && config.metrics.workerPort) {
        // No ingress here to serve /metrics: the worker's own counts (Jules, Discord, GitHub, admission) on METRICS_PORT.
        const metricsApp = buildMetricsApp({ registry: metrics.registry, ...(config.metrics.token ? { token: config.metrics.token } : {}) });
        const metricsUrl = await metricsApp.listen({ host: config.http.host, port: config.metrics.workerPort });
        stops.push(() => metricsApp.close());
        print(`Worker metrics:   ${metricsUrl}/metrics`);
      }
    }

    let client: Client | undefined;
    let ingressUrl: string | undefined;
    if (parts.ingress) {
      checkNotAborted();
      // Lazily: with Temporal down the ingress still comes up, answers "try again" and says why on /readyz.
      const connection = connectClientLazily(temporal.connection);
      stops.push(() => connection.close());
      client = new Client({ connection, namespace: temporal.namespace, dataConverter, ...clientTracing });
      const probe = connectProbeLazily(temporal.connection);
      stops.push(() => probe.close());
      const readiness = createReadiness({
        temporal: () => temporalProblem(probe, temporal.address, CHECK_TIMEOUT_MS - 250),
        store: () => storeProblem(store),
        ...(workerProblem ? { worker: async () => workerProblem!() } : {}),
      });
      const julesWebhookSecret = config.secrets.julesWebhookSecret;
      const ingress = wireIngress({
        client,
        secrets,
        taskQueue: config.temporal.taskQueue,
        // With GitHub, a completed task's pull request is followed through its checks to merge.
        settings: taskSettingsOf(config, { github: github !== undefined }),
        // Plans stand on GitHub: without it, `/plan` says what is missing.
        ...(github ? { planSettings: planSettingsOf(config) } : {}),
        store,
        discord: { apiUrl: discordApiUrl, token: discordToken ?? '' },
        discordPublicKey: publicKey!,
        log,
        metrics,
        ...(config.metrics.token ? { metricsToken: config.metrics.token } : {}),
        ...(julesWebhookSecret ? { julesWebhookSecret } : {}),
        ...(githubWebhookSecrets.length
          ? {
              githubWebhook: {
                secrets: githubWebhookSecrets,
                deliveries: store.deliveries,
                sink: createPullRequestEventSink({ client, store, deliveries: store.deliveries, ...(pullRequestWakes && options.wakeInProcess !== false ? { wakes: pullRequestWakes } : {}) }),
              },
            }
          : {}),
        ...(codecAuth
          ? { codec: { codec, authToken: codecAuth.token, allowedOrigins: config.temporal.uiOrigins ?? defaultUiOrigins(temporal.uiUrl ?? `http://127.0.0.1:${config.temporal.uiPort}`) } }
          : {}),
        ...(config.discord.mode === 'gateway' ? { gateway: { forwardThreadMessages: config.discord.forwardThreadMessages } } : {}),
        readiness,
        ...(tracing ? { tracing } : {}),
      });
      const app: FastifyInstance = buildApp(ingress.appDeps);
      checkNotAborted();
      ingressUrl = await app.listen({ host: config.http.host, port: ingressPort });
      stops.push(async () => {
        // New work goes elsewhere (503 with Retry-After, /readyz not ready); answers already promised are delivered.
        readiness.startDraining();
        const undelivered = await ingress.drainLateAnswers(config.shutdown.graceMs);
        if (undelivered > 0) log.warn({ undelivered }, 'stopping with late interaction answers still undelivered');
        await app.close();
      });
      githubEmulator?.setWebhook({ url: `${ingressUrl}/webhook/github`, secret: githubWebhookSecrets[0]! });
      const routes = ['POST /interactions', ...(julesWebhookSecret ? ['POST /webhook/jules'] : []), ...(githubWebhookSecrets.length ? ['POST /webhook/github'] : []), 'GET /healthz', 'GET /readyz', `GET /metrics${config.metrics.token ? ' (METRICS_TOKEN)' : ''}`];
      print(`Ingress:          ${ingressUrl} (${routes.join(', ')})`);
      const { gateway } = ingress;
      if (gateway) {
        stops.push(() => gateway.stop());
        await gateway.start();
        print(`Gateway:          connected (interactions${config.discord.forwardThreadMessages ? ' and thread messages' : ''} over the gateway)`);
      }
      if (codecAuth) {
        // The path of the token, never the token: terminals and log collectors keep what is printed.
        const where = codecAuth.file ? `the token is in ${codecAuth.file}` : 'the token is CODEC_AUTH_TOKEN';
        print(`Codec server:     ${ingressUrl}/codec (POST /decode, /encode; ${where}; ${codecEndpoint ? 'the embedded Web UI uses it' : 'see README, "Encrypted workflow payloads"'})`);
      }
    }

    return {
      ...(ingressUrl ? { ingressUrl } : {}),
      temporal: {
        address: temporal.address,
        namespace: temporal.namespace,
        connection: temporal.connection,
        embedded: temporal.embedded,
        ...(webUiUrl ? { uiUrl: webUiUrl } : {}),
      },
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

/**
 * The bearer token of `/codec`: CODEC_AUTH_TOKEN, or with the embedded Temporal one generated into DATA_DIR.
 * Against a Temporal cluster without a token `/codec` stays off: several ingress processes would each invent their own.
 */
function openCodecAuth(config: Config, log: Logger): { token: string; file?: string } | undefined {
  if (config.secrets.codecAuthToken) return { token: config.secrets.codecAuthToken };
  if (config.temporal.address) {
    log.warn('CODEC_AUTH_TOKEN is unset: /codec is off, so the Temporal Web UI shows workflow payloads encrypted');
    return undefined;
  }
  const { token, created, file } = loadOrCreateCodecAuthToken(config.store.dataDir);
  if (created) log.warn({ file }, 'CODEC_AUTH_TOKEN is unset: generated a codec token for the embedded Web UI');
  return { token, file };
}

/** A free TCP port on `host`, for an ingress asked to listen on port 0 whose address the Web UI must know first. */
async function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port assigned'))));
    });
  });
}

/** The host a browser on this machine uses to reach a server bound to `host`. */
function browserHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

interface OpenTemporal {
  readonly address: string;
  readonly namespace: string;
  /** How every Client and Worker of this process connects: the embedded server's address, or the config's with TLS and API key. */
  readonly connection: TemporalConnectionOptions;
  readonly uiUrl?: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
}

/** Connects to TEMPORAL_ADDRESS, or starts the embedded dev server persisting to DATA_DIR with the Web UI on. */
async function openTemporal(config: Config, log: Logger, print: (line: string) => void, codecEndpoint?: string): Promise<OpenTemporal> {
  const { namespace } = config.temporal;
  if (config.temporal.address) {
    const options = temporalConnectionOptions({ ...config.temporal, address: config.temporal.address });
    // Registered only when asked: Temporal Cloud manages search attributes with tcld and refuses the OperatorService
    // call. Otherwise the worker checks them once connected (checkSearchAttributes), naming any that are missing.
    if (config.temporal.registerSearchAttributes) {
      const connection = await connectClient(options);
      try {
        await registerSearchAttributes(connection, namespace, log);
      } finally {
        await connection.close();
      }
    }
    return { address: options.address, namespace, connection: options, embedded: false, stop: async () => undefined };
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
    ...(codecEndpoint ? { codecEndpoint } : {}),
    // A fixed port Prometheus can be pointed at; beside another embedded server (TEMPORAL_PORT=0), any free one.
    metricsPort: config.metrics.devServerPort && config.temporal.port ? config.metrics.devServerPort : await findFreePort('127.0.0.1'),
  });
  print(`Temporal:         ${server.address} (embedded dev server, state in ${join(config.store.dataDir, 'temporal.db')})`);
  if (server.uiUrl) print(`Temporal Web UI:  ${server.uiUrl}`);
  if (server.metricsUrl) print(`Temporal metrics: ${server.metricsUrl} (the embedded server's own)`);
  return {
    address: server.address,
    namespace: server.namespace,
    // The dev server registered the search attributes at its start, and speaks plaintext.
    connection: { address: server.address, namespace: server.namespace },
    ...(server.uiUrl ? { uiUrl: server.uiUrl } : {}),
    embedded: true,
    stop: () => server.stop(),
  };
}
