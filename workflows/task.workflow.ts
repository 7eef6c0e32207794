import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { JulesAction, SessionSnapshot, WatchCursor, WatchResult } from '../src/shared/jules-session';
import { isConfirmer, isRequesterOrConfirmer } from '../src/shared/permissions';
import { REPO, TASK_STATUS } from '../src/shared/search-attributes';
import { hasEnded, type Admission, type TaskOutcome, type TaskPatch, type TaskRequest, type TaskView } from '../src/shared/task';
import type { TaskStatus } from '../src/shared/task-status';
import { admissionUpdate, cancelUpdate, decisionUpdate, julesEventSignal, planDecisionUpdate, replyUpdate, taskViewQuery } from './messages';

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
}

/** State carried across continue-as-new: only what the rest of the task needs. */
export interface CarriedState {
  readonly admission: Extract<Admission, { admitted: true }>;
  readonly view: TaskView;
  readonly cardMessageId?: string;
  readonly threadId?: string;
  readonly snapshot: SessionSnapshot;
  readonly cursor: WatchCursor;
  readonly stalledOnce: boolean;
  readonly deadlineAt: number;
  readonly pending: readonly JulesAction[];
}

/** The task workflow's input: what was asked, how patient to be, and (after continue-as-new) where it was. */
export interface TaskWorkflowInput {
  readonly request: TaskRequest;
  readonly settings: TaskSettings;
  readonly carried?: CarriedState;
}

const DEFAULTS = { stallAfterMs: 30 * 60_000, reminderAfterMs: 60 * 60_000, maxHistoryEvents: 2_000, watchHeartbeatTimeoutMs: 30_000, slotRetryMs: 5_000 };

// Admission answers the ingress inside Discord's 3 s deadline, so it runs as a local activity: no
// extra round trip through the server before the update can complete.
const { admitTask } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5s',
  retry: { initialInterval: '200ms', maximumInterval: '1s', maximumAttempts: 5 },
});

// Unlimited attempts: a store or Discord outage delays a step, it never loses one. Two minutes leaves room to
// wait out Discord's per-channel rate limit in a burst of tasks.
const { publishTaskUpdate } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/**
 * Starting the session is bounded by time, not attempts: a Jules 503 or a database failover lasting longer than a
 * few retries must not fail a confirmed task. The activity marks key and repository errors non-retryable.
 */
function startingActivities(untilDeadlineMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '2m',
    scheduleToCloseTimeout: Math.max(1_000, untilDeadlineMs),
    retry: { initialInterval: '2s', maximumInterval: '1m' },
  });
}

/** What a watch may run past the deadline: it returns `quiet` at the deadline, and must be let do so. */
const DEADLINE_MARGIN_MS = 60_000;

// The watcher heartbeats while it polls and returns only for decisions, so history grows with decisions,
// not with time or progress updates. Its own time limit keeps each attempt bounded.
const WATCH_MAX_RUN_MS = 30 * 60_000;

/** What a watch of the session is given. */
type WatchInput = Parameters<Activities['watchJulesSession']>[0];

/**
 * Patch marker: while people decide on a plan or question, the session is watched too, so an answer given in
 * Jules' own app (or a session that ends meanwhile) ends the wait. Histories from before it replay the old wait.
 */
export const WATCH_WHILE_PEOPLE_DECIDE = 'watch-while-people-decide';

/**
 * The long-running, heartbeating activities; their heartbeat timeout is a setting (how fast a dead worker is
 * noticed). All their attempts together end at the task's deadline, so an attempt that keeps failing (Discord or
 * Jules refusing something) can never keep the task from expiring.
 */
function waitingActivities(heartbeatTimeoutMs: number, untilDeadlineMs: number) {
  const options = {
    heartbeatTimeout: heartbeatTimeoutMs,
    scheduleToCloseTimeout: Math.max(0, untilDeadlineMs) + DEADLINE_MARGIN_MS,
    // A cancelled watch is waited for, so a cancelled task has really stopped calling Jules when it says so.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '2s', maximumInterval: '1m' },
  };
  const { watchJulesSession } = proxyActivities<Activities>({ ...options, startToCloseTimeout: WATCH_MAX_RUN_MS + 5 * 60_000 });
  // A task may wait its turn for a session slot for as long as it lives: the wait has no attempt limit of its own.
  const { waitForSessionSlot } = proxyActivities<Activities>({ ...options, startToCloseTimeout: options.scheduleToCloseTimeout });
  return { watchJulesSession, waitForSessionSlot };
}

/**
 * One `/jules` request: admit, confirm, start Jules, watch the session (plan approval, questions, pauses,
 * stalls), finish. The `tasks` row, the card and the task's thread follow every step.
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
  let admission: Admission | undefined = input.carried?.admission;
  let view: TaskView | undefined = input.carried?.view;
  let decided = false;
  let cancelledBy: string | undefined;
  let planAnswer: { action: 'approve' | 'request_changes'; by: string; feedback?: string } | undefined;
  const pending: JulesAction[] = [...(input.carried?.pending ?? [])];
  let wakeRequested = false;
  let watching = false;
  let sessionStarted = input.carried !== undefined;
  /** The final step being published: from then on, nothing people send can still be acted on. */
  let ending: { status: TaskStatus; patch: TaskPatch; actorId?: string } | undefined;
  /** One rule for every validator: a task that has ended, or is ending, takes no more decisions. */
  const closed = () => ending !== undefined || !view || hasEnded(view);

  const actors = () => ({ requesterId: request.requester.id, confirmRoles: admission?.admitted ? admission.confirmRoles : [] });

  // Handlers are registered before the first await, so the update sent with the start is never lost.
  setHandler(admissionUpdate, async () => {
    await condition(() => admission !== undefined);
    return admission!;
  });
  setHandler(taskViewQuery, () => view);

  setHandler(
    decisionUpdate,
    (decision) => {
      decided = true;
      const rejected = decision.action === 'reject';
      view = { ...view!, status: rejected ? 'rejected' : 'in_progress', awaiting: undefined, decidedBy: decision.member.id, ...(rejected && decision.reason ? { error: decision.reason } : {}) };
      return view;
    },
    {
      // Validators cannot do I/O, so the clicker's roles travel with the update.
      validator: (decision) => {
        if (!view) throw new Error('This task was never admitted.');
        if (view.status !== 'pending_confirmation' || decided || closed()) throw new Error(`This task is already ${describe(ending?.status ?? view.status)}.`);
        if (!isConfirmer(decision.member, actors())) throw new Error('Only members with a confirm role can confirm or reject this task.');
      },
    },
  );

  setHandler(
    planDecisionUpdate,
    (decision) => {
      planAnswer = { action: decision.action, by: decision.member.id, ...(decision.feedback ? { feedback: decision.feedback } : {}) };
      view = { ...view!, awaiting: undefined };
      return view;
    },
    {
      validator: (decision) => {
        if (!isConfirmer(decision.member, actors())) throw new Error('Only members with a confirm role can approve the plan or ask for changes.');
        if (closed()) throw new Error('This task has ended: no plan is waiting for approval.');
        // The watcher posts the plan just before it returns it, so a click may come while the watch is still
        // finishing: it is kept and applied when the plan arrives.
        if (!(view?.awaiting === 'plan_approval' || watching) || planAnswer) throw new Error('No plan is waiting for approval on this task.');
        if (decision.action === 'request_changes' && !decision.feedback?.trim()) throw new Error('Say what Jules should change.');
      },
    },
  );

  setHandler(
    replyUpdate,
    (reply) => {
      pending.push({ kind: 'send_message', id: uuid4(), text: reply.text, actorId: reply.member.id, purpose: 'reply' });
      wakeRequested = true;
      view = { ...view!, awaiting: view!.awaiting === 'reply' ? undefined : view!.awaiting };
      return view;
    },
    {
      validator: (reply) => {
        if (closed() || !sessionStarted) {
          throw new Error('Jules is not working on this task right now.');
        }
        if (!isRequesterOrConfirmer(reply.member, actors())) throw new Error('Only the requester or a confirmer can reply to Jules.');
        if (!reply.text.trim()) throw new Error('The reply is empty.');
      },
    },
  );

  setHandler(
    cancelUpdate,
    (cancellation) => {
      cancelledBy = cancellation.member.id;
      wakeRequested = true;
      view = { ...view!, status: 'cancelled', awaiting: undefined, decidedBy: view!.decidedBy };
      return view;
    },
    {
      validator: (cancellation) => {
        if (closed() || cancelledBy) throw new Error(`This task is already ${describe(ending?.status ?? view?.status ?? 'finished')}.`);
        if (!isRequesterOrConfirmer(cancellation.member, actors())) throw new Error('Only the requester or a confirmer can cancel this task.');
      },
    },
  );

  setHandler(julesEventSignal, () => {
    wakeRequested = true;
  });

  // ---- Admission, card and confirmation (skipped after continue-as-new) ----
  let cardMessageId = input.carried?.cardMessageId;
  let threadId = input.carried?.threadId;
  const deadlineAt = input.carried?.deadlineAt ?? Date.now() + settings.deadlineMs;
  const untilDeadline = () => deadlineAt - Date.now();

  if (!input.carried) {
    admission = await admitTask(request);
    if (!admission.admitted) return { taskId: request.taskId, status: 'refused', reason: admission.reason };
    view = {
      taskId: request.taskId,
      status: admission.status,
      channelId: request.channelId,
      prompt: request.prompt,
      repo: admission.repo,
      ...(admission.branch ? { branch: admission.branch } : {}),
      requesterId: request.requester.id,
      keySource: admission.keySource,
      confirmRoles: admission.confirmRoles,
      ...(admission.status === 'pending_confirmation' ? { awaiting: 'confirmation' as const } : { decidedBy: request.requester.id }),
    };
    upsertSearchAttributes([
      { key: REPO, value: admission.repo },
      { key: TASK_STATUS, value: admission.status },
    ]);
    const card = await publishTaskUpdate({ channelId: request.channelId, view });
    cardMessageId = card.cardMessageId;
    threadId = card.threadId;
    view = { ...view, ...(cardMessageId ? { cardMessageId } : {}), ...(threadId ? { threadId } : {}) };
  }
  const admitted = admission as Extract<Admission, { admitted: true }>;
  // Histories recorded before the guild default existed carry no planApproval in the admission: the request decides.
  const planApproval = admitted.planApproval ?? request.planApproval === true;

  /** Publishes a step: search attribute, then in one activity the projection, the card and a message. */
  type PublishExtra = Pick<Parameters<typeof publishTaskUpdate>[0], 'announce' | 'notice' | 'refreshCard' | 'event'>;
  async function advance(patch: TaskPatch, extra: PublishExtra = {}): Promise<void> {
    view = {
      ...view!,
      ...(patch.status ? { status: patch.status } : {}),
      ...(patch.julesSessionUrl ? { sessionUrl: patch.julesSessionUrl } : {}),
      ...(patch.prUrl ? { prUrl: patch.prUrl } : {}),
      ...(patch.lastError ? { error: patch.lastError } : {}),
    };
    if (patch.status) upsertSearchAttributes([{ key: TASK_STATUS, value: patch.status }]);
    await publishTaskUpdate({
      ...(Object.keys(patch).length ? { patch } : {}),
      channelId: request.channelId,
      ...(cardMessageId ? { cardMessageId } : {}),
      ...(threadId ? { threadId } : {}),
      view: view!,
      ...extra,
      step: `${patch.status ?? 'same'}:${extra.event?.kind ?? extra.notice?.step ?? extra.announce ?? 'update'}`,
    });
  }

  async function finish(status: TaskStatus, patch: TaskPatch = {}, actorId?: string): Promise<TaskOutcome> {
    ending = { status, patch, ...(actorId ? { actorId } : {}) };
    const event = { kind: FINAL_EVENT[status] ?? 'failed', from: OPEN_STATUSES, ...(actorId ? { actorId } : {}) };
    view = { ...view!, ended: true };
    await advance({ ...patch, status }, { announce: 'outcome', event });
    await condition(allHandlersFinished);
    return {
      taskId: request.taskId,
      status,
      ...(view!.prUrl ? { prUrl: view!.prUrl } : {}),
      ...(view!.error ? { reason: view!.error } : {}),
    };
  }

  const cancelled = () => finish('cancelled', { lastError: `Cancelled by <@${cancelledBy}>.`, decidedBy: view?.decidedBy ?? null }, cancelledBy);
  // A Temporal-level cancel ends the task as cancelled, or completes the ending it interrupted (its publish was cancelled).
  nativeCancel.cleanup = () =>
    ending ? finish(ending.status, ending.patch, ending.actorId) : finish('cancelled', { lastError: 'Cancelled in Temporal (the Web UI or the CLI).', decidedBy: view?.decidedBy ?? null });

  let snapshot: SessionSnapshot;
  let cursor: WatchCursor;
  let stalledOnce = input.carried?.stalledOnce ?? false;

  if (input.carried) {
    snapshot = input.carried.snapshot;
    cursor = input.carried.cursor;
  } else {
    if (admitted.status === 'pending_confirmation') {
      const answered = await condition(() => decided || cancelledBy !== undefined, settings.confirmationTimeoutMs);
      if (cancelledBy) return cancelled();
      if (!answered) return finish('expired', { lastError: 'Nobody confirmed the request in time.' });
      if (view!.status === 'rejected') return finish('rejected', { decidedBy: view!.decidedBy ?? null, ...(view!.error ? { lastError: view!.error } : {}) }, view!.decidedBy);
      // The click's own answer (type 7) already redrew the card; the next step ("started") edits it again.
      await advance(
        { status: 'in_progress', decidedBy: view!.decidedBy ?? null },
        { event: { kind: 'confirmed', actorId: view!.decidedBy ?? null, from: ['pending_confirmation'] }, refreshCard: false },
      );
    }

    // Jules plans cap sessions per key: wait in line here rather than fail at Jules. A cancel ends the wait.
    const slotScope = new CancellationScope();
    const slot = slotScope.run(() =>
      waitingActivities(settings.watchHeartbeatTimeoutMs, untilDeadline()).waitForSessionSlot({
        taskId: request.taskId,
        guildId: request.guildId,
        requesterId: request.requester.id,
        keySource: admitted.keySource,
        threadId: threadId ?? request.channelId,
        view: view!,
        retryEveryMs: settings.slotRetryMs,
      }),
    );
    const cancelWait = new CancellationScope();
    const cancelledMeanwhile = cancelWait.run(() => condition(() => cancelledBy !== undefined));
    const first = await Promise.race([
      // The wait retries without limit until the deadline; then it gives up, and so does the task.
      slot.then(
        () => 'slot' as const,
        (err: unknown) => {
          if (isCancellation(err)) throw err;
          return 'out_of_time' as const;
        },
      ),
      cancelledMeanwhile.then(() => 'cancelled' as const),
    ]);
    cancelWait.cancel();
    await cancelledMeanwhile.catch((err) => {
      if (!isCancellation(err)) throw err;
    });
    if (first === 'cancelled') {
      slotScope.cancel();
      await slot.catch((err) => {
        if (!isCancellation(err)) throw err;
      });
      return cancelled();
    }
    if (first === 'out_of_time') return finish('expired', { lastError: 'No Jules session of this key became free before the task’s deadline.' });

    try {
      snapshot = await startingActivities(untilDeadline()).startJulesSession({
        taskId: request.taskId,
        guildId: request.guildId,
        requesterId: request.requester.id,
        keySource: admitted.keySource,
        prompt: request.prompt,
        repo: admitted.repo,
        ...(admitted.branch ? { branch: admitted.branch } : {}),
        ...(planApproval ? { planApproval } : {}),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return finish(Date.now() >= deadlineAt ? 'expired' : 'failed', { lastError: Date.now() >= deadlineAt ? 'Jules could not be reached before the task’s deadline.' : failureMessage(err) });
    }
    sessionStarted = true;
    cursor = { seenAtLastTime: [], lastChangeAt: Date.now(), delivered: [] };
    await advance(
      { julesSessionId: snapshot.name, julesSessionUrl: snapshot.url ?? null, julesState: snapshot.state },
      { announce: 'started', event: { kind: 'jules_session_created', outcome: snapshot.state, detail: { session: snapshot.name } } },
    );
  }

  // ---- Watching the session ----
  const owner = { taskId: request.taskId, guildId: request.guildId, requesterId: request.requester.id, keySource: admitted.keySource };
  let waitingFor: 'plan' | 'reply' | undefined;
  let waitStartedAt: number | undefined;
  let reminded = false;

  for (;;) {
    if (cancelledBy) return cancelled();
    if (Date.now() >= deadlineAt) return finish('expired', { lastError: 'The task ran past its deadline.' });

    if (waitingFor && patched(WATCH_WHILE_PEOPLE_DECIDE)) {
      const seen = await waitForPeople(waitingFor);
      if (seen.kind === 'failed') {
        if (Date.now() >= deadlineAt) return finish('expired', { lastError: 'The task ran past its deadline.' });
        return finish('failed', { lastError: failureMessage(seen.error) });
      }
      if (cancelledBy) return cancelled();
      takePlanAnswer();
      const news = seen.kind === 'watched' ? seen.result : undefined;
      if (news?.kind === 'quiet') {
        ({ snapshot, cursor } = news);
        // The watch only ran its time: unless people answered meanwhile, the wait goes on.
        if (pending.length === 0) continue;
      }
      doneWaiting();
      if (news && news.kind !== 'quiet') {
        const outcome = await onWatchResult(news);
        if (outcome) return outcome;
      }
      continue;
    }

    if (waitingFor) {
      // Before WATCH_WHILE_PEOPLE_DECIDE: Jules is not watched while people decide, so an answer given in
      // Jules' own app is noticed only after the answer or the deadline.
      const answeredBy = () => planAnswer !== undefined || cancelledBy !== undefined || pending.length > 0;
      const answered = await condition(answeredBy, Math.max(1, Math.min(settings.reminderAfterMs, deadlineAt - Date.now())));
      if (!answered && Date.now() < deadlineAt) {
        await advance({}, { refreshCard: false, notice: { kind: waitingFor === 'plan' ? 'plan_reminder' : 'reply_reminder', step: `reminder:${cursor.delivered.at(-1) ?? ''}` } });
        await condition(answeredBy, Math.max(1, deadlineAt - Date.now()));
      }
      if (cancelledBy) return cancelled();
      takePlanAnswer();
      doneWaiting();
      continue;
    }

    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > settings.maxHistoryEvents) {
      await condition(allHandlersFinished);
      const carried: CarriedState = { admission: admitted, view: view!, ...(cardMessageId ? { cardMessageId } : {}), ...(threadId ? { threadId } : {}), snapshot, cursor, stalledOnce, deadlineAt, pending: [...pending] };
      return continueAsNew<typeof taskWorkflow>({ request, settings: input.settings, carried });
    }

    const deliver = pending.splice(0, pending.length);
    wakeRequested = false;
    let result: WatchResult | undefined;
    try {
      // A push, a reply or a cancel interrupts the watch so the task reacts at once, not at the next poll.
      const scope = new CancellationScope();
      const watch = scope.run(() => waitingActivities(settings.watchHeartbeatTimeoutMs, untilDeadline()).watchJulesSession(watchInput({ deliver })));
      // The wait is scoped too, so a finished watch leaves no condition behind.
      const waitScope = new CancellationScope();
      const interrupted = waitScope.run(() => condition(() => wakeRequested || cancelledBy !== undefined)).then(() => undefined);
      watching = true;
      result = await Promise.race([watch, interrupted]).finally(() => {
        watching = false;
      });
      waitScope.cancel();
      await interrupted.catch((err) => {
        if (!isCancellation(err)) throw err;
      });
      if (!result) {
        scope.cancel();
        await watch.catch((err) => {
          if (!isCancellation(err)) throw err;
        });
        // Actions handed to the cancelled attempt may not have reached Jules; the cursor says which did not.
        pending.unshift(...deliver.filter((a) => !cursor.delivered.includes(a.id)));
        continue;
      }
    } catch (err) {
      // Our own interruption is routine; a cancel of the whole workflow is not, and must leave the loop.
      if (isCancellation(err) && !CancellationScope.current().consideredCancelled) continue;
      if (isCancellation(err)) throw err;
      if (Date.now() >= deadlineAt) return finish('expired', { lastError: 'The task ran past its deadline.' });
      return finish('failed', { lastError: failureMessage(err) });
    }

    // An answer kept while the watch finished belongs to the plan it returns; without one it is stale.
    if (planAnswer && result.kind !== 'plan') planAnswer = undefined;
    const outcome = await onWatchResult(result);
    if (outcome) return outcome;
  }

  /** Acts on what a watch returned; the task's outcome when it ends the task. */
  async function onWatchResult(result: WatchResult): Promise<TaskOutcome | undefined> {
    snapshot = result.snapshot;
    cursor = result.cursor;
    const stateChanged: TaskPatch = { julesState: snapshot.state };
    switch (result.kind) {
      case 'ended':
        if (snapshot.state === 'FAILED') return finish('failed', { ...stateChanged, lastError: snapshot.failureReason ?? 'Jules reported the session as failed.' });
        if (!snapshot.prUrl) {
          return finish('needs_attention', { ...stateChanged, lastError: `Jules finished without opening a pull request${snapshot.url ? `: see ${snapshot.url}` : ''}.` });
        }
        return finish('completed', { ...stateChanged, prUrl: snapshot.prUrl });
      case 'plan':
        view = { ...view!, awaiting: 'plan_approval', plan: result.plan };
        waitingFor = 'plan';
        break;
      case 'question':
        view = { ...view!, awaiting: 'reply', question: result.question };
        waitingFor = 'reply';
        break;
      case 'paused':
        await advance({}, { refreshCard: false, notice: { kind: 'paused', step: `paused:${cursor.lastUpdateTime ?? ''}` } });
        break;
      case 'stalled':
        if (stalledOnce) {
          return finish('stalled', { ...stateChanged, lastError: `Jules showed no progress for ${minutes(settings.stallAfterMs * 2)}; the task stopped watching.` });
        }
        stalledOnce = true;
        // The second timeout counts from the alert.
        cursor = { ...cursor, lastChangeAt: Date.now() };
        await advance({ status: 'stalled' }, { event: { kind: 'stalled', from: ['in_progress'] }, notice: { kind: 'stalled', detail: minutes(settings.stallAfterMs), step: `stalled:${cursor.lastChangeAt}` } });
        break;
      case 'resumed':
        stalledOnce = false;
        if (view!.status === 'stalled') {
          await advance({ status: 'in_progress' }, { event: { kind: 'jules_state_changed', outcome: 'resumed', from: ['stalled'] }, notice: { kind: 'resumed', step: `resumed:${cursor.lastChangeAt}` } });
        }
        break;
      case 'answered_elsewhere':
        await advance({ julesState: snapshot.state }, { refreshCard: false, notice: { kind: 'answered_elsewhere', step: `elsewhere:${cursor.lastUpdateTime ?? ''}` } });
        break;
      case 'discord_refused':
        return finish('needs_attention', {
          ...stateChanged,
          lastError: `Discord would not show Jules' ${waitingKind(snapshot)} in the task's thread (${result.reason}), so nobody could answer it. The session is still open in Jules${snapshot.url ? `: ${snapshot.url}` : '.'}`,
        });
      case 'quiet':
        break;
    }
    return undefined;
  }

  /** A watch of the session from where the task stands. */
  function watchInput(what: Pick<WatchInput, 'deliver'> & Partial<Pick<WatchInput, 'awaiting'>>): WatchInput {
    return {
      ...owner,
      ...what,
      session: snapshot.name,
      knownState: snapshot.state,
      cursor,
      threadId: threadId ?? request.channelId,
      view: view!,
      planApproval,
      pollIntervalMs: settings.pollIntervalMs,
      stallAfterMs: settings.stallAfterMs,
      stalled: view!.status === 'stalled',
      maxRunMs: Math.min(WATCH_MAX_RUN_MS, Math.max(1_000, deadlineAt - Date.now())),
    };
  }

  /** Turns a plan decision into what to tell Jules next. */
  function takePlanAnswer(): void {
    if (!planAnswer) return;
    pending.push(
      planAnswer.action === 'approve'
        ? { kind: 'approve_plan', id: uuid4(), actorId: planAnswer.by }
        : { kind: 'send_message', id: uuid4(), text: planAnswer.feedback ?? '', actorId: planAnswer.by, purpose: 'changes' },
    );
    planAnswer = undefined;
  }

  function doneWaiting(): void {
    waitingFor = undefined;
    waitStartedAt = undefined;
    reminded = false;
    view = { ...view!, awaiting: undefined };
  }

  /**
   * Waits for people to approve the plan or answer the question (one reminder, then the deadline) while a watch
   * looks at the session, which returns when it moves without them (answered in Jules' app, ended, paused) or
   * when it has run its time. A watch still running when people answer is cancelled and waited for.
   */
  async function waitForPeople(question: 'plan' | 'reply'): Promise<{ kind: 'stopped' } | { kind: 'watched'; result: WatchResult } | { kind: 'failed'; error: unknown }> {
    waitStartedAt ??= Date.now();
    const answeredBy = () => planAnswer !== undefined || cancelledBy !== undefined || pending.length > 0;
    let seen: { kind: 'watched'; result: WatchResult } | { kind: 'failed'; error: unknown } | undefined;
    const scope = new CancellationScope();
    const watch = scope
      .run(() => waitingActivities(settings.watchHeartbeatTimeoutMs, untilDeadline()).watchJulesSession(watchInput({ deliver: [], awaiting: question === 'plan' ? 'plan_approval' : 'reply' })))
      .then(
        (result) => void (seen = { kind: 'watched', result }),
        (error: unknown) => void (isCancellation(error) ? undefined : (seen = { kind: 'failed', error })),
      );
    const settled = () => answeredBy() || seen !== undefined;
    if (!reminded) {
      const remindIn = waitStartedAt + settings.reminderAfterMs - Date.now();
      if (remindIn > 0) await condition(settled, Math.max(1, Math.min(remindIn, deadlineAt - Date.now())));
      if (!settled() && Date.now() < deadlineAt) {
        reminded = true;
        await advance({}, { refreshCard: false, notice: { kind: question === 'plan' ? 'plan_reminder' : 'reply_reminder', step: `reminder:${cursor.delivered.at(-1) ?? ''}` } });
      }
    }
    if (!settled()) await condition(settled, Math.max(1, deadlineAt - Date.now()));
    if (!seen) {
      scope.cancel();
      await watch;
    }
    // Stopped: people answered, the task was cancelled, or the deadline came.
    return seen ?? { kind: 'stopped' };
  }
}

/** Statuses a task can still leave: where a final transition may come from. */
const OPEN_STATUSES: readonly TaskStatus[] = ['pending_confirmation', 'in_progress', 'stalled'];

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

/** The message a person should read for a failed activity, without stack or internals. */
function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause.message;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  if (err instanceof Error) return err.message;
  return 'unknown error';
}

/** What a session in this state waits for people to answer. */
function waitingKind(snapshot: SessionSnapshot): string {
  return snapshot.state === 'AWAITING_USER_FEEDBACK' ? 'question' : 'plan';
}

function describe(status: TaskStatus | string): string {
  return status.replace(/_/g, ' ');
}

function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} minutes` : `${Math.round(ms / 1000)} seconds`;
}
