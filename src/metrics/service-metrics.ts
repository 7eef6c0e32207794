import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GitHubRequestObserver } from '../github/octokit';
import type { JulesRequestObserver } from '../jules/http-jules-client';
import type { TaskCounts } from '../store/store';
import { TASK_STATUSES } from '../shared/task-status';

/**
 * The service's own Prometheus series, all prefixed `jules_`, in one registry per process: the ingress serves it
 * at `GET /metrics`, a worker-only process on `METRICS_PORT`. Instruments are incremented where the fact is known
 * (the dispatcher, the Jules and GitHub clients, Discord REST, the webhook seam, admission); task counts are read
 * from the store at scrape time. Labels carry ids, names and statuses only: never prompts, keys or tokens.
 */

/** What the dispatcher's answer came to: on time, deferred past the deadline, or an error the member was told about. */
export type InteractionOutcome = 'answered' | 'deferred' | 'failed' | 'unreachable';

/** The instruments of one process. */
export interface ServiceMetrics {
  readonly registry: Registry;
  /** `jules_interactions_total{command,outcome}`. */
  readonly interactions: Counter<'command' | 'outcome'>;
  /** `jules_interaction_ack_seconds{command}`: interaction received → answer (or deferral) handed back to Discord. */
  readonly ackSeconds: Histogram<'command'>;
  /** `jules_jules_api_requests_total{method,endpoint,status}`; status is the HTTP code, or `network` / `timeout`. */
  readonly julesRequests: Counter<'method' | 'endpoint' | 'status'>;
  /** `jules_discord_rest_requests_total{method,route,status}`, each attempt `@discordjs/rest` makes. */
  readonly discordRequests: Counter<'method' | 'route' | 'status'>;
  /** `jules_discord_rest_rate_limited_total{route,global}`: 429s and the library's own waits for a bucket. */
  readonly discordRateLimits: Counter<'route' | 'global'>;
  /** `jules_webhook_deliveries_total{source,outcome}`; outcome e.g. `accepted`, `duplicate`, `invalid_signature`. */
  readonly webhookDeliveries: Counter<'source' | 'outcome'>;
  /** `jules_github_requests_total{method,route,status}`, each attempt Octokit makes. */
  readonly githubRequests: Counter<'method' | 'route' | 'status'>;
  /** `jules_github_rate_limit_remaining{resource}`: `x-ratelimit-remaining` of the last answer. */
  readonly githubRateLimitRemaining: Gauge<'resource'>;
  /** `jules_quota_refusals_total{limit}`: requests refused over `user_hourly` or `guild_daily`. */
  readonly quotaRefusals: Counter<'limit'>;
  /** `jules_admitted_tasks_total{key_source}`: which key pays for admitted tasks (`personal` or `guild`). */
  readonly admittedTasks: Counter<'key_source'>;
  /**
   * Reads task counts from the store at each scrape (`jules_tasks`, `jules_open_tasks`, `jules_tasks_waiting`).
   * A failed read leaves those series out of that scrape and counts `jules_metrics_store_errors_total`.
   */
  observeTasks(read: () => Promise<readonly TaskCounts[]>): void;
  /** Notes one event for {@link ServiceMetrics.lastHour} (the counters above have no window of their own). */
  noteRecent(kind: RecentKind): void;
  /** How many of each event this process saw in the last hour (per minute, so up to a minute more), for `/jules-ops`. */
  lastHour(): Readonly<Record<RecentKind, number>>;
}

/** Events `/jules-ops` reports over the last hour. */
export type RecentKind = 'jules_errors' | 'jules_rate_limited' | 'discord_rate_limited';
const RECENT_KINDS: readonly RecentKind[] = ['jules_errors', 'jules_rate_limited', 'discord_rate_limited'];

/** Seconds: Discord drops an answer after 3 s, and the dispatcher defers at 2.5 s. */
const ACK_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5];

/** Jules session states a person is waiting on, by what they wait for. */
const WAITING_STATES: Readonly<Record<string, string>> = { AWAITING_PLAN_APPROVAL: 'plan_approval', AWAITING_USER_FEEDBACK: 'reply' };

/** A new registry with every series registered (each process makes one; tests make one per stack). */
export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  const on = { registers: [registry] };
  const storeErrors = new Counter({ name: 'jules_metrics_store_errors_total', help: 'Scrapes whose task counts could not be read from the store.', ...on });
  let readTasks: (() => Promise<readonly TaskCounts[]>) | undefined;
  // One read per scrape, shared by the three gauges that collect from it.
  let pending: Promise<readonly TaskCounts[] | undefined> | undefined;
  const counts = (): Promise<readonly TaskCounts[] | undefined> => {
    if (!readTasks) return Promise.resolve(undefined);
    pending ??= readTasks()
      .catch(() => {
        storeErrors.inc();
        return undefined;
      })
      .finally(() => setImmediate(() => (pending = undefined)));
    return pending;
  };

  /** A gauge filled from the scrape's one read of task counts: every label value at 0, then each row's share. */
  const countsGauge = (name: string, help: string, label: string, values: readonly string[], labelOf: (row: TaskCounts) => string | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: [label],
      ...on,
      async collect() {
        const rows = await counts();
        this.reset();
        if (!rows) return;
        for (const value of values) this.set({ [label]: value }, 0);
        for (const row of rows) {
          const value = labelOf(row);
          if (value) this.inc({ [label]: value }, row.count);
        }
      },
    });
  countsGauge('jules_tasks', 'Tasks in the store by status, ended or not.', 'status', TASK_STATUSES, (row) => row.status);
  countsGauge(
    'jules_open_tasks',
    'Tasks whose workflow still runs, by status (stalled: alerted once; needs_attention: ended, see jules_tasks).',
    'status',
    TASK_STATUSES,
    (row) => (row.open ? row.status : undefined),
  );
  countsGauge(
    'jules_tasks_waiting',
    'Open tasks waiting for a person: a confirmation, a plan approval or a reply to Jules.',
    'for',
    ['confirmation', 'plan_approval', 'reply'],
    (row) => (!row.open ? undefined : row.status === 'pending_confirmation' ? 'confirmation' : row.julesState ? WAITING_STATES[row.julesState] : undefined),
  );
  // Per-minute counts of the last hour: 60 slots, each stamped with its minute, so stale ones read as zero.
  const minutes = new Map<RecentKind, { minute: number; count: number }[]>(RECENT_KINDS.map((kind) => [kind, []]));
  const minuteNow = () => Math.floor(Date.now() / 60_000);

  return {
    noteRecent(kind) {
      const slots = minutes.get(kind)!;
      const minute = minuteNow();
      const slot = slots[minute % 60];
      if (slot && slot.minute === minute) slot.count += 1;
      else slots[minute % 60] = { minute, count: 1 };
    },
    lastHour() {
      const since = minuteNow() - 59;
      const total = (kind: RecentKind) => minutes.get(kind)!.reduce((sum, slot) => (slot && slot.minute >= since ? sum + slot.count : sum), 0);
      return { jules_errors: total('jules_errors'), jules_rate_limited: total('jules_rate_limited'), discord_rate_limited: total('discord_rate_limited') };
    },
    registry,
    interactions: new Counter({ name: 'jules_interactions_total', help: 'Discord interactions answered, by command and outcome.', labelNames: ['command', 'outcome'], ...on }),
    ackSeconds: new Histogram({
      name: 'jules_interaction_ack_seconds',
      help: 'From an interaction received to its answer (or deferral) handed back to Discord, in seconds.',
      labelNames: ['command'],
      buckets: ACK_BUCKETS,
      ...on,
    }),
    julesRequests: new Counter({ name: 'jules_jules_api_requests_total', help: 'Requests to the Jules API, by method, endpoint and status.', labelNames: ['method', 'endpoint', 'status'], ...on }),
    discordRequests: new Counter({ name: 'jules_discord_rest_requests_total', help: 'Discord REST requests (each attempt), by method, route and status.', labelNames: ['method', 'route', 'status'], ...on }),
    discordRateLimits: new Counter({ name: 'jules_discord_rest_rate_limited_total', help: 'Discord REST rate limits met (429s and waits for a bucket), by route.', labelNames: ['route', 'global'], ...on }),
    webhookDeliveries: new Counter({ name: 'jules_webhook_deliveries_total', help: 'Webhook deliveries by source (jules, github) and outcome.', labelNames: ['source', 'outcome'], ...on }),
    githubRequests: new Counter({ name: 'jules_github_requests_total', help: 'GitHub REST requests (each attempt), by method, route and status.', labelNames: ['method', 'route', 'status'], ...on }),
    githubRateLimitRemaining: new Gauge({ name: 'jules_github_rate_limit_remaining', help: 'Requests left in the GitHub rate limit window, from the last answer.', labelNames: ['resource'], ...on }),
    quotaRefusals: new Counter({ name: 'jules_quota_refusals_total', help: 'Requests refused over a quota, by limit.', labelNames: ['limit'], ...on }),
    admittedTasks: new Counter({ name: 'jules_admitted_tasks_total', help: 'Tasks admitted, by which key pays (personal or guild).', labelNames: ['key_source'], ...on }),
    observeTasks(read) {
      readTasks = read;
    },
  };
}

/** The GitHub client's `observe` option over these series: requests by status, and the rate limit left. */
export function gitHubObserverOf(metrics: Pick<ServiceMetrics, 'githubRequests' | 'githubRateLimitRemaining'>): GitHubRequestObserver {
  return ({ method, route, status, rateLimit }) => {
    metrics.githubRequests.inc({ method, route, status });
    if (rateLimit) metrics.githubRateLimitRemaining.set({ resource: rateLimit.resource }, rateLimit.remaining);
  };
}

/** The Jules client's `observe` option over these series; 5xx, 429 and no answer are noted for `/jules-ops` too. */
export function julesObserverOf(metrics: Pick<ServiceMetrics, 'julesRequests' | 'noteRecent'>): JulesRequestObserver {
  return (request) => {
    metrics.julesRequests.inc({ ...request });
    if (request.status === '429') metrics.noteRecent('jules_rate_limited');
    else if (/^5|network|timeout/.test(request.status)) metrics.noteRecent('jules_errors');
  };
}
