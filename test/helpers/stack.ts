import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { APIInteraction } from '@discordjs/core/http-only';
import { Client } from '@temporalio/client';
import type { NativeConnection, Worker, WorkflowBundle, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { createSecretBox, generateEncryptionKey, type SecretBox } from '../../src/crypto/secret-box';
import type { GatewayIngress } from '../../src/discord/gateway';
import { buildApp } from '../../src/http/app';
import { createOctokitGitHubClient } from '../../src/github/octokit-github-client';
import { createLogger } from '../../src/logger';
import { createServiceMetrics, gitHubObserverOf, type ServiceMetrics } from '../../src/metrics/service-metrics';
import { startDiscordEmulator, type DiscordEmulator, type DiscordEmulatorOptions } from '../../src/sandbox/discord-emulator';
import { startGatewayEmulator, type GatewayEmulator } from '../../src/sandbox/discord-gateway';
import { startGitHubEmulator, type GitHubEmulator } from '../../src/sandbox/github-emulator';
import { rememberDeferral, settledAnswerText } from '../../src/sandbox/http-delivery';
import { buildButtonClick, buildSelectMenu, buildSlashCommand, createInteractionSigner, newSnowflake, type InteractionSigner } from '../../src/sandbox/interaction-signer';
import { startJulesEmulator, type JulesEmulator, type JulesEmulatorOptions } from '../../src/sandbox/jules-emulator';
import { taskWorkflowId } from '../../src/shared/ids';
import type { TaskOutcome } from '../../src/shared/task';
import { openStore } from '../../src/store/open-store';
import { openMigratedStore } from './migrated-store';
import type { SqlExecutor } from '../../src/store/sql-executor';
import type { Store } from '../../src/store/store';
import { createEncryptionCodec, createPayloadKeyring, type EncryptionCodec } from '../../src/temporal/codec';
import { connectClient, connectWorker, type TemporalConnectionOptions } from '../../src/temporal/connection';
import { createDataConverter } from '../../src/temporal/data-converter';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { createPullRequestEventSink } from '../../src/temporal/pull-request-events';
import { createPullRequestWakes } from '../../src/tasks/pull-request-wakes';
import { bundleWorkflows, createTaskWorker } from '../../src/temporal/worker';
import { wireIngress, wireWorker } from '../../src/wiring';
import type { Tracing } from '../../src/telemetry/tracing';
import type { PullRequestFollowSettings } from '../../workflows/pr-follow.workflow';
import type { PlanSettings } from '../../workflows/plan.workflow';
import type { TaskSettings } from '../../workflows/task.workflow';
import { CODEC, GITHUB, GUILD, KEYS, MEMBERS } from './identities';

export { CODEC, GITHUB, GUILD, KEYS, MEMBERS };

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflows, bundled once for the whole run by test/global-setup.ts; read once per test file. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= readFile(inject('workflowBundlePath'), 'utf8').then((code) => ({ code }));
  return bundle;
}

let tracedBundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The bundle with tracing's workflow interceptors in it, once per test file (one `Tracing` per process). */
export function tracedWorkflowBundle(tracing: Tracing): Promise<WorkflowBundleWithSourceMap> {
  tracedBundle ??= bundleWorkflows({ tracing });
  return tracedBundle;
}

/** A whole service on real engines: the shared Temporal dev server, PGlite, and both emulators over loopback. */
export interface TestStack {
  readonly app: FastifyInstance;
  readonly client: Client;
  readonly store: Store;
  /** The store's SQL, for tests that look at tables no repository method returns. */
  readonly sql: SqlExecutor;
  readonly secrets: SecretBox;
  /** The payload codec of the stack's Client and Worker (history is encrypted as in production); `/codec` uses it too. */
  readonly codec: EncryptionCodec;
  readonly discord: DiscordEmulator;
  readonly jules: JulesEmulator;
  readonly signer: InteractionSigner;
  /** The in-process worker; absent with `worker: false`. */
  readonly worker?: Worker;
  readonly taskQueue: string;
  /** Every log line the worker and ingress wrote. */
  readonly logs: string[];
  /** The stack's one registry, shared by its worker and ingress as in one `start` process; `GET /metrics` serves it. */
  readonly metrics: ServiceMetrics;
  /** With `github: true`: the GitHub emulator, where Jules' sessions open their PRs and whose webhooks reach the stack. */
  readonly github?: GitHubEmulator;
  /** Gateway mode only: the emulated gateway, and the bot's real `@discordjs/ws` connection to it. */
  readonly gateway?: GatewayEmulator;
  readonly ingress?: GatewayIngress;
  /** Posts a signed interaction through the real fastify app. */
  send(interaction: unknown, options?: { signer?: InteractionSigner; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  /** Runs `/jules` as a member and returns the interaction id's task id with the answer. */
  ask(user: { id: string; roles: readonly string[] }, options: Record<string, string | boolean>): Promise<Asked>;
  /**
   * The words the member finally reads for a `/jules`: the answer itself, or, when the dispatcher deferred
   * ("thinking…"), the deferred message once the late answer was edited in.
   */
  answerText(asked: Asked): Promise<string>;
  /** Runs any slash command as a member in the test channel and returns the answer. */
  command(user: { id: string; roles: readonly string[]; permissions?: string }, name: string, options?: Record<string, string | boolean>): Promise<{ status: number; body: any }>;
  /** Picks values in a select menu as a member. */
  select(user: { id: string; roles: readonly string[]; permissions?: string }, customId: string, values: readonly string[], messageId?: string): Promise<{ status: number; body: any }>;
  /** Clicks a button of a task's card as a member. */
  click(user: { id: string; roles: readonly string[]; permissions?: string }, customId: string, messageId?: string): Promise<{ status: number; body: any }>;
  /** Waits for the task workflow's result. */
  outcome(taskId: string): Promise<TaskOutcome>;
  stop(): Promise<void>;
}

/**
 * The stacks' answer deadline unless a test sets one: generous, so answers are asserted as they are rather than
 * as deferrals on a loaded CI machine. The deadline itself is tested with its own values.
 */
const TEST_ANSWER_WITHIN_MS = 10_000;

/** A `/jules` as sent, with the answer the HTTP endpoint or the gateway callback gave. */
export interface Asked {
  readonly taskId: string;
  readonly interactionId: string;
  readonly status: number;
  readonly body: any;
}

/** Options of {@link startTestStack}. */
export interface TestStackOptions {
  readonly settings?: Partial<TaskSettings>;
  readonly jules?: JulesEmulatorOptions;
  /** Options of the Discord REST emulator, e.g. a stricter `routeLimit` so bursts meet real 429s. */
  readonly discord?: DiscordEmulatorOptions;
  /** Configure the test guild (default true) with a guild key (default true). */
  readonly guild?: boolean;
  readonly guildKey?: boolean;
  readonly personalKey?: boolean;
  /** The guild's and the developer's Jules keys, which the Jules emulator accepts (default {@link KEYS}). */
  readonly keys?: Partial<Record<keyof typeof KEYS, string>>;
  /** With `github`: the token the GitHub emulator accepts and the worker's client sends (default `GITHUB.token`). */
  readonly githubToken?: string;
  /**
   * How interactions arrive: signed POSTs to `/interactions` (`http`, the default), or INTERACTION_CREATE over
   * the emulated gateway answered through the REST callback (`gateway`); `send` then returns that callback.
   */
  readonly mode?: 'http' | 'gateway';
  /** Registers `POST /webhook/jules` with this secret (`JULES_WEBHOOK_SECRET`), as `main` does when it is set. */
  readonly julesWebhookSecret?: string;
  /** Run a worker in this process (default true); false when the test runs its workers elsewhere (child processes). */
  readonly worker?: boolean;
  /**
   * The dispatcher's answer deadline; past it, it defers and edits the answer in later. Default
   * {@link TEST_ANSWER_WITHIN_MS}, so what a test reads does not depend on how busy the machine is.
   */
  readonly answerWithinMs?: number;
  /** A Temporal server of the test's own (one it kills and restarts) instead of the run's shared one; namespace `default`. */
  readonly temporalAddress?: string;
  /** Keep the store in this PostgreSQL database (`DATABASE_URL`) instead of an in-memory PGlite, so other processes share it. */
  readonly databaseUrl?: string;
  /** `SECRETS_ENCRYPTION_KEY` (default a new one): workers in other processes need it to read stored keys and payloads. */
  readonly secretsKey?: string;
  /**
   * GitHub end to end: a GitHub emulator where Jules' sessions open their pull requests, a GitHub client for the
   * worker, `POST /webhook/github` listening on loopback for the emulator's signed deliveries, and completed
   * tasks following their PRs.
   */
  readonly github?: boolean;
  /** The PR follow-through's pace (default: a reconcile look every minute, a ten-minute deadline). */
  readonly pullRequests?: Partial<PullRequestFollowSettings>;
  /**
   * How a webhook delivery reaches a followed PR. `in-process` (default): the ingress wakes the worker's
   * follow-throughs in memory, as one `start` process does. `store`: as an ingress and a worker in separate
   * processes, through the deliveries noted in the store only. `signal`: the worker cannot count deliveries,
   * so the ingress signals each one, as for follow-throughs started before they could.
   */
  readonly pullRequestWakes?: 'in-process' | 'store' | 'signal';
  /** `METRICS_TOKEN`: `GET /metrics` then asks for it as a bearer token. */
  readonly metricsToken?: string;
  /** With `github`: how plan runs are paced (default: a minute to approve, a look at the items every 2 s). */
  readonly plans?: Partial<Omit<PlanSettings, 'task'>>;
  /** Tracing on, as `main` wires it with OTEL_EXPORTER_OTLP_ENDPOINT: client, worker, ingress and log lines. */
  readonly tracing?: Tracing;
  /** A Web UI address (TEMPORAL_UI_URL): tasks' threads then link to their runs. */
  readonly webUiUrl?: string;
}

/** Starts a full stack for one test; each stack has its own task queue, store and emulators. */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const address = options.temporalAddress ?? inject('temporalAddress');
  const namespace = inject('temporalNamespace');
  const taskQueue = `test-${newSnowflake()}`;
  const logs: string[] = [];
  const keys = { ...KEYS, ...options.keys };
  const githubToken = options.githubToken ?? GITHUB.token;
  const { tracing } = options;
  const log = createLogger('debug', new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } }), tracing ? { fields: () => tracing.logFields() } : {});

  installTemporalRuntime(log);
  const store = options.databaseUrl ? await openStore({ databaseUrl: options.databaseUrl }) : await openMigratedStore();
  const secretsKey = options.secretsKey ?? generateEncryptionKey();
  const secrets = createSecretBox(secretsKey);
  // Every test runs encrypted, as `main` does: the payload key derives from the secrets key.
  const codec = createEncryptionCodec(createPayloadKeyring({ secretsKey }));
  const dataConverter = createDataConverter(codec);
  const discord = await startDiscordEmulator(options.discord);
  const github = options.github ? await startGitHubEmulator({ tokens: { [githubToken]: {} } }) : undefined;
  const jules = await startJulesEmulator({
    keys: [keys.personal, keys.guild],
    timeScale: 0.2,
    ...(github
      ? {
          openPullRequest: (pr) => ({ url: github.openPullRequest({ repo: `${pr.owner}/${pr.repo}`, headRef: pr.branch, title: pr.title, body: pr.body }).htmlUrl }),
          pushToPullRequest: (push) => github.pushCommit({ repo: `${push.owner}/${push.repo}`, branch: push.branch }),
        }
      : {}),
    ...options.jules,
  });
  const metrics = createServiceMetrics();
  const githubClient = github
    ? createOctokitGitHubClient({ baseUrl: github.url, auth: { token: githubToken }, retryAfterBaseMs: 10, writeSpacingMs: 0, observe: gitHubObserverOf(metrics) })
    : undefined;
  const pullRequestWakes = github && options.pullRequestWakes !== 'signal' ? createPullRequestWakes({ deliveries: store.deliveries, log }) : undefined;
  const signer = createInteractionSigner();
  // One retry, so a REST fault a test injects shows at once.
  const discordPort = { apiUrl: discord.apiUrl, token: discord.token, retries: 1 };

  if (options.guild !== false) {
    await store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], defaultRepo: GUILD.repo });
    if (options.guildKey !== false) await store.setGuildKey(GUILD.id, secrets.encrypt(keys.guild));
  }
  if (options.personalKey) await store.setUserKey(GUILD.developer, secrets.encrypt(keys.personal));

  // The same wiring as `startService`, on this stack's ports: what a test sees is what `main` builds.
  const temporal: TemporalConnectionOptions = { address, namespace };
  let local: { worker: Worker; running: Promise<void>; connection: NativeConnection } | undefined;
  if (options.worker !== false) {
    const nativeConnection = await connectWorker(temporal);
    const worker = await createTaskWorker(
      wireWorker({
        connection: nativeConnection,
        namespace,
        taskQueue,
        store,
        secrets,
        dataConverter,
        discord: discordPort,
        julesApiUrl: jules.url,
        ...(githubClient ? { github: githubClient } : {}),
        ...(pullRequestWakes ? { pullRequestWakes } : {}),
        log,
        workflowBundle: await (tracing ? tracedWorkflowBundle(tracing) : workflowBundle()),
        shutdownGraceTime: '1s',
        metrics,
        ...(tracing ? { tracing } : {}),
        ...(options.webUiUrl ? { webUiUrl: options.webUiUrl } : {}),
      }),
    );
    local = { worker, running: worker.run(), connection: nativeConnection };
  }

  const connection = await connectClient(temporal);
  const client = new Client({ connection, namespace, dataConverter, ...(tracing ? { interceptors: tracing.clientInterceptors } : {}) });
  const settings: TaskSettings = {
    confirmationTimeoutMs: 60_000,
    pollIntervalMs: 100,
    deadlineMs: 120_000,
    ...(github ? { pullRequests: { reconcileEveryMs: 60_000, deadlineMs: 600_000, ...options.pullRequests } } : {}),
    ...options.settings,
  };
  const wired = wireIngress({
    client,
    secrets,
    taskQueue,
    settings,
    store,
    discord: discordPort,
    discordPublicKey: signer.publicKeyHex,
    log,
    answerWithinMs: options.answerWithinMs ?? TEST_ANSWER_WITHIN_MS,
    metrics,
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    ...(github ? { planSettings: { approvalTimeoutMs: 60_000, runDeadlineMs: 600_000, lookEveryMs: 2_000, ...options.plans, task: settings } } : {}),
    ...(options.julesWebhookSecret ? { julesWebhookSecret: options.julesWebhookSecret } : {}),
    ...(github
      ? {
          githubWebhook: {
            secrets: [GITHUB.webhookSecret],
            deliveries: store.deliveries,
            sink: createPullRequestEventSink({ client, store, deliveries: store.deliveries, ...(pullRequestWakes && options.pullRequestWakes !== 'store' ? { wakes: pullRequestWakes } : {}) }),
          },
        }
      : {}),
    codec: { codec, authToken: CODEC.token, allowedOrigins: [CODEC.origin] },
    ...(options.mode === 'gateway' ? { gateway: {} } : {}),
    ...(tracing ? { tracing } : {}),
  });
  const app = buildApp(wired.appDeps);
  await app.ready();
  if (github) {
    // GitHub delivers over HTTP: the ingress listens on loopback for the emulator's signed deliveries.
    const ingressUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    github.setWebhook({ url: `${ingressUrl}/webhook/github`, secret: GITHUB.webhookSecret });
  }

  let gateway: GatewayEmulator | undefined;
  const ingress = wired.gateway;
  if (ingress) {
    gateway = await startGatewayEmulator({ rest: discord, heartbeatIntervalMs: 1_000 });
    await ingress.start();
  }

  const send: TestStack['send'] = async (interaction, sendOptions = {}) => {
    if (gateway) return sendOverGateway(gateway, discord, interaction as APIInteraction);
    const body = sendOptions.raw ?? JSON.stringify(interaction);
    const signed = (sendOptions.signer ?? signer).sign(body);
    const response = await app.inject({ method: 'POST', url: '/interactions', headers: { ...signed.headers, ...sendOptions.headers }, payload: body });
    const answer = response.body ? JSON.parse(response.body) : undefined;
    // Discord takes the endpoint's answer as the interaction's callback; a deferral's webhook exists from then on.
    const { id, token } = (interaction ?? {}) as Partial<APIInteraction>;
    if (response.statusCode === 200 && sendOptions.raw === undefined && typeof id === 'string' && typeof token === 'string') rememberDeferral(discord, { id, token }, answer);
    return { status: response.statusCode, body: answer };
  };

  return {
    app,
    client,
    store,
    sql: store.executor,
    secrets,
    codec,
    discord,
    jules,
    signer,
    ...(local ? { worker: local.worker } : {}),
    taskQueue,
    logs,
    metrics,
    ...(gateway && ingress ? { gateway, ingress } : {}),
    ...(github ? { github } : {}),
    send,
    async ask(user, commandOptions) {
      const command = buildSlashCommand({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, name: 'jules', options: commandOptions });
      const answer = await send(command);
      return { taskId: taskWorkflowId(command.id), interactionId: command.id, ...answer };
    },
    answerText(asked) {
      return settledAnswerText(discord, asked);
    },
    command(user, name, commandOptions = {}) {
      return send(buildSlashCommand({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, name, options: commandOptions }));
    },
    select(user, customId, values, messageId = newSnowflake()) {
      return send(buildSelectMenu({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, customId, messageId, values }));
    },
    click(user, customId, messageId = newSnowflake()) {
      return send(buildButtonClick({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, customId, messageId }));
    },
    async outcome(taskId) {
      return (await client.workflow.getHandle(taskId).result()) as TaskOutcome;
    },
    async stop() {
      await ingress?.stop();
      await gateway?.close();
      await app.close();
      if (local) {
        local.worker.shutdown();
        await local.running;
        await local.connection.close();
      }
      await connection.close();
      await discord.close();
      await jules.close();
      await github?.close();
      pullRequestWakes?.stop();
      await store.close();
    },
  };
}

/** Gateway mode's `send`: dispatches INTERACTION_CREATE and returns the REST callback the bot posted, like an inline answer. */
async function sendOverGateway(gateway: GatewayEmulator, discord: DiscordEmulator, interaction: APIInteraction): Promise<{ status: number; body: any }> {
  gateway.dispatchInteraction(interaction);
  const callback = await eventually(() => discord.callbacks.find((c) => c.interactionId === interaction.id), `the callback of interaction ${interaction.id}`);
  return { status: 200, body: { type: callback.type, ...(callback.data !== undefined ? { data: callback.data } : {}) } };
}

/** A task's card in the test channel (its footer carries the task id), once posted. */
export async function cardOf(s: TestStack, taskId: string) {
  return eventually(() => s.discord.channelMessages(GUILD.channelId).find((m) => m.embeds?.[0]?.footer?.text === taskId), 'the task card');
}

/** Polls until `probe` returns a value. */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The id of a task's thread, once its card is posted. */
export async function threadOf(s: TestStack, taskId: string): Promise<string> {
  return eventually(async () => (await s.store.getTask(taskId))?.threadId ?? undefined, 'the task thread');
}

/** The reason a validator gave for refusing an update (the client wraps it in WorkflowUpdateFailedError). */
export async function refusal(update: Promise<unknown>): Promise<string> {
  try {
    await update;
  } catch (err) {
    return (err as { cause?: { message?: string } }).cause?.message ?? String(err);
  }
  throw new Error('the update was accepted');
}

/** The custom id of a labelled button on a message's components. */
export function buttonId(components: unknown, label: string): string | undefined {
  for (const row of (components as { components?: { label?: string; custom_id?: string }[] }[] | undefined) ?? []) {
    const button = row.components?.find((c) => c.label === label);
    if (button?.custom_id) return button.custom_id;
  }
  return undefined;
}
