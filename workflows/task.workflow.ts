import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  ParentClosePolicy,
  patched,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { JulesAction } from '../src/shared/jules-session';
import { pullRequestFollowId } from '../src/shared/ids';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import { REPO, TASK_STATUS } from '../src/shared/search-attributes';
import type { Audience } from '../src/shared/audience';
import { planItemOrigin, type Admission, type TaskOutcome, type TaskPatch, type TaskRequest, type TaskView } from '../src/shared/task';
import { OPEN_TASK_STATUSES, type TaskStatus } from '../src/shared/task-status';
import { admissionUpdate, cancelUpdate, decisionUpdate, julesEventSignal, planDecisionUpdate, replyUpdate, taskViewQuery } from './messages';
import { pullRequestFollowWorkflow, type PullRequestFollowSettings } from './pr-follow.workflow';
import { STEP_HEARTBEAT_TIMEOUT } from './lib/heartbeat';
import { runJulesSession, type SessionPosition, type StepExtra } from './task/session';
import { TaskState } from './task/state';

export { WATCH_WHILE_PEOPLE_DECIDE } from './task/session';

/** Patch marker: a completed task starts the follow-through of its pull request. Older histories end without it. */
export const FOLLOW_PULL_REQUESTS = 'follow-pull-requests';

/** Timing settings the ingress passes from config, so tests and operators can tune them per run. */
export interface TaskSettings {
  readonly confirmationTimeoutMs: number;
  /** Poll interval while nothing changes (faster for a minute after a change). */
  readonly pollIntervalMs: number;
  /** The whole task's deadline, from admission: then it is `expired`. */
  readonly deadlineMs: number;
  /** No visible change for this long: `stalled`, confirmers alerted once; twice in a row ends the task. */
  readonly stallAfterMs?: number;
  /** A plan or question waiting this long gets one reminder. */
  readonly reminderAfterMs?: number;
  /** Continue-as-new past this many history events (or when the server suggests it). */
  readonly maxHistoryEvents?: number;
  /** A watcher that stops heartbeating this long (its worker died) is retried on another worker. */
  readonly watchHeartbeatTimeoutMs?: number;
  /** How often a task waiting for a Jules session slot asks again. */
  readonly slotRetryMs?: number;
  /** With GitHub configured: a completed task's pull request is followed through its checks to merge. */
  readonly pullRequests?: PullRequestFollowSettings;
}

/** State carried across continue-as-new: only what the rest of the task needs. */
export interface CarriedState extends SessionPosition {
  readonly admission: Extract<Admission, { admitted: true }>;
  readonly view: TaskView;
  readonly cardMessageId?: string;
  readonly threadId?: string;
  readonly deadlineAt: number;
  readonly pending: readonly JulesAction[];
}

/** The task workflow's input: what was asked, how patient to be, and (after continue-as-new) where it was. */
export interface TaskWorkflowInput {
  readonly request: TaskRequest;
  readonly settings: TaskSettings;
  /**
   * The ingress's admission, already recorded (row and audit event) before it started this workflow. Absent for
   * plan items and for tasks started before the ingress admitted: the workflow admits them itself.
   */
  readonly admission?: Extract<Admission, { admitted: true }>;
  readonly carried?: CarriedState;
}

const DEFAULTS = { stallAfterMs: 30 * 60_000, reminderAfterMs: 60 * 60_000, maxHistoryEvents: 2_000, watchHeartbeatTimeoutMs: 30_000, slotRetryMs: 5_000 };

// Admission in the workflow (plan items, and histories from before the ingress admitted) runs as a local
// activity: no extra round trip through the server.
const { admitTask } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5s',
  retry: { initialInterval: '200ms', maximumInterval: '1s', maximumAttempts: 5 },
});

// Unlimited attempts: a store or Discord outage delays a step, it never loses one. Two minutes leaves room to
// wait out Discord's per-channel rate limit in a burst of tasks; the step heartbeats meanwhile, so one held by a
// worker that died is retried after the heartbeat timeout, not after those two minutes.
const { publishTaskUpdate } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/**
 * One `/jules` request: admit (unless the ingress did), confirm, then run the Jules session (`task/session.ts`)
 * until it ends. The `tasks` row, the card and the task's thread follow every step. What people may ask of the
 * task, and when, is `task/state.ts`.
 */
export async function taskWorkflow(input: TaskWorkflowInput): Promise<TaskOutcome> {
  const nativeCancel: NativeCancelCleanup = {};
  try {
    return await runTask(input, nativeCancel);
  } catch (err) {
    // Cancelled in Temporal itself (the Web UI's "Request cancellation", `temporal workflow cancel`, a parent): every
    // scope is cancelled from here on, so the ending runs in a non-cancellable one. Then the run stays cancelled.
    if (isCancellation(err) && CancellationScope.current().consideredCancelled && nativeCancel.cleanup) {
      await CancellationScope.nonCancellable(nativeCancel.cleanup);
    }
    throw err;
  }
}

/** What {@link runTask} leaves for {@link taskWorkflow} to run when Temporal cancels the workflow. */
interface NativeCancelCleanup {
  cleanup?: () => Promise<unknown>;
}

async function runTask(input: TaskWorkflowInput, nativeCancel: NativeCancelCleanup): Promise<TaskOutcome> {
  const { request } = input;
  const settings = { ...DEFAULTS, ...input.settings };
  const state = new TaskState(request, input.carried, uuid4);

  // Handlers are registered before the first await, so no update is lost. The admission update answers the
  // update-with-start of ingresses from before the ingress admitted (a rolling deploy, a redelivery of theirs).
  setHandler(admissionUpdate, async () => {
    await condition(() => state.admission !== undefined);
    return state.admission!;
  });
  setHandler(taskViewQuery, () => state.view);
  setHandler(decisionUpdate, (decision) => state.decide(decision), { validator: (decision) => state.checkDecision(decision) });
  setHandler(planDecisionUpdate, (decision) => state.decidePlan(decision), { validator: (decision) => state.checkPlanDecision(decision) });
  setHandler(replyUpdate, (reply) => state.reply(reply), { validator: (reply) => state.checkReply(reply) });
  setHandler(cancelUpdate, (cancellation) => state.cancel(cancellation), { validator: (cancellation) => state.checkCancel(cancellation) });
  setHandler(julesEventSignal, () => state.wake());

  // A plan item has no card of its own: it speaks in the plan's thread, each message labelled with its issue.
  const item = planItemOrigin(request);
  const audience: Audience | undefined = item ? { kind: 'plan_thread', runId: item.runId, issueNumber: item.issueNumber, issueTitle: item.issueTitle } : undefined;

  // ---- Admission, card and confirmation (skipped after continue-as-new) ----
  let cardMessageId = input.carried?.cardMessageId;
  let threadId = input.carried?.threadId ?? item?.threadId;
  const deadlineAt = input.carried?.deadlineAt ?? Date.now() + settings.deadlineMs;

  if (!input.carried) {
    const admission = input.admission ?? (await admitTask(request));
    if (!admission.admitted) {
      state.admission = admission;
      return { taskId: request.taskId, status: 'refused', reason: admission.reason };
    }
    const view = state.admit(admission);
    upsertSearchAttributes([
      { key: REPO, value: admission.repo },
      { key: TASK_STATUS, value: admission.status },
    ]);
    const card = await publishTaskUpdate({ channelId: request.channelId, view, ...(audience ? { audience, threadId } : {}) });
    cardMessageId = card.cardMessageId;
    threadId = card.threadId;
    // A click may have come while the card was posted: add the ids to the view as it is now.
    state.view = { ...state.view!, ...(cardMessageId ? { cardMessageId } : {}), ...(threadId ? { threadId } : {}) };
  }
  const admitted = state.admission as Extract<Admission, { admitted: true }>;
  // Histories recorded before the guild default existed carry no planApproval in the admission: the request decides.
  const planApproval = admitted.planApproval ?? request.planApproval === true;

  /** Publishes a step: search attribute, then in one activity the projection, the card and a message. */
  async function advance(patch: TaskPatch, extra: StepExtra = {}): Promise<void> {
    const view = state.applyPatch(patch);
    if (patch.status) upsertSearchAttributes([{ key: TASK_STATUS, value: patch.status }]);
    await publishTaskUpdate({
      ...(Object.keys(patch).length ? { patch } : {}),
      channelId: request.channelId,
      ...(cardMessageId ? { cardMessageId } : {}),
      ...(threadId ? { threadId } : {}),
      ...(audience ? { audience } : {}),
      view,
      ...extra,
      step: `${patch.status ?? 'same'}:${extra.event?.kind ?? extra.notice?.step ?? extra.announce ?? 'update'}`,
    });
  }

  async function finish(status: TaskStatus, patch: TaskPatch = {}, actorId?: string): Promise<TaskOutcome> {
    state.beginEnding({ status, patch, ...(actorId ? { actorId } : {}) });
    const event = { kind: FINAL_EVENT[status] ?? 'failed', from: OPEN_TASK_STATUSES, ...(actorId ? { actorId } : {}) };
    await advance({ ...patch, status }, { announce: 'outcome', event });
    if (status === 'completed') await followPullRequest();
    await condition(allHandlersFinished);
    const view = state.view!;
    return { taskId: request.taskId, status, ...(view.prUrl ? { prUrl: view.prUrl } : {}), ...(view.error ? { reason: view.error } : {}) };
  }

  /** Hands the task's pull request to its own follow-through workflow, which outlives the task. */
  async function followPullRequest(): Promise<void> {
    const pull = state.view?.prUrl ? parsePullRequestUrl(state.view.prUrl) : undefined;
    // Tasks started before GitHub follow-through existed, or without GitHub configured, end at "PR ready".
    if (!pull || !settings.pullRequests || !patched(FOLLOW_PULL_REQUESTS)) return;
    await startChild(pullRequestFollowWorkflow, {
      workflowId: pullRequestFollowId(request.taskId),
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [
        {
          pull: { taskId: request.taskId, repo: `${pull.owner}/${pull.repo}`, number: pull.number, url: state.view!.prUrl!, threadId: threadId ?? request.channelId, ...(audience ? { audience } : {}) },
          settings: settings.pullRequests,
          confirmRoles: admitted.confirmRoles,
          ...(admitted.mergeMethod ? { mergeMethod: admitted.mergeMethod } : {}),
          requesterId: request.requester.id,
          // Admissions recorded before the setting existed carry none: such a PR's checks can still be sent on a click.
          fix: { auto: admitted.fixFailingChecks ?? false, maxAttempts: admitted.maxFixAttempts ?? 2 },
        },
      ],
    });
  }

  const cancelled = () => finish('cancelled', { lastError: `Cancelled by <@${state.cancelledBy}>.`, decidedBy: state.view?.decidedBy ?? null }, state.cancelledBy);
  // A Temporal-level cancel ends the task as cancelled, or completes the ending it interrupted (its publish was cancelled).
  nativeCancel.cleanup = () => {
    const { ending } = state;
    return ending
      ? finish(ending.status, ending.patch, ending.actorId)
      : finish('cancelled', { lastError: 'Cancelled in Temporal (the Web UI or the CLI).', decidedBy: state.view?.decidedBy ?? null });
  };

  if (!input.carried && admitted.status === 'pending_confirmation') {
    const answered = await condition(() => state.decided || state.cancelledBy !== undefined, settings.confirmationTimeoutMs);
    if (state.cancelledBy) return cancelled();
    if (!answered) return finish('expired', { lastError: 'Nobody confirmed the request in time.' });
    const view = state.view!;
    if (view.status === 'rejected') return finish('rejected', { decidedBy: view.decidedBy ?? null, ...(view.error ? { lastError: view.error } : {}) }, view.decidedBy);
    // The click's own answer (type 7) already redrew the card; the next step ("started") edits it again.
    await advance(
      { status: 'in_progress', decidedBy: view.decidedBy ?? null },
      { event: { kind: 'confirmed', actorId: view.decidedBy ?? null, from: ['pending_confirmation'] }, refreshCard: false },
    );
  }

  return runJulesSession({
    state,
    request,
    admitted,
    planApproval,
    settings,
    deadlineAt,
    threadId: threadId ?? request.channelId,
    ...(audience ? { audience } : {}),
    ...(input.carried ? { position: input.carried } : {}),
    steps: {
      advance,
      finish,
      cancelled,
      async continueAsNew(position: SessionPosition) {
        await condition(allHandlersFinished);
        const carried: CarriedState = {
          admission: admitted,
          view: state.view!,
          ...(cardMessageId ? { cardMessageId } : {}),
          ...(threadId ? { threadId } : {}),
          ...position,
          deadlineAt,
          pending: [...state.pending],
        };
        return continueAsNew<typeof taskWorkflow>({ request, settings: input.settings, carried });
      },
    },
  });
}

/** The audit event that records each way a task ends. */
const FINAL_EVENT: Partial<Record<TaskStatus, 'rejected' | 'expired' | 'cancelled' | 'failed' | 'completed' | 'needs_attention' | 'stalled'>> = {
  rejected: 'rejected',
  expired: 'expired',
  cancelled: 'cancelled',
  failed: 'failed',
  completed: 'completed',
  needs_attention: 'needs_attention',
  stalled: 'stalled',
};
