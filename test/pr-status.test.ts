import { describe, expect, it } from 'vitest';
import { renderPrStatusMessage } from '../src/discord/pr-status-message';
import type { GitHubCheckRun, GitHubCombinedStatus, GitHubPullRequest, GitHubRequiredChecks } from '../src/github/github-client';
import { isMergeable, judgePullRequest } from '../src/github/pr-status';
import { parsePullRequestUrl } from '../src/shared/pull-request';

/** "Is this PR green?" as reference/github.md §3 states the rule, one row per case. */

const pr = (overrides: Partial<GitHubPullRequest> = {}): GitHubPullRequest => ({
  number: 7,
  title: 't',
  body: null,
  state: 'open',
  draft: false,
  merged: false,
  mergeCommitSha: null,
  mergeable: true,
  head: { ref: 'jules/1', sha: 'abc' },
  base: { ref: 'main', sha: 'def' },
  htmlUrl: 'https://github.com/acme/widgets/pull/7',
  ...overrides,
});
const run = (name: string, status: string, conclusion: string | null): GitHubCheckRun => ({ id: 1, name, status, conclusion });
const noStatuses: GitHubCombinedStatus = { state: 'pending', totalCount: 0, statuses: [] };
const statuses = (...list: [string, 'pending' | 'success' | 'failure' | 'error'][]): GitHubCombinedStatus => ({
  state: 'pending',
  totalCount: list.length,
  statuses: list.map(([context, state]) => ({ context, state, description: null, targetUrl: null })),
});
const required = (contexts: string[] = [], read: 'read' | 'unknown' = 'read'): GitHubRequiredChecks => ({ contexts, strict: false, branchProtection: read, rulesets: 'none' });

describe('judging a pull request', () => {
  const cases: [string, GitHubCheckRun[], GitHubCombinedStatus, GitHubRequiredChecks, string][] = [
    ['no CI at all is "no checks", not pending (GitHub says pending for zero statuses)', [], noStatuses, required(), 'no_checks'],
    ['success, neutral and skipped all pass', [run('a', 'completed', 'success'), run('b', 'completed', 'neutral'), run('c', 'completed', 'skipped')], noStatuses, required(), 'passed'],
    ['a check still running is pending', [run('a', 'completed', 'success'), run('b', 'in_progress', null)], noStatuses, required(), 'pending'],
    ['any failure fails, even with others pending', [run('a', 'completed', 'timed_out'), run('b', 'queued', null)], noStatuses, required(), 'failed'],
    ['a commit status counts like a check', [run('a', 'completed', 'success')], statuses(['ci/legacy', 'error']), required(), 'failed'],
    ['a required check that never ran blocks green', [run('lint', 'completed', 'success')], noStatuses, required(['build']), 'pending'],
    ['a required status that reported passes', [], statuses(['build', 'success']), required(['build']), 'passed'],
  ];
  for (const [name, runs, combined, requiredChecks, verdict] of cases) {
    it(name, () => {
      expect(judgePullRequest(pr(), runs, combined, requiredChecks).verdict).toBe(verdict);
    });
  }

  it('reads merged and closed from the PR, and offers a merge only while open and green', () => {
    expect(judgePullRequest(pr({ state: 'closed', merged: true, mergedBy: 'octocat' }), [], noStatuses, required())).toMatchObject({ state: 'merged', mergedBy: 'octocat' });
    expect(judgePullRequest(pr({ state: 'closed' }), [], noStatuses, required()).state).toBe('closed');
    expect(isMergeable(judgePullRequest(pr(), [], noStatuses, required()))).toBe(true);
    expect(isMergeable(judgePullRequest(pr(), [run('a', 'in_progress', null)], noStatuses, required()))).toBe(false);
    expect(judgePullRequest(pr(), [], noStatuses, required([], 'unknown')).requiredKnown).toBe(false);
  });

  it('counts each reviewer’s latest approving or change-requesting review; comments change neither', () => {
    const reviews = [
      { user: 'alice', state: 'CHANGES_REQUESTED' },
      { user: 'bob', state: 'APPROVED' },
      { user: 'alice', state: 'COMMENTED' },
      { user: 'carol', state: 'APPROVED' },
      { user: 'carol', state: 'CHANGES_REQUESTED' },
    ];
    expect(judgePullRequest(pr(), [], noStatuses, required(), reviews)).toMatchObject({ changesRequestedBy: ['alice', 'carol'], approvedBy: ['bob'] });
    expect(renderPrStatusMessage(judgePullRequest(pr(), [], noStatuses, required(), reviews)).content).toMatch(/\n✋ Changes requested by alice, carol\.$/);
  });

  it('says it in words a person can act on', () => {
    const failing = judgePullRequest(pr(), [{ ...run('lint', 'completed', 'failure'), htmlUrl: 'https://github.com/acme/widgets/runs/1', output: { title: '2 errors', summary: 'unused import' } }], noStatuses, required());
    expect(renderPrStatusMessage(failing).content).toBe(
      '❌ [PR #7](https://github.com/acme/widgets/pull/7): `lint` failed.\n• `lint`: failure (<https://github.com/acme/widgets/runs/1>) — 2 errors: unused import',
    );
    expect(renderPrStatusMessage(judgePullRequest(pr({ state: 'closed', merged: true, mergedBy: 'octocat' }), [], noStatuses, required())).content).toBe('🎉 [PR #7](https://github.com/acme/widgets/pull/7) merged by octocat.');
    expect(renderPrStatusMessage({ unreadable: 'The GitHub token was rejected.', url: 'https://github.com/acme/widgets/pull/7' }).content).toMatch(/cannot read .* The GitHub token was rejected/);
  });

  it('finds the repository and number in a PR link, on github.com or an Enterprise host', () => {
    expect(parsePullRequestUrl('https://github.com/acme/widgets/pull/12')).toEqual({ owner: 'acme', repo: 'widgets', number: 12 });
    expect(parsePullRequestUrl('https://ghe.example.com/acme/widgets/pull/3/files')).toEqual({ owner: 'acme', repo: 'widgets', number: 3 });
    expect(parsePullRequestUrl('https://github.com/acme/widgets/issues/12')).toBeUndefined();
  });
});
