import {
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  sleep,
  setHandler,
  log,
  startChild,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PlanComment, PlanPublish, PreparedItem } from '../activities/plan.activities';
import { planItemTaskId } from '../src/shared/ids';
import type { PlanProposal, PlanView, ShipReport } from '../src/shared/plan';
import type { Member, TaskOutcome } from '../src/shared/task';
import {
  approvePlanRunUpdate,
  cancelPlanRunUpdate,
  dropPlanItemsUpdate,
  planItemSignal,
  planProposalUpdate,
  planViewQuery,
  shipPlanRunUpdate,
} from './messages';
import { STEP_HEARTBEAT_TIMEOUT } from './lib/heartbeat';
import { PlanState } from './plan/state';
import { taskWorkflow, type TaskSettings } from './task.workflow';

/**
 * Patch: the follow-up loop keeps one timer for its next look instead of starting one per wake. Every item's end
 * woke the loop, and each wake started and cancelled a timer: two history events per item for nothing.
 */
export const ONE_LOOK_TIMER = 'plan-one-look-timer';

/**
 * Patch: a run ends only after its update handlers have: a `/ship` still publishing what it merged would otherwise
 * record the run as running after the end had recorded it completed (seen in test/plan-worker-crash.test.ts).
 */
export const END_AFTER_HANDLERS = 'plan-end-after-handlers';

/** How patient a plan is; the ingress and the schedule pass these from config. */
export interface PlanSettings {
  /** An unapproved plan expires after this long (`PLAN_APPROVAL_TIMEOUT`, default 12 h). */
  readonly approvalTimeoutMs: number;
  /** An approved run ends after this long even if some PRs never merged (default: the PR follow deadline). */
  readonly runDeadlineMs: number;
  /** How often a running plan looks at its items' pull requests without being told (default 30 minutes). */
  readonly lookEveryMs?: number;
  /** The items' task settings, as `/jules` tasks get them. */
  readonly task: TaskSettings;
}

/** Input of {@link planWorkflow}: who asks for which repository's plan, and where it is shown. */
export interface PlanWorkflowInput {
  readonly runId: string;
  readonly guildId: string;
  readonly channelId: string;
  /** Default: the guild's repository. */
  readonly repo?: string;
  /** Default: the guild's plan label. */
  readonly label?: string;
  /** The member who ran `/plan`; absent when a schedule proposed the plan. */
  readonly proposedBy?: Member;
  readonly settings: PlanSettings;
}

/** How a plan run ended. */
export interface PlanOutcome {
  readonly runId: string;
  readonly status: PlanView['status'] | 'refused' | 'empty';
  readonly reason?: string;
  readonly merged?: number;
}

// Store, Discord and GitHub outages delay a step, they never lose one. Every plan step heartbeats while it works,
// so one held by a worker that died is retried after the heartbeat timeout.
const { proposePlan, publishPlan, releaseItem, lookAtItems } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT,
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '2s', maximumInterval: '1m' },
});

// A step over every item (GitHub paces writes seconds apart): long, and a retry skips what was done.
const { prepareItems, commentOnItems, shipItems } = proxyActivities<Activities>({
  startToCloseTimeout: '15m',
  heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT,
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '2s', maximumInterval: '1m' },
});

/**
 * One plan run (`plan-…`): gather the repository's issues with the plan label, show the card and wait for a
 * confirmer's approval, run each approved item as a child task (the `/jules` task workflow, started already
 * confirmed), and merge what is green on `/ship`. The items' tasks hold their own history: the plan records only
 * their start and end, so its history stays small whatever the number of items.
 */
export async function planWorkflow(input: PlanWorkflowInput): Promise<PlanOutcome> {
  const { runId, settings } = input;
  const state = new PlanState();
  let proposal: PlanProposal | undefined;
  let woken = false;
  // An item's task ended (set by its result's callback, which may run before the follow-up loop starts).
  let dirty = false;
  let shipping = false;

  // Handlers are registered before the first await, so the update sent with the start is never lost.
  setHandler(planProposalUpdate, async () => {
    await condition(() => proposal !== undefined);
    return proposal!;
  });
  setHandler(planViewQuery, () => state.view);
  setHandler(approvePlanRunUpdate, (approval) => state.approve(approval), { validator: (approval) => state.checkApprove(approval) });
  setHandler(
    dropPlanItemsUpdate,
    async (drop) => {
      const view = state.drop(drop);
      await publish({ step: `drop:${view.revision}`, event: { kind: 'plan_item_dropped', actorId: drop.member.id, outcome: drop.issueNumbers.join(',') } });
      return state.view!;
    },
    { validator: (drop) => state.checkDrop(drop) },
  );
  setHandler(cancelPlanRunUpdate, (cancellation) => state.cancel(cancellation), { validator: (cancellation) => state.checkCancel(cancellation) });
  setHandler(
    shipPlanRunUpdate,
    async ({ member }): Promise<ShipReport> => {
      shipping = true;
      try {
        return await ship(member);
      } finally {
        shipping = false;
      }
    },
    {
      validator: (ship) => {
        state.checkShip(ship);
        if (shipping) throw new Error('A `/ship` of this plan is already under way; its answer lists every item.');
      },
    },
  );
  setHandler(planItemSignal, () => {
    woken = true;
  });

  // Comments on the issues, made while the run goes on: nothing waits for them but the run's end.
  const commenting: Promise<void>[] = [];
  function comment(comments: readonly PlanComment[]): void {
    if (!comments.length) return;
    const made = commentOnItems({ runId, guildId: input.guildId, repo: state.view!.repo, comments });
    commenting.push(made.catch((err: unknown) => log.warn('the plan could not comment on its issues', { runId, error: err instanceof Error ? err.message : String(err) })));
  }

  /** Records the items that changed and the run, re-renders the card, and says `line` in the thread. */
  async function publish(extra: Omit<PlanPublish, 'view' | 'items'>): Promise<void> {
    const items = state.takeChanged();
    const result = await publishPlan({ view: state.view!, items, ...extra });
    if (result.threadId && !state.view!.threadId) state.view = { ...state.view!, threadId: result.threadId };
  }

  async function ship(member: Member, only?: ReadonlySet<number>): Promise<ShipReport> {
    const items = state.openItems
      // Auto-ship names what turned green, which may be before the plan heard that the item's task ended.
      .filter((item) => (only ? only.has(item.issueNumber) : item.status === 'pr_open'))
      .map((item) => ({ issueNumber: item.issueNumber, taskId: planItemTaskId(runId, item.issueNumber) }));
    const report = await shipItems({ runId, guildId: input.guildId, repo: state.view!.repo, items, by: member.id });
    const merged = report.lines.filter((line) => line.outcome === 'merged');
    for (const line of merged) state.setItem(line.issueNumber, 'merged');
    comment(merged.flatMap((line) => (line.prNumber ? [{ kind: 'merged', issueNumber: line.issueNumber, prNumber: line.prNumber }] : [])));
    await publish({ step: `ship:${member.id}:${report.lines.map((line) => `${line.issueNumber}${line.outcome[0]}`).join('')}`, event: { kind: 'plan_shipped', actorId: member.id, outcome: `${report.lines.filter((l) => l.outcome === 'merged').length} merged` } });
    return report;
  }

  // ---- Propose: gather the issues, post the card ----
  proposal = await proposePlan({
    runId,
    guildId: input.guildId,
    channelId: input.channelId,
    ...(input.repo ? { repo: input.repo } : {}),
    ...(input.label ? { label: input.label } : {}),
    ...(input.proposedBy ? { proposedBy: input.proposedBy } : {}),
    expiresAt: Date.now() + settings.approvalTimeoutMs,
  });
  if (proposal.kind !== 'proposed') return { runId, status: proposal.kind, reason: proposal.reason };
  state.view = proposal.view;

  // ---- Wait for approval ----
  const answered = await condition(() => !state.proposed || state.cancelledBy !== undefined, settings.approvalTimeoutMs);
  if (state.cancelledBy !== undefined && state.proposed) return end('cancelled', { kind: 'plan_cancelled', actorId: state.cancelledBy });
  if (!answered) return end('expired', { kind: 'plan_expired' }, 'Nobody approved this plan in time, so nothing ran. Run `/plan` again to propose a fresh one.');
  await publish({ step: 'approved', openThread: true, event: { kind: 'plan_approved_run', actorId: state.approvedBy ?? null } });

  // ---- Run the items: one child task each, under the paying key's session limits ----
  const planned = state.view.items.filter((item) => item.status === 'planned');
  const prepared = await prepareItems({ runId, guildId: input.guildId, repo: state.view.repo, label: state.view.label, issueNumbers: planned.map((item) => item.issueNumber) });
  const children = new CancellationScope();
  const running: Promise<void>[] = [];
  await children.run(() =>
    Promise.all(
      prepared.map(async (item) => {
        if (!item.go) {
          state.setItem(item.issueNumber, 'dropped', { reason: item.reason });
          return;
        }
        const handle = await startItem(item);
        state.setItem(item.issueNumber, 'queued');
        running.push(handle.result().then((outcome) => itemEnded(item, outcome), (err: unknown) => itemEnded(item, undefined, err)));
      }),
    ),
  );
  // The issues hear of their run once every item is on its way: GitHub paces comments seconds apart.
  comment(prepared.filter((item) => item.go).map((item) => ({ kind: 'working', issueNumber: item.issueNumber })));
  await publish({ step: 'started' });

  // ---- Follow the items until each is merged, failed or dropped ----
  const deadlineAt = Date.now() + settings.runDeadlineMs;
  const lookEveryMs = settings.lookEveryMs ?? 30 * 60_000;
  const nextLookInMs = () => Math.max(1, Math.min(lookEveryMs, deadlineAt - Date.now()));
  const oneLookTimer = patched(ONE_LOOK_TIMER);
  // The timer of the next look (ONE_LOOK_TIMER): armed once, and again only after it fires.
  let lookDue = false;
  let lookArmed = false;
  for (;;) {
    let lookFired = false;
    const before = state.view.items.map((item) => item.status).join();
    if (oneLookTimer) {
      if (!lookArmed) {
        lookArmed = true;
        // A cancelled timer (the run itself cancelled in Temporal) only means no look: the wait below says the rest.
        sleep(nextLookInMs()).then(
          () => (lookDue = true),
          () => undefined,
        );
      }
      await condition(() => state.allFinal || state.cancelledBy !== undefined || woken || dirty || lookDue);
      if (lookDue) {
        lookFired = true;
        lookDue = false;
        lookArmed = false;
      }
    } else {
      await condition(() => state.allFinal || state.cancelledBy !== undefined || woken || dirty, nextLookInMs());
    }
    if (state.cancelledBy !== undefined) {
      children.cancel();
      await Promise.allSettled(running);
      return end('cancelled', { kind: 'plan_cancelled', actorId: state.cancelledBy });
    }
    if (state.allFinal) break;
    if (Date.now() >= deadlineAt) {
      for (const item of state.openItems) await fail(item.issueNumber, 'The run’s time ran out before this item was merged.');
      break;
    }
    // An item's task ended: its own steps already drew it on the card, so there is nothing to look at or publish.
    // (Before ONE_LOOK_TIMER, a wait that ended with nothing woken and nothing dirty was the look's timeout.)
    const looking = woken || (oneLookTimer ? lookFired : !dirty);
    dirty = false;
    if (!looking) continue;
    // A look: pull requests merged or closed on GitHub itself, outside `/ship` (a follow-through wakes the plan).
    woken = false;
    // Every open item: a PR can merge on GitHub before the plan has heard that its task ended.
    const open = state.openItems.filter((item) => item.status !== 'planned');
    if (open.length) {
      const looks = await lookAtItems({ items: open.map((item) => ({ issueNumber: item.issueNumber, taskId: planItemTaskId(runId, item.issueNumber) })) });
      for (const look of looks) {
        if (look.prState === 'merged') state.setItem(look.issueNumber, 'merged');
        if (look.prState === 'closed') await fail(look.issueNumber, 'Its pull request was closed without merging.');
      }
      // `--auto-ship on`: what turned green merges now, as a `/ship` by the approver would (one at a time with them).
      const green = new Set(looks.filter((look) => look.green).map((look) => look.issueNumber));
      if (state.view.autoShip && green.size && !shipping && state.approvedBy) {
        shipping = true;
        try {
          await ship({ id: state.approvedBy, roles: [] }, green);
        } finally {
          shipping = false;
        }
      }
    }
    if (state.view.items.map((item) => item.status).join() !== before) await publish({ step: `look:${state.view.items.map((item) => item.status[0]).join('')}` });
  }
  await Promise.allSettled(running);
  return end('completed', { kind: 'plan_completed' });

  async function startItem(item: Extract<PreparedItem, { go: true }>): Promise<ChildWorkflowHandle<typeof taskWorkflow>> {
    const view = state.view!;
    const taskId = planItemTaskId(runId, item.issueNumber);
    return startChild(taskWorkflow, {
      workflowId: taskId,
      // The plan's cancel reaches its items; a plan that ends otherwise leaves nothing running.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      args: [
        {
          request: {
            taskId,
            origin: { kind: 'plan_item', runId, issueNumber: item.issueNumber, issueTitle: item.title, threadId: view.threadId ?? view.channelId, keySource: view.keySource },
            guildId: view.guildId,
            channelId: view.channelId,
            // The key owner requests: their key, their session limits, their quota.
            requester: { id: view.payerId ?? view.approvedBy ?? view.proposedBy ?? '0', roles: [] },
            prompt: item.prompt,
            repo: view.repo,
            planApproval: false,
          },
          settings: settings.task,
        },
      ],
    });
  }

  async function itemEnded(item: Extract<PreparedItem, { go: true }>, outcome: TaskOutcome | undefined, err?: unknown): Promise<void> {
    // A look may have seen its PR merged or closed already.
    if (!state.openItems.some((open) => open.issueNumber === item.issueNumber)) return;
    if (outcome?.status === 'completed' && outcome.prUrl) {
      state.setItem(item.issueNumber, 'pr_open', { prUrl: outcome.prUrl });
    } else {
      await fail(item.issueNumber, outcome?.reason ?? (err instanceof Error ? err.message : `Its task ended ${outcome?.status ?? 'without an outcome'}.`));
    }
    dirty = true;
  }

  /** An item failed: its issue gets the plan label back (and loses the in-progress one), so the next plan can take it. */
  async function fail(issueNumber: number, reason: string): Promise<void> {
    state.setItem(issueNumber, 'failed', { reason });
    await releaseItem({ guildId: input.guildId, repo: state.view!.repo, issueNumber, label: state.view!.label });
  }

  async function end(status: 'completed' | 'cancelled' | 'expired', event: PlanPublish['event'], line?: string): Promise<PlanOutcome> {
    const afterHandlers = patched(END_AFTER_HANDLERS);
    if (afterHandlers) await condition(allHandlersFinished);
    state.end(status);
    await publish({ step: `end:${status}`, ...(event ? { event } : {}), ...(line ? { line } : {}) });
    if (!afterHandlers) await condition(allHandlersFinished);
    await Promise.all(commenting);
    const merged = state.view!.items.filter((item) => item.status === 'merged').length;
    return { runId, status, merged };
  }
}
