import { ApplicationFailure, Context } from '@temporalio/activity';
import { discordRefusal } from '../src/discord/errors';
import { nonceFor } from '../src/discord/nonce';
import { renderPlanCard } from '../src/discord/plan-card';
import { createPlanBoard, type PlanBoard } from '../src/discord/plan-board';
import { GitHubError, GitHubHeadMovedError, GitHubNotMergeableError } from '../src/github/errors';
import type { GitHubClient, RepoRef } from '../src/github/github-client';
import { isMergeable, judgePullRequest } from '../src/github/pr-status';
import { planItemTaskId } from '../src/shared/ids';
import { isConfirmer } from '../src/shared/permissions';
import { PLAN_DEFAULTS, planItemMayMove, type PlanItem, type PlanProposal, type PlanView, type ShipLine, type ShipReport } from '../src/shared/plan';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import type { KeySource, Member } from '../src/shared/task';
import type { TaskEventKind } from '../src/store/store';
import type { ActivityDeps } from './deps';
import { whileBeating } from './heartbeat';

/** Input of `proposePlan`. */
export interface ProposePlanInput {
  readonly runId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly repo?: string;
  readonly label?: string;
  /** Absent: a schedule proposes, and the server's key pays. */
  readonly proposedBy?: Member;
  readonly expiresAt: number;
}

/** Input of `publishPlan`: the workflow's view, the items it changed, and what to record and say. */
export interface PlanPublish {
  readonly view: PlanView;
  readonly items: readonly PlanItem[];
  /** Names the step, so a retried activity records and says it once. */
  readonly step: string;
  readonly event?: { readonly kind: TaskEventKind; readonly actorId?: string | null; readonly outcome?: string };
  /** Start the plan's thread under the card (on approval). */
  readonly openThread?: boolean;
  /** A line for the plan's thread (or the channel, before there is a thread). */
  readonly line?: string;
}

/** An approved item, re-read before it starts: its task's prompt, or why it is dropped. */
export type PreparedItem =
  | { readonly issueNumber: number; readonly go: true; readonly title: string; readonly prompt: string }
  | { readonly issueNumber: number; readonly go: false; readonly reason: string };

/** How one item's pull request stands in the projection. */
/** What a plan tells an item's issue: that Jules works on it, or that its pull request was merged. */
export type PlanComment = { readonly kind: 'working'; readonly issueNumber: number } | { readonly kind: 'merged'; readonly issueNumber: number; readonly prNumber: number };

export interface ItemLook {
  readonly issueNumber: number;
  readonly prState?: 'open' | 'merged' | 'closed';
  /** Open and green at its head, as its follow-through last judged it. */
  readonly green?: boolean;
}

/** Jules' prompt limit is generous; the issue body is cut so the prompt stays a readable size. */
const BODY_MAX = 6_000;

/**
 * The plan workflow's activities: gather and propose, publish the card and the thread, prepare each approved
 * item on GitHub (label and comment), and ship what is green. Every write is idempotent, keyed by the run and the
 * step (a comment by what GitHub already shows), so a retried activity or a worker killed mid-run never comments,
 * labels or merges twice, nor leaves out what it had recorded.
 */
export function createPlanActivities(deps: Pick<ActivityDeps, 'store' | 'discord' | 'github' | 'log'> & { readonly planBoard?: PlanBoard }) {
  const { store, discord, log } = deps;
  const board = deps.planBoard ?? createPlanBoard(deps);
  const githubOf = (): GitHubClient => {
    if (!deps.github) throw ApplicationFailure.nonRetryable('No GitHub credentials are configured on this worker, so plans cannot read issues.', 'GitHubNotConfigured');
    return deps.github;
  };

  /** Records an audit row for the run, once per `step`. */
  const audit = (view: Pick<PlanView, 'runId' | 'guildId'>, kind: TaskEventKind, step: string, actorId?: string | null, outcome?: string) =>
    store.recordTaskEvent({ taskId: view.runId, guildId: view.guildId, kind, actorId: actorId ?? null, ...(outcome ? { outcome } : {}), dedupeKey: step });

  return {
    /**
     * Gathers the plan: the guild's settings, who pays, the open issues with the label (oldest first, pull requests
     * and issues in a running plan left out, at most the guild's maximum), records the run and posts its card.
     */
    proposePlan: (input: ProposePlanInput): Promise<PlanProposal> =>
      whileBeating(async () => {
        const proposal = await gather(input);
        // A schedule's plan has nobody to answer: the channel hears why no card came this time.
        if (!input.proposedBy && proposal.kind !== 'proposed') await sayInChannel(input.channelId, `📋 The scheduled plan did not start: ${proposal.reason}`, nonceFor(input.runId, 'not-proposed'));
        return proposal;
      }),

    /**
     * Records a plan step: the run's status, the items the workflow moved (never backwards: an item's task may have
     * moved it further already), the audit row; then redraws the card from the projection, opens the thread on
     * approval and says `line` there.
     */
    publishPlan: (input: PlanPublish): Promise<{ readonly threadId?: string }> =>
      whileBeating(async () => {
        const { view } = input;
        const now = new Date().toISOString();
        const ended = view.status === 'completed' || view.status === 'cancelled' || view.status === 'expired';
        await store.updatePlanRun(view.runId, {
          status: view.status,
          revision: view.revision,
          ...(view.approvedBy ? { approvedBy: view.approvedBy } : {}),
          ...(input.openThread ? { approvedAt: now } : {}),
          ...(ended ? { endedAt: now } : {}),
        });
        if (input.items.length) {
          const rows = new Map((await store.listPlanItems(view.runId)).map((row) => [row.issueNumber, row]));
          for (const item of input.items) {
            const row = rows.get(item.issueNumber);
            if (!row || !planItemMayMove(row.status, item.status)) continue;
            // The workflow knows a PR opened; its follow-through may already know whether it is green or red.
            if (item.status === 'pr_open' && (row.status === 'green' || row.status === 'red')) continue;
            await store.updatePlanItem(view.runId, item.issueNumber, {
              status: item.status,
              ...(item.status === 'queued' ? { taskId: planItemTaskId(view.runId, item.issueNumber) } : {}),
              ...(item.reason ? { reason: item.reason.slice(0, 500) } : {}),
              ...(item.prUrl ? { prUrl: item.prUrl } : {}),
              ...(item.status === 'merged' ? { mergedAt: now } : {}),
            });
          }
        }
        if (input.event) await audit(view, input.event.kind, input.step, input.event.actorId, input.event.outcome);

        let threadId = view.threadId;
        if (input.openThread && !threadId && view.cardMessageId) {
          threadId = (await discord.createThread(view.channelId, view.cardMessageId, `Plan ${view.runId}`)).id;
          await store.updatePlanRun(view.runId, { threadId });
        }
        await board.redraw(view.runId, {
          confirmRoles: view.confirmRoles,
          ...(view.expiresAt ? { expiresAt: view.expiresAt } : {}),
          ...(view.payerId ? { payerId: view.payerId } : {}),
        });
        if (input.line) await discord.postMessage(threadId ?? view.channelId, { content: input.line, allowed_mentions: { parse: [] } }, { nonce: nonceFor(view.runId, input.step) });
        return threadId ? { threadId } : {};
      }),

    /**
     * Re-reads each approved issue before its item starts: one closed, unlabelled or turned into a pull request
     * is dropped with the reason. The others move from the plan label to the in-progress label (idempotent) and come
     * back with their task's prompt.
     */
    prepareItems: (input: { readonly runId: string; readonly guildId: string; readonly repo: string; readonly label: string; readonly issueNumbers: readonly number[] }): Promise<PreparedItem[]> =>
      whileBeating(async () => {
        const github = githubOf();
        const guild = await store.getGuild(input.guildId);
        const inProgress = guild?.inProgressLabel ?? PLAN_DEFAULTS.inProgressLabel;
        const ref = refOf(input.repo);
        const prepared: PreparedItem[] = [];
        for (const issueNumber of input.issueNumbers) {
          const issue = await github.issues.get(ref, issueNumber);
          const reason =
            issue.pullRequest ? 'it is a pull request, not an issue'
            : issue.state === 'closed' ? 'its issue was closed before it started'
            : !issue.labels.some((name) => name.toLowerCase() === input.label.toLowerCase()) && !issue.labels.includes(inProgress) ? `its issue lost the \`${input.label}\` label before it started`
            : undefined;
          if (reason) {
            prepared.push({ issueNumber, go: false, reason });
            continue;
          }
          await github.issues.addLabels(ref, issueNumber, [inProgress]);
          await github.issues.removeLabel(ref, issueNumber, input.label);
          const body = (issue.body ?? '').trim();
          const prompt = [
            issue.title,
            body ? (body.length > BODY_MAX ? `${body.slice(0, BODY_MAX)}\n…(cut)` : body) : undefined,
            `Issue: ${issue.htmlUrl}`,
            `When you open the pull request, write "Fixes #${issueNumber}" in its description so the issue closes on merge.`,
          ]
            .filter(Boolean)
            .join('\n\n');
          // The item's task id now, before it starts: its PR's follow-through finds the item by it from its first look.
          await store.updatePlanItem(input.runId, issueNumber, { taskId: planItemTaskId(input.runId, issueNumber) });
          prepared.push({ issueNumber, go: true, title: issue.title, prompt });
        }
        return prepared;
      }),

    /**
     * Tells each item's issue what the run did: which run works on it, or in which pull request it was merged. One
     * comment of each kind per issue, looked for on GitHub first, so a retried activity (or a worker killed mid-way)
     * comments exactly once.
     */
    commentOnItems: (input: { readonly runId: string; readonly guildId: string; readonly repo: string; readonly comments: readonly PlanComment[] }): Promise<void> =>
      whileBeating(async () => {
        const github = githubOf();
        const ref = refOf(input.repo);
        for (const comment of input.comments) {
          if (comment.kind === 'merged') {
            const merged = `✅ Merged in #${comment.prNumber} from plan \`${input.runId}\``;
            await commentOnce(github, ref, comment.issueNumber, merged, `${merged}.`);
            continue;
          }
          const working = `🤖 Jules is working on this issue in plan \`${input.runId}\``;
          await commentOnce(github, ref, comment.issueNumber, working, `${working} (task \`${planItemTaskId(input.runId, comment.issueNumber)}\`). The pull request will reference it.`);
          await store.recordTaskEvent({ taskId: input.runId, guildId: input.guildId, kind: 'plan_item_started', outcome: `#${comment.issueNumber}`, dedupeKey: `comment:${comment.issueNumber}` });
        }
      }),

    /** Gives a failed or dropped item's issue its plan label back, so the next plan can take it. */
    releaseItem: (input: { readonly guildId: string; readonly repo: string; readonly issueNumber: number; readonly label: string }): Promise<void> =>
      whileBeating(async () => {
        const github = githubOf();
        const guild = await store.getGuild(input.guildId);
        const ref = refOf(input.repo);
        await github.issues.addLabels(ref, input.issueNumber, [input.label]);
        await github.issues.removeLabel(ref, input.issueNumber, guild?.inProgressLabel ?? PLAN_DEFAULTS.inProgressLabel);
      }),

    /** How each item's pull request stands in the projection (its follow-through keeps the `tasks` row current). */
    lookAtItems: (input: { readonly items: readonly { readonly issueNumber: number; readonly taskId: string }[] }): Promise<ItemLook[]> =>
      whileBeating(async () => {
        return Promise.all(
          input.items.map(async (item) => {
            const task = await store.getTask(item.taskId);
            const green = task?.prState === 'open' && (task.checksState === 'passed' || task.checksState === 'no_checks');
            return { issueNumber: item.issueNumber, ...(task?.prState ? { prState: task.prState } : {}), ...(green ? { green } : {}) };
          }),
        );
      }),

    /**
     * `/ship`: in issue order, merges each item whose pull request is green at its current head, with the head as
     * the merge's guard and the guild's method; updates a branch that is behind instead; skips the rest with the
     * reason. Every item is judged first (reads, side by side), then the merges and branch updates are queued
     * together: GitHub paces writes, and a comment or label move waiting its turn would otherwise slip in between
     * two merges. The workflow then has each merged item's issue told "merged in #PR" ({@link commentOnItems}), after
     * the answer: nobody waits for the comments.
     */
    shipItems: (input: { readonly runId: string; readonly guildId: string; readonly repo: string; readonly items: readonly { readonly issueNumber: number; readonly taskId: string }[]; readonly by: string }): Promise<ShipReport> =>
      whileBeating(async () => {
        const github = githubOf();
        const guild = await store.getGuild(input.guildId);
        const method = guild?.mergeMethod ?? 'squash';
        const ref = refOf(input.repo);
        // Items whose PR ever ran checks (the mirror keeps that): "no checks" at a new head then means CI has not started.
        const hadChecks = new Set((await store.listPlanItems(input.runId)).filter((row) => row.checksState !== null && row.checksState !== 'no_checks').map((row) => row.issueNumber));
        const judged = await Promise.all(
          input.items.map(async (item): Promise<ShipLine | ShipWrite> => {
            const task = await store.getTask(item.taskId);
            const number = task?.prNumber ?? (task?.prUrl ? parsePullRequestUrl(task.prUrl)?.number : undefined);
            const judgement = number ? await judgeForShip(github, ref, item.issueNumber, number, hadChecks.has(item.issueNumber)) : skippedLine(item.issueNumber, 'it has no pull request yet');
            return judgement;
          }),
        );
        // Queued in issue order at once; the GitHub client sends them one at a time, in that order, ahead of other writes.
        const lines = await Promise.all(
          judged.map(async (judgement) => {
            if (!('write' in judgement)) return judgement.outcome === 'merged' ? markMerged(input, judgement.issueNumber, judgement.prNumber!) : judgement;
            const line = await writeForShip(github, ref, judgement, method);
            if (line.outcome !== 'merged') return line;
            log.info({ runId: input.runId, issueNumber: line.issueNumber, number: line.prNumber, by: input.by }, 'shipped a plan item');
            return markMerged(input, line.issueNumber, line.prNumber!);
          }),
        );
        return { lines };
      }),
  };

  async function markMerged(input: { readonly runId: string; readonly guildId: string; readonly by: string }, issueNumber: number, number: number): Promise<ShipLine> {
    await store.updatePlanItem(input.runId, issueNumber, { status: 'merged', mergedAt: new Date().toISOString(), prNumber: number });
    await store.recordTaskEvent({ taskId: input.runId, guildId: input.guildId, kind: 'pull_request_merged', actorId: input.by, outcome: `#${number}`, dedupeKey: `merged:${issueNumber}` });
    return { issueNumber, outcome: 'merged', prNumber: number };
  }

  /** {@link proposePlan}'s work: the plan, or why there is none. */
  async function gather(input: ProposePlanInput): Promise<PlanProposal> {
    const guild = await store.getGuild(input.guildId);
    if (!guild) return { kind: 'refused', reason: 'This server is not set up for Jules yet: a member with Manage Server runs `/jules-setup` first (or an operator runs `jules-orchestrator guild set --guild-id …`).' };
    const proposer = input.proposedBy;
    if (proposer && !isConfirmer(proposer, { confirmRoles: [...guild.createRoles, ...guild.confirmRoles] })) {
      return { kind: 'refused', reason: 'Only members with a create or confirm role can propose a plan.' };
    }
    const repo = input.repo ?? guild.defaultRepo;
    if (!repo) return { kind: 'refused', reason: 'This server has no default repository; say which one: `/plan repo:owner/name`.' };
    const label = input.label ?? guild.planLabel ?? PLAN_DEFAULTS.label;
    const personal = proposer ? (await store.getUserKey(proposer.id)) !== undefined : false;
    const keySource: KeySource | undefined = personal ? 'personal' : guild.hasDefaultKey ? 'guild' : undefined;
    if (!keySource) {
      return { kind: 'refused', reason: 'No Jules key would pay for this plan: set your own with `/jules-key set`, or an operator sets a server default.' };
    }

    const existing = await store.getPlanRun(input.runId);
    let items: PlanItem[];
    if (existing) {
      // A retried proposal: the run was recorded; show what was recorded, never a second gathering.
      items = (await store.listPlanItems(input.runId)).map((row) => ({ issueNumber: row.issueNumber, title: row.title, url: row.issueUrl, status: row.status }));
      if (items.length === 0) return { kind: 'empty', reason: tookEverything(repo, label) };
    } else {
      const taken = new Set(await store.issuesInOpenPlans(repo));
      const issues = await githubOf().issues.listWithLabel(refOf(repo), label, { signal: Context.current().cancellationSignal });
      items = issues
        .filter((issue) => !taken.has(issue.number))
        .slice(0, guild.planMaxItems ?? PLAN_DEFAULTS.maxItems)
        .map((issue) => ({ issueNumber: issue.number, title: issue.title, url: issue.htmlUrl, status: 'planned' as const }));
      if (items.length === 0) {
        return { kind: 'empty', reason: `No open issue in \`${repo}\` is labelled \`${label}\` and free: there is nothing to plan. Label issues \`${label}\` and run \`/plan\` again.` };
      }
      await store.createPlanRun({ id: input.runId, guildId: input.guildId, channelId: input.channelId, repo, label, proposedBy: proposer?.id ?? null, keySource });
      // The store keeps an issue on one open run: a `/plan` of the same repository at the same moment may have won some.
      const saved = new Set((await store.savePlanItems(input.runId, items.map((item, position) => ({ issueNumber: item.issueNumber, position, title: item.title, issueUrl: item.url })))).map((row) => row.issueNumber));
      items = items.filter((item) => saved.has(item.issueNumber));
      if (items.length === 0) {
        await store.updatePlanRun(input.runId, { status: 'cancelled', endedAt: new Date().toISOString() });
        return { kind: 'empty', reason: tookEverything(repo, label) };
      }
    }
    const view: PlanView = {
      runId: input.runId,
      status: 'proposed',
      guildId: input.guildId,
      channelId: input.channelId,
      repo,
      label,
      ...(proposer ? { proposedBy: proposer.id } : {}),
      keySource,
      ...(keySource === 'personal' && proposer ? { payerId: proposer.id } : {}),
      confirmRoles: [...guild.confirmRoles],
      twoPersonRule: guild.twoPersonRule ?? false,
      ...(guild.autoShip ? { autoShip: true } : {}),
      revision: 0,
      items,
      expiresAt: input.expiresAt,
    };
    const card = await discord.postMessage(input.channelId, renderPlanCard(view), { nonce: nonceFor(input.runId, 'card') });
    await store.updatePlanRun(input.runId, { cardMessageId: card.id });
    await audit(view, 'plan_proposed', 'proposed', proposer?.id, `${items.length} items`);
    log.info({ runId: input.runId, guildId: input.guildId, repo, items: items.length }, 'plan proposed');
    return { kind: 'proposed', view: { ...view, cardMessageId: card.id } };
  }

  /** Posts a line in a channel; a channel gone or out of reach is logged, not retried. */
  async function sayInChannel(channelId: string, content: string, nonce: string): Promise<void> {
    try {
      await discord.postMessage(channelId, { content, allowed_mentions: { parse: [] } }, { nonce });
    } catch (err) {
      const refusal = discordRefusal(err);
      if (!refusal) throw err;
      log.warn({ channelId, status: refusal.status, code: refusal.code }, `Discord refused a plan line: ${refusal.message}`);
    }
  }

  /** `/ship`'s look at one pull request: a line (merged already, or skipped and why), or the write it needs. */
  async function judgeForShip(github: GitHubClient, ref: RepoRef, issueNumber: number, number: number, hadChecks: boolean): Promise<ShipLine | ShipWrite> {
    const skipped = (reason: string) => skippedLine(issueNumber, reason, number);
    const pr = await github.pulls.get(ref, number);
    if (pr.merged) return { issueNumber, outcome: 'merged', prNumber: number };
    if (pr.state === 'closed') return skipped('its pull request was closed');
    const [runs, combined, required, reviews] = await Promise.all([
      github.checks.listForRef(ref, pr.head.sha),
      github.checks.combinedStatus(ref, pr.head.sha),
      github.checks.requiredForBranch(ref, pr.base.ref),
      github.pulls.listReviews(ref, number),
    ]);
    const status = judgePullRequest(pr, runs, combined, required, reviews);
    // "No checks" on a PR that ran checks before: new commits arrived, and their CI has not started yet.
    if (status.verdict === 'no_checks' && hadChecks) return skipped('new commits arrived and their checks have not started yet (head moved)');
    if (!isMergeable(status)) {
      if (status.verdict === 'failed') return skipped(`red: ${status.checks.filter((check) => check.state === 'failed').map((check) => `\`${check.name}\``).join(', ') || 'a check failed'}`);
      if (status.missingRequired.length) return skipped(`required checks have not run: ${status.missingRequired.map((name) => `\`${name}\``).join(', ')}`);
      if (status.changesRequestedBy.length) return skipped(`changes requested by ${status.changesRequestedBy.join(', ')}`);
      const done = status.checks.filter((check) => check.state !== 'pending').length;
      return skipped(`checks still running (${done} of ${status.checks.length} done)`);
    }
    if (pr.mergeableState === 'dirty' || pr.mergeable === false) return skipped('it has conflicts with its base branch; Jules or a person must resolve them');
    return { write: pr.mergeableState === 'behind' ? 'update_branch' : 'merge', issueNumber, prNumber: number, headSha: pr.head.sha };
  }
}

/** A write `/ship` decided on for one item: merge it at the head it judged, or bring its branch up to date first. */
interface ShipWrite {
  readonly write: 'merge' | 'update_branch';
  readonly issueNumber: number;
  readonly prNumber: number;
  readonly headSha: string;
}

const skippedLine = (issueNumber: number, reason: string, prNumber?: number): ShipLine => ({ issueNumber, outcome: 'skipped', reason, ...(prNumber === undefined ? {} : { prNumber }) });

/** Sends {@link ShipWrite}'s write, with the judged head as the guard; GitHub's refusals become skipped lines. */
async function writeForShip(github: GitHubClient, ref: RepoRef, write: ShipWrite, method: 'merge' | 'squash' | 'rebase'): Promise<ShipLine> {
  const { issueNumber, prNumber } = write;
  if (write.write === 'update_branch') {
    await github.pulls.updateBranch(ref, prNumber, write.headSha);
    return { issueNumber, outcome: 'updating', prNumber };
  }
  try {
    await github.pulls.merge({ ...ref, pullNumber: prNumber, sha: write.headSha, mergeMethod: method });
  } catch (err) {
    if (err instanceof GitHubHeadMovedError) return skippedLine(issueNumber, 'new commits arrived since its checks passed (head moved); its checks run again', prNumber);
    if (err instanceof GitHubNotMergeableError) return skippedLine(issueNumber, `GitHub would not merge it: ${err.reason}`, prNumber);
    if (err instanceof GitHubError && !err.retryable) return skippedLine(issueNumber, `GitHub would not merge it: ${err.message}`, prNumber);
    throw err;
  }
  return { issueNumber, outcome: 'merged', prNumber };
}

/**
 * Comments on an issue, once. A first attempt just comments. A retried one (the worker was killed, or a call
 * failed, after some comments were made) first asks GitHub whether a comment containing `marker` is there: GitHub
 * rather than the store, since a worker killed between recording a comment and making it would otherwise leave the
 * issue without one, and one killed between making it and recording it would make it twice. Looking only on a retry
 * keeps a plan's comments at one request each, not two (bench/plan-run counts them).
 */
async function commentOnce(github: GitHubClient, ref: RepoRef, issueNumber: number, marker: string, body: string): Promise<void> {
  if (Context.current().info.attempt === 1) {
    await github.issues.createComment(ref, issueNumber, body);
    return;
  }
  const comments = await github.issues.listComments(ref, issueNumber, { signal: Context.current().cancellationSignal });
  if (comments.some((comment) => comment.body.includes(marker))) return;
  await github.issues.createComment(ref, issueNumber, body);
}

const tookEverything = (repo: string, label: string) => `Another plan of \`${repo}\` took every issue labelled \`${label}\` a moment ago: there is nothing left to plan.`;

function refOf(repo: string): RepoRef {
  const [owner, name] = repo.split('/') as [string, string];
  return { owner, repo: name };
}
