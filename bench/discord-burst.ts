/**
 * bench/discord-burst: a burst of tasks in ONE Discord channel whose routes are rate limited, on the embedded
 * stack (Temporal dev server, PGlite, emulators) over real HTTP. Prints JSON; never passes or fails.
 *
 *   node bin/run-ts.mjs bench/discord-burst.ts [--tasks 50] [--updates 8] [--gap-ms 700] [--limit 5] [--window 1] [--poll-ms 400] [--workers 2]
 *
 * A confirmer asks for every task at once, so they all start together; each Jules session sends `updates`
 * progress updates `gap-ms` apart (faster than the watcher's 5 s progress coalescing), then opens a PR. The
 * Discord emulator allows `limit` requests per `window` seconds per route bucket (per channel), answering 429
 * with real headers beyond that. `workers` worker processes share the task queue (the first is the service's own),
 * each with its own REST client: one client paces itself from the rate-limit headers, several share Discord's
 * bucket without knowing of each other, as a scaled-out deployment does. The figures come from the emulator's record of every request: REST calls by
 * route kind, the 429s and how long each took to be retried successfully, and whether every update landed
 * (card completed with its PR, one "PR ready" per thread, the progress message on the last update, no
 * duplicate post, no request that failed for good).
 */
import { parseArgs } from 'node:util';
import { InteractionResponseType, MessageFlags } from '@discordjs/core/http-only';
import { statusLabel } from '../src/discord/task-card';
import type { RecordedRequest } from '../src/sandbox/discord-emulator';
import { deliverInteraction, settledAnswerText } from '../src/sandbox/http-delivery';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import type { ScriptStep } from '../src/sandbox/jules-emulator';
import { taskWorkflowId } from '../src/shared/ids';
import type { TaskOutcome } from '../src/shared/task';
import { openPayloadCodec } from '../src/temporal/codec';
import { createDataConverter } from '../src/temporal/data-converter';
import { connectWorker } from '../src/temporal/connection';
import { createTaskWorker } from '../src/temporal/worker';
import { wireWorker } from '../src/wiring';
import { round, startBenchStack } from './embedded-stack';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '50' },
    updates: { type: 'string', default: '8' },
    'gap-ms': { type: 'string', default: '700' },
    limit: { type: 'string', default: '5' },
    window: { type: 'string', default: '1' },
    'poll-ms': { type: 'string', default: '400' },
    workers: { type: 'string', default: '2' },
  },
});
const tasks = Number(values.tasks);
const updates = Number(values.updates);
const gapMs = Number(values['gap-ms']);
const routeLimit = { requests: Number(values.limit), windowSeconds: Number(values.window) };
const pollMs = Number(values['poll-ms']);
const workerCount = Number(values.workers);
const key = 'bench-burst-key-0123456789';
const lastUpdate = `Step ${updates} of ${updates}`;

function script(): ScriptStep[] {
  return [
    ...Array.from({ length: updates }, (_, i): ScriptStep => ({
      afterMs: i === 0 ? 200 : gapMs,
      state: 'IN_PROGRESS',
      activity: { originator: 'agent', progressUpdated: { title: `Step ${i + 1} of ${updates}` } },
    })),
    { afterMs: 400, state: 'COMPLETED', pullRequestUrl: 'https://github.com/{owner}/{repo}/pull/{number}', activity: { originator: 'system', sessionCompleted: {} } },
  ];
}

const stack = await startBenchStack({
  env: { JULES_POLL_INTERVAL: `${pollMs}ms` },
  julesEmulator: { keys: [key], timeScale: 1, script },
  discordEmulator: { routeLimit },
});
const { service, log, config } = stack;
const extraWorkers: { stop(): Promise<void> }[] = [];

try {
  const { sandbox, store, secrets, ingressUrl, client } = service;
  if (!sandbox?.jules || !ingressUrl || !client) throw new Error('the benchmark needs the embedded sandbox');
  const discord = sandbox.discord;
  // More workers on the same task queue, as more processes would run: same store, Temporal and data converter.
  for (let i = 1; i < workerCount; i++) {
    const connection = await connectWorker(service.temporal.connection);
    const worker = await createTaskWorker(
      wireWorker({
        connection,
        namespace: service.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        store,
        secrets,
        dataConverter: createDataConverter(openPayloadCodec(config)),
        discord: { apiUrl: discord.apiUrl, token: discord.token },
        julesApiUrl: sandbox.jules.url,
        log,
      }),
    );
    const running = worker.run();
    extraWorkers.push({
      async stop() {
        worker.shutdown();
        await running;
        await connection.close();
      },
    });
  }
  const guildId = '500000000000000001';
  const channelId = '500000000000000002';
  const lead = { id: '500000000000000100', roles: ['500000000000000011'] };
  await store.upsertGuild({ guildId, createRoles: ['500000000000000010'], confirmRoles: lead.roles, defaultRepo: 'acme/widgets' });
  await store.setGuildKey(guildId, secrets.encrypt(key));
  // One team's burst: the request quotas and per-key session limit must not be what the figures measure.
  await store.setGuildQuotas(guildId, { userRequestsPerHour: tasks, guildRequestsPerDay: tasks, concurrentSessionsPerKey: tasks, dailySessionsPerKey: tasks });

  const started = Date.now();
  // An answer that would miss Discord's deadline is deferred ("thinking…") and edited in once it comes.
  const acks = { startingJules: 0, deferredThenStartingJules: 0, other: 0 };
  const endpoint = { ingressUrl, signer: sandbox.signer, discord };
  const taskIds = await Promise.all(
    Array.from({ length: tasks }, async (_, i) => {
      const command = buildSlashCommand({ applicationId: discord.applicationId, guildId, channelId, user: lead, name: 'jules', options: { prompt: `Burst task ${i + 1}` } });
      const answer = await deliverInteraction(endpoint, command);
      const deferred = answer.body?.type === InteractionResponseType.DeferredChannelMessageWithSource;
      const said = await settledAnswerText(discord, answer).catch(() => '');
      if (!said.includes('Starting Jules')) acks.other += 1;
      else if (deferred) acks.deferredThenStartingJules += 1;
      else acks.startingJules += 1;
      return taskWorkflowId(command.id);
    }),
  );
  const outcomes = await Promise.all(
    taskIds.map(async (taskId): Promise<TaskOutcome> => {
      try {
        return (await client.workflow.getHandle(taskId).result()) as TaskOutcome;
      } catch (err) {
        return { taskId, status: 'not_started', reason: (err as Error).message } as unknown as TaskOutcome;
      }
    }),
  );
  const wallMs = Date.now() - started;

  // ---- What Discord saw ----
  const requests = discord.requests;
  const byKind: Record<string, { calls: number; ok: number; rateLimited: number }> = {};
  for (const r of requests) {
    const entry = (byKind[routeKind(r)] ??= { calls: 0, ok: 0, rateLimited: 0 });
    entry.calls += 1;
    if (r.status >= 200 && r.status < 300) entry.ok += 1;
    if (r.status === 429) entry.rateLimited += 1;
  }
  // How long each 429 held its request back: until the same request (method, path, body) next succeeded.
  const waits: number[] = [];
  let neverRetried = 0;
  requests.forEach((r, i) => {
    if (r.status !== 429) return;
    const retried = requests.slice(i + 1).find((later) => sameRequest(later, r) && later.status >= 200 && later.status < 300);
    if (retried) waits.push(retried.at - r.at);
    else neverRetried += 1;
  });
  // Answers other than success and 429, by route kind and status: none is expected but 400 on createThread (a retried
  // publish starting its thread again, which the messenger takes as the thread's id).
  const refused = countBy(requests.filter((r) => r.status !== 429 && (r.status < 200 || r.status >= 300)).map((r) => `${r.status} ${routeKind(r)}`));
  const failed = Object.entries(refused).filter(([what]) => what !== '400 createThread').reduce((n, [, count]) => n + count, 0);

  // ---- Did every update land? ----
  let cardsCompleted = 0;
  let threadsWithOnePrMessage = 0;
  let progressOnLastUpdate = 0;
  const progressWrites: number[] = [];
  for (const [i, taskId] of taskIds.entries()) {
    const task = await store.getTask(taskId);
    const outcome = outcomes[i]!;
    if (!task?.cardMessageId || !task.threadId) continue;
    const card = discord.message(task.cardMessageId);
    const fields = Object.fromEntries((card?.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));
    if (outcome.status === 'completed' && fields.Status === statusLabel('completed') && fields['Pull request'] === outcome.prUrl) cardsCompleted += 1;
    const thread = discord.channelMessages(task.threadId);
    const ready = thread.filter((m) => m.content.includes('PR ready'));
    if (ready.length === 1 && outcome.prUrl && ready[0]!.content.includes(outcome.prUrl)) threadsWithOnePrMessage += 1;
    const progress = thread.filter((m) => m.content.includes('Step '));
    if (progress.length === 1 && progress[0]!.content.endsWith(lastUpdate)) progressOnLastUpdate += 1;
    if (progress[0]) progressWrites.push(discord.messageHistory(task.threadId).filter((e) => e.messageId === progress[0]!.id).length);
  }
  const posts = requests.filter((r) => r.method === 'POST' && /^\/channels\/\d+\/messages$/.test(r.path));
  const nonces = new Set(posts.filter((r) => r.status === 200).map((r) => `${r.path}:${(r.body as { nonce?: string }).nonce ?? Math.random()}`));
  // Bot posts only: the members' private answers to /jules are interaction responses.
  const created = discord.messageHistory().filter((e) => e.kind === 'create' && ((e.flags ?? 0) & MessageFlags.Ephemeral) === 0).length;
  const duplicatePosts = created - nonces.size;
  const everyUpdateLanded =
    acks.other === 0 && cardsCompleted === tasks && threadsWithOnePrMessage === tasks && progressOnLastUpdate === tasks && duplicatePosts === 0 && neverRetried === 0 && failed === 0;

  const sortedWaits = [...waits].sort((a, b) => a - b);
  console.log(
    JSON.stringify(
      {
        benchmark: 'discord-burst',
        tasks,
        workers: workerCount,
        acks,
        outcomes: countBy(outcomes.map((o) => o.status)),
        routeLimit,
        jules: { progressUpdatesPerSession: updates, updateGapMs: gapMs, pollIntervalMs: pollMs },
        restCalls: { total: requests.length, byKind },
        rateLimits: {
          seen429: waits.length + neverRetried,
          neverRetried,
          totalWaitMs: waits.reduce((a, b) => a + b, 0),
          maxWaitMs: sortedWaits.at(-1) ?? 0,
          medianWaitMs: sortedWaits[Math.floor(sortedWaits.length / 2)] ?? 0,
        },
        progressMessage: {
          writesPerMessage: { min: Math.min(...progressWrites), mean: round(progressWrites.reduce((a, b) => a + b, 0) / progressWrites.length), max: Math.max(...progressWrites) },
          updatesPerSession: updates,
        },
        refusedRequests: refused,
        landed: { cardsCompleted, threadsWithOnePrMessage, progressOnLastUpdate, duplicatePosts, failedRequests: failed },
        everyUpdateLanded,
        wallMs,
        node: process.version,
      },
      null,
      2,
    ),
  );
} finally {
  for (const worker of extraWorkers) await worker.stop();
  await stack.stop();
}

/** A request's route kind, named after the Discord API operation. */
function routeKind(r: RecordedRequest): string {
  const p = r.path;
  if (/^\/channels\/\d+\/messages$/.test(p)) return r.method === 'POST' ? 'createMessage' : `${r.method} messages`;
  if (/^\/channels\/\d+\/messages\/\d+\/threads$/.test(p)) return 'createThread';
  if (/^\/channels\/\d+\/messages\/\d+$/.test(p)) return r.method === 'PATCH' ? 'editMessage' : `${r.method} message`;
  if (/^\/interactions\/[^/]+\/[^/]+\/callback$/.test(p)) return 'interactionCallback';
  if (/^\/webhooks\/[^/]+\/[^/]+$/.test(p)) return 'followUp';
  if (/^\/webhooks\/[^/]+\/[^/]+\/messages\//.test(p)) return `${r.method} webhookMessage`;
  if (p === '/users/@me/channels') return 'createDM';
  return `${r.method} ${p}`;
}

function sameRequest(a: RecordedRequest, b: RecordedRequest): boolean {
  return a.method === b.method && a.path === b.path && JSON.stringify(a.body) === JSON.stringify(b.body);
}

function countBy(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}
