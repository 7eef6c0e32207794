import { planItemTaskId } from '../shared/ids';
import { parsePullRequestUrl } from '../shared/pull-request';
import type { PlanOutcome } from '../../workflows/plan.workflow';
import { DEMO, DEMO_MEMBERS, printTranscript, runOnDemoStack, waitFor, type DemoOptions, type DemoStage } from './demo-kit';
import { webUiWorkflowUrl } from '../temporal/web-ui';

/** How `demo plan` went: the run's outcome, and whether it ended as scripted (two merged, the red one skipped). */
export interface PlanDemoResult {
  readonly outcome: PlanOutcome;
  readonly asScripted: boolean;
}

/** The day's ready issues; the last one's `test` check fails on its PR. */
const ISSUES = [
  { title: 'Add input validation to the signup form', body: 'Reject empty and malformed emails before the request is sent, with a unit test.' },
  { title: 'Show a spinner while the dashboard loads', body: 'The dashboard is blank for a second or two; show a spinner until its data arrives.' },
  { title: 'Cache the pricing API responses for five minutes', body: 'Every page view calls the pricing API; keep its answers for five minutes.' },
] as const;
const RED = ISSUES.length - 1;

/**
 * `jules-orchestrator demo plan`: the daily plan on the embedded stack with no credentials. Three issues labelled
 * `ready` on the emulated GitHub; a developer runs `/plan`; a lead clicks Approve on the card; three Jules sessions
 * open three PRs; CI runs build and test on each, and one test fails; `/status`; `/ship` merges the two green PRs
 * and reports the red one as skipped with its failing check; Cancel ends the run. Prints the channel's and the
 * plan thread's transcript, as `demo` does for one task.
 */
export async function runPlanDemo(options: DemoOptions): Promise<PlanDemoResult> {
  return runOnDemoStack(options, playPlanScenario);
}

async function playPlanScenario(stage: DemoStage): Promise<PlanDemoResult> {
  const { client, discord, github, print, service } = stage;
  const { store } = service;
  const { requester, confirmer } = DEMO_MEMBERS;
  const repo = DEMO.repo;

  const issues = ISSUES.map((issue) => ({ ...issue, ...github.createIssue({ repo, title: issue.title, body: issue.body, labels: ['ready'] }) }));
  print(`Three issues labelled \`ready\` on ${repo} (emulated GitHub): ${issues.map((issue) => `#${issue.number}`).join(', ')}.`);

  print('');
  print(`→ <@${requester.id}> runs /plan`);
  const proposed = await stage.command(requester, 'plan');
  const proposedText = await stage.answerText(proposed);
  print(`← ephemeral answer: ${proposedText}`);
  const runId = /`(plan-[^`]+)`/.exec(proposedText)?.[1];
  if (!runId) throw new Error(`/plan proposed no run: ${proposedText}`);

  const cardOf = () => discord.channelMessages(DEMO.channelId).find((m) => m.embeds?.[0]?.title?.includes(runId));
  const card = await waitFor(cardOf, 'the plan card');
  print(`→ <@${confirmer.id}> clicks Approve on the plan card`);
  const approved = await stage.click(confirmer, card, 'Approve');
  print(`← the card updates in place (response type ${approved.body.type})`);

  print(`… Jules works on the ${issues.length} items (emulated): one session and one pull request each …`);
  const thread = await waitFor(async () => (await store.getPlanRun(runId))?.threadId ?? undefined, 'the plan thread');
  const pulls = await Promise.all(
    issues.map(async (issue) => {
      const task = await waitFor(async () => {
        const row = await store.getTask(planItemTaskId(runId, issue.number));
        return row?.prUrl ? row : undefined;
      }, `the pull request of #${issue.number}`, 60_000);
      const number = parsePullRequestUrl(task.prUrl!)!.number;
      return { issue, number, sha: github.pullRequest({ repo, number }).head.sha as string };
    }),
  );

  // CI on GitHub (emulated): build and test on each PR, and the last one's test fails.
  const prStatus = (number: number, pattern: RegExp) =>
    waitFor(() => discord.channelMessages(thread).find((m) => m.content?.includes(`PR #${number}]`) && pattern.test(m.content)), `PR #${number}'s status saying ${pattern}`);
  print(`… CI runs build and test on PRs ${pulls.map((pull) => `#${pull.number}`).join(', ')} (emulated GitHub); PR #${pulls[RED]!.number}'s test fails …`);
  await Promise.all(pulls.map((pull) => prStatus(pull.number, /runs no checks/)));
  const runs = pulls.map((pull) => ({ pull, build: github.addCheckRun({ repo, sha: pull.sha, name: 'build' }), test: github.addCheckRun({ repo, sha: pull.sha, name: 'test' }) }));
  for (const { build } of runs) github.completeCheckRun({ repo, id: build, conclusion: 'success' });
  for (const [i, { test }] of runs.entries()) {
    github.completeCheckRun({ repo, id: test, conclusion: i === RED ? 'failure' : 'success', ...(i === RED ? { title: '1 failing: pricing cache › expires after five minutes' } : {}) });
  }
  await Promise.all(pulls.map((pull, i) => prStatus(pull.number, i === RED ? /`test` failed/ : /all 2 checks passed/)));

  print(`→ <@${requester.id}> runs /status run_id:${runId}`);
  const status = await stage.command(requester, 'status', { run_id: runId });
  const shown = String(status.body?.data?.embeds?.[0]?.description ?? (await stage.answerText(status)));
  print('← ephemeral answer:');
  for (const line of shown.split('\n').filter((l) => l.startsWith('['))) print(`    ${line}`);

  print(`→ <@${confirmer.id}> runs /ship run_id:${runId}`);
  const shipped = await stage.answerText(await stage.command(confirmer, 'ship', { run_id: runId }));
  const [head, ...lines] = shipped.split('\n');
  print(`← ephemeral answer: ${head}`);
  for (const line of lines) print(`    ${line}`);

  const running = await waitFor(() => {
    const current = cardOf();
    return current && current.components?.length ? current : undefined;
  }, 'the running plan card');
  print(`→ <@${confirmer.id}> clicks Cancel plan on the card (the red item would keep the run open)`);
  const cancelled = await stage.click(confirmer, running, 'Cancel plan');
  print(`← the card updates in place (response type ${cancelled.body.type})`);
  const outcome = (await client.workflow.getHandle(runId).result()) as PlanOutcome;

  // The red PR stays open on GitHub, followed in the thread until it merges or closes; a maintainer closes it here, so
  // nothing the demo started is left running in the demo's Temporal (its state outlives the demo).
  const red = pulls[RED]!;
  print(`… a maintainer closes the red PR #${red.number} on GitHub …`);
  github.closePullRequest({ repo, number: red.number });
  await prStatus(red.number, /closed/);

  printTranscript(stage, `Transcript of channel ${DEMO.channelId} and the plan's thread (→ marks the thread):`, thread);
  print('');
  const merged = pulls.filter((pull) => github.pullRequest({ repo, number: pull.number }).merged).map((pull) => `#${pull.number}`);
  print(`Outcome: ${outcome.status} — ${outcome.merged ?? 0} merged (${merged.join(', ') || 'none'}), PR #${red.number} skipped (\`test\` failed)`);
  if (service.temporal.uiUrl) print(`Web UI of the run: ${webUiWorkflowUrl(service.temporal.uiUrl, service.temporal.namespace, runId)}`);
  const asScripted = outcome.status === 'cancelled' && outcome.merged === pulls.length - 1 && !github.pullRequest({ repo, number: red.number }).merged;
  return { outcome, asScripted };
}
