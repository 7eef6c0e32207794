import { API } from '@discordjs/core/http-only';
import { REST } from '@discordjs/rest';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection, WorkflowBundle } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import type { TaskSettings } from '../workflows/task.workflow';
import { createDiscordVerifier } from './crypto/discord-signature';
import type { SecretBox } from './crypto/secret-box';
import { createInteractionDispatcher, type InteractionDispatcher } from './discord/dispatcher';
import { createGatewayIngress, type GatewayIngress } from './discord/gateway';
import { createRestMessenger } from './discord/messenger';
import type { AppDeps } from './http/app';
import { createInFlight } from './lifecycle/in-flight';
import type { Readiness } from './lifecycle/readiness';
import type { CodecRouteOptions } from './http/codec.route';
import type { GitHubWebhookDeps } from './http/github-webhook.route';
import type { GitHubClient } from './github/github-client';
import { createHttpJulesClientFactory } from './jules/http-jules-client';
import { observeDiscordRest } from './discord/rest-metrics';
import { createServiceMetrics, julesObserverOf, type ServiceMetrics } from './metrics/service-metrics';
import type { DeliveryLog } from './store/delivery-log';
import type { Store } from './store/store';
import type { PullRequestWakes } from './tasks/pull-request-wakes';
import { createTemporalPlanControl } from './temporal/plan-control';
import { createTemporalTaskControl, type TaskControl } from './temporal/task-control';
import type { PlanSettings } from '../workflows/plan.workflow';
import type { TaskWorkerOptions } from './temporal/worker';
import { webUiWorkflowUrl } from './temporal/web-ui';
import { createTaskQueueInspector } from './temporal/task-queue-state';
import type { Tracing } from './telemetry/tracing';

/**
 * The one place that turns opened ports into the worker's and the ingress's parts. `startService` opens what the
 * config points at (embedded Temporal, PGlite, emulators) and the test stack opens its own; both call these, so a
 * new part (a GitHub client, a webhook, plan activities, metrics) is wired here once. Nothing here listens,
 * connects or starts: callers own the lifecycles.
 */

/** The Discord REST API a process talks to: the real one, or the emulator's. */
export interface DiscordRestPort {
  /** Base URL, e.g. `https://discord.com/api` or the emulator's. */
  readonly apiUrl: string;
  readonly token: string;
  /** Retries of a failed request (`@discordjs/rest` default 3); tests use 1 so a fault shows at once. */
  readonly retries?: number;
}

/** What {@link wireWorker} needs, already opened. */
export interface WorkerPorts {
  /** The worker's native connection (`connectWorker`). */
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly store: Store;
  readonly secrets: SecretBox;
  /** The data converter every Client and Worker shares (`createDataConverter`). */
  readonly dataConverter: DataConverter;
  readonly discord: DiscordRestPort;
  /** Base URL of the Jules API, or of its emulator. */
  readonly julesApiUrl: string;
  /** GitHub (real or the emulator), when configured: completed tasks then follow their pull requests. */
  readonly github?: GitHubClient;
  /** With GitHub: how webhook deliveries reach followed PRs (this process's one instance, shared with its ingress). */
  readonly pullRequestWakes?: PullRequestWakes;
  readonly log: Logger;
  /** The workflows bundled beforehand (`loadWorkflowBundle`; tests bundle once per run); absent: the worker bundles `workflows/` itself. */
  readonly workflowBundle?: WorkflowBundle;
  readonly shutdownGraceTime?: string;
  /** The process's `jules_` series (shared with its ingress when it runs here); absent, counted where nobody scrapes. */
  readonly metrics?: ServiceMetrics;
  /** OTEL_EXPORTER_OTLP_ENDPOINT's tracing; absent, the worker runs without interceptors (and its bundle without them). */
  readonly tracing?: Tracing;
  /** The Temporal Web UI's base URL, when known: each task's thread then links to its run. */
  readonly webUiUrl?: string;
}

/** The options of the task worker, activities included: pass them to `createTaskWorker`. */
export function wireWorker(ports: WorkerPorts): TaskWorkerOptions {
  const { store, secrets, log } = ports;
  const metrics = ports.metrics ?? createServiceMetrics();
  const activities = createActivities({
    store,
    secrets,
    julesClientFor: createHttpJulesClientFactory(ports.julesApiUrl, { observe: julesObserverOf(metrics) }),
    discord: createRestMessenger(new API(discordRest(ports.discord, metrics))),
    metrics,
    ...(ports.github ? { github: ports.github } : {}),
    ...(ports.pullRequestWakes ? { pullRequestWakes: ports.pullRequestWakes } : {}),
    ...(ports.webUiUrl ? { workflowUrl: (workflowId: string) => webUiWorkflowUrl(ports.webUiUrl!, ports.namespace, workflowId) } : {}),
    log,
  });
  return {
    connection: ports.connection,
    namespace: ports.namespace,
    taskQueue: ports.taskQueue,
    activities,
    dataConverter: ports.dataConverter,
    ...(ports.workflowBundle ? { workflowBundle: ports.workflowBundle } : {}),
    ...(ports.shutdownGraceTime ? { shutdownGraceTime: ports.shutdownGraceTime } : {}),
    ...(ports.tracing ? { tracing: ports.tracing } : {}),
  };
}

/** What {@link wireIngress} needs, already opened. */
export interface IngressPorts {
  /** A Temporal client with the shared data converter, on the namespace the workers poll. */
  readonly client: Client;
  readonly taskQueue: string;
  /** What each new task workflow is started with (timeouts, Jules poll interval). */
  readonly settings: TaskSettings;
  /** With GitHub: what each plan run is started with; absent, the plan commands say GitHub is missing. */
  readonly planSettings?: PlanSettings;
  /** The store, with the delivery log that de-duplicates webhook pushes. */
  readonly store: Store & { readonly deliveries: DeliveryLog };
  /** Seals the Jules keys members type into Discord forms (`/jules-key set`) before they are stored. */
  readonly secrets: SecretBox;
  readonly discord: DiscordRestPort;
  /** DISCORD_PUBLIC_KEY (hex), or the emulator signer's: `POST /interactions` checks signatures with it. */
  readonly discordPublicKey: string;
  readonly log: Logger;
  /** The dispatcher's answer deadline before it defers; absent: `DEFAULT_ANSWER_WITHIN_MS`. */
  readonly answerWithinMs?: number;
  /** JULES_WEBHOOK_SECRET: registers `POST /webhook/jules`; absent, the route is not there (404). */
  readonly julesWebhookSecret?: string;
  /** GITHUB_WEBHOOK_SECRET and its sink: registers `POST /webhook/github`; absent, a 404. */
  readonly githubWebhook?: GitHubWebhookDeps;
  /** `/codec` for the Temporal Web UI; absent, a 404. */
  readonly codec?: CodecRouteOptions;
  /** Gateway mode (DISCORD_MODE=gateway): interactions and thread messages also arrive over the gateway. */
  readonly gateway?: { readonly forwardThreadMessages?: boolean };
  /**
   * The process's `jules_` series, served at `GET /metrics` (shared with the worker when it runs here); the ingress
   * adds the task counts read from the store at each scrape. Absent: a registry of its own.
   */
  readonly metrics?: ServiceMetrics;
  /** `METRICS_TOKEN`: `GET /metrics` then asks for `Authorization: Bearer <token>`. */
  readonly metricsToken?: string;
  /** `GET /readyz` and the 503s while stopping; absent, `/readyz` is a 404. */
  readonly readiness?: Readiness;
  /** With tracing on, each interaction is a root span that the workflow start or update it makes continues. */
  readonly tracing?: Tracing;
}

/** The ingress's parts: pass `appDeps` to `buildApp`, then `listen()` (or `inject()`) and `gateway?.start()`. */
export interface WiredIngress {
  readonly tasks: TaskControl;
  /** One dispatcher for both ways Discord delivers interactions: `POST /interactions` and the gateway. */
  readonly dispatch: InteractionDispatcher;
  readonly appDeps: AppDeps;
  /** In gateway mode: the bot's gateway connection, not yet started. */
  readonly gateway?: GatewayIngress;
  /**
   * Waits for the answers that came after the deadline and are still being delivered through the interaction
   * webhook, at most `timeoutMs`; resolves with how many were still going. Call it before the process stops.
   */
  drainLateAnswers(timeoutMs: number): Promise<number>;
}

/** Wires task control, the interaction dispatcher, the HTTP app's routes and, in gateway mode, the gateway ingress. */
export function wireIngress(ports: IngressPorts): WiredIngress {
  const { client, store, log } = ports;
  const metrics = ports.metrics ?? createServiceMetrics();
  metrics.observeTasks(() => store.countTasks());
  const tasks = createTemporalTaskControl({ client, taskQueue: ports.taskQueue, settings: ports.settings, admission: { store, log, metrics } });
  const plans = ports.planSettings ? createTemporalPlanControl({ client, taskQueue: ports.taskQueue, settings: ports.planSettings }) : undefined;
  // The ingress's own REST client: gateway callbacks, and answers that come after the deadline.
  const rest = discordRest(ports.discord, metrics);
  const lateDeliveries = createInFlight();
  const dispatch = createInteractionDispatcher({
    lateDeliveries,
    tasks,
    ...(plans ? { plans } : {}),
    log,
    store,
    secrets: ports.secrets,
    lateAnswers: new API(rest).interactions,
    ...(ports.answerWithinMs !== undefined ? { answerWithinMs: ports.answerWithinMs } : {}),
    metrics,
    // `/jules-ops` reports who polls the task queue and what waits there.
    workers: createTaskQueueInspector({ client, taskQueue: ports.taskQueue }),
    ...(ports.tracing ? { tracing: ports.tracing } : {}),
  });
  const appDeps: AppDeps = {
    verifyDiscordSignature: createDiscordVerifier(ports.discordPublicKey),
    dispatch,
    // Without a secret nobody could sign a push, so the route is not there at all (404).
    ...(ports.julesWebhookSecret ? { julesWebhook: { secret: ports.julesWebhookSecret, deliveries: store.deliveries, store, tasks, metrics } } : {}),
    ...(ports.githubWebhook ? { githubWebhook: { ...ports.githubWebhook, metrics } } : {}),
    ...(ports.codec ? { codec: ports.codec } : {}),
    metrics: { registry: metrics.registry, ...(ports.metricsToken ? { token: ports.metricsToken } : {}) },
    ...(ports.readiness ? { readiness: ports.readiness } : {}),
    logger: log,
  };
  const gateway = ports.gateway
    ? createGatewayIngress({
        rest,
        token: ports.discord.token,
        dispatch,
        tasks,
        store,
        log,
        ...(ports.gateway.forwardThreadMessages !== undefined ? { forwardThreadMessages: ports.gateway.forwardThreadMessages } : {}),
      })
    : undefined;
  return { tasks, dispatch, appDeps, ...(gateway ? { gateway } : {}), drainLateAnswers: (timeoutMs) => lateDeliveries.settled(timeoutMs) };
}

/** A REST client for Discord's API (or the emulator's), its requests and rate limits counted. */
function discordRest(port: DiscordRestPort, metrics: ServiceMetrics): REST {
  const rest = new REST({ api: port.apiUrl, ...(port.retries !== undefined ? { retries: port.retries } : {}) }).setToken(port.token);
  observeDiscordRest(rest, metrics);
  return rest;
}

