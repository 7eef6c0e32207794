import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { askingScript, failingScript, type SessionScript } from '../src/sandbox/jules-emulator';
import { pullRequestFollowId } from '../src/shared/ids';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import { cancelUpdate, decisionUpdate, githubEventSignal, mergeUpdate, planDecisionUpdate, pullRequestQuery, replyUpdate, taskViewQuery } from '../workflows/messages';
import { HISTORIES, historyFiles, readHistory, recordHistory, replayDataConverter as dataConverter, SECRETS_KEY, workflowTypeOf } from './helpers/histories';
import { eventually, MEMBERS, startTestStack, workflowBundle, type TestStack, type TestStackOptions } from './helpers/stack';

/**
 * Determinism guard: histories of representative runs, recorded from real runs on the dev server, are replayed
 * against the current workflow code. A change that would break running tasks fails here; it needs `patched()`.
 *
 * Record again (after a deliberate, patched change) with: RECORD_HISTORIES=1 npx vitest run test/replay.test.ts,
 * or only some scenarios with RECORD_HISTORIES=name,name. Keep the histories recorded before a patch: they are
 * what proves the patch keeps running tasks replaying (plan-approval and question predate
 * WATCH_WHILE_PEOPLE_DECIDE; the two *-while-watched scenarios take its new path; pr-follow-signalled predates
 * FOLLOW_IN_ONE_ACTIVITY, pr-follow-watched takes its new path). The task histories other than admitted-by-ingress
 * predate admission in the ingress: they were started by an update-with-start and admit in an `admitTask` local
 * activity; admitted-by-ingress is started with the ingress's admission in its input.
 *
 * Plan runs have their own histories in test/histories/plan-runs/, recorded and replayed by test/plan-replay.test.ts.
 */

const PR = 'https://github.com/{owner}/{repo}/pull/{number}';
const quietScript: SessionScript = [{ afterMs: 200, state: 'IN_PROGRESS', activity: { originator: 'agent', progressUpdated: { title: 'Thinking' } } }, { afterMs: 600_000, state: 'COMPLETED' }];
const pausingScript: SessionScript = [
  { afterMs: 200, state: 'IN_PROGRESS', activity: { originator: 'agent', progressUpdated: { title: 'One' } } },
  { afterMs: 300, state: 'PAUSED' },
  { afterMs: 300, state: 'IN_PROGRESS', activity: { originator: 'agent', progressUpdated: { title: 'Two' } } },
  { afterMs: 200, state: 'COMPLETED', pullRequestUrl: PR, activity: { originator: 'system', sessionCompleted: {} } },
];

/** One recorded scenario: how to set the stack up and drive the task. */
interface Scenario {
  readonly options?: TestStackOptions;
  readonly command?: Record<string, string | boolean>;
  readonly asker?: 'developer' | 'lead';
  /** Record the task's PR follow-through (`pr-<task id>`), once it ended, instead of the task itself. */
  readonly follow?: boolean;
  drive(s: TestStack, taskId: string): Promise<void>;
}

const awaiting = (s: TestStack, taskId: string, what: 'plan_approval' | 'reply') =>
  eventually(async () => (await s.client.workflow.getHandle(taskId).query(taskViewQuery))?.awaiting === what, what);

/**
 * A task's PR from "PR ready" to merged on GitHub: one status, a check that runs and passes, then the merge. Every
 * webhook reaches the follow-through, which is how it learns of each step.
 */
async function followToMerge(s: TestStack, taskId: string): Promise<void> {
  const pull = parsePullRequestUrl((await s.outcome(taskId)).prUrl!)!;
  const thread = await eventually(async () => (await s.store.getTask(taskId))?.threadId ?? undefined, 'the thread');
  const says = (pattern: RegExp) => eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.includes(`PR #${pull.number}`) && pattern.test(m.content)), `${pattern}`);
  await says(/runs no checks/);
  const sha = s.github!.pullRequest({ repo: 'acme/widgets', number: pull.number }).head.sha as string;
  const build = s.github!.addCheckRun({ repo: 'acme/widgets', sha, name: 'build' });
  await says(/0 of 1 checks done/);
  s.github!.completeCheckRun({ repo: 'acme/widgets', id: build, conclusion: 'success' });
  await says(/all 1 checks passed/);
  s.github!.mergePullRequest({ repo: 'acme/widgets', number: pull.number, sha, by: 'octocat' });
  await s.client.workflow.getHandle(pullRequestFollowId(taskId)).result();
}

/** A confirmer merges a green PR from Discord: the update runs beside the watch, which it interrupts to look again. */
async function mergeFromDiscord(s: TestStack, taskId: string): Promise<void> {
  await s.outcome(taskId);
  const follow = s.client.workflow.getHandle(pullRequestFollowId(taskId));
  await eventually(async () => (await follow.query(pullRequestQuery))?.verdict === 'no_checks', 'a green look');
  await follow.executeUpdate(mergeUpdate, { args: [{ member: MEMBERS.lead }] });
  await follow.result();
}

/** Someone signals a watched follow-through (an older ingress does, per delivery): the watch is cancelled, and looks anew. */
async function signalWhileWatched(s: TestStack, taskId: string): Promise<void> {
  const pull = parsePullRequestUrl((await s.outcome(taskId)).prUrl!)!;
  const follow = s.client.workflow.getHandle(pullRequestFollowId(taskId));
  await eventually(async () => (await follow.query(pullRequestQuery))?.verdict === 'no_checks', 'a green look');
  const looks = () => s.github!.requests.filter((r) => r.path.endsWith(`/pulls/${pull.number}`)).length;
  const before = looks();
  await follow.signal(githubEventSignal, { event: 'pull_request', deliveryId: 'replay-signal' });
  await eventually(() => looks() > before, 'a look after the signal');
  s.github!.closePullRequest({ repo: 'acme/widgets', number: pull.number });
  await follow.result();
}

const SCENARIOS: Record<string, Scenario> = {
  approved: { asker: 'developer', drive: (s, id) => s.client.workflow.getHandle(id).executeUpdate(decisionUpdate, { args: [{ action: 'confirm', member: MEMBERS.lead }] }).then(() => undefined) },
  'admitted-by-ingress': { asker: 'developer', drive: (s, id) => s.client.workflow.getHandle(id).executeUpdate(decisionUpdate, { args: [{ action: 'confirm', member: MEMBERS.lead }] }).then(() => undefined) },
  rejected: { asker: 'developer', drive: (s, id) => s.client.workflow.getHandle(id).executeUpdate(decisionUpdate, { args: [{ action: 'reject', member: MEMBERS.lead, reason: 'Not now' }] }).then(() => undefined) },
  expired: { asker: 'developer', options: { settings: { confirmationTimeoutMs: 500 } }, drive: async () => undefined },
  'plan-approval': {
    command: { plan_approval: true },
    drive: async (s, id) => {
      await awaiting(s, id, 'plan_approval');
      await s.client.workflow.getHandle(id).executeUpdate(planDecisionUpdate, { args: [{ action: 'approve', member: MEMBERS.lead }] });
    },
  },
  question: {
    options: { jules: { script: () => askingScript('Which port?') } },
    drive: async (s, id) => {
      await awaiting(s, id, 'reply');
      await s.client.workflow.getHandle(id).executeUpdate(replyUpdate, { args: [{ member: MEMBERS.lead, text: '8080' }] });
    },
  },
  failure: { options: { jules: { script: () => failingScript('Could not clone') } }, drive: async () => undefined },
  stalled: { options: { jules: { script: () => quietScript, timeScale: 1 }, settings: { stallAfterMs: 800 } }, drive: async () => undefined },
  cancelled: {
    options: { jules: { script: () => quietScript, timeScale: 1 } },
    drive: async (s, id) => {
      await eventually(async () => (await s.store.getTask(id))?.julesSessionId ?? undefined, 'the session');
      await s.client.workflow.getHandle(id).executeUpdate(cancelUpdate, { args: [{ member: MEMBERS.lead }] });
    },
  },
  // Cancelled in Temporal itself (Web UI, CLI), not by our Cancel button: the ending runs in a non-cancellable scope.
  'cancelled-in-temporal': {
    options: { jules: { script: () => quietScript, timeScale: 1 } },
    drive: async (s, id) => {
      await eventually(async () => (await s.store.getTask(id))?.julesSessionId ?? undefined, 'the session');
      await s.client.workflow.getHandle(id).cancel();
    },
  },
  'plan-approved-in-jules-while-watched': {
    command: { plan_approval: true },
    drive: async (s, id) => {
      await awaiting(s, id, 'plan_approval');
      s.jules.answerInJulesApp(s.jules.sessions()[0]!.name, { approvePlan: true });
    },
  },
  'question-answered-here-while-watched': {
    options: { jules: { script: () => askingScript('Which port?') } },
    drive: async (s, id) => {
      await awaiting(s, id, 'reply');
      await s.client.workflow.getHandle(id).executeUpdate(replyUpdate, { args: [{ member: MEMBERS.lead, text: '8080' }] });
    },
  },
  // Completed with GitHub configured: the task hands its PR to a follow-through child (FOLLOW_PULL_REQUESTS).
  'completed-following-pr': { options: { github: true }, drive: async () => undefined },
  // The follow-through itself, woken by a signal per webhook delivery: recorded before FOLLOW_IN_ONE_ACTIVITY, kept
  // to prove the patch keeps such runs replaying. Do not record it again.
  'pr-follow-signalled': { options: { github: true }, follow: true, drive: followToMerge },
  // The follow-through as one watch that returns for decisions only, its deliveries counted in the store.
  'pr-follow-watched': { options: { github: true }, follow: true, drive: followToMerge },
  'pr-follow-merged-from-discord': { options: { github: true }, follow: true, drive: mergeFromDiscord },
  'pr-follow-signalled-while-watched': { options: { github: true }, follow: true, drive: signalWhileWatched },
  'continued-as-new': { options: { jules: { script: () => pausingScript, timeScale: 1 }, settings: { maxHistoryEvents: 25 } }, drive: async () => undefined },
};

const recording = process.env.RECORD_HISTORIES;
if (recording) {
  describe('recording histories', () => {
    const only = recording === '1' ? undefined : new Set(recording.split(','));
    for (const [name, scenario] of Object.entries(SCENARIOS).filter(([name]) => !only || only.has(name))) {
      it(`records the ${name} run`, async () => {
        const s = await startTestStack({ ...scenario.options, secretsKey: SECRETS_KEY });
        try {
          const asked = await s.ask(MEMBERS[scenario.asker ?? 'lead'], { prompt: `Replay scenario ${name}`, ...scenario.command });
          await scenario.drive(s, asked.taskId);
          // A run cancelled in Temporal ends in a CancelledFailure: that is its outcome, and its history is recorded.
          await s.outcome(asked.taskId).catch((err: unknown) => {
            if (name !== 'cancelled-in-temporal') throw err;
          });
          const workflowId = scenario.follow ? pullRequestFollowId(asked.taskId) : asked.taskId;
          let run = 0;
          // Visibility is eventually consistent: a run that just ended may not be listed yet.
          const runs = await eventually(async () => {
            const listed = [];
            for await (const execution of s.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) listed.push(execution);
            return listed.length > 0 ? listed : undefined;
          }, `the runs of ${workflowId}`);
          runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
          for (const execution of runs) {
            await recordHistory(s.client, HISTORIES, runs.length > 1 ? `${name}.run${++run}.json` : `${name}.json`, workflowId, execution.runId);
          }
        } finally {
          await s.stop();
        }
      });
    }
  });
}

describe('the committed workflow histories', () => {
  const files = historyFiles(HISTORIES);

  it('cover every representative run', () => {
    const covered = new Set(files.map((f) => f.replace(/(\.run\d+)?\.json$/, '')));
    expect([...covered].sort()).toEqual(Object.keys(SCENARIOS).sort());
  });

  it('are all task runs or their PR follow-throughs (plan runs live in histories/plan-runs/)', () => {
    expect(files.filter((f) => !['taskWorkflow', 'pullRequestFollowWorkflow'].includes(workflowTypeOf(HISTORIES, f) ?? ''))).toEqual([]);
  });

  for (const file of files) {
    it(`replay without nondeterminism: ${file}`, async () => {
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter }, readHistory(HISTORIES, file), `replay-${file}`);
    });
  }

  it('catch a change in what the workflow does: an altered history fails to replay', async () => {
    const json = JSON.parse(readFileSync(join(HISTORIES, 'approved.json'), 'utf8')) as { events: { eventType: string; activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] };
    // Pretend the recorded run scheduled a different activity where the code schedules publishTaskUpdate.
    const scheduled = json.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'publishTaskUpdate');
    expect(scheduled).toBeDefined();
    scheduled!.activityTaskScheduledEventAttributes!.activityType!.name = 'somethingElse';
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter }, historyFromJSON(json), 'replay-altered')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
