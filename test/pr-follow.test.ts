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
    // The message is edited before the row is written: wait for the row.
    await eventually(async () => ((await s.store.getTask(taskId))?.prFollowWakes === 'deliveries' ? true : undefined), 'the row saying deliveries wake it');
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
    // The row is written beside the message, not before it: read it once it is there.
    expect(await eventually(async () => (await s.store.getTask(taskId))?.prFollowWakes ?? undefined, 'how the follow-through is woken, in its row')).toBe('signal');
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
    // The watch edits the message before the workflow hears of the look: until then the click is told to wait.
    const early = await eventually(async () => {
      const text = String((await s.click(MEMBERS.lead, mergeId, pending.id)).body.data.content);
      return /still reading this pull request/.test(text) ? undefined : text;
    }, 'the Merge click after the workflow heard of the first look');
    expect(early).toMatch(/not green at its current head yet/);

    s.github!.completeCheckRun({ repo: REPO, id: build, conclusion: 'success' });
    const green = await prMessage(/all 1 checks passed/);
    expect(buttonId(green.components, 'Merge')).toBe(mergeId);
    expect((await s.click(MEMBERS.developer, mergeId, green.id)).body.data.content).toMatch(/Only members with a confirm role can merge/);
    expect(s.github!.pullRequest({ repo: REPO, number }).merged).toBe(false);

    // The watch edits the message, then tells the workflow: a click in between is refused as not green yet, and changes nothing.
    const answer = await eventually(async () => {
      const text = String((await s.click(MEMBERS.lead, mergeId, green.id)).body.data.content);
      return /not green at its current head yet/.test(text) ? undefined : text;
    }, 'the Merge click after the workflow learned the PR is green');
    expect(answer).toBe(`✅ Merged PR #${number} (rebase).`);
    expect(await follow.result()).toMatchObject({ state: 'merged' });
    expect(s.github!.pullRequest({ repo: REPO, number })).toMatchObject({ merged: true, head: { sha: headSha } });
    const merged = await prMessage(/merged by/);
    expect(merged.components ?? []).toEqual([]);
  });

  it('is not merged when new commits arrived after it was judged green: the clicker is told why', async () => {
    const { s, number, prMessage, follow } = await taskWithPullRequest();
    const green = await prMessage(/runs no checks/);
    // Jules pushes again, and the webhook of it is lost: the follow-through still believes the old head green. The new
    // head gets a check still running (in the same tick, so no look sees it bare): were it to run no checks, a look
    // that happened to read it before the click would rightly find it green and merge it (CI saw that once).
    s.github!.setWebhook(undefined);
    const newHead = s.github!.pushCommit({ repo: REPO, branch: s.github!.pullRequest({ repo: REPO, number }).head.ref as string });
    s.github!.addCheckRun({ repo: REPO, sha: newHead, name: 'build' });
    // The watch edits the message before the workflow hears of the look: until then the click is told to wait.
    const answer = await eventually(async () => {
      const text = String((await s.click(MEMBERS.lead, buttonId(green.components, 'Merge')!, green.id)).body.data.content);
      return /still reading this pull request/.test(text) ? undefined : text;
    }, 'the Merge click after the workflow heard of the first look');
    // Which words depends on whether a look read the new head before the click; either way, nothing is merged.
    expect(answer).toMatch(/New commits arrived on PR #\d+ since its checks passed, so it was not merged|not green at its current head yet/);
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

describe('failing checks', () => {
  const sentToJules = (s: TestStack) => s.jules.requests.filter((r) => r.method === 'POST' && r.path.endsWith(':sendMessage') && r.status === 200).length;
  const headOf = (s: TestStack, number: number) => s.github!.pullRequest({ repo: REPO, number }).head.sha as string;

  it('go back to the same Jules session by themselves, once per check and head, at most the guild’s number of times', async () => {
    const { s, number, headSha, thread, prMessage } = await taskWithPullRequest({}, (t) =>
      t.store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], defaultRepo: GUILD.repo, fixFailingChecks: true, maxFixAttempts: 2 }),
    );
    await prMessage(/runs no checks/);
    const lint = s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'lint' });
    s.github!.completeCheckRun({ repo: REPO, id: lint, conclusion: 'failure', title: '2 errors', summary: 'src/a.ts: unused import' });

    // The thread says what was sent; Jules pushes a fix, and the new head's checks are followed.
    const said = await eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.includes('to fix the failing checks')), 'the fix request in the thread');
    expect(said.content).toMatch(/attempt 1 of 2\): `lint`/);
    expect(said.content).toMatch(/src\/a\.ts: unused import/);
    expect(sentToJules(s)).toBe(1);
    const fixed = await eventually(() => (headOf(s, number) !== headSha ? headOf(s, number) : undefined), 'Jules’ fix commit');
    s.github!.addCheckRun({ repo: REPO, sha: fixed, name: 'lint', conclusion: 'failure' });
    await eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.includes('attempt 2 of 2')), 'the second fix request');
    const again = await eventually(() => (headOf(s, number) !== fixed ? headOf(s, number) : undefined), 'Jules’ second fix commit');

    // A third red head is not sent: two attempts is the most. It is green once Jules gets it right.
    s.github!.addCheckRun({ repo: REPO, sha: again, name: 'lint', conclusion: 'failure' });
    const red = await prMessage(/`lint` failed/);
    expect(sentToJules(s)).toBe(2);
    const refused = await s.click(MEMBERS.lead, buttonId(red.components, 'Ask Jules to fix')!, red.id);
    expect(refused.body.data.content).toMatch(/already asked to fix this pull request 2 times/);
    const task = (await s.store.findTaskByPullRequest(REPO, { number }))!;
    expect((await s.store.listTaskEvents(task.id)).filter((e) => e.kind === 'fix_requested')).toHaveLength(2);
  });

  it('go back to Jules on a click by the requester or a confirmer, never twice for the same failure; others are refused', async () => {
    const { s, headSha, number, thread, prMessage } = await taskWithPullRequest();
    await prMessage(/runs no checks/);
    s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'test', conclusion: 'failure' });
    const red = await prMessage(/`test` failed/);
    const fix = buttonId(red.components, 'Ask Jules to fix')!;
    expect(fix).toBeDefined();
    expect(sentToJules(s)).toBe(0);

    const outsider = await s.click(MEMBERS.outsider, fix, red.id);
    expect(outsider.body.data.content).toMatch(/Only the requester or a member with a confirm role/);
    expect(sentToJules(s)).toBe(0);

    const asked = await s.click(MEMBERS.lead, fix, red.id);
    expect(asked.body.data.content).toMatch(/asked Jules to fix the failing checks of PR #\d+ \(attempt 1 of 2\): `test`/);
    expect(sentToJules(s)).toBe(1);
    await eventually(() => s.discord.channelMessages(thread).find((m) => m.content?.includes('What was sent')), 'what was sent, in the thread');
    // The same failure is never sent twice: refused at this head, or (once Jules pushed) nothing fails at the new one.
    const twice = await s.click(MEMBERS.lead, fix, red.id);
    expect(twice.body.data.content).toMatch(headOf(s, number) === headSha ? /already sent these failing checks at this commit|being sent right now/ : /No check of this pull request is failing|already sent/);
    expect(sentToJules(s)).toBe(1);
  });
});

describe('the task card', () => {
  it('mirrors the pull request’s state under its link', async () => {
    const { s, taskId, headSha, prMessage, number } = await taskWithPullRequest();
    await prMessage(/runs no checks/);
    const cardOf = async () => {
      const row = (await s.store.getTask(taskId))!;
      return s.discord.channelMessages(GUILD.channelId).find((m) => m.id === row.cardMessageId);
    };
    const field = (m: Awaited<ReturnType<typeof cardOf>>) => m?.embeds?.[0]?.fields?.find((f) => f.name === 'Pull request')?.value ?? '';
    await eventually(async () => (field(await cardOf()).includes('no checks to wait for') ? true : undefined), 'the card saying no checks');
    s.github!.addCheckRun({ repo: REPO, sha: headSha, name: 'lint', conclusion: 'failure' });
    await eventually(async () => (field(await cardOf()).includes('`lint` failed') ? true : undefined), 'the card saying lint failed');
    s.github!.closePullRequest({ repo: REPO, number });
    await eventually(async () => (field(await cardOf()).includes('closed without merging') ? true : undefined), 'the card saying closed');
  });
});
