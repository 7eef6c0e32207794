/**
 * bench/pr-follow: what following pull requests costs. On the embedded stack (the GitHub emulator, its signed
 * webhooks over loopback), 20 tasks complete with a PR each; each PR gets 5 checks that finish at random times;
 * then each is merged. Prints JSON: GitHub requests per PR, sent and counted against the rate limit (a 304 to a
 * conditional request is not), history events of each PR's follow-through, how soon the thread's PR status said
 * "all checks passed" after the last check's webhook, and what the reconcile poll alone would cost per open PR per
 * hour with webhooks off. Figures only: nothing here passes or fails on time.
 *
 *   npm run bench:pr-follow [-- --prs 20 --checks 5 --cross-process]
 *
 * `--cross-process`: the ingress does not wake the worker's follow-throughs in memory, as when they run in
 * separate processes; deliveries reach them through the store only.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { REQUIRED_CHECKS_TTL_MS } from '../activities/github.activities';
import { GITHUB_DELIVERY_SOURCE } from '../src/github/webhook-events';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import { pullRequestFollowId, taskWorkflowId } from '../src/shared/ids';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import type { TaskOutcome } from '../src/shared/task';
import { round, startBenchStack } from './embedded-stack';

const { values } = parseArgs({
  options: { prs: { type: 'string', default: '20' }, checks: { type: 'string', default: '5' }, 'cross-process': { type: 'boolean', default: false } },
});
const PRS = Number(values.prs);
const CHECKS = Number(values.checks);
const RECONCILE_MS = 10 * 60_000;
const guildId = '610000000000000001';
const channelId = '610000000000000002';
const lead = { id: '610000000000000101', roles: ['610000000000000011'] };

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

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const stack = await startBenchStack({
  env: { PR_RECONCILE_INTERVAL: `${RECONCILE_MS / 1000}s` },
  julesEmulator: { timeScale: 0.05 },
  wakeInProcess: !values['cross-process'],
});
try {
  const { service } = stack;
  const { sandbox, store, secrets, ingressUrl, client } = service;
  if (!sandbox?.jules || !sandbox.github || !ingressUrl || !client) throw new Error('the benchmark needs the embedded sandbox with the GitHub emulator');
  const github = sandbox.github;
  const counted = () => github.requests.filter((request) => request.counted).length;
  const key = 'bench-pr-follow-key-0123456789';
  await store.upsertGuild({ guildId, createRoles: ['610000000000000010'], confirmRoles: lead.roles, defaultRepo: 'acme/widgets' });
  await store.setGuildKey(guildId, secrets.encrypt(key));
  await store.setGuildQuotas(guildId, { userRequestsPerHour: 1_000, guildRequestsPerDay: 1_000, concurrentSessionsPerKey: PRS, dailySessionsPerKey: 1_000 });

  // 20 tasks, each to "PR ready".
  const taskIds: string[] = [];
  for (let i = 0; i < PRS; i++) {
    const command = buildSlashCommand({ applicationId: sandbox.discord.applicationId, guildId, channelId, user: lead, name: 'jules', options: { prompt: `Bench PR ${i}` } });
    await deliverInteraction({ ingressUrl, signer: sandbox.signer, discord: sandbox.discord }, command);
    taskIds.push(taskWorkflowId(command.id));
  }
  const pulls = await Promise.all(
    taskIds.map(async (taskId) => {
      const outcome = (await client.workflow.getHandle(taskId).result()) as TaskOutcome;
      const pull = parsePullRequestUrl(outcome.prUrl ?? '');
      if (!pull) throw new Error(`${taskId} ended ${outcome.status} without a PR`);
      const thread = (await store.getTask(taskId))!.threadId!;
      return { taskId, number: pull.number, thread, sha: github.pullRequest({ repo: 'acme/widgets', number: pull.number }).head.sha as string };
    }),
  );
  const prMessage = (thread: string, number: number, pattern: RegExp) => sandbox.discord.channelMessages(thread).find((m) => m.content?.includes(`PR #${number}`) && pattern.test(m.content));
  await Promise.all(pulls.map((pr) => eventually(() => prMessage(pr.thread, pr.number, /runs no checks/), 'the first PR status')));
  const requestsBefore = github.requests.length;
  const countedBefore = counted();

  // 5 checks per PR, finishing at random times within three seconds.
  const next = random(42);
  const lastCheckAt = new Map<number, number>();
  await Promise.all(
    pulls.map(async (pr) => {
      const ids = Array.from({ length: CHECKS }, (_, i) => github.addCheckRun({ repo: 'acme/widgets', sha: pr.sha, name: `check-${i}` }));
      const delays = ids.map(() => Math.floor(next() * 3_000)).sort((a, b) => a - b);
      const started = Date.now();
      for (const [i, id] of ids.entries()) {
        await sleep(Math.max(0, started + delays[i]! - Date.now()));
        github.completeCheckRun({ repo: 'acme/widgets', id, conclusion: 'success' });
      }
      lastCheckAt.set(pr.number, Date.now());
    }),
  );
  const latencies = (
    await Promise.all(
      pulls.map(async (pr) => {
        await eventually(() => prMessage(pr.thread, pr.number, /all \d+ checks passed/), 'all checks passed');
        const edit = sandbox.discord.messageHistory(pr.thread).find((e) => e.kind === 'edit' && e.content?.includes('checks passed'));
        return (edit?.at ?? Date.now()) - lastCheckAt.get(pr.number)!;
      }),
    )
  ).sort((a, b) => a - b);
  const checkRequests = github.requests.length - requestsBefore;
  const checkRequestsCounted = counted() - countedBefore;

  // With webhooks off, only the reconcile poll looks: one look's requests, times looks per hour.
  // Measured alone: first let every follow-through settle (no GitHub request for a second), then wake one the way
  // the ingress does for a delivery that changed nothing on GitHub: noted in the store as being about its task.
  // Such a look also reads the reviews, which a reconcile look of an unchanged PR skips: an upper bound.
  const quiet = async () => {
    for (let seen = -1; seen !== github.requests.length; ) {
      seen = github.requests.length;
      await sleep(1_000);
    }
  };
  await quiet();
  const probe = pulls[0]!;
  const beforeLook = github.requests.length;
  const countedBeforeLook = counted();
  const deliveryId = randomUUID();
  await store.deliveries.recordDelivery(GITHUB_DELIVERY_SOURCE, deliveryId);
  await store.deliveries.noteSubject(GITHUB_DELIVERY_SOURCE, deliveryId, probe.taskId);
  await eventually(() => (github.requests.length > beforeLook ? true : undefined), 'one look');
  await quiet();
  const requestsPerLook = github.requests.length - beforeLook;
  const requestsCountedPerLook = counted() - countedBeforeLook;

  // Merge each PR; the follow-through ends, and its whole history is counted.
  for (const pr of pulls) github.mergePullRequest({ repo: 'acme/widgets', number: pr.number, sha: pr.sha, by: 'octocat' });
  const historyEvents = (
    await Promise.all(
      pulls.map(async (pr) => {
        const handle = client.workflow.getHandle(pullRequestFollowId(pr.taskId));
        await handle.result();
        return (await handle.fetchHistory()).events?.length ?? 0;
      }),
    )
  ).sort((a, b) => a - b);

  const githubRequestsPerPr = round(github.requests.length / PRS);
  const p95 = percentile(latencies, 0.95);
  const looksPerHour = 3_600_000 / RECONCILE_MS;
  const perHour = round(requestsPerLook * looksPerHour);
  const countedPerHour = round(requestsCountedPerLook * looksPerHour);
  // The base branch's required checks (branch protection and rulesets: two requests) are read once per TTL by a
  // worker, for all its PRs on that branch; conditional, so counted only when they changed.
  const requiredChecksReadsPerHour = round(2 * Math.ceil(3_600_000 / REQUIRED_CHECKS_TTL_MS));
  console.log(
    JSON.stringify({
      prs: PRS,
      checksPerPr: CHECKS,
      wakes: values['cross-process'] ? 'through the store (as separate processes)' : 'in process (one start process)',
      githubRequestsPerPr,
      githubRequestsCountedPerPr: round(counted() / PRS),
      githubRequestsPerPrWhileChecksRan: round(checkRequests / PRS),
      githubRequestsCountedPerPrWhileChecksRan: round(checkRequestsCounted / PRS),
      historyEventsPerFollow: { min: historyEvents[0], p50: percentile(historyEvents, 0.5), max: historyEvents.at(-1) },
      lastCheckToThreadEditMs: { p50: percentile(latencies, 0.5), p95, max: latencies.at(-1) },
      reconcile: {
        everyMinutes: RECONCILE_MS / 60_000,
        requestsPerLook,
        requestsCountedPerLook,
        requestsPerOpenPrPerHour: perHour,
        requestsCountedPerOpenPrPerHour: countedPerHour,
        requiredChecksReadsPerBaseBranchPerHour: requiredChecksReadsPerHour,
      },
      goal: {
        historyEventsPerFollowAtMost40: { value: historyEvents.at(-1), met: (historyEvents.at(-1) ?? 0) <= 40 },
        p95LastCheckToEditAtMost2s: { valueMs: p95, met: p95 <= 2_000 },
        // What GitHub counts against the rate limit; `sent` includes the 304s it does not.
        reconcileRequestsPerOpenPrPerHourAtMost12: { value: countedPerHour, sent: perHour, met: countedPerHour <= 12 },
      },
    }),
  );
} finally {
  await stack.stop();
}
