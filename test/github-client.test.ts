import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GitHubBadCredentialsError,
  GitHubError,
  GitHubHeadMovedError,
  GitHubNoAccessError,
  GitHubNotMergeableError,
  GitHubRateLimitedError,
  GitHubUnavailableError,
} from '../src/github/errors';
import type { GitHubClient } from '../src/github/github-client';
import { GITHUB_API_VERSION, type OctokitGitHubClientOptions } from '../src/github/octokit';
import { loadConfig } from '../src/config';
import { createOctokitGitHubClient, gitHubClientOptionsOf } from '../src/github/octokit-github-client';
import { startGitHubEmulator, type GitHubEmulator, type GitHubEmulatorOptions } from '../src/sandbox/github-emulator';

const TOKEN = 'ghp_testtoken0123456789abcdef';
const REPO = { owner: 'acme', repo: 'widgets' };
const emulators: GitHubEmulator[] = [];

afterEach(async () => {
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
});

/** Retry waits of a millisecond per second asked, and no write spacing, so tests stay fast. */
const FAST = { retryAfterBaseMs: 1, writeSpacingMs: 0 } as const;

async function setup(
  emulatorOptions: GitHubEmulatorOptions = {},
  clientOptions: Partial<OctokitGitHubClientOptions> = {},
): Promise<{ github: GitHubEmulator; client: GitHubClient }> {
  const github = await startGitHubEmulator({ tokens: { [TOKEN]: {} }, ...emulatorOptions });
  emulators.push(github);
  const client = createOctokitGitHubClient({ baseUrl: github.url, auth: { token: TOKEN }, ...FAST, ...clientOptions });
  return { github, client };
}

async function caught<T extends Error>(promise: Promise<unknown>, type: new (...args: any[]) => T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}

const statusesOf = (github: GitHubEmulator, path: RegExp) => github.requests.filter((request) => path.test(request.path)).map((request) => request.status);

describe('the GitHub client against the emulator', () => {
  it('lists every issue labelled ready across pages, leaving pull requests out', async () => {
    const { github, client } = await setup();
    for (let n = 0; n < 101; n++) github.createIssue({ repo: 'acme/widgets', title: `issue ${n}`, labels: ['ready'] });
    github.createIssue({ repo: 'acme/widgets', title: 'not ready', labels: ['later'] });
    const pull = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix-1', title: 'a PR' });
    github.addLabel({ repo: 'acme/widgets', number: pull.number, label: 'ready' });

    // a live signal rides along on every page
    const issues = await client.issues.listWithLabel(REPO, 'ready', { signal: new AbortController().signal });
    expect(issues).toHaveLength(101);
    expect(issues.map((issue) => issue.number)).not.toContain(pull.number);
    expect(issues.every((issue) => issue.labels.includes('ready') && issue.state === 'open')).toBe(true);
    // two pages of 100, followed through the Link header
    expect(statusesOf(github, /\/issues$/)).toEqual([200, 200]);
  });

  it('lists the ready issues oldest first, leaving out closed ones and pull requests', async () => {
    const { github, client } = await setup();
    const first = github.createIssue({ repo: 'acme/widgets', title: 'first', labels: ['ready'] });
    const closed = github.createIssue({ repo: 'acme/widgets', title: 'done already', labels: ['ready'] });
    const pull = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix-1', title: 'a PR' });
    github.addLabel({ repo: 'acme/widgets', number: pull.number, label: 'ready' });
    const last = github.createIssue({ repo: 'acme/widgets', title: 'last', labels: ['bug', 'ready'] });
    github.closeIssue({ repo: 'acme/widgets', number: closed.number });

    const issues = await client.issues.listWithLabel(REPO, 'ready');
    expect(issues.map(({ number, title, labels, pullRequest }) => ({ number, title, labels, pullRequest }))).toEqual([
      { number: first.number, title: 'first', labels: ['ready'], pullRequest: false },
      { number: last.number, title: 'last', labels: ['bug', 'ready'], pullRequest: false },
    ]);
    expect(issues[0]!.createdAt <= issues[1]!.createdAt).toBe(true);
    // GitHub lists newest first unless asked
    const query = new URLSearchParams(github.requests.at(-1)!.query);
    expect({ sort: query.get('sort'), direction: query.get('direction'), state: query.get('state'), labels: query.get('labels') }).toEqual({
      sort: 'created',
      direction: 'asc',
      state: 'open',
      labels: 'ready',
    });
  });

  it('re-reads an issue as it is now, and says when the number is a pull request', async () => {
    const { github, client } = await setup();
    const { number, htmlUrl } = github.createIssue({ repo: 'acme/widgets', title: 'bug', body: 'it breaks', labels: ['ready'] });
    expect(await client.issues.get(REPO, number)).toMatchObject({ number, title: 'bug', body: 'it breaks', state: 'open', labels: ['ready'], htmlUrl, pullRequest: false });

    github.removeLabel({ repo: 'acme/widgets', number, label: 'ready' });
    github.closeIssue({ repo: 'acme/widgets', number });
    expect(await client.issues.get(REPO, number)).toMatchObject({ number, state: 'closed', labels: [] });

    const pull = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'a PR' });
    expect(await client.issues.get(REPO, pull.number)).toMatchObject({ number: pull.number, pullRequest: true, htmlUrl: pull.htmlUrl });
  });

  it('says an issue that is not there is not found, and a deleted one was deleted', async () => {
    const { github, client } = await setup();
    const missing = await caught(client.issues.get(REPO, 42), GitHubNoAccessError);
    expect(missing).toMatchObject({ status: 404, code: 'NO_ACCESS', repo: 'acme/widgets', retryable: false });
    expect(missing.message).toContain('to read issue #42 in acme/widgets: either it does not exist or the credentials cannot see it');

    const { number } = github.createIssue({ repo: 'acme/widgets', title: 'spam' });
    github.deleteIssue({ repo: 'acme/widgets', number });
    const deleted = await caught(client.issues.get(REPO, number), GitHubNoAccessError);
    expect(deleted).toMatchObject({ status: 410, code: 'NO_ACCESS', retryable: false });
    expect(deleted.message).toBe(`Issue #${number} in acme/widgets was deleted on GitHub (410: This issue was deleted), so there is nothing left to act on.`);
    await caught(client.issues.addLabels(REPO, number, ['ready']), GitHubNoAccessError);
  });

  it('moves a label, and doing it again changes nothing', async () => {
    const { github, client } = await setup();
    const { number } = github.createIssue({ repo: 'acme/widgets', title: 'bug', labels: ['ready', 'area/ui'] });

    expect(await client.issues.addLabels(REPO, number, ['jules-in-progress'])).toEqual(['ready', 'area/ui', 'jules-in-progress']);
    await client.issues.removeLabel(REPO, number, 'ready');
    // a retried activity repeats both calls
    expect(await client.issues.addLabels(REPO, number, ['jules-in-progress'])).toEqual(['area/ui', 'jules-in-progress']);
    await expect(client.issues.removeLabel(REPO, number, 'ready')).resolves.toBeUndefined();
    expect(github.labels({ repo: 'acme/widgets', number })).toEqual(['area/ui', 'jules-in-progress']);
    expect(statusesOf(github, /\/labels\/ready$/)).toEqual([200, 404]);

    // names with spaces and slashes survive the path
    await client.issues.addLabels(REPO, number, ['good first issue']);
    await client.issues.removeLabel(REPO, number, 'area/ui');
    await client.issues.removeLabel(REPO, number, 'good first issue');
    expect(github.labels({ repo: 'acme/widgets', number })).toEqual(['jules-in-progress']);
  });

  it('still fails to remove a label from an issue that is not there', async () => {
    const { client } = await setup();
    const error = await caught(client.issues.removeLabel(REPO, 42, 'ready'), GitHubNoAccessError);
    expect(error).toMatchObject({ status: 404, githubMessage: 'Not Found' });
    expect(error.message).toContain('remove the label "ready" from #42 in acme/widgets');
  });

  it('retries a GitHub 5xx on the issue endpoints and then succeeds', async () => {
    const { github, client } = await setup();
    const { number } = github.createIssue({ repo: 'acme/widgets', title: 'bug', labels: ['ready'] });
    github.failNext({ kind: 'server-error', status: 502, times: 2, match: { method: 'GET', path: /\/issues\/\d+$/ } });
    await expect(client.issues.get(REPO, number)).resolves.toMatchObject({ number });
    github.failNext({ kind: 'server-error', status: 503, match: { method: 'POST', path: /\/labels$/ } });
    await client.issues.addLabels(REPO, number, ['jules-in-progress']);
    github.failNext({ kind: 'server-error', status: 500, match: { method: 'DELETE' } });
    await client.issues.removeLabel(REPO, number, 'ready');

    expect(statusesOf(github, /\/issues\/\d+$/)).toEqual([502, 502, 200]);
    expect(github.requests.filter((request) => request.path.includes('/labels')).map(({ method, status }) => `${method} ${status}`)).toEqual([
      'POST 503',
      'POST 200',
      'DELETE 500',
      'DELETE 200',
    ]);
    expect(github.labels({ repo: 'acme/widgets', number })).toEqual(['jules-in-progress']);
  });

  it('comments on an issue', async () => {
    const { github, client } = await setup();
    const issue = github.createIssue({ repo: 'acme/widgets', title: 'bug' });
    const comment = await client.issues.createComment(REPO, issue.number, 'Jules is on it');
    expect(comment.body).toBe('Jules is on it');
    expect(comment.htmlUrl).toMatch(/^https:\/\/github\.com\/acme\/widgets\/issues\/1#issuecomment-\d+$/);
    expect(github.comments({ repo: 'acme/widgets', number: issue.number })).toEqual([{ body: 'Jules is on it', user: 'octocat' }]);
  });

  it("reads an issue's comments, oldest first, across pages", async () => {
    const { github, client } = await setup();
    const issue = github.createIssue({ repo: 'acme/widgets', title: 'chatty' });
    const bodies = Array.from({ length: 105 }, (_, i) => `comment ${i + 1}`);
    for (const body of bodies) await client.issues.createComment(REPO, issue.number, body);

    const comments = await client.issues.listComments(REPO, issue.number);
    expect(comments.map((comment) => comment.body)).toEqual(bodies);
    expect(github.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/comments')).map((r) => r.query)).toEqual(['per_page=100', 'per_page=100&page=2']);
  });

  it('reads a pull request and finds it by its head branch', async () => {
    const { github, client } = await setup();
    github.openPullRequest({ repo: 'acme/widgets', headRef: 'other', title: 'other' });
    const opened = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix-login-123', title: 'Fix login', body: 'Fixes #1' });

    const pull = await client.pulls.get(REPO, opened.number);
    expect(pull).toMatchObject({ number: opened.number, title: 'Fix login', body: 'Fixes #1', state: 'open', merged: false, head: { ref: 'fix-login-123', sha: opened.headSha }, base: { ref: 'main' } });
    expect(pull.htmlUrl).toBe(opened.htmlUrl);
    const listed = await client.pulls.list(REPO, { head: 'acme:fix-login-123' });
    expect(listed.map((p) => p.number)).toEqual([opened.number]);
  });

  it('reads the latest check run of each name and the combined status of a sha', async () => {
    const { github, client } = await setup();
    const { headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    expect(await client.checks.combinedStatus(REPO, headSha)).toEqual({ state: 'pending', totalCount: 0, statuses: [] });

    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'test', conclusion: 'failure' });
    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'test', conclusion: 'success' });
    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'lint' });
    github.setCommitStatus({ repo: 'acme/widgets', sha: headSha, context: 'ci/legacy', state: 'failure', description: 'boom' });

    const runs = await client.checks.listForRef(REPO, headSha);
    expect(runs.map(({ name, status, conclusion }) => ({ name, status, conclusion })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'lint', status: 'in_progress', conclusion: null },
      { name: 'test', status: 'completed', conclusion: 'success' },
    ]);
    expect(await client.checks.combinedStatus(REPO, headSha)).toEqual({
      state: 'failure',
      totalCount: 1,
      statuses: [{ context: 'ci/legacy', state: 'failure', description: 'boom', targetUrl: null }],
    });
  });

  it('reads something unchanged again with its ETag: GitHub answers 304, which costs no rate limit, and the answer is the same', async () => {
    const { github, client } = await setup();
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    // More than a page of check runs: every page is asked again with its own ETag.
    for (let n = 0; n < 101; n++) github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: `check-${n}`, conclusion: 'success' });

    const first = { pull: await client.pulls.get(REPO, number), runs: await client.checks.listForRef(REPO, headSha) };
    const again = { pull: await client.pulls.get(REPO, number), runs: await client.checks.listForRef(REPO, headSha) };
    expect(again).toEqual(first);
    expect(again.runs).toHaveLength(101);
    expect(github.requests.map(({ path, status, counted }) => `${path.split('/').at(-1)} ${status} ${counted}`)).toEqual([
      `${number} 200 true`,
      'check-runs 200 true',
      'check-runs 200 true',
      `${number} 304 false`,
      'check-runs 304 false',
      'check-runs 304 false',
    ]);

    // What changed is read in full again.
    const moved = github.pushCommit({ repo: 'acme/widgets', branch: 'fix' });
    expect((await client.pulls.get(REPO, number)).head.sha).toBe(moved);
    expect(github.requests.at(-1)).toMatchObject({ status: 200, counted: true });
  });

  it('joins the required checks of branch protection and rulesets', async () => {
    const { github, client } = await setup();
    expect(await client.checks.requiredForBranch(REPO, 'main')).toEqual({ contexts: [], strict: false, branchProtection: 'none', rulesets: 'none' });
    github.protectBranch({ repo: 'acme/widgets', branch: 'main', contexts: ['test', 'lint'] });
    github.addRuleset({ repo: 'acme/widgets', branch: 'main', contexts: ['lint', 'security'], strict: true });
    expect(await client.checks.requiredForBranch(REPO, 'main')).toEqual({
      contexts: ['test', 'lint', 'security'],
      strict: true,
      branchProtection: 'read',
      rulesets: 'read',
    });
  });

  it('calls branch protection unknown when the token may not read it, and still reads rulesets', async () => {
    const { github, client } = await setup({ tokens: { [TOKEN]: { admin: false } } });
    github.protectBranch({ repo: 'acme/widgets', branch: 'main', contexts: ['test'] });
    github.addRuleset({ repo: 'acme/widgets', branch: 'main', contexts: ['lint'] });
    expect(await client.checks.requiredForBranch(REPO, 'main')).toEqual({ contexts: ['lint'], strict: false, branchProtection: 'unknown', rulesets: 'read' });
  });

  it('merges a pull request at the head it was judged on, with the method asked for', async () => {
    const { github, client } = await setup();
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    const result = await client.pulls.merge({ ...REPO, pullNumber: number, sha: headSha, mergeMethod: 'squash' });
    expect(result).toMatchObject({ merged: true, message: 'Pull Request successfully merged' });
    expect(github.pullRequest({ repo: 'acme/widgets', number })).toMatchObject({ merged: true, state: 'closed', merge_commit_sha: result.sha, merged_by: { login: 'octocat' } });
    const merge = github.requests.find((request) => request.path.endsWith('/merge'))!;
    expect(merge.status).toBe(200);
  });

  it('sends a merge ahead of the label moves and comments already waiting for their turn to write', async () => {
    const { github, client } = await setup({}, { writeSpacingMs: 50 });
    const issue = github.createIssue({ repo: 'acme/widgets', title: 'one', labels: ['ready'] });
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    const comments = Array.from({ length: 5 }, (_, i) => client.issues.createComment(REPO, issue.number, `comment ${i}`));
    const merged = client.pulls.merge({ ...REPO, pullNumber: number, sha: headSha, mergeMethod: 'squash' });
    await Promise.all([...comments, merged]);
    const writes = github.requests.filter((request) => request.method !== 'GET').map((request) => (request.path.endsWith('/merge') ? 'merge' : 'comment'));
    // Without the queue the merge would go sixth: now at most the comment already on its way goes before it.
    expect(writes).toHaveLength(6);
    expect(writes.indexOf('merge')).toBeLessThanOrEqual(1);
  });

  it('refuses to merge when the head moved, says so, and merges nothing', async () => {
    const { github, client } = await setup();
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    github.pushCommit({ repo: 'acme/widgets', branch: 'fix' });

    const error = await caught(client.pulls.merge({ ...REPO, pullNumber: number, sha: headSha, mergeMethod: 'squash' }), GitHubHeadMovedError);
    expect(error).toMatchObject({ status: 409, code: 'HEAD_MOVED', retryable: false });
    expect(error.message).toContain('new commits arrived');
    expect(error.message).toContain('Head branch was modified');
    expect(github.pullRequest({ repo: 'acme/widgets', number })).toMatchObject({ merged: false, state: 'open' });
    // a 409 is an answer, not a fault: it is not retried
    expect(statusesOf(github, /\/merge$/)).toEqual([409]);
  });

  it("gives GitHub's own reason when a pull request cannot be merged", async () => {
    const { github, client } = await setup();
    github.protectBranch({ repo: 'acme/widgets', branch: 'main', contexts: ['test'], requiredApprovals: 1 });
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'test', conclusion: 'failure' });

    const failing = await caught(client.pulls.merge({ ...REPO, pullNumber: number, sha: headSha, mergeMethod: 'merge' }), GitHubNotMergeableError);
    expect(failing).toMatchObject({ status: 405, code: 'NOT_MERGEABLE', reason: 'Required status check "test" is failing.' });
    expect(failing.message).toContain('Required status check "test" is failing.');

    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'test', conclusion: 'success' });
    const unreviewed = await caught(client.pulls.merge({ ...REPO, pullNumber: number, sha: headSha, mergeMethod: 'merge' }), GitHubNotMergeableError);
    expect(unreviewed.reason).toBe('At least 1 approving review is required by reviewers with write access.');

    github.review({ repo: 'acme/widgets', number, user: 'reviewer', state: 'APPROVED' });
    await expect(client.pulls.merge({ ...REPO, pullNumber: number, sha: headSha, mergeMethod: 'merge' })).resolves.toMatchObject({ merged: true });
  });

  it('updates a branch behind its base, guarded by the expected head', async () => {
    const { github, client } = await setup();
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    github.pushCommit({ repo: 'acme/widgets', branch: 'main' });

    await caught(client.pulls.updateBranch(REPO, number, 'f'.repeat(40)), GitHubHeadMovedError);
    await client.pulls.updateBranch(REPO, number, headSha);
    const updated = await client.pulls.get(REPO, number);
    expect(updated.head.sha).not.toBe(headSha);
  });

  it('retries a GitHub 5xx and then succeeds', async () => {
    const { github, client } = await setup();
    github.failNext({ kind: 'server-error', status: 502, times: 2 });
    const { number } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    await expect(client.pulls.get(REPO, number)).resolves.toMatchObject({ number });
    expect(statusesOf(github, /\/pulls\/\d+$/)).toEqual([502, 502, 200]);
  });

  it('gives up after the bounded 5xx retries with a retryable error', async () => {
    const { github, client } = await setup({}, { serverErrorRetries: 2 });
    github.failNext({ kind: 'server-error', status: 503, times: 10 });
    const error = await caught(client.pulls.get(REPO, 1), GitHubUnavailableError);
    expect(error).toMatchObject({ status: 503, code: 'SERVER_ERROR', retryable: true });
    expect(statusesOf(github, /\/pulls\/1$/)).toEqual([503, 503, 503]);
  });

  it('waits out a secondary rate limit and succeeds', async () => {
    const { github, client } = await setup();
    const { number } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    github.failNext({ kind: 'secondary-rate-limit', retryAfterSeconds: 2 });
    await expect(client.pulls.get(REPO, number)).resolves.toMatchObject({ number });
    expect(statusesOf(github, /\/pulls\/\d+$/)).toEqual([403, 200]);
  });

  it('waits out a primary rate limit until its reset and succeeds', async () => {
    const { github, client } = await setup();
    github.failNext({ kind: 'primary-rate-limit', retryAfterSeconds: 1 });
    await expect(client.checks.combinedStatus(REPO, 'main')).resolves.toMatchObject({ totalCount: 0 });
    expect(statusesOf(github, /\/status$/)).toEqual([403, 200]);
  });

  it('fails at once, retryable, when a rate limit asks for a longer wait than allowed', async () => {
    const { github, client } = await setup({}, { maxRateLimitWaitSeconds: 30 });
    github.failNext({ kind: 'secondary-rate-limit', retryAfterSeconds: 600 });
    const error = await caught(client.pulls.list(REPO), GitHubRateLimitedError);
    expect(error).toMatchObject({ status: 403, code: 'RATE_LIMITED', limit: 'secondary', retryAfterSeconds: 600, retryable: true });
    expect(error.message).toContain('Try again in 600 s');
    expect(statusesOf(github, /\/pulls$/)).toEqual([403]);
  });

  it('says a wrong token is bad credentials, in words that say what to fix, without the token', async () => {
    const { client } = await setup({ tokens: { 'ghp_the_right_one': {} } });
    const error = await caught(client.pulls.list(REPO), GitHubBadCredentialsError);
    expect(error).toMatchObject({ status: 401, code: 'BAD_CREDENTIALS', retryable: false, githubMessage: 'Bad credentials' });
    expect(error.message).toMatch(/GitHub rejected the credentials \(401 Bad credentials\).*GITHUB_TOKEN is wrong, expired or revoked/);
    expect(error.message).not.toContain(TOKEN);
    expect(JSON.stringify(error.cause)).not.toContain(TOKEN);
  });

  it('says the token cannot see a repository it has no access to', async () => {
    const { github, client } = await setup({ repos: ['acme/widgets', 'acme/secret'], tokens: { [TOKEN]: { repos: ['acme/widgets'] } } });
    const error = await caught(client.pulls.list({ owner: 'acme', repo: 'secret' }), GitHubNoAccessError);
    expect(error).toMatchObject({ status: 404, code: 'NO_ACCESS', repo: 'acme/secret', retryable: false });
    expect(error.message).toContain('Give the token access to acme/secret');
    expect(github.requests.at(-1)?.status).toBe(404);
  });

  it('retries an attempt that misses its deadline, then reports GitHub unreachable', async () => {
    const { github, client } = await setup({}, { timeoutMs: 50, serverErrorRetries: 1 });
    github.failNext({ kind: 'server-error', delayMs: 400, times: 2 });
    const error = await caught(client.pulls.list(REPO), GitHubUnavailableError);
    expect(error).toMatchObject({ status: 0, code: 'NETWORK', retryable: true });
    expect(error.message).toMatch(/^Could not reach GitHub to list pull requests in acme\/widgets/);
    // both attempts used up a delayed fault (an abandoned answer is not recorded), so the next call is served at once
    await expect(client.pulls.list(REPO)).resolves.toEqual([]);
    expect(statusesOf(github, /\/pulls$/)).toEqual([200]);
  });

  it('reports GitHub unreachable when nothing listens at GITHUB_API_URL', async () => {
    const { github } = await setup();
    const url = github.url;
    await github.close();
    emulators.length = 0;
    const client = createOctokitGitHubClient({ baseUrl: url, auth: { token: TOKEN }, ...FAST, serverErrorRetries: 1 });
    const error = await caught(client.pulls.get(REPO, 1), GitHubUnavailableError);
    expect(error).toMatchObject({ status: 0, code: 'NETWORK', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('builds its options from GITHUB_TOKEN and GITHUB_API_URL', async () => {
    const { github } = await setup();
    expect(gitHubClientOptionsOf(loadConfig({}).github)).toBeUndefined();
    const options = gitHubClientOptionsOf(loadConfig({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url }).github)!;
    expect(options).toEqual({ baseUrl: github.url, auth: { token: TOKEN } });
    await expect(createOctokitGitHubClient({ ...options, ...FAST }).pulls.list(REPO)).resolves.toEqual([]);
  });

  it('pins the REST API version on every request', async () => {
    const { github, client } = await setup();
    await client.pulls.list(REPO);
    await client.checks.requiredForBranch(REPO, 'main');
    expect(github.requests.length).toBeGreaterThanOrEqual(3);
    expect(new Set(github.requests.map((request) => request.apiVersion))).toEqual(new Set([GITHUB_API_VERSION]));
  });

  it('stops a call when its signal is aborted', async () => {
    const { github, client } = await setup();
    const error = await client.pulls.list(REPO, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('AbortError');
    expect(error).not.toBeInstanceOf(GitHubError);
    expect(github.requests).toHaveLength(0);
  });
});

describe('the GitHub client as a GitHub App', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const APP = { appId: 31337, publicKey, installations: { 77: ['acme/widgets'] } };

  it('finds the installation, mints one token and reuses it for the next calls', async () => {
    const { github, client } = await setup({ app: APP }, { auth: { appId: APP.appId, privateKey: pem } });
    const issue = github.createIssue({ repo: 'acme/widgets', title: 'bug', labels: ['ready'] });

    expect((await client.issues.listWithLabel(REPO, 'ready')).map((i) => i.number)).toEqual([issue.number]);
    await client.issues.createComment(REPO, issue.number, 'on it');

    expect(github.requests.map(({ method, path, auth, status }) => `${method} ${path} ${auth} ${status}`)).toEqual([
      'GET /repos/acme/widgets/installation app 200',
      'POST /app/installations/77/access_tokens app 201',
      'GET /repos/acme/widgets/issues installation 200',
      'POST /repos/acme/widgets/issues/1/comments installation 201',
    ]);
    expect(github.requests.every((request) => request.apiVersion === GITHUB_API_VERSION)).toBe(true);
    expect(github.comments({ repo: 'acme/widgets', number: issue.number })).toEqual([{ body: 'on it', user: 'emulated-app[bot]' }]);
  });

  it('builds its options from GITHUB_APP_ID and the private key', () => {
    const config = loadConfig({ GITHUB_APP_ID: String(APP.appId), GITHUB_APP_PRIVATE_KEY: pem, GITHUB_API_URL: 'https://ghe.example.com/api/v3' });
    expect(gitHubClientOptionsOf(config.github)).toEqual({ baseUrl: 'https://ghe.example.com/api/v3', auth: { appId: String(APP.appId), privateKey: pem.trim() } });
  });

  it('says the App is not installed on a repository it cannot see', async () => {
    const { client } = await setup({ app: APP, repos: ['acme/widgets', 'acme/other'] }, { auth: { appId: APP.appId, privateKey: pem } });
    const error = await caught(client.pulls.list({ owner: 'acme', repo: 'other' }), GitHubNoAccessError);
    expect(error.message).toContain('Install the GitHub App on acme/other');
  });

  it('says the App credentials are wrong when its JWT does not verify', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const { client } = await setup({ app: APP }, { auth: { appId: APP.appId, privateKey: other } });
    const error = await caught(client.pulls.list(REPO), GitHubBadCredentialsError);
    expect(error.message).toContain('Check GITHUB_APP_ID and the App private key');
    expect(error.message).not.toContain('PRIVATE KEY-----');
  });
});
