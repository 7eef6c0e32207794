import { generateKeyPairSync, sign as signWithKey } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isMappedGitHubEvent, mapGitHubEvent } from '../src/github/webhook-events';
import { verifyGitHubSignature } from '../src/github/webhook-signature';
import { startGitHubEmulator, type GitHubEmulator, type GitHubEmulatorOptions } from '../src/sandbox/github-emulator';

const TOKEN = 'ghp_emulatortoken0123456789';
const SECRET = 'webhook-secret-for-tests';
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** An HTTP endpoint on loopback that records raw deliveries and answers `status`. */
async function startReceiver(status = 200): Promise<{ url: string; received: Received[]; answer(status: number): void }> {
  const received: Received[] = [];
  let answer = status;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook/github`, received, answer: (next) => (answer = next) };
}

async function start(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
  const github = await startGitHubEmulator({ tokens: { [TOKEN]: {} }, ...options });
  closers.push(() => github.close());
  return github;
}

async function call(github: GitHubEmulator, method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const response = await fetch(`${github.url}${path}`, {
    method,
    headers: { accept: 'application/vnd.github+json', ...(token ? { authorization: `token ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

const eventsOf = (received: readonly Received[]) =>
  received.map(({ headers, body }) => `${String(headers['x-github-event'])}.${String(JSON.parse(body.toString()).action ?? '')}`);

describe('the GitHub emulator sending webhooks', () => {
  it('signs each delivery over its raw bytes with the headers GitHub sends', async () => {
    const receiver = await startReceiver();
    const github = await start({ webhook: { url: receiver.url, secret: SECRET } });
    const { number, htmlUrl } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix-login-123', title: 'Fix login', body: 'Fixes #1' });
    expect(htmlUrl).toBe(`https://github.com/acme/widgets/pull/${number}`);
    await github.flushDeliveries();

    expect(receiver.received).toHaveLength(1);
    const [{ headers, body }] = receiver.received as [Received];
    expect(headers['x-github-event']).toBe('pull_request');
    expect(headers['x-github-delivery']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(headers['x-github-hook-id']).toBe('424242');
    expect(headers['user-agent']).toMatch(/^GitHub-Hookshot\/[0-9a-f]+$/);
    expect(headers['content-type']).toBe('application/json');
    // the route's own verifier accepts it, under the hook's secret only
    expect(await verifyGitHubSignature([SECRET], body, headers['x-hub-signature-256'] as string)).toBe(true);
    expect(await verifyGitHubSignature(['another-secret'], body, headers['x-hub-signature-256'] as string)).toBe(false);
    const payload = JSON.parse(body.toString());
    expect(payload).toMatchObject({
      action: 'opened',
      number,
      pull_request: { number, state: 'open', merged: false, body: 'Fixes #1', head: { ref: 'fix-login-123' }, base: { ref: 'main' } },
      repository: { full_name: 'acme/widgets', default_branch: 'main' },
      sender: { login: 'google-labs-jules[bot]', type: 'Bot' },
    });
    expect(github.deliveries).toMatchObject([{ id: headers['x-github-delivery'], event: 'pull_request', action: 'opened', status: 200, redelivery: false }]);
  });

  it('follows a pull request from opened to synchronize to merged, and another to closed unmerged', async () => {
    const receiver = await startReceiver();
    const github = await start({ webhook: { url: receiver.url, secret: SECRET, events: ['pull_request'] } });
    const first = github.openPullRequest({ repo: 'acme/widgets', headRef: 'one', title: 'one' });
    const newHead = github.pushCommit({ repo: 'acme/widgets', branch: 'one' });
    const merged = await call(github, 'PUT', `/repos/acme/widgets/pulls/${first.number}/merge`, { sha: newHead, merge_method: 'squash' });
    expect(merged).toMatchObject({ status: 200, body: { merged: true, message: 'Pull Request successfully merged' } });
    const second = github.openPullRequest({ repo: 'acme/widgets', headRef: 'two', title: 'two' });
    github.closePullRequest({ repo: 'acme/widgets', number: second.number });
    await github.flushDeliveries();

    const payloads = receiver.received.map(({ body }) => JSON.parse(body.toString()));
    expect(payloads.map((p) => `${p.action}#${p.number}`)).toEqual([`opened#1`, `synchronize#1`, `closed#1`, `opened#2`, `closed#2`]);
    expect(payloads[1]).toMatchObject({ before: first.headSha, after: newHead, pull_request: { head: { sha: newHead } } });
    expect(payloads[2].pull_request).toMatchObject({ merged: true, merged_by: { login: 'octocat' }, merge_commit_sha: merged.body.sha });
    expect(payloads[4].pull_request).toMatchObject({ merged: false, merged_by: null, state: 'closed' });
  });

  it('reports check runs, the completed suite, statuses, labels and comments', async () => {
    const receiver = await startReceiver();
    const github = await start({ webhook: { url: receiver.url, secret: SECRET } });
    const issue = github.createIssue({ repo: 'acme/widgets', title: 'bug' });
    github.addLabel({ repo: 'acme/widgets', number: issue.number, label: 'ready' });
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    const test = github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'test' });
    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'lint', conclusion: 'success' });
    github.completeCheckRun({ repo: 'acme/widgets', id: test, conclusion: 'failure', title: '2 failed', summary: 'login.spec.ts' });
    github.setCommitStatus({ repo: 'acme/widgets', sha: headSha, context: 'ci/legacy', state: 'success' });
    expect((await call(github, 'POST', `/repos/acme/widgets/issues/${number}/comments`, { body: 'looks good' })).status).toBe(201);
    await github.flushDeliveries();

    expect(eventsOf(receiver.received)).toEqual([
      'issues.opened',
      'issues.labeled',
      'pull_request.opened',
      'check_run.created',
      'check_run.created',
      'check_run.completed',
      'check_run.completed',
      'check_suite.completed',
      'status.',
      'issue_comment.created',
    ]);
    const payloads = receiver.received.map(({ body }) => JSON.parse(body.toString()));
    expect(payloads[1]).toMatchObject({ label: { name: 'ready' }, issue: { number: issue.number, labels: [{ name: 'ready' }] } });
    expect(payloads[6].check_run).toMatchObject({ name: 'test', conclusion: 'failure', output: { title: '2 failed', summary: 'login.spec.ts' }, pull_requests: [{ number }] });
    expect(payloads[7].check_suite).toMatchObject({ head_sha: headSha, head_branch: 'fix', status: 'completed', conclusion: 'failure', latest_check_runs_count: 2 });
    expect(payloads[8]).toMatchObject({ sha: headSha, context: 'ci/legacy', state: 'success', branches: [{ name: 'fix' }] });
    // a comment on a pull request's conversation: the "issue" carries a pull_request key
    expect(payloads[9]).toMatchObject({ comment: { body: 'looks good', user: { login: 'octocat' } }, issue: { number, pull_request: { html_url: expect.any(String) } } });
  });

  it('announces an issue labelled, unlabelled, closed and deleted once per change, through REST and by hand', async () => {
    const receiver = await startReceiver();
    const github = await start({ webhook: { url: receiver.url, secret: SECRET, events: ['issues', 'pull_request'] } });
    const { number } = github.createIssue({ repo: 'acme/widgets', title: 'bug' });
    expect((await call(github, 'POST', `/repos/acme/widgets/issues/${number}/labels`, { labels: ['ready', 'bug'] })).body).toEqual([{ name: 'ready' }, { name: 'bug' }]);
    // already there, in any case: nothing changes, nothing is sent
    expect((await call(github, 'POST', `/repos/acme/widgets/issues/${number}/labels`, ['Ready'])).status).toBe(200);
    github.addLabel({ repo: 'acme/widgets', number, label: 'ready' });
    expect((await call(github, 'DELETE', `/repos/acme/widgets/issues/${number}/labels/ready`)).body).toEqual([{ name: 'bug' }]);
    expect(await call(github, 'DELETE', `/repos/acme/widgets/issues/${number}/labels/ready`)).toMatchObject({ status: 404, body: { message: 'Label does not exist' } });
    github.removeLabel({ repo: 'acme/widgets', number, label: 'ready' });
    github.removeLabel({ repo: 'acme/widgets', number, label: 'bug' });
    github.closeIssue({ repo: 'acme/widgets', number });
    github.closeIssue({ repo: 'acme/widgets', number });
    const pull = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    await call(github, 'POST', `/repos/acme/widgets/issues/${pull.number}/labels`, { labels: [{ name: 'ready' }] });
    const spam = github.createIssue({ repo: 'acme/widgets', title: 'spam' });
    github.deleteIssue({ repo: 'acme/widgets', number: spam.number });
    await github.flushDeliveries();

    expect(eventsOf(receiver.received)).toEqual([
      'issues.opened',
      'issues.labeled',
      'issues.labeled',
      'issues.unlabeled',
      'issues.unlabeled',
      'issues.closed',
      'pull_request.opened',
      'pull_request.labeled',
      'issues.opened',
      'issues.deleted',
    ]);
    const mapped = receiver.received.map(({ headers, body }) => {
      const name = String(headers['x-github-event']);
      return isMappedGitHubEvent(name) ? mapGitHubEvent(name, JSON.parse(body.toString())) : undefined;
    });
    expect(mapped.slice(1, 6)).toMatchObject([
      { ok: true, event: { kind: 'issues', action: 'labeled', number, label: 'ready', labels: ['ready'], sender: 'octocat' } },
      { ok: true, event: { kind: 'issues', action: 'labeled', label: 'bug', labels: ['ready', 'bug'] } },
      { ok: true, event: { kind: 'issues', action: 'unlabeled', label: 'ready', labels: ['bug'], sender: 'octocat' } },
      { ok: true, event: { kind: 'issues', action: 'unlabeled', label: 'bug', labels: [], sender: 'acme' } },
      { ok: true, event: { kind: 'issues', action: 'closed', number, state: 'closed' } },
    ]);
    expect(JSON.parse(receiver.received[7]!.body.toString())).toMatchObject({ action: 'labeled', label: { name: 'ready' }, pull_request: { number: pull.number } });
  });

  it('sends only payloads the /webhook/github mapper can read', async () => {
    const receiver = await startReceiver();
    const github = await start({ webhook: { url: receiver.url, secret: SECRET } });
    const issue = github.createIssue({ repo: 'acme/widgets', title: 'bug' });
    github.addLabel({ repo: 'acme/widgets', number: issue.number, label: 'ready' });
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'test', conclusion: 'success' });
    github.setCommitStatus({ repo: 'acme/widgets', sha: headSha, context: 'ci', state: 'success' });
    await call(github, 'POST', `/repos/acme/widgets/issues/${number}/comments`, { body: 'ok' });
    await call(github, 'PUT', `/repos/acme/widgets/pulls/${number}/merge`, { sha: headSha });
    await github.flushDeliveries();

    const mapped = receiver.received.map(({ headers, body }) => {
      const name = String(headers['x-github-event']);
      expect(isMappedGitHubEvent(name)).toBe(true);
      return isMappedGitHubEvent(name) ? mapGitHubEvent(name, JSON.parse(body.toString())) : undefined;
    });
    expect(mapped.filter((result) => !result?.ok)).toEqual([]);
    expect(mapped.map((result) => (result?.ok ? result.event.kind : ''))).toEqual(
      expect.arrayContaining(['issues', 'pull_request', 'check_run', 'check_suite', 'status', 'issue_comment']),
    );
    expect(mapped.at(-1)).toMatchObject({ ok: true, event: { kind: 'pull_request', number, merged: true, mergedBy: 'octocat' } });
  });

  it('never retries a failed delivery, and redelivers the same bytes under the same id', async () => {
    const receiver = await startReceiver(500);
    const github = await start({ webhook: { url: receiver.url, secret: SECRET } });
    github.createIssue({ repo: 'acme/widgets', title: 'bug' });
    await github.flushDeliveries();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received).toHaveLength(1);
    expect(github.deliveries).toMatchObject([{ status: 500, redelivery: false }]);

    receiver.answer(202);
    const original = github.deliveries[0]!;
    const again = await github.redeliver(original.id);
    expect(again).toMatchObject({ id: original.id, status: 202, redelivery: true });
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.body.equals(receiver.received[0]!.body)).toBe(true);
    expect(receiver.received[1]!.headers['x-github-delivery']).toBe(original.id);
    expect(receiver.received[1]!.headers['x-hub-signature-256']).toBe(receiver.received[0]!.headers['x-hub-signature-256']);
    await expect(github.redeliver('no-such-delivery')).rejects.toThrow('no delivery no-such-delivery');
  });

  it('records a delivery nobody answered', async () => {
    const receiver = await startReceiver();
    const github = await start({ webhook: { url: receiver.url.replace(/:\d+\//, ':1/') } });
    github.createIssue({ repo: 'acme/widgets', title: 'bug' });
    await github.flushDeliveries();
    expect(github.deliveries).toHaveLength(1);
    expect(github.deliveries[0]!.status).toBeUndefined();
    expect(github.deliveries[0]!.error).toBeTruthy();
    expect(github.deliveries[0]!.headers['x-hub-signature-256']).toBeUndefined();
  });
});

describe('the GitHub emulator speaking REST', () => {
  it('lists pull requests among issues with a pull_request key, as GitHub does', async () => {
    const github = await start();
    github.createIssue({ repo: 'acme/widgets', title: 'bug', labels: ['ready'] });
    const pull = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    github.addLabel({ repo: 'acme/widgets', number: pull.number, label: 'ready' });
    const { body } = await call(github, 'GET', '/repos/acme/widgets/issues?labels=ready');
    expect(body.map((item: any) => [item.number, 'pull_request' in item])).toEqual([
      [pull.number, true],
      [1, false],
    ]);
  });

  it('lists issues by state, every label given, and the order asked for', async () => {
    const github = await start();
    const one = github.createIssue({ repo: 'acme/widgets', title: 'one', labels: ['ready', 'bug'] });
    const two = github.createIssue({ repo: 'acme/widgets', title: 'two', labels: ['Ready'] });
    const three = github.createIssue({ repo: 'acme/widgets', title: 'three', labels: ['ready', 'bug'] });
    const pull = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    github.addLabel({ repo: 'acme/widgets', number: pull.number, label: 'ready' });
    github.closeIssue({ repo: 'acme/widgets', number: three.number });
    await call(github, 'POST', `/repos/acme/widgets/issues/${two.number}/comments`, { body: 'first' });
    await call(github, 'POST', `/repos/acme/widgets/issues/${two.number}/comments`, { body: 'second' });
    await call(github, 'POST', `/repos/acme/widgets/issues/${one.number}/comments`, { body: 'only' });
    const numbers = async (query: string) => (await call(github, 'GET', `/repos/acme/widgets/issues?${query}`)).body.map((item: any) => item.number);

    expect(await numbers('labels=ready')).toEqual([pull.number, two.number, one.number]);
    expect(await numbers('labels=ready&sort=created&direction=asc')).toEqual([one.number, two.number, pull.number]);
    expect(await numbers('labels=ready,bug&state=all&direction=asc')).toEqual([one.number, three.number]);
    expect(await numbers('state=closed')).toEqual([three.number]);
    expect(await numbers('sort=comments')).toEqual([two.number, one.number, pull.number]);
    expect(await call(github, 'GET', '/repos/acme/widgets/issues?sort=popularity')).toMatchObject({ status: 422, body: { message: 'Validation Failed' } });
  });

  it('reads one issue, a pull request in its issue form, and answers 404 and 410 for none and a deleted one', async () => {
    const github = await start();
    const issue = github.createIssue({ repo: 'acme/widgets', title: 'bug', body: 'it breaks', labels: ['ready'] });
    const pull = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    const read = await call(github, 'GET', `/repos/acme/widgets/issues/${issue.number}`);
    expect(read).toMatchObject({ status: 200, body: { number: issue.number, title: 'bug', body: 'it breaks', state: 'open', labels: [{ name: 'ready' }], html_url: issue.htmlUrl } });
    expect('pull_request' in read.body).toBe(false);
    expect(read.body).toEqual(github.issue({ repo: 'acme/widgets', number: issue.number }));
    expect((await call(github, 'GET', `/repos/acme/widgets/issues/${pull.number}`)).body).toMatchObject({ number: pull.number, pull_request: { html_url: pull.htmlUrl } });
    expect(await call(github, 'GET', '/repos/acme/widgets/issues/99')).toMatchObject({ status: 404, body: { message: 'Not Found' } });

    github.deleteIssue({ repo: 'acme/widgets', number: issue.number });
    expect(await call(github, 'GET', `/repos/acme/widgets/issues/${issue.number}`)).toMatchObject({ status: 410, body: { message: 'This issue was deleted' } });
    expect((await call(github, 'POST', `/repos/acme/widgets/issues/${issue.number}/comments`, { body: 'hi' })).status).toBe(410);
    expect((await call(github, 'GET', '/repos/acme/widgets/issues?state=all')).body.map((item: any) => item.number)).toEqual([pull.number]);
    // a deleted issue's number is not given again
    expect(github.createIssue({ repo: 'acme/widgets', title: 'next' }).number).toBe(3);
  });

  it('adds and removes labels whatever their names, for callers who may write', async () => {
    const github = await start();
    const { number } = github.createIssue({ repo: 'acme/widgets', title: 'bug' });
    expect((await call(github, 'POST', `/repos/acme/widgets/issues/${number}/labels`, { labels: ['good first issue', 'area/ui'] })).status).toBe(200);
    expect((await call(github, 'DELETE', `/repos/acme/widgets/issues/${number}/labels/${encodeURIComponent('area/ui')}`)).body).toEqual([{ name: 'good first issue' }]);
    expect(github.labels({ repo: 'acme/widgets', number })).toEqual(['good first issue']);
    expect(await call(github, 'POST', `/repos/acme/widgets/issues/${number}/labels`, { labels: 'ready' })).toMatchObject({ status: 422 });
    expect(await call(github, 'POST', `/repos/acme/widgets/issues/${number}/labels`, { labels: ['ready'] }, null)).toMatchObject({ status: 401 });
    expect(await call(github, 'DELETE', `/repos/acme/widgets/issues/${number}/labels/ready`, undefined, null)).toMatchObject({ status: 401 });
    expect(await call(github, 'POST', '/repos/acme/widgets/issues/99/labels', { labels: ['ready'] })).toMatchObject({ status: 404, body: { message: 'Not Found' } });
    expect(github.labels({ repo: 'acme/widgets', number })).toEqual(['good first issue']);
  });

  it('answers 401 to a wrong token and 404 for a repository the token cannot see', async () => {
    const github = await start({ repos: ['acme/widgets', 'acme/secret'], tokens: { [TOKEN]: { repos: ['acme/widgets'] } } });
    expect(await call(github, 'GET', '/repos/acme/widgets/pulls', undefined, 'ghp_wrong')).toMatchObject({ status: 401, body: { message: 'Bad credentials' } });
    expect(await call(github, 'GET', '/repos/acme/secret/pulls')).toMatchObject({ status: 404, body: { message: 'Not Found' } });
    expect((await call(github, 'GET', '/repos/acme/widgets/pulls')).status).toBe(200);
    expect(await call(github, 'POST', '/repos/acme/widgets/issues/1/comments', { body: 'hi' }, null)).toMatchObject({ status: 401, body: { message: 'Requires authentication' } });
  });

  it('guards a merge by the head sha and explains a refusal', async () => {
    const github = await start();
    github.addRuleset({ repo: 'acme/widgets', branch: 'main', contexts: ['test'] });
    const { number, headSha } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    expect(await call(github, 'PUT', `/repos/acme/widgets/pulls/${number}/merge`, { sha: 'a'.repeat(40) })).toMatchObject({
      status: 409,
      body: { message: 'Head branch was modified. Review and try the merge again.' },
    });
    expect(await call(github, 'PUT', `/repos/acme/widgets/pulls/${number}/merge`, { sha: headSha })).toMatchObject({
      status: 405,
      body: { message: 'Required status check "test" is expected.' },
    });
    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'test' });
    expect((await call(github, 'PUT', `/repos/acme/widgets/pulls/${number}/merge`, { sha: headSha })).body.message).toBe('Required status check "test" is in progress.');
    github.allowMergeMethods({ repo: 'acme/widgets', methods: ['squash'] });
    github.setCommitStatus({ repo: 'acme/widgets', sha: headSha, context: 'test', state: 'success' });
    github.addCheckRun({ repo: 'acme/widgets', sha: headSha, name: 'test', conclusion: 'success' });
    expect((await call(github, 'PUT', `/repos/acme/widgets/pulls/${number}/merge`, { sha: headSha, merge_method: 'merge' })).body.message).toBe(
      'Merge commits are not allowed on this repository.',
    );
    expect(github.pullRequest({ repo: 'acme/widgets', number })).toMatchObject({ merged: false, state: 'open' });
    expect((await call(github, 'PUT', `/repos/acme/widgets/pulls/${number}/merge`, { sha: headSha, merge_method: 'squash' })).status).toBe(200);
  });

  it('answers a read of something unchanged with 304 when asked with its ETag, free of the rate limit', async () => {
    const github = await start();
    const { number } = github.openPullRequest({ repo: 'acme/widgets', headRef: 'fix', title: 'fix' });
    const read = (etag?: string) =>
      fetch(`${github.url}/repos/acme/widgets/pulls/${number}`, { headers: { authorization: `token ${TOKEN}`, ...(etag ? { 'if-none-match': etag } : {}) } });

    const first = await read();
    const etag = first.headers.get('etag')!;
    expect(first.status).toBe(200);
    expect(etag).toMatch(/^W\/"[0-9a-f]{64}"$/);
    const unchanged = await read(etag);
    expect(unchanged.status).toBe(304);
    expect(await unchanged.text()).toBe('');
    expect(unchanged.headers.get('x-ratelimit-used')).toBe(first.headers.get('x-ratelimit-used'));

    // A review moves the PR's updated_at, so its ETag changes with it.
    github.review({ repo: 'acme/widgets', number, user: 'alice', state: 'APPROVED' });
    const changed = await read(etag);
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(Number(changed.headers.get('x-ratelimit-used'))).toBe(Number(first.headers.get('x-ratelimit-used')) + 1);
    expect(github.requests.map(({ status, counted }) => `${status} ${counted}`)).toEqual(['200 true', '304 false', '200 true']);
  });

  it('answers a secondary rate limit the way GitHub does, then serves again', async () => {
    const github = await start();
    github.failNext({ kind: 'secondary-rate-limit', retryAfterSeconds: 30 });
    const limited = await call(github, 'GET', '/repos/acme/widgets/pulls');
    expect(limited.status).toBe(403);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(limited.body.message).toMatch(/^You have exceeded a secondary rate limit/);
    expect((await call(github, 'GET', '/repos/acme/widgets/pulls')).status).toBe(200);
  });

  it("accepts only App JWTs signed with the App's key and issues installation tokens", async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const github = await start({ app: { appId: 9, publicKey, installations: { 5: ['acme/widgets'] } } });
    const now = Math.floor(Date.now() / 1000);
    const jwt = (key: typeof privateKey, claims: object) => {
      const unsigned = [{ alg: 'RS256', typ: 'JWT' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.');
      return `${unsigned}.${signWithKey('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
    };
    const valid = { iat: now - 60, exp: now + 540, iss: 9 };
    const bearer = async (token: string, method: string, path: string) =>
      (await fetch(`${github.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } })).status;

    expect(await bearer(jwt(forger, valid), 'GET', '/repos/acme/widgets/installation')).toBe(401);
    expect(await bearer(jwt(privateKey, { ...valid, exp: now - 1 }), 'GET', '/repos/acme/widgets/installation')).toBe(401);
    expect(await bearer(jwt(privateKey, { ...valid, iss: 10 }), 'GET', '/repos/acme/widgets/installation')).toBe(401);
    const installation = await fetch(`${github.url}/repos/acme/widgets/installation`, { headers: { authorization: `Bearer ${jwt(privateKey, valid)}` } });
    expect(await installation.json()).toMatchObject({ id: 5, app_id: 9 });
    const minted = await fetch(`${github.url}/app/installations/5/access_tokens`, { method: 'POST', headers: { authorization: `Bearer ${jwt(privateKey, valid)}` } });
    const { token } = (await minted.json()) as { token: string };
    expect(token).toMatch(/^ghs_/);
    expect((await call(github, 'GET', '/repos/acme/widgets/pulls', undefined, token)).status).toBe(200);
    expect(await bearer(TOKEN, 'POST', '/app/installations/5/access_tokens')).toBe(401);
  });
});
