import { temporal } from '@temporalio/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateEncryptionKey } from '../src/crypto/secret-box';
import { planItemTaskId } from '../src/shared/ids';
import type { PlanView } from '../src/shared/plan';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import { planViewQuery } from '../workflows/messages';
import { startPostgres, type PostgresServer } from './helpers/postgres';
import { eventually, GITHUB, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';
import { startWorkerProcess, stopWorkerProcesses, type WorkerProcess } from './helpers/worker-process';

/**
 * A plan's worker killed in the middle of the run, twice: while the approved items are being prepared on GitHub
 * (labelled and commented, one after the other), and while `/ship` merges them (one after the other). The worker
 * runs in a child process (test/fixtures/worker-process.ts) and is SIGKILLed; the ingress, the emulators and a real
 * PostgreSQL stay in this process. Each kill lands mid-activity, in the narrowest place: a comment on GitHub is
 * on its way (the emulator holds that request), everything before it is done, nothing after it has started.
 *
 * The plan's steps heartbeat while they work (workflows/lib/heartbeat.ts), so Temporal retries one whose worker
 * died once the heartbeat timeout runs out: most of the test's time is waiting for it.
 */

const REPO = GUILD.repo;
const RUN_ID = /plan-\d{8}-[a-z0-9-]+-[0-9a-f]{4}/;
/** Well past the steps' heartbeat timeout, with room for the retry itself and a loaded machine. */
const RETRIED_WITHIN_MS = 3 * 60_000;
/** How long the emulator holds the request the dead worker was waiting on. */
const HELD_MS = 20_000;

let postgres: PostgresServer;
let stack: TestStack | undefined;
let runId: string | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
});

afterAll(async () => {
  await postgres?.stop();
});

afterEach(async (context) => {
  await stopWorkerProcesses(workers, context.task.result?.state === 'fail');
  // A failed test leaves its run waiting for a worker that will never come; its items end with it.
  if (stack && runId) await stack.client.workflow.getHandle(runId).terminate('test over').catch(() => undefined);
  await stack?.stop();
  stack = undefined;
  runId = undefined;
});

/** The attempts at which each run of an activity of the plan started, by activity type. */
async function attempts(s: TestStack, id: string, activity: string): Promise<{ attempt: number; timeout?: temporal.api.enums.v1.TimeoutType | null }[]> {
  const events = (await s.client.workflow.getHandle(id).fetchHistory()).events!;
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).map((e) => String(e.eventId)));
  return events
    .map((e) => e.activityTaskStartedEventAttributes)
    .filter((a) => a && scheduled.has(String(a.scheduledEventId)))
    .map((a) => ({ attempt: a!.attempt ?? 1, timeout: a!.lastFailure?.timeoutFailureInfo?.timeoutType }));
}

describe('a plan whose worker is killed mid-run', () => {
  it(
    'is finished by a new worker with one Jules session, one "working on" comment and one merge per item',
    async () => {
      const env = { databaseUrl: await postgres.createDatabase(), secretsKey: generateEncryptionKey() };
      stack = await startTestStack({ worker: false, github: true, databaseUrl: env.databaseUrl, secretsKey: env.secretsKey, settings: { watchHeartbeatTimeoutMs: 5_000 } });
      const s = stack;
      const gh = s.github!;
      const workerEnv = { ...env, extra: { GITHUB_TOKEN: GITHUB.token, GITHUB_API_URL: gh.url } };
      const first = await startWorkerProcess(s, workerEnv, workers);
      const issues = ['First item', 'Second item'].map((title) => gh.createIssue({ repo: REPO, title, body: `Please: ${title}.`, labels: ['ready'] }).number);
      const [one, two] = issues as [number, number];
      const working = (n: number) => gh.comments({ repo: REPO, number: n }).filter((c) => c.body.includes('Jules is working on this issue'));
      const mergedIn = (n: number) => gh.comments({ repo: REPO, number: n }).filter((c) => c.body.includes('Merged in'));

      runId = RUN_ID.exec(String((await s.command(MEMBERS.lead, 'plan')).body.data.content))?.[0];
      expect(runId).toBeDefined();
      const handle = s.client.workflow.getHandle(runId!);

      // ---- Kill 1: the first item is prepared; the second is labelled, and its "working on" comment hangs ----
      gh.failNext({ kind: 'server-error', delayMs: HELD_MS, match: { method: 'POST', path: new RegExp(`/issues/${two}/comments$`) } });
      await s.command(MEMBERS.lead, 'approve', { run_id: runId! });
      await eventually(() => working(one).length === 1 || undefined, 'the first "working on" comment');
      await eventually(() => (gh.labels({ repo: REPO, number: two }).join() === 'jules-in-progress' ? true : undefined), 'the second item labelled');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      expect(working(two)).toHaveLength(0);

      const second = await startWorkerProcess(s, workerEnv, workers);
      const prOf = (n: number) =>
        eventually(
          async () => {
            const item = ((await handle.query(planViewQuery)) as PlanView).items.find((i) => i.issueNumber === n);
            return item?.status === 'pr_open' ? parsePullRequestUrl(item.prUrl!)!.number : undefined;
          },
          `the PR of #${n}`,
          RETRIED_WITHIN_MS,
        );
      const prs = [await prOf(one), await prOf(two)] as const;

      // ---- Kill 2: /ship merged the first PR, and the second's merge hangs ----
      for (const number of prs) gh.addCheckRun({ repo: REPO, sha: gh.pullRequest({ repo: REPO, number }).head.sha as string, name: 'build', conclusion: 'success' });
      gh.failNext({ kind: 'server-error', delayMs: HELD_MS, match: { method: 'PUT', path: new RegExp(`/pulls/${prs[1]}/merge$`) } });
      const shipping = s.command(MEMBERS.lead, 'ship', { run_id: runId! });
      await eventually(() => gh.pullRequest({ repo: REPO, number: prs[0] }).merged || undefined, 'the first merge');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      second.child.kill('SIGKILL');
      expect(await second.exited).toBe('SIGKILL');
      expect(gh.pullRequest({ repo: REPO, number: prs[1] }).merged).toBe(false);

      await startWorkerProcess(s, workerEnv, workers);
      // The member was told the answer would come (the dispatcher deferred); the run ends once both are merged.
      expect((await shipping).status).toBe(200);
      const outcome = (await handle.result()) as { status: string; merged: number };
      expect(outcome).toMatchObject({ status: 'completed', merged: 2 });
      expect(await attempts(s, runId!, 'shipItems')).toEqual([{ attempt: 2, timeout: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT }]);

      // Nothing twice: one session per issue, created once; one comment of each kind; one merge per PR.
      expect(s.jules.sessions()).toHaveLength(2);
      expect(s.jules.requests.filter((r) => r.method === 'POST' && r.path === '/v1alpha/sessions' && r.status === 200)).toHaveLength(2);
      const perIssue = await Promise.all(
        issues.map(async (n) => {
          const task = await s.store.getTask(planItemTaskId(runId!, n));
          return { n, sessions: s.jules.sessions().filter((session) => session.name === task?.julesSessionId).length, working: working(n).length, mergedIn: mergedIn(n).length };
        }),
      );
      expect(perIssue).toEqual(issues.map((n) => ({ n, sessions: 1, working: 1, mergedIn: 1 })));
      for (const number of prs) {
        expect(gh.pullRequest({ repo: REPO, number }).merged).toBe(true);
        expect(gh.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/pulls/${number}/merge`) && r.status === 200)).toHaveLength(1);
      }
      // One card, one thread; the run's projection ended once.
      expect(s.discord.channelMessages(GUILD.channelId).filter((m) => (m.embeds?.[0]?.title ?? '').includes(runId!))).toHaveLength(1);
      expect(s.discord.threads()).toHaveLength(1);
      expect(await s.store.getPlanRun(runId!)).toMatchObject({ status: 'completed' });
      expect((await s.store.listPlanItems(runId!)).map((item) => item.status)).toEqual(['merged', 'merged']);
    },
    8 * 60_000,
  );
});
