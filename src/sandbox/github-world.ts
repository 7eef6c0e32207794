/**
 * What happens in the emulated GitHub: repositories, issues, pull requests, checks and statuses change, and
 * every change emits the webhook event GitHub would send. Both the REST routes and the test helpers of
 * github-emulator.ts act through here, so a merge through the API and a push by a helper look alike.
 * @see https://docs.github.com/en/webhooks/webhook-events-and-payloads
 */
import {
  fakeSha,
  type CheckConclusion,
  type CheckRunState,
  type CommitState,
  type IssueState,
  type MergeMethod,
  type Renderer,
  type RepoState,
  type RequiredChecksState,
} from './github-objects';

/** A change GitHub announces: event name and payload (the repository and sender are added). */
export type Emit = (event: string, repo: RepoState, payload: Record<string, unknown>, sender: string) => void;

/** Label names are unique per repository regardless of case on GitHub, so `Ready` and `ready` are one label. */
export function sameLabel(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** A refusal with GitHub's status and words. */
export class GitHubRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** A required context that is not passing, and why. */
interface Blocker {
  readonly context: string;
  readonly reason: 'expected' | 'failing' | 'pending';
}

const PASSING: readonly (string | null)[] = ['success', 'neutral', 'skipped'];
const FAILING: readonly CheckConclusion[] = ['action_required', 'cancelled', 'timed_out', 'failure', 'stale'];

export interface GitHubWorld {
  readonly repos: Map<string, RepoState>;
  repo(fullName: string): RepoState;
  addRepo(input: { owner: string; name: string; defaultBranch?: string; private?: boolean }): RepoState;
  createIssue(repo: RepoState, input: { title: string; body?: string; labels?: readonly string[]; user?: string }): IssueState;
  /** Adds a label unless the issue has it already (names compare case-insensitively, as on GitHub); true when added. */
  addLabel(repo: RepoState, issue: IssueState, label: string, sender: string): boolean;
  /** Removes a label the issue has; false (and nothing sent) when it has not. */
  removeLabel(repo: RepoState, issue: IssueState, label: string, sender: string): boolean;
  /** Closes an issue (a pull request closes as with {@link GitHubWorld.closePull}); a closed one stays as it is. */
  closeIssue(repo: RepoState, issue: IssueState, sender: string): void;
  /** Deletes an issue, as a maintainer can: it answers 410 from then on. */
  deleteIssue(repo: RepoState, issue: IssueState, sender: string): void;
  comment(repo: RepoState, issue: IssueState, body: string, user: string): Record<string, unknown>;
  openPull(repo: RepoState, input: { headRef: string; baseRef?: string; title: string; body?: string; user?: string; draft?: boolean }): IssueState;
  pushToBranch(repo: RepoState, branch: string, sender: string): string;
  closePull(repo: RepoState, issue: IssueState, sender: string): void;
  review(repo: RepoState, issue: IssueState, user: string, state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED'): void;
  addCheckRun(repo: RepoState, input: { sha: string; name: string; app?: string; conclusion?: CheckConclusion; summary?: string }): CheckRunState;
  completeCheckRun(repo: RepoState, id: number, conclusion: CheckConclusion, output?: { title?: string; summary?: string }): void;
  setStatus(repo: RepoState, input: { sha: string; context: string; state: CommitState; description?: string; targetUrl?: string }): void;
  /** The sha a branch name or sha stands for. */
  resolveRef(repo: RepoState, ref: string): string | undefined;
  latestCheckRuns(repo: RepoState, sha: string): CheckRunState[];
  latestStatuses(repo: RepoState, sha: string): ReturnType<Renderer['status']>[];
  requiredFor(repo: RepoState, branch: string): RequiredChecksState[];
  merge(repo: RepoState, issue: IssueState, input: { sha?: string; method: MergeMethod; by: string }): { sha: string };
  updateBranch(repo: RepoState, issue: IssueState, expectedHeadSha: string | undefined, by: string): void;
}

export function createGitHubWorld(render: Renderer, emit: Emit, now: () => string = () => new Date().toISOString()): GitHubWorld {
  const repos = new Map<string, RepoState>();
  let nextId = 1000;
  const id = () => ++nextId;

  const pullPayload = (repo: RepoState, issue: IssueState, action: string, extra: Record<string, unknown> = {}) => ({
    action,
    number: issue.number,
    pull_request: render.pull(repo, issue),
    ...extra,
  });

  /** A label change: `issues` for an issue, `pull_request` for a pull request, each with the label that changed. */
  function emitLabelChange(repo: RepoState, issue: IssueState, action: 'labeled' | 'unlabeled', label: string, sender: string): void {
    if (issue.pull) emit('pull_request', repo, pullPayload(repo, issue, action, { label: { name: label } }), sender);
    else emit('issues', repo, { action, issue: render.issue(repo, issue), label: { name: label } }, sender);
  }

  /** Issues and pull requests share one number space per repository, as on GitHub. */
  function addIssue(repo: RepoState, input: { title: string; body?: string; labels?: readonly string[]; user: string }, pull?: IssueState['pull']): IssueState {
    const at = now();
    const issue: IssueState = {
      number: repo.issues.size + 1,
      title: input.title,
      body: input.body ?? null,
      state: 'open',
      labels: [...(input.labels ?? [])],
      user: input.user,
      comments: [],
      createdAt: at,
      updatedAt: at,
      ...(pull ? { pull } : {}),
    };
    repo.issues.set(issue.number, issue);
    return issue;
  }

  function suiteConclusion(runs: readonly CheckRunState[]): CheckConclusion {
    const failing = FAILING.find((conclusion) => runs.some((run) => run.conclusion === conclusion));
    if (failing) return failing;
    return runs.every((run) => run.conclusion === 'skipped' || run.conclusion === 'neutral') ? (runs[0]?.conclusion ?? 'success') : 'success';
  }

  function completeSuiteIfDone(repo: RepoState, suiteId: number): void {
    const suite = repo.checkSuites.find((candidate) => candidate.id === suiteId)!;
    const runs = repo.checkRuns.filter((run) => run.suiteId === suiteId);
    if (runs.some((run) => run.status !== 'completed')) return;
    suite.status = 'completed';
    suite.conclusion = suiteConclusion(runs);
    emit('check_suite', repo, { action: 'completed', check_suite: render.checkSuite(repo, suite) }, `${suite.app}[bot]`);
  }

  function blockers(repo: RepoState, sha: string, contexts: readonly string[]): Blocker[] {
    const runs = world.latestCheckRuns(repo, sha);
    const statuses = world.latestStatuses(repo, sha);
    return contexts.flatMap((context): Blocker[] => {
      const run = runs.find((candidate) => candidate.name === context);
      const status = statuses.find((candidate) => candidate.context === context);
      if (!run && !status) return [{ context, reason: 'expected' }];
      const states = [...(run ? [run.status === 'completed' ? run.conclusion : 'pending'] : []), ...(status ? [status.state as string] : [])];
      if (states.every((state) => PASSING.includes(state))) return [];
      return [{ context, reason: states.includes('pending') ? 'pending' : 'failing' }];
    });
  }

  const world: GitHubWorld = {
    repos,
    repo(fullName) {
      const repo = repos.get(fullName.toLowerCase());
      if (!repo) throw new Error(`the emulator has no repository ${fullName}`);
      return repo;
    },
    addRepo({ owner, name, defaultBranch = 'main', private: isPrivate = false }) {
      const repo: RepoState = {
        id: id(),
        owner,
        name,
        defaultBranch,
        private: isPrivate,
        branches: new Map([[defaultBranch, fakeSha(owner, name, defaultBranch, 0)]]),
        issues: new Map(),
        checkSuites: [],
        checkRuns: [],
        statuses: [],
        protection: new Map(),
        rulesets: [],
        mergeMethods: new Set(['merge', 'squash', 'rebase']),
      };
      repos.set(`${owner}/${name}`.toLowerCase(), repo);
      return repo;
    },
    createIssue(repo, input) {
      const issue = addIssue(repo, { ...input, user: input.user ?? repo.owner });
      emit('issues', repo, { action: 'opened', issue: render.issue(repo, issue) }, issue.user);
      return issue;
    },
    addLabel(repo, issue, label, sender) {
      // GitHub records (and announces) nothing for a label the issue already has.
      if (issue.labels.some((name) => sameLabel(name, label))) return false;
      issue.labels.push(label);
      issue.updatedAt = now();
      emitLabelChange(repo, issue, 'labeled', label, sender);
      return true;
    },
    removeLabel(repo, issue, label, sender) {
      const at = issue.labels.findIndex((name) => sameLabel(name, label));
      if (at < 0) return false;
      const [removed] = issue.labels.splice(at, 1) as [string];
      issue.updatedAt = now();
      emitLabelChange(repo, issue, 'unlabeled', removed, sender);
      return true;
    },
    closeIssue(repo, issue, sender) {
      if (issue.pull) return world.closePull(repo, issue, sender);
      if (issue.state === 'closed') return;
      issue.state = 'closed';
      issue.closedAt = issue.updatedAt = now();
      emit('issues', repo, { action: 'closed', issue: render.issue(repo, issue) }, sender);
    },
    deleteIssue(repo, issue, sender) {
      if (issue.pull) throw new Error(`#${issue.number} in ${repo.owner}/${repo.name} is a pull request; GitHub deletes only issues`);
      if (issue.deleted) return;
      // the payload shows the issue as it was; from now on the REST routes answer 410
      emit('issues', repo, { action: 'deleted', issue: render.issue(repo, issue) }, sender);
      issue.deleted = true;
    },
    comment(repo, issue, body, user) {
      const comment = { id: id(), body, user, createdAt: now() };
      issue.comments.push(comment);
      const rendered = render.comment(repo, issue, comment);
      emit('issue_comment', repo, { action: 'created', issue: render.issue(repo, issue), comment: rendered }, user);
      return rendered;
    },
    openPull(repo, input) {
      const baseRef = input.baseRef ?? repo.defaultBranch;
      const baseSha = repo.branches.get(baseRef);
      if (!baseSha) throw new Error(`${repo.owner}/${repo.name} has no branch ${baseRef}`);
      const headSha = repo.branches.get(input.headRef) ?? fakeSha(repo.id, input.headRef, 1);
      repo.branches.set(input.headRef, headSha);
      const issue = addIssue(
        repo,
        { ...input, user: input.user ?? 'google-labs-jules[bot]' },
        { headRef: input.headRef, headSha, baseRef, baseSha, draft: input.draft ?? false, merged: false, mergeCommitSha: null, reviews: [] },
      );
      emit('pull_request', repo, pullPayload(repo, issue, 'opened'), issue.user);
      return issue;
    },
    pushToBranch(repo, branch, sender) {
      const before = repo.branches.get(branch);
      const after = fakeSha(repo.id, branch, before ?? '', now(), id());
      repo.branches.set(branch, after);
      for (const issue of repo.issues.values()) {
        if (issue.pull && issue.state === 'open' && issue.pull.headRef === branch) {
          issue.pull.headSha = after;
          issue.updatedAt = now();
          emit('pull_request', repo, pullPayload(repo, issue, 'synchronize', { before, after }), sender);
        }
      }
      return after;
    },
    closePull(repo, issue, sender) {
      issue.state = 'closed';
      issue.closedAt = issue.updatedAt = now();
      emit('pull_request', repo, pullPayload(repo, issue, 'closed'), sender);
    },
    review(repo, issue, user, state) {
      issue.pull!.reviews.push({ user, state });
      // A review is activity on the PR: its updated_at moves, as for a comment or a push [inferred].
      issue.updatedAt = now();
      emit('pull_request_review', repo, { action: 'submitted', review: { user: render.user(user), state: state.toLowerCase() }, pull_request: render.pull(repo, issue) }, user);
    },
    addCheckRun(repo, input) {
      const app = input.app ?? 'github-actions';
      let suite = repo.checkSuites.find((candidate) => candidate.headSha === input.sha && candidate.app === app);
      if (!suite) {
        const headBranch = [...repo.branches].find(([, sha]) => sha === input.sha)?.[0] ?? null;
        suite = { id: id(), headSha: input.sha, headBranch, app, status: 'in_progress', conclusion: null };
        repo.checkSuites.push(suite);
      }
      suite.status = 'in_progress';
      suite.conclusion = null;
      const run: CheckRunState = {
        id: id(),
        name: input.name,
        headSha: input.sha,
        suiteId: suite.id,
        app,
        status: 'in_progress',
        conclusion: null,
        output: { title: null, summary: input.summary ?? null },
        startedAt: now(),
        completedAt: null,
      };
      repo.checkRuns.push(run);
      emit('check_run', repo, { action: 'created', check_run: render.checkRun(repo, run) }, `${app}[bot]`);
      if (input.conclusion) world.completeCheckRun(repo, run.id, input.conclusion);
      return run;
    },
    completeCheckRun(repo, runId, conclusion, output = {}) {
      const run = repo.checkRuns.find((candidate) => candidate.id === runId);
      if (!run) throw new Error(`no check run ${runId} in ${repo.owner}/${repo.name}`);
      run.status = 'completed';
      run.conclusion = conclusion;
      run.completedAt = now();
      run.output = { title: output.title ?? run.output.title, summary: output.summary ?? run.output.summary };
      emit('check_run', repo, { action: 'completed', check_run: render.checkRun(repo, run) }, `${run.app}[bot]`);
      completeSuiteIfDone(repo, run.suiteId);
    },
    setStatus(repo, input) {
      const status = { id: id(), sha: input.sha, context: input.context, state: input.state, description: input.description ?? null, targetUrl: input.targetUrl ?? null, createdAt: now() };
      repo.statuses.push(status);
      emit('status', repo, { ...render.status(repo, status), name: `${repo.owner}/${repo.name}` }, repo.owner);
    },
    resolveRef(repo, ref) {
      return repo.branches.get(ref) ?? (/^[0-9a-f]{40}$/.test(ref) ? ref : undefined);
    },
    latestCheckRuns(repo, sha) {
      const latest = new Map<string, CheckRunState>();
      for (const run of repo.checkRuns) if (run.headSha === sha) latest.set(run.name, run);
      return [...latest.values()];
    },
    latestStatuses(repo, sha) {
      const latest = new Map<string, ReturnType<Renderer['status']>>();
      for (const status of repo.statuses) if (status.sha === sha) latest.set(status.context, render.status(repo, status));
      return [...latest.values()];
    },
    requiredFor(repo, branch) {
      const classic = repo.protection.get(branch);
      return [...(classic ? [classic] : []), ...repo.rulesets.filter((ruleset) => ruleset.branch === branch).map((ruleset) => ruleset.checks)];
    },
    merge(repo, issue, { sha, method, by }) {
      const pull = issue.pull!;
      if (issue.state !== 'open') throw new GitHubRefusal(405, 'Pull Request is not mergeable');
      if (sha !== undefined && sha !== pull.headSha) throw new GitHubRefusal(409, 'Head branch was modified. Review and try the merge again.');
      if (!repo.mergeMethods.has(method)) {
        const kind = { merge: 'Merge commits', squash: 'Squash merges', rebase: 'Rebase merges' }[method];
        throw new GitHubRefusal(405, `${kind} are not allowed on this repository.`);
      }
      const required = world.requiredFor(repo, pull.baseRef);
      const blocked = blockers(repo, pull.headSha, [...new Set(required.flatMap((rule) => rule.contexts))]);
      if (blocked.length > 0) {
        const words = blocked.map((blocker) => `Required status check "${blocker.context}" is ${blocker.reason === 'pending' ? 'in progress' : blocker.reason}.`);
        throw new GitHubRefusal(405, words.length === 1 ? words[0]! : `${blocked.length} of ${required.flatMap((r) => r.contexts).length} required status checks are not passing. ${words.join(' ')}`);
      }
      if (required.some((rule) => rule.strict) && pull.baseSha !== repo.branches.get(pull.baseRef)) {
        throw new GitHubRefusal(405, 'Head branch is out of date. Update the branch and try the merge again.');
      }
      const approvalsNeeded = Math.max(0, ...required.map((rule) => rule.requiredApprovals ?? 0));
      const latestByUser = new Map(pull.reviews.filter((review) => review.state !== 'COMMENTED').map((review) => [review.user, review.state]));
      if (approvalsNeeded > 0 && [...latestByUser.values()].includes('CHANGES_REQUESTED')) {
        throw new GitHubRefusal(405, 'Changes were requested by a reviewer with write access.');
      }
      const approvals = [...latestByUser.values()].filter((state) => state === 'APPROVED').length;
      if (approvals < approvalsNeeded) {
        throw new GitHubRefusal(405, `At least ${approvalsNeeded} approving review${approvalsNeeded === 1 ? ' is' : 's are'} required by reviewers with write access.`);
      }
      const mergeSha = fakeSha(repo.id, 'merge', issue.number, pull.headSha, method);
      repo.branches.set(pull.baseRef, mergeSha);
      Object.assign(pull, { merged: true, mergedBy: by, mergedAt: now(), mergeCommitSha: mergeSha });
      issue.state = 'closed';
      issue.closedAt = issue.updatedAt = now();
      emit('pull_request', repo, pullPayload(repo, issue, 'closed'), by);
      return { sha: mergeSha };
    },
    updateBranch(repo, issue, expectedHeadSha, by) {
      const pull = issue.pull!;
      if (issue.state !== 'open') throw new GitHubRefusal(422, 'Pull request is closed.');
      if (expectedHeadSha !== undefined && expectedHeadSha !== pull.headSha) {
        throw new GitHubRefusal(422, "expected_head_sha does not match the pull request's head sha.");
      }
      const baseHead = repo.branches.get(pull.baseRef)!;
      if (baseHead === pull.baseSha) throw new GitHubRefusal(422, 'There are no new commits on the base branch.');
      pull.baseSha = baseHead;
      world.pushToBranch(repo, pull.headRef, by);
    },
  };
  return world;
}
