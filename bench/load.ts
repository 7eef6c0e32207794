/**
 * bench/load: signed `/jules` at a steady rate against the ingress of a whole embedded stack (Temporal dev server,
 * worker, emulators), on PGlite and on a real PostgreSQL, then a soak of open tasks. Prints JSON and saves it
 * under .data/bench/; never passes or fails on a figure.
 *
 *   npm run bench:load [-- --duration 30 --rates 20,50,100 --stores pglite,postgres --soak 1000]
 *   LOAD_DURATION_S=5 npm run bench:load      # a quick run
 *
 * - Load (issue 12, "load held"): autocannon at each rate for `duration` seconds; per rate the non-2xx count,
 *   the ack latency percentiles (autocannon's, from request sent to answer), how many answers carried the admission
 *   in line and how many were deferred ("thinking…", finished later through the interaction webhook), and how long
 *   the backlog took to drain afterwards (every request admitted, so the next rate starts from a quiet stack).
 *   It sends rate × duration requests and waits for every answer (so `wallS` exceeds `durationS` when they lag).
 *   autocannon holds the rate with a connection per request in flight, so it gets enough connections for every
 *   request to wait out the 2.5 s deferral.
 * - Soak: `soak` tasks left open (each waits for its confirmation), then this process's memory (the worker, the
 *   ingress and the emulators run in it; after a full GC) per open task, and history events per task.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { MessageFlags, type APIInteraction } from '@discordjs/core/http-only';
import { deliverInteraction, rememberDeferral } from '../src/sandbox/http-delivery';
import type { RunningService } from '../src/service';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres';
import { round, startBenchStack, type BenchStack } from './embedded-stack';
import { ackKindOf, julesRequest, prepareBenchGuild, ratio, saveBenchJson, type BenchGuild } from './jules-requests';
import { isAbandonedRetry } from '../src/lifecycle/abandoned-retries';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.LOAD_DURATION_S ?? '30' },
    rates: { type: 'string', default: '20,50,100' },
    stores: { type: 'string', default: 'pglite,postgres' },
    soak: { type: 'string', default: process.env.LOAD_SOAK_TASKS ?? '1000' },
    'soak-concurrency': { type: 'string', default: '10' },
  },
});
const DURATION_S = Number(values.duration);
const RATES = values.rates.split(',').map(Number);
const STORES = values.stores.split(',').filter(Boolean) as ('pglite' | 'postgres')[];
const SOAK_TASKS = Number(values.soak);
const SOAK_CONCURRENCY = Number(values['soak-concurrency']);
const DRAIN_TIMEOUT_MS = 120_000;
const GOAL_MEMORY_PER_OPEN_TASK_MB = 1.5;
for (const store of STORES) if (store !== 'pglite' && store !== 'postgres') throw new Error(`--stores takes pglite and postgres, not ${store}`);

// A full GC before each memory reading, so the figures are what stays alive, not garbage not collected yet.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

/** All tasks the store holds, open or ended. */
async function taskCount(service: RunningService): Promise<number> {
  return (await service.store.countTasks()).reduce((total, group) => total + group.count, 0);
}

/**
 * Waits until the store holds `expected` tasks (every request sent so far admitted), at most DRAIN_TIMEOUT_MS;
 * returns the seconds waited and how many were still not admitted then.
 */
async function drain(service: RunningService, expected: number): Promise<{ seconds: number; drained: boolean; notAdmitted: number }> {
  const started = Date.now();
  for (;;) {
    const missing = expected - (await taskCount(service));
    if (missing <= 0 || Date.now() - started > DRAIN_TIMEOUT_MS) return { seconds: round((Date.now() - started) / 1000), drained: missing <= 0, notAdmitted: Math.max(0, missing) };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * What became of the deferred answers: the late answer edited in with the admission, with other words (a refusal
 * or "try again"), or not yet (still "thinking…" in the emulated Discord).
 */
function lateAnswers(service: RunningService, deferredIds: readonly string[]) {
  const fates = { admitted: 0, otherWords: 0, stillThinking: 0 };
  const samples = new Set<string>();
  for (const id of deferredIds) {
    const message = service.sandbox?.discord.originalResponse(id);
    const loading = message === undefined || ((message.flags ?? 0) & MessageFlags.Loading) !== 0;
    if (loading) fates.stillThinking += 1;
    else if (message.content.includes('Request received')) fates.admitted += 1;
    else {
      fates.otherWords += 1;
      if (samples.size < 3) samples.add(message.content);
    }
  }
  return { ...fates, otherWordsSeen: [...samples] };
}

/** One rate for DURATION_S seconds; `member` numbers the requesters so no two requests share an interaction. */
async function atRate(service: RunningService, guild: BenchGuild, rate: number, label: string) {
  const { sandbox, ingressUrl } = service;
  if (!sandbox || !ingressUrl) throw new Error('the benchmark needs the embedded sandbox');
  const counts = { in_line: 0, deferred: 0, unexpected: 0 };
  const ids = new Set<string>();
  const deferredIds: string[] = [];
  let member = 0;
  const result = await autocannon({
    url: `${ingressUrl}/interactions`,
    overallRate: rate,
    // Enough connections for every request in flight to wait out the deferral (autocannon does not pipeline here).
    connections: Math.max(10, rate * 4),
    // A count rather than a duration: autocannon then waits for every answer instead of dropping those in flight.
    amount: rate * DURATION_S,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        setupRequest(request, context: RequestContext) {
          const interaction = julesRequest(sandbox.discord.applicationId, guild, member++, `load ${label} ${rate}/s`);
          ids.add(interaction.id);
          context.interaction = interaction;
          const signed = sandbox.signer.sign(JSON.stringify(interaction));
          return { ...request, headers: { ...signed.headers }, body: signed.body };
        },
        onResponse(status, body, context: RequestContext) {
          try {
            const answer: unknown = JSON.parse(body);
            const kind = ackKindOf(status, answer);
            counts[kind] += 1;
            // As Discord would, so the late answer finds the interaction's webhook.
            if (kind === 'deferred' && context.interaction) {
              rememberDeferral(sandbox.discord, context.interaction, answer);
              deferredIds.push(context.interaction.id);
            }
          } catch {
            counts.unexpected += 1;
          }
        },
      },
    ],
  });
  const answered = counts.in_line + counts.deferred;
  return {
    rate,
    durationS: DURATION_S,
    wallS: round(result.duration),
    sent: result.requests.sent,
    answers: result.requests.total,
    achievedPerSecond: round(result.requests.average),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    unexpectedAnswers: counts.unexpected,
    distinctInteractions: ids.size,
    // Discord shows "This interaction failed" for an answer later than 3,000 ms: a p99 or max above it means some were.
    ackMs: { p50: result.latency.p50, p90: result.latency.p90, p97_5: result.latency.p97_5, p99: result.latency.p99, max: result.latency.max },
    inLine: counts.in_line,
    deferred: counts.deferred,
    inLineShare: answered ? ratio(counts.in_line, answered) : 0,
    answered,
    deferredIds,
  };
}

/** What autocannon keeps per connection: the request in flight. */
interface RequestContext {
  interaction?: APIInteraction;
}

/** Starts the stack on `store`: PGlite in memory, or a throwaway PostgreSQL 15 (the tests' server helper). */
async function stackOn(store: 'pglite' | 'postgres'): Promise<{ stack: BenchStack; postgres?: PostgresServer }> {
  if (store === 'pglite') return { stack: await startBenchStack() };
  const postgres = await startPostgres({ majorVersion: 15 });
  try {
    const databaseUrl = await postgres.createDatabase();
    return { stack: await startBenchStack({ env: { DATABASE_URL: databaseUrl, SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64') } }), postgres };
  } catch (err) {
    await postgres.stop();
    throw err;
  }
}

async function loadOn(store: 'pglite' | 'postgres') {
  const { stack, postgres } = await stackOn(store);
  try {
    const { service } = stack;
    const guild = await prepareBenchGuild(service, 740000000000000000n);
    const rates = [];
    let expected = await taskCount(service);
    for (const rate of RATES) {
      const { deferredIds, ...figures } = await atRate(service, guild, rate, store);
      expected += figures.answered;
      const drained = await drain(service, expected);
      // A backlog left over stays expected: the next rate's drain waits for it too.
      rates.push({ ...figures, drain: drained, lateAnswers: lateAnswers(service, deferredIds) });
      console.error(JSON.stringify({ store, ...rates.at(-1) }));
    }
    return { store, ...(postgres ? { postgres: postgres.source } : {}), rates };
  } finally {
    await stack.stop();
    await postgres?.stop();
  }
}

const mb = (bytes: number) => round(bytes / 1024 / 1024);

function memory() {
  fullGc();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rssMb: mb(rss), heapUsedMb: mb(heapUsed), externalMb: mb(external), arrayBuffersMb: mb(arrayBuffers) };
}

/** Opens SOAK_TASKS tasks (each waits for its confirmation) and measures what they cost the worker's process. */
async function soak() {
  const { stack } = await stackOn('pglite');
  try {
    const { service } = stack;
    const { sandbox, ingressUrl, client } = service;
    if (!sandbox || !ingressUrl || !client) throw new Error('the soak needs the embedded sandbox and a Temporal client');
    const guild = await prepareBenchGuild(service, 750000000000000000n);
    const endpoint = { ingressUrl, signer: sandbox.signer, discord: sandbox.discord };
    // Warm the stack up (bundle loaded, connections open, first workflows cached) before the baseline.
    for (let i = 0; i < 10; i++) {
      const answer = await deliverInteraction(endpoint, julesRequest(sandbox.discord.applicationId, guild, -1 - i, 'soak warm-up'));
      ackKindOf(answer.status, answer.body);
    }
    await drain(service, 10);
    const before = memory();
    const started = Date.now();
    let next = 0;
    const kinds = { in_line: 0, deferred: 0 };
    await Promise.all(
      Array.from({ length: SOAK_CONCURRENCY }, async () => {
        while (next < SOAK_TASKS) {
          const index = next++;
          const answer = await deliverInteraction(endpoint, julesRequest(sandbox.discord.applicationId, guild, index, `soak task ${index}`));
          kinds[ackKindOf(answer.status, answer.body)] += 1;
        }
      }),
    );
    const drained = await drain(service, 10 + SOAK_TASKS);
    // Let the announcer's card posts and the late answers settle before the reading.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const after = memory();
    const open = (await service.store.countTasks()).filter((group) => group.open).reduce((total, group) => total + group.count, 0);
    const sample = await service.store.listTasks({ guildId: guild.guildId, open: true, limit: 20 });
    const events = await Promise.all(sample.map(async (task) => (await client.workflow.getHandle(task.id).fetchHistory()).events?.length ?? 0));
    const perTaskMb = (key: 'rssMb' | 'heapUsedMb') => Math.round(((after[key] - before[key]) / SOAK_TASKS) * 1000) / 1000;
    return {
      tasks: SOAK_TASKS,
      concurrency: SOAK_CONCURRENCY,
      openTasksAfter: open,
      submitSeconds: round((Date.now() - started) / 1000),
      answers: kinds,
      drain: drained,
      memoryBefore: before,
      memoryAfter: after,
      perOpenTaskMb: { rss: perTaskMb('rssMb'), heapUsed: perTaskMb('heapUsedMb') },
      historyEventsPerTask: { sampled: events.length, mean: round(events.reduce((a, b) => a + b, 0) / Math.max(1, events.length)), max: Math.max(0, ...events) },
      goal: { rssPerOpenTaskAtMostMb: GOAL_MEMORY_PER_OPEN_TASK_MB, met: perTaskMb('rssMb') <= GOAL_MEMORY_PER_OPEN_TASK_MB },
    };
  } finally {
    await stack.stop();
  }
}

/**
 * Stopping a stack whose backlog is not drained closes the Temporal client under starts still being
 * retried, and grpc-js throws "Channel has been shut down" from the retry's timer (`isAbandonedRetry`; the CLI's
 * stop drops it, src/lifecycle/abandoned-retries.ts). Counted and reported instead of ending the run.
 */
const stopCrashes: string[] = [];
process.on('uncaughtException', (err) => {
  if (isAbandonedRetry(err)) stopCrashes.push(err.message);
  else throw err;
});

const stores: Awaited<ReturnType<typeof loadOn>>[] = [];
const figures = (soaked?: Awaited<ReturnType<typeof soak>>) => ({
  benchmark: 'load',
  what: 'signed /jules at steady rates (autocannon) against the embedded stack, per store; then open tasks held (soak)',
  durationS: DURATION_S,
  stores,
  ...(soaked ? { soak: soaked } : {}),
  uncaughtOnStop: stopCrashes.length,
  node: process.version,
});
for (const store of STORES) {
  stores.push(await loadOn(store));
  // Saved as each store ends, so a later part that fails leaves the earlier figures.
  saveBenchJson('load', figures());
}
const printed = figures(SOAK_TASKS > 0 ? await soak() : undefined);
saveBenchJson('load', printed);
console.log(JSON.stringify(printed, null, 2));
