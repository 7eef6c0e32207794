/**
 * bench/plan-run: what one daily plan run costs. On the embedded stack (Temporal dev server, PGlite, the Discord,
 * Jules and GitHub emulators, GitHub's signed webhooks over loopback, the GitHub client with its production write
 * pacing), `items` issues labelled `ready`; a lead runs `/plan` and `/approve`; each item's PR gets `checks` check
 * runs that finish at random times within `spread-ms` of the PR opening, all green.
 *
 * Shipping: as they turn green. Whenever some PR's last check has finished and it is not merged yet, the lead runs
 * `/ship` (one at a time: the workflow refuses a second while one is under way), until every PR is merged and the
 * run completes. Each `/ship` looks at every open item, so shipping often costs GitHub reads; that cost is counted.
 *
 * Prints JSON: the plan workflow's history (total and by event type, activity, update), GitHub requests per item
 * (sent, and counted against the rate limit: a 304 to a conditional request is not; by route), Jules requests, Discord REST calls and 429s, wall time by phase, and the time from an item's last
 * green check to its merge. Figures only: nothing here passes or fails on time.
 *
 *   npm run bench:plan-run [-- --items 20 --checks 5 --spread-ms 3000]
 */
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import type { RecordedRequest } from '../src/sandbox/discord-emulator';
import type { GitHubRequestRecord } from '../src/sandbox/github-emulator';
import { deliverInteraction, settledAnswerText } from '../src/sandbox/http-delivery';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import type { EmulatedRequest } from '../src/sandbox/jules-emulator';
import { GITHUB_WRITE_SPACING_MS } from '../src/github/octokit';
import { planItemTaskId, pullRequestFollowId } from '../src/shared/ids';
import type { PlanOutcome } from '../workflows/plan.workflow';
import { round, startBenchStack } from './embedded-stack';

const { values } = parseArgs({ options: { items: { type: 'string', default: '20' }, checks: { type: 'string', default: '5' }, 'spread-ms': { type: 'string', default: '3000' } } });
const ITEMS = Number(values.items);
const CHECKS = Number(values.checks);
const SPREAD_MS = Number(values['spread-ms']);
const REPO = 'acme/widgets';
const guildId = '620000000000000001';
const channelId = '620000000000000002';
const lead = { id: '620000000000000101', roles: ['620000000000000011'] };
const GOALS = { historyEventsAtMost: 200, githubRequestsPerItemAtMost: 15, lastGreenToMergeP95AtMostMs: 5_000 };

/** A small deterministic generator, so runs are comparable. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const countBy = (keys: readonly string[]) => Object.fromEntries(Object.entries(keys.reduce<Record<string, number>>((acc, key) => ({ ...acc, [key]: (acc[key] ?? 0) + 1 }), {})).sort((a, b) => b[1] - a[1]));

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A GitHub route with its numbers and shas taken out, e.g. `GET /repos/:o/:r/commits/:sha/check-runs`. */
function githubRoute(r: GitHubRequestRecord): string {
  const path = r.path
    .replace(/^\/repos\/[^/]+\/[^/]+/, '/repos/:o/:r')
    .replace(/\/[0-9a-f]{40}(?=\/|$)/g, '/:sha')
    .replace(/\/\d+(?=\/|$)/g, '/:n')
    .replace(/\/labels\/[^/]+$/, '/labels/:name')
    .replace(/\/branches\/[^/]+\/protection/, '/branches/:b/protection')
    .replace(/\/rules\/branches\/[^/]+$/, '/rules/branches/:b');
  return `${r.method} ${path}`;
}

/** A Discord REST route by kind. */
function discordRoute(r: RecordedRequest): string {
  if (r.path.startsWith('/interactions/')) return 'interaction callback';
  if (r.path.startsWith('/webhooks/')) return `${r.method} interaction webhook`;
  if (/^\/channels\/\d+\/messages\/\d+\/threads$/.test(r.path)) return 'createThread';
  if (/^\/channels\/\d+\/messages$/.test(r.path)) return `${r.method} message`;
  if (/^\/channels\/\d+\/messages\/\d+$/.test(r.path)) return `${r.method} message/:id`;
  return `${r.method} ${r.path.replace(/\d{6,}/g, ':id')}`;
}

/** A Jules API route by kind. */
function julesRoute(r: EmulatedRequest): string {
  return `${r.method} ${r.path.replace(/\/sessions\/[^/:]+/, '/sessions/:id').replace(/\/sources\/.+$/, '/sources/:id')}`;
}

/** A workflow's history in figures: events, by type, by activity, by update and signal name. */
async function historyOf(client: Client, workflowId: string) {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const typeName = (type: number | null | undefined) =>
    (proto.temporal.api.enums.v1.EventType[type ?? 0] ?? String(type))
      .replace(/^EVENT_TYPE_/, '')
      .toLowerCase()
      .replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return {
    events: events.length,
    byEventType: countBy(events.map((event) => typeName(event.eventType))),
    activitiesScheduled: countBy(events.flatMap((event) => (event.activityTaskScheduledEventAttributes?.activityType?.name ? [event.activityTaskScheduledEventAttributes.activityType.name] : []))),
    updatesAccepted: countBy(events.flatMap((event) => (event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ? [event.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest.input.name] : []))),
    signals: countBy(events.flatMap((event) => (event.workflowExecutionSignaledEventAttributes?.signalName ? [event.workflowExecutionSignaledEventAttributes.signalName] : []))),
  };
}

const stack = await startBenchStack({ julesEmulator: { timeScale: 0.05 } });
try {
  const { service } = stack;
  const { sandbox, store, secrets, ingressUrl, client } = service;
  if (!sandbox?.jules || !sandbox.github || !ingressUrl || !client) throw new Error('the benchmark needs the embedded sandbox with the GitHub emulator');
  const { github, discord, jules } = sandbox;
  const endpoint = { ingressUrl, signer: sandbox.signer, discord };
  const command = async (name: string, options: Record<string, string> = {}) => {
    const answer = await deliverInteraction(endpoint, buildSlashCommand({ applicationId: discord.applicationId, guildId, channelId, user: lead, name, options }));
    return settledAnswerText(discord, answer, 300_000);
  };
  await store.upsertGuild({ guildId, createRoles: ['620000000000000010'], confirmRoles: lead.roles, defaultRepo: REPO, planMaxItems: ITEMS });
  await store.setGuildKey(guildId, secrets.encrypt('bench-plan-run-key-0123456789'));
  await store.setGuildQuotas(guildId, { userRequestsPerHour: 1_000, guildRequestsPerDay: 1_000, concurrentSessionsPerKey: ITEMS, dailySessionsPerKey: 1_000 });
  for (let i = 0; i < ITEMS; i++) github.createIssue({ repo: REPO, title: `Bench item ${i + 1}`, body: `Do thing ${i + 1}.`, labels: ['ready'] });
  const before = { github: github.requests.length, jules: jules.requests.length, discord: discord.requests.length };

  // ---- The GitHub side, as CI would run it: checks on each PR as it opens; every merge noticed as it happens ----
  const next = random(42);
  const pulls = new Map<number, { openedAt: number; lastGreenAt?: number; mergedAt?: number }>();
  const checkScripts: Promise<void>[] = [];
  let watching = true;
  let seen = 0;
  const watcher = (async () => {
    while (watching) {
      for (; seen < github.deliveries.length; seen++) {
        const delivery = github.deliveries[seen]!;
        if (delivery.event !== 'pull_request') continue;
        const payload = JSON.parse(delivery.body.toString()) as { pull_request: { number: number; merged?: boolean; head: { sha: string } } };
        const number = payload.pull_request.number;
        if (delivery.action === 'opened' && !pulls.has(number)) {
          const pull = { openedAt: Date.now() } as { openedAt: number; lastGreenAt?: number; mergedAt?: number };
          pulls.set(number, pull);
          const sha = payload.pull_request.head.sha;
          const ids = Array.from({ length: CHECKS }, (_, i) => github.addCheckRun({ repo: REPO, sha, name: `check-${i + 1}` }));
          const delays = ids.map(() => Math.floor(next() * SPREAD_MS)).sort((a, b) => a - b);
          checkScripts.push(
            (async () => {
              for (const [i, id] of ids.entries()) {
                await sleep(Math.max(0, pull.openedAt + delays[i]! - Date.now()));
                github.completeCheckRun({ repo: REPO, id, conclusion: 'success' });
              }
              pull.lastGreenAt = Date.now();
            })(),
          );
        }
        if (delivery.action === 'closed' && payload.pull_request.merged) {
          const pull = pulls.get(number);
          if (pull && pull.mergedAt === undefined) pull.mergedAt = Date.now();
        }
      }
      await sleep(10);
    }
  })();

  // ---- /plan, /approve ----
  const started = Date.now();
  const proposed = await command('plan');
  const runId = /`(plan-[^`]+)`/.exec(proposed)?.[1];
  if (!runId) throw new Error(`/plan proposed no run: ${proposed}`);
  const proposedAt = Date.now();
  const approved = await command('approve', { run_id: runId });
  if (!approved.startsWith('✅')) throw new Error(`/approve was refused: ${approved}`);
  const approvedAt = Date.now();
  const items = (await store.listPlanItems(runId)).map((item) => item.issueNumber);
  if (items.length !== ITEMS) throw new Error(`the plan holds ${items.length} items, not ${ITEMS}`);
  const allStarted = eventually(async () => ((await store.listPlanItems(runId)).every((item) => item.taskId) ? Date.now() : undefined), 'every item started');

  // ---- /ship as items turn green, one at a time, until everything is merged ----
  const ships: { atMs: number; tookMs: number; merged: number; lookedAt: number }[] = [];
  while ([...pulls.values()].filter((pull) => pull.mergedAt !== undefined).length < ITEMS) {
    if (Date.now() - started > 20 * 60_000) throw new Error(`after 20 minutes ${[...pulls.values()].filter((pull) => pull.mergedAt !== undefined).length} of ${ITEMS} are merged`);
    const green = [...pulls.values()].some((pull) => pull.lastGreenAt !== undefined && pull.mergedAt === undefined);
    if (!green) {
      await sleep(25);
      continue;
    }
    const at = Date.now();
    const answer = await command('ship', { run_id: runId });
    const lines = answer.split('\n').slice(1);
    ships.push({ atMs: at - started, tookMs: Date.now() - at, merged: lines.filter((line) => line.includes(': merged')).length, lookedAt: lines.length });
    // Merges are noticed from their webhooks; give the watcher a moment before deciding what is still green.
    await sleep(50);
  }
  const outcome = (await client.workflow.getHandle(runId).result()) as PlanOutcome;
  const endedAt = Date.now();
  const startedAt = await allStarted;
  watching = false;
  await watcher;
  await Promise.all(checkScripts);

  // ---- Figures ----
  const plan = await historyOf(client, runId);
  const childHistories = await Promise.all(items.map((n) => historyOf(client, planItemTaskId(runId, n)).then((h) => h.events)));
  const followHistories = await Promise.all(
    items.map(async (n) => {
      const handle = client.workflow.getHandle(pullRequestFollowId(planItemTaskId(runId, n)));
      await handle.result();
      return historyOf(client, pullRequestFollowId(planItemTaskId(runId, n)));
    }),
  );
  const spread = (numbers: number[]) => {
    const sorted = [...numbers].sort((a, b) => a - b);
    return { min: sorted[0], p50: percentile(sorted, 0.5), max: sorted.at(-1) };
  };
  const githubRequests = github.requests.slice(before.github);
  const julesRequests = jules.requests.slice(before.jules);
  const discordRequests = discord.requests.slice(before.discord);
  const latencies = [...pulls.values()].map((pull) => pull.mergedAt! - pull.lastGreenAt!).sort((a, b) => a - b);
  const p95 = percentile(latencies, 0.95);
  // GitHub asks for writes a second apart, so a merge that waited behind others waited at least a second for each
  // merge sent between its last green check and its own: what is left is the wait the service itself added.
  const mergedAts = [...pulls.values()].map((pull) => pull.mergedAt!);
  const beyondPacing = [...pulls.values()]
    .map((pull) => pull.mergedAt! - pull.lastGreenAt! - GITHUB_WRITE_SPACING_MS * mergedAts.filter((at) => at > pull.lastGreenAt! && at < pull.mergedAt!).length)
    .sort((a, b) => a - b);
  const gaps = [...mergedAts].sort((a, b) => a - b).flatMap((at, i, all) => (i ? [at - all[i - 1]!] : [])).sort((a, b) => a - b);
  const perItem = round(githubRequests.length / ITEMS);
  const shipLooks = ships.reduce((n, ship) => n + ship.lookedAt, 0);
  // A look at a PR (the follow-through's, or `/ship`'s before it merges) starts with the PR itself, then its checks and
  // statuses, its reviews, and the base branch's required checks (protection and rulesets, cached by the worker).
  const lookRoute = /^GET \/repos\/:o\/:r\/(pulls\/:n(\/reviews)?|commits\/:sha\/(check-runs|status)|branches\/:b\/protection\/required_status_checks|rules\/branches\/:b)$/;
  const lookRequests = githubRequests.filter((r) => lookRoute.test(githubRoute(r)));
  const looks = githubRequests.filter((r) => githubRoute(r) === 'GET /repos/:o/:r/pulls/:n').length;
  const counted = githubRequests.filter((r) => r.counted).length;
  const countedPerItem = round(counted / ITEMS);
  const routes = countBy(githubRequests.map(githubRoute));
  const countedRoutes = countBy(githubRequests.filter((r) => r.counted).map(githubRoute));
  console.log(
    JSON.stringify({
      items: ITEMS,
      checksPerPr: CHECKS,
      checkSpreadMs: SPREAD_MS,
      shipping: 'as items turn green: /ship whenever a PR is green and unmerged, one /ship at a time',
      outcome: { status: outcome.status, merged: outcome.merged },
      planHistory: plan,
      childHistories: { taskEvents: spread(childHistories), prFollowEvents: spread(followHistories.map((h) => h.events)) },
      github: {
        requests: githubRequests.length,
        perItem,
        counted,
        countedPerItem,
        byRoute: Object.fromEntries(Object.entries(routes).map(([route, sent]) => [route, { sent, counted: countedRoutes[route] ?? 0 }])),
        notOk: countBy(githubRequests.filter((r) => r.status >= 300 && r.status !== 304).map((r) => `${r.status} ${githubRoute(r)}`)),
        looks: { total: looks, perItem: round(looks / ITEMS), byShip: shipLooks, byFollowThrough: looks - shipLooks },
        requestsPerLook: round(lookRequests.length / Math.max(1, looks)),
        countedPerLook: round(lookRequests.filter((r) => r.counted).length / Math.max(1, looks)),
        perItemInLooks: { sent: round(lookRequests.length / ITEMS), counted: round(lookRequests.filter((r) => r.counted).length / ITEMS) },
        perItemOutsideLooks: { sent: round((githubRequests.length - lookRequests.length) / ITEMS), counted: round((counted - lookRequests.filter((r) => r.counted).length) / ITEMS) },
        webhookDeliveries: github.deliveries.length,
      },
      jules: { requests: julesRequests.length, perItem: round(julesRequests.length / ITEMS), rateLimited: julesRequests.filter((r) => r.status === 429).length, byRoute: countBy(julesRequests.map(julesRoute)) },
      discord: {
        restCalls: discordRequests.length,
        perItem: round(discordRequests.length / ITEMS),
        rateLimited: discordRequests.filter((r) => r.status === 429).length,
        byRoute: countBy(discordRequests.map(discordRoute)),
      },
      ships: { count: ships.length, each: ships },
      wallMs: {
        total: endedAt - started,
        planToCard: proposedAt - started,
        approveToEveryItemStarted: startedAt - approvedAt,
        approveToFirstPr: Math.min(...[...pulls.values()].map((p) => p.openedAt)) - approvedAt,
        approveToLastPr: Math.max(...[...pulls.values()].map((p) => p.openedAt)) - approvedAt,
        lastMergeToRunCompleted: endedAt - Math.max(...[...pulls.values()].map((p) => p.mergedAt!)),
      },
      lastGreenToMergeMs: { p50: percentile(latencies, 0.5), p95, max: latencies.at(-1) },
      lastGreenToMergeBeyondWritePacingMs: { p50: percentile(beyondPacing, 0.5), p95: percentile(beyondPacing, 0.95), max: beyondPacing.at(-1) },
      betweenMergesMs: { min: gaps[0], p50: percentile(gaps, 0.5), max: gaps.at(-1) },
      goal: {
        planHistoryEventsAtMost200: { value: plan.events, met: plan.events <= GOALS.historyEventsAtMost },
        // What GitHub counts against the rate limit; `sent` includes the 304s to conditional requests it does not.
        githubRequestsPerItemAtMost15: { value: countedPerItem, sent: perItem, met: countedPerItem <= GOALS.githubRequestsPerItemAtMost },
        p95LastGreenToMergeAtMost5s: { valueMs: p95, met: p95 <= GOALS.lastGreenToMergeP95AtMostMs },
      },
    }),
  );
} finally {
  await stack.stop();
}
