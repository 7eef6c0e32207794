import { pullRequestFollowId, taskWorkflowId } from '../shared/ids';
import { parsePullRequestUrl } from '../shared/pull-request';
import type { TaskOutcome } from '../shared/task';
import { DEMO, DEMO_MEMBERS, printTranscript, runOnDemoStack, waitFor, type DemoOptions, type DemoStage } from './demo-kit';
import { webUiWorkflowUrl } from '../temporal/web-ui';

export type { DemoOptions } from './demo-kit';

/**
 * `jules-orchestrator demo`: on the embedded defaults, with no credentials, starts Temporal, Postgres and the
 * emulators; sends a signed `/jules`; clicks Confirm as a confirmer; prints the channel's transcript through to
 * the PR link and the Web UI URL of the run.
 */
export async function runDemo(options: DemoOptions): Promise<TaskOutcome> {
  return runOnDemoStack(options, playScenario);
}

async function playScenario(stage: DemoStage): Promise<TaskOutcome> {
  const { client, discord, github, print, service } = stage;
  const { requester, confirmer } = DEMO_MEMBERS;

  const prompt = 'Add input validation to the signup form and a unit test for it';
  print('');
  print(`→ <@${requester.id}> runs /jules prompt:"${prompt}"`);
  const answer = await stage.command(requester, 'jules', { prompt });
  print(`← ephemeral answer: ${await stage.answerText(answer)}`);

  const taskId = taskWorkflowId(answer.interactionId);
  const card = await waitFor(() => discord.channelMessages(DEMO.channelId).find((m) => m.embeds?.[0]?.footer?.text === taskId), 'the task card');
  print(`→ <@${confirmer.id}> clicks Confirm on the card`);
  const clicked = await stage.click(confirmer, card, 'Confirm');
  print(`← the card updates in place (response type ${clicked.body.type})`);

  print('… Jules is working (emulated) …');
  const outcome = (await client.workflow.getHandle(taskId).result()) as TaskOutcome;
  const pull = outcome.prUrl ? parsePullRequestUrl(outcome.prUrl) : undefined;
  const thread = card.id; // a thread started from a message has that message's id
  if (pull) {
    // The PR's life on GitHub (emulated): CI runs two checks, then a confirmer merges from Discord at the green head.
    const repo = `${pull.owner}/${pull.repo}`;
    const prStatus = (pattern: RegExp) => waitFor(() => discord.channelMessages(thread).find((m) => pattern.test(m.content ?? '')), `the PR status saying ${pattern}`);
    print(`… CI runs on PR #${pull.number} (emulated GitHub): build and test …`);
    const sha = github.pullRequest({ repo, number: pull.number }).head.sha as string;
    await prStatus(/runs no checks/);
    const build = github.addCheckRun({ repo, sha, name: 'build' });
    github.addCheckRun({ repo, sha, name: 'test', conclusion: 'success' });
    await prStatus(/1 of 2 checks done/);
    github.completeCheckRun({ repo, id: build, conclusion: 'success' });
    const green = await prStatus(/all 2 checks passed/);
    print(`→ <@${confirmer.id}> clicks Merge on the PR status message`);
    print(`← ephemeral answer: ${await stage.answerText(await stage.click(confirmer, green, 'Merge'))}`);
    await client.workflow.getHandle(pullRequestFollowId(taskId)).result();
  }

  printTranscript(stage, `Transcript of channel ${DEMO.channelId} and the task's thread (→ marks the thread):`, thread);
  print('');
  print(`Outcome: ${outcome.status}${outcome.prUrl ? ` — ${outcome.prUrl}` : ''}${outcome.reason ? ` (${outcome.reason})` : ''}`);
  if (service.temporal.uiUrl) print(`Web UI of the run: ${webUiWorkflowUrl(service.temporal.uiUrl, service.temporal.namespace, taskId)}`);
  return outcome;
}
