import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { encodePlanId } from '../src/discord/custom-id';
import type { SessionScript } from '../src/sandbox/jules-emulator';
import { planItemTaskId } from '../src/shared/ids';
import type { PlanView } from '../src/shared/plan';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import { planViewQuery } from '../workflows/messages';
import { historyFiles, PLAN_HISTORIES, readHistory, recordHistory, replayDataConverter as dataConverter, SECRETS_KEY, workflowTypeOf } from './helpers/histories';
import { eventually, GUILD, MEMBERS, startTestStack, workflowBundle, type TestStack, type TestStackOptions } from './helpers/stack';

/**
 * Determinism guard for the daily plan: histories of representative plan runs, recorded from real runs on the dev
 * server through the real commands, replayed against the current workflow code. Each scenario's plan run is
 * `<name>.json`; the task of each item it started is `<name>.item<position>.json` (items run the task workflow
 * from a plan, a path `/jules` tasks never take). A change that would break running plans fails here; it needs
 * `patched()`.
 *
 * Record again (after a deliberate, patched change) with: RECORD_HISTORIES=1 npx vitest run test/plan-replay.test.ts,
 * or only some scenarios with RECORD_HISTORIES=name,name. The key is test/replay.test.ts's (test/helpers/histories.ts).
 * Before recording a scenario again for a patch, keep its plan history as `<scenario>.before-<patch>.json`, so runs
 * started before the patch still replay.
 */

/** A plan history kept from before a patch, beside the scenario's newer recording. */
const KEPT = /\.before-[a-z0-9-]+$/;

const REPO = GUILD.repo;
const RUN_ID = /plan-\d{8}-[a-z0-9-]+-[0-9a-f]{4}/;
const quietScript: SessionScript = [{ afterMs: 200, state: 'IN_PROGRESS', activity: { originator: 'agent', progressUpdated: { title: 'Thinking' } } }, { afterMs: 600_000, state: 'COMPLETED' }];

/** One recorded plan scenario: its stack, its `ready` issues, and how people drive the run after `/plan`. */
interface PlanScenario {
  readonly options?: TestStackOptions;
  readonly issues: readonly string[];
  /** Drives the run to its end; absent for a plan that never starts. */
  drive?(s: TestStack, runId: string, issues: readonly number[]): Promise<void>;
}

const view = (s: TestStack, runId: string) => s.client.workflow.getHandle(runId).query(planViewQuery) as Promise<PlanView>;
const text = (answer: { body: any }) => String(answer.body?.data?.content ?? '');

/** An item's pull request, once its task has completed with one. */
async function prOf(s: TestStack, runId: string, issueNumber: number) {
  const url = await eventually(async () => (await s.store.getTask(planItemTaskId(runId, issueNumber)))?.prUrl ?? undefined, `the PR of #${issueNumber}`, 30_000);
  const number = parsePullRequestUrl(url)!.number;
  return { number, sha: s.github!.pullRequest({ repo: REPO, number }).head.sha as string };
}

const SCENARIOS: Record<string, PlanScenario> = {
  // Nobody approves: the approval timer fires.
  'proposed-then-expired': { options: { plans: { approvalTimeoutMs: 1_500 } }, issues: ['Nobody looks'], drive: async () => undefined },
  // The proposer cancels from the card before anyone approves.
  'proposed-then-cancelled': {
    issues: ['Changed my mind'],
    drive: async (s, runId) => {
      expect((await s.click(MEMBERS.developer, encodePlanId({ action: 'cancel', runId }))).body.type).toBe(7);
    },
  },
  // One item dropped before approval; of the two that run, /ship merges the green one and skips the pending one,
  // whose pull request is then closed on GitHub: the run notices at a look, and completes.
  'approved-and-shipped': {
    issues: ['Ship me', 'Close my PR', 'Drop me'],
    drive: async (s, runId, [shipped, closed, dropped]) => {
      await s.select(MEMBERS.developer, encodePlanId({ action: 'drop', runId, revision: 0 }), [String(dropped)]);
      expect((await s.click(MEMBERS.lead, encodePlanId({ action: 'approve', runId, revision: 1 }))).body.type).toBe(7);
      const green = await prOf(s, runId, shipped!);
      const pending = await prOf(s, runId, closed!);
      s.github!.addCheckRun({ repo: REPO, sha: green.sha, name: 'build', conclusion: 'success' });
      s.github!.addCheckRun({ repo: REPO, sha: pending.sha, name: 'build' });
      await eventually(async () => (await view(s, runId)).items.filter((item) => item.status === 'pr_open').length === 2 || undefined, 'both PRs open on the plan');
      const shippedText = text(await s.command(MEMBERS.lead, 'ship', { run_id: runId }));
      expect(shippedText).toMatch(new RegExp(`#${shipped} Ship me: merged`));
      expect(shippedText).toMatch(new RegExp(`#${closed} Close my PR: skipped, checks still running`));
      s.github!.closePullRequest({ repo: REPO, number: pending.number });
    },
  },
  // Approved, then cancelled while Jules works on the items: the plan cancels its items' tasks.
  'running-then-cancelled': {
    options: { jules: { script: () => quietScript, timeScale: 1 } },
    issues: ['Long one', 'Another long one'],
    drive: async (s, runId, issues) => {
      await s.command(MEMBERS.lead, 'approve', { run_id: runId });
      for (const n of issues) await eventually(async () => (await s.store.getTask(planItemTaskId(runId, n)))?.julesSessionId ?? undefined, `the session of #${n}`);
      expect((await s.click(MEMBERS.lead, encodePlanId({ action: 'cancel', runId }))).body.type).toBe(7);
    },
  },
  // No issue is labelled `ready`: the run answers that there is nothing to plan, and ends.
  empty: { issues: [] },
};

const recording = process.env.RECORD_HISTORIES;
if (recording) {
  describe('recording plan histories', () => {
    const only = recording === '1' ? undefined : new Set(recording.split(','));
    for (const [name, scenario] of Object.entries(SCENARIOS).filter(([name]) => !only || only.has(name))) {
      it(`records the ${name} run`, async () => {
        const s = await startTestStack({ github: true, ...scenario.options, secretsKey: SECRETS_KEY });
        try {
          const issues = scenario.issues.map((title) => s.github!.createIssue({ repo: REPO, title, body: `Please: ${title}.`, labels: ['ready'] }).number);
          const answer = text(await s.command(MEMBERS.developer, 'plan'));
          // Even an empty plan is a run: its id is the only workflow in this stack's task queue.
          const runId = RUN_ID.exec(answer)?.[0] ?? (await onlyPlanRun(s));
          await scenario.drive?.(s, runId, issues);
          await s.client.workflow.getHandle(runId).result();
          await recordHistory(s.client, PLAN_HISTORIES, `${name}.json`, runId);
          const items = issues.map((n) => planItemTaskId(runId, n));
          let position = 0;
          for (const taskId of items) {
            position += 1;
            const started = await s.client.workflow.getHandle(taskId).describe().then(() => true, () => false);
            if (!started) continue;
            // A cancelled item ends in a CancelledFailure: that is its outcome, and its history is recorded.
            await s.client.workflow.getHandle(taskId).result().catch(() => undefined);
            await recordHistory(s.client, PLAN_HISTORIES, `${name}.item${position}.json`, taskId);
          }
        } finally {
          await s.stop();
        }
      }, 120_000);
    }
  });
}

/** The id of the one plan run of a stack, for an answer that names none (an empty plan). */
async function onlyPlanRun(s: TestStack): Promise<string> {
  return eventually(async () => {
    for await (const execution of s.client.workflow.list({ query: `TaskQueue = "${s.taskQueue}" AND WorkflowType = "planWorkflow"` })) return execution.workflowId;
    return undefined;
  }, 'the plan run');
}

describe('the committed plan histories', () => {
  const files = historyFiles(PLAN_HISTORIES);
  const ITEM = /\.item\d+\.json$/;

  it('cover every representative plan run', () => {
    const runs = files.filter((f) => !ITEM.test(f)).map((f) => f.replace(/\.json$/, ''));
    expect(runs.filter((name) => !KEPT.test(name))).toEqual(Object.keys(SCENARIOS).sort());
    // A history kept from before a patch (`<scenario>.before-<patch>.json`) is of a scenario still recorded.
    expect(runs.filter((name) => KEPT.test(name) && !Object.hasOwn(SCENARIOS, name.replace(KEPT, '')))).toEqual([]);
    // Every item history belongs to a recorded run.
    expect(files.filter((f) => ITEM.test(f) && !Object.hasOwn(SCENARIOS, f.replace(ITEM, '')))).toEqual([]);
  });

  it('are plan runs, and their items are task runs', () => {
    for (const file of files) expect([file, workflowTypeOf(PLAN_HISTORIES, file)]).toEqual([file, ITEM.test(file) ? 'taskWorkflow' : 'planWorkflow']);
  });

  it('include the items of every run that started some', () => {
    expect(files.filter((f) => ITEM.test(f)).map((f) => f.replace(ITEM, '')).sort()).toEqual(['approved-and-shipped', 'approved-and-shipped', 'running-then-cancelled', 'running-then-cancelled']);
  });

  for (const file of files) {
    it(`replay without nondeterminism: plan-runs/${file}`, async () => {
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter }, readHistory(PLAN_HISTORIES, file), `replay-${file}`);
    });
  }

  it('catch a change in what the plan does: an altered history fails to replay', async () => {
    const json = JSON.parse(readFileSync(join(PLAN_HISTORIES, 'approved-and-shipped.json'), 'utf8')) as { events: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] };
    // Pretend the recorded run scheduled a different activity where the code prepares the approved items.
    const scheduled = json.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'prepareItems');
    expect(scheduled).toBeDefined();
    scheduled!.activityTaskScheduledEventAttributes!.activityType!.name = 'somethingElse';
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter }, historyFromJSON(json), 'replay-altered')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
