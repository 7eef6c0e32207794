import { afterEach, describe, expect, it } from 'vitest';
import { encodeCustomId } from '../src/discord/custom-id';
import { createOctokitGitHubClient } from '../src/github/octokit-github-client';
import { pullRequestFollowId } from '../src/shared/ids';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import { buttonId, eventually, GITHUB, GUILD, MEMBERS, startTestStack, threadOf, type TestStack, type TestStackOptions } from './helpers/stack';

/**
 * A task does not end at "PR ready": its pull request is followed on GitHub (the emulator, over real HTTP with
 * signed webhooks) through its checks to merged or closed, in one PR status message in the task's thread.
 */

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const REPO = GUILD.repo;

/** Runs a task to "PR ready" and returns where its PR and its PR status message are. */
async function taskWithPullRequest(options: TestStackOptions = {}, prepare: (s: TestStack) => Promise<unknown> = async () => undefined) {
  stack = await startTestStack({ github: true, ...options });
  const s = stack;
  await prepare(s);
  const asked = await s.ask(MEMBERS.lead, { prompt: 'Make the build green' });
  const outcome = await s.outcome(asked.taskId);
  expect(outcome.status).toBe('completed');
  const pull = parsePullRequestUrl(outcome.prUrl!)!;
  const headSha = s.github!.pullRequest({ repo: REPO, number: pull.number }).head.sha as string;
  const thread = await threadOf(s, asked.taskId);
  const prMessage = (pattern: RegExp) =>
    eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.includes(`PR #${pull.number}`) && pattern.test(m.content)), `the PR status saying ${pattern}`);
  return { s, taskId: asked.taskId, number: pull.number, headSha, thread, prMessage, follow: s.client.workflow.getHandle(pullRequestFollowId(asked.taskId)) };
}

describe('a task’s pull request', () => {
  it('is followed through its checks to merged, in one message edited in place', async () => {
    const { s, taskId, number, headSha, thread, prMessage, follow } = await taskWithPullRequest();
    const first = await prMessage(/runs no checks/);
    const build = s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'build' });
    s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'lint', conclusion: 'success' });
    await prMessage(/1 of 2 checks done/);
    s.github!.completeCheckRun({ repo: REPO, id: build, conclusion: 'success' });
    await prMessage(/all 2 checks passed/);

    // Someone merges on GitHub, guarded by the head they judged.
    const client = createOctokitGitHubClient({ baseUrl: s.github!.url, auth: { token: GITHUB.token }, retryAfterBaseMs: 10, writeSpacingMs: 0 });
    await client.pulls.merge({ owner: 'acme', repo: 'widgets', pullNumber: number, sha: headSha, mergeMethod: 'squash' });
    expect(await follow.result()).toEqual({ state: 'merged', verdict: 'passed' });
    const merged = await prMessage(/merged/);
    expect(merged.id).toBe(first.id);
    expect(s.discord.channelMessages(thread).filter((m) => m.content?.includes(`PR #${number}`))).toHaveLength(1);
    const row = await s.store.getTask(taskId);
    expect(row).toMatchObject({ prNumber: number, prState: 'merged', checksState: 'passed' });
    expect(row?.mergedAt).toBeInstanceOf(Date);
  });

  it('says which check failed, with its link and summary', async () => {
    const { s, headSha, prMessage } = await taskWithPullRequest();
    await prMessage(/runs no checks/);
    s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'test', conclusion: 'success' });
    const lint = s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'lint' });
    s.github!.completeCheckRun({ repo: REPO, id: lint, conclusion: 'failure', title: '2 errors', summary: 'src/a.ts: unused import' });
    const failed = await prMessage(/failed/);
    expect(failed.content).toMatch(/`lint` failed/);
    expect(failed.content).toMatch(/2 errors: src\/a\.ts: unused import/);
  });

  it('is not green while a required check has not run at all', async () => {
    stack = await startTestStack({ github: true });
    stack.github!.protectBranch({ repo: REPO, branch: 'main', contexts: ['build'] });
    const s = stack;
    const asked = await s.ask(MEMBERS.lead, { prompt: 'Make the build green' });
    const pull = parsePullRequestUrl((await s.outcome(asked.taskId)).prUrl!)!;
    const headSha = s.github!.pullRequest({ repo: REPO, number: pull.number }).head.sha as string;
    s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'lint', conclusion: 'success' });
    const thread = await threadOf(s, asked.taskId);
    const waiting = await eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.includes('1 of 2 checks done')), 'the PR status');
    expect(waiting.content).toMatch(/Waiting for required check `build`, which has not run yet/);
    expect((await s.store.getTask(asked.taskId))?.checksState).toBe('pending');
  });

  it('catches up with a webhook GitHub never delivered at the next reconcile look', async () => {
    const { s, headSha, prMessage } = await taskWithPullRequest({ pullRequests: { reconcileEveryMs: 2_000 } });
    await prMessage(/runs no checks/);
    // The hook is gone (or the ingress was down): GitHub drops deliveries and never retries them.
    s.github!.setWebhook(undefined);
    s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'build', conclusion: 'failure' });
    await prMessage(/`build` failed/);
  });

  it('learns of each webhook delivery from the store, with no signal, when the ingress runs in another process', async () => {
    // A reconcile look only after the test would have timed out: what the thread shows came through the deliveries.
    const { s, taskId, number, headSha, prMessage, follow } = await taskWithPullRequest({ pullRequestWakes: 'store', pullRequests: { reconcileEveryMs: 10 * 60_000 } });
    await prMessage(/runs no checks/);
    expect((await s.store.getTask(taskId))?.prFollowWakes).toBe('deliveries');
    const build = s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'build' });
    await prMessage(/0 of 1 checks done/);
    s.github!.completeCheckRun({ repo: REPO, id: build, conclusion: 'success' });
    await prMessage(/all 1 checks passed/);
    s.github!.closePullRequest({ repo: REPO, number });
    expect((await follow.result()).state).toBe('closed');

    const events = (await follow.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(0);
    // One activity per decision (the first look, pending, green, closed), not one per delivery.
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes).length).toBeLessThanOrEqual(4);
  });

  it('is still woken by a signal per delivery when its worker cannot count deliveries', async () => {
    const { s, taskId, headSha, prMessage, follow } = await taskWithPullRequest({ pullRequestWakes: 'signal', pullRequests: { reconcileEveryMs: 10 * 60_000 } });
    await prMessage(/runs no checks/);
    expect((await s.store.getTask(taskId))?.prFollowWakes).toBe('signal');
    s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'build', conclusion: 'failure' });
    await prMessage(/`build` failed/);
    expect(((await follow.fetchHistory()).events ?? []).some((e) => e.workflowExecutionSignaledEventAttributes)).toBe(true);
    await follow.terminate('end of test');
  });

  it('that GitHub will not show (a revoked token) is said once in the thread, and looked at again later', async () => {
    stack = await startTestStack({ github: true, pullRequests: { reconcileEveryMs: 1_000 } });
    const s = stack;
    s.github!.revokeToken(GITHUB.token);
    const asked = await s.ask(MEMBERS.lead, { prompt: 'Make the build green' });
    expect((await s.outcome(asked.taskId)).status).toBe('completed');
    const thread = await threadOf(s, asked.taskId);
    await eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.startsWith('⚠️ I cannot read')), 'the unreadable notice');
    const looks = () => s.github!.requests.filter((r) => r.auth === 'rejected').length;
    const before = looks();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // Looked at again at the reconcile pace, not in a crash loop, and the notice is not repeated.
    expect(looks() - before).toBeGreaterThan(0);
    expect(looks() - before).toBeLessThan(20);
    expect(s.discord.channelMessages(thread).filter((m) => m.content?.startsWith('⚠️ I cannot read'))).toHaveLength(1);
    expect((await s.client.workflow.getHandle(pullRequestFollowId(asked.taskId)).describe()).status.name).toBe('RUNNING');
    await s.client.workflow.getHandle(pullRequestFollowId(asked.taskId)).terminate('end of test');
  });

  it('is merged from Discord by a confirmer with the guild’s merge method, guarded by its green head; anyone else is refused', async () => {
    const { s, number, headSha, prMessage, follow } = await taskWithPullRequest({}, (s) =>
      s.store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], mergeMethod: 'rebase' }),
    );
    const build = s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'build' });
    const pending = await prMessage(/0 of 1 checks done/);
    expect(buttonId(pending.components, 'Merge')).toBeUndefined();
    // A Merge id from an older message, clicked while the checks run: refused, nothing merged.
    const mergeId = encodeCustomId({ action: 'merge', taskId: follow.workflowId.replace(/^pr-/, '') });
    expect((await s.click(MEMBERS.lead, mergeId, pending.id)).body.data.content).toMatch(/not green at its current head yet/);

    s.github!.completeCheckRun({ repo: REPO, id: build, conclusion: 'success' });
    const green = await prMessage(/all 1 checks passed/);
    expect(buttonId(green.components, 'Merge')).toBe(mergeId);
    expect((await s.click(MEMBERS.developer, mergeId, green.id)).body.data.content).toMatch(/Only members with a confirm role can merge/);
    expect(s.github!.pullRequest({ repo: REPO, number }).merged).toBe(false);

    expect((await s.click(MEMBERS.lead, mergeId, green.id)).body.data.content).toBe(`✅ Merged PR #${number} (rebase).`);
    expect(await follow.result()).toMatchObject({ state: 'merged' });
    expect(s.github!.pullRequest({ repo: REPO, number })).toMatchObject({ merged: true, head: { sha: headSha } });
    const merged = await prMessage(/merged by/);
    expect(merged.components ?? []).toEqual([]);
  });

  it('is not merged when new commits arrived after it was judged green: the clicker is told why', async () => {
    const { s, number, prMessage, follow } = await taskWithPullRequest();
    const green = await prMessage(/runs no checks/);
    // Jules pushes again, and the webhook of it is lost: the follow-through still believes the old head green.
    s.github!.setWebhook(undefined);
    s.github!.pushCommit({ repo: REPO, branch: s.github!.pullRequest({ repo: REPO, number }).head.ref as string });
    const answer = await s.click(MEMBERS.lead, buttonId(green.components, 'Merge')!, green.id);
    expect(answer.body.data.content).toMatch(/New commits arrived on PR #\d+ since its checks passed, so it was not merged/);
    expect(s.github!.pullRequest({ repo: REPO, number }).merged).toBe(false);
    await s.client.workflow.getHandle(follow.workflowId).terminate('end of test');
  });

  it('shows a reviewer’s request for changes, and a later approval', async () => {
    const { s, number, prMessage } = await taskWithPullRequest();
    await prMessage(/runs no checks/);
    s.github!.review({ repo: REPO, number, user: 'alice', state: 'CHANGES_REQUESTED' });
    await prMessage(/Changes requested by alice/);
    s.github!.review({ repo: REPO, number, user: 'alice', state: 'APPROVED' });
    const approved = await prMessage(/Approved by alice/);
    expect(approved.content).not.toMatch(/Changes requested/);
  });

  it('is closed without merging, and following ends', async () => {
    const { s, number, prMessage, follow } = await taskWithPullRequest();
    await prMessage(/runs no checks/);
    s.github!.closePullRequest({ repo: REPO, number });
    expect((await follow.result()).state).toBe('closed');
    await prMessage(/closed without merging/);
  });
});
