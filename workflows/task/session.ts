import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PublishInput } from '../../activities/discord.activities';
import type { Audience } from '../../src/shared/audience';
import type { SessionSnapshot, WatchCursor, WatchResult } from '../../src/shared/jules-session';
import type { Admission, TaskOutcome, TaskPatch, TaskRequest } from '../../src/shared/task';
import type { TaskStatus } from '../../src/shared/task-status';
import { STEP_HEARTBEAT_TIMEOUT } from '../lib/heartbeat';
import { runUnlessInterrupted } from '../lib/race';
import type { TaskState } from './state';

/**
 * Patch marker: while people decide on a plan or question, the session is watched too, so an answer given in
 * Jules' own app (or a session that ends meanwhile) ends the wait. Histories from before it replay the old wait.
 */
export const WATCH_WHILE_PEOPLE_DECIDE = 'watch-while-people-decide';

// The watcher heartbeats while it polls and returns only for decisions, so history grows with decisions,
// not with time or progress updates. Its own time limit keeps each attempt bounded.
const WATCH_MAX_RUN_MS = 30 * 60_000;

/** What a watch may run past the deadline: it returns `quiet` at the deadline, and must be let do so. */
const DEADLINE_MARGIN_MS = 60_000;

/**
 * Starting the session is bounded by time, not attempts: a Jules 503 or a database failover lasting longer than a
 * few retries must not fail a confirmed task. The activity marks key and repository errors non-retryable. It heartbeats,
 * so an attempt whose worker died is retried after the heartbeat timeout.
 */
function startingActivities(untilDeadlineMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '2m',
    heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT,
    scheduleToCloseTimeout: Math.max(1_000, untilDeadlineMs),
    retry: { initialInterval: '2s', maximumInterval: '1m' },
  });
}

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

/** What a watch of the session is given. */
type WatchInput = Parameters<Activities['watchJulesSession']>[0];

/** How patient a session's follower is (the task's settings with their defaults applied). */
export interface SessionSettings {
  readonly pollIntervalMs: number;
  readonly stallAfterMs: number;
  readonly reminderAfterMs: number;
  readonly maxHistoryEvents: number;
  readonly watchHeartbeatTimeoutMs: number;
  readonly slotRetryMs: number;
}

/** Where the session stands, carried across continue-as-new. */
export interface SessionPosition {
  readonly snapshot: SessionSnapshot;
  readonly cursor: WatchCursor;
  readonly stalledOnce: boolean;
}

/** A step the session asks its audience to publish: a notice, an announcement, an audit event, a card refresh. */
export type StepExtra = Pick<PublishInput, 'announce' | 'notice' | 'refreshCard' | 'event'>;

/**
 * What the session needs from the workflow that runs it: how to publish a step and end the task (the `/jules`
 * task publishes to its card and thread; a plan's item would publish elsewhere), and how to continue as new.
 */
export interface SessionSteps {
  advance(patch: TaskPatch, extra?: StepExtra): Promise<void>;
  finish(status: TaskStatus, patch?: TaskPatch, actorId?: string): Promise<TaskOutcome>;
  cancelled(): Promise<TaskOutcome>;
  continueAsNew(position: SessionPosition): Promise<never>;
}

/** Everything {@link runJulesSession} works from. */
export interface SessionContext {
  readonly state: TaskState;
  readonly request: TaskRequest;
  readonly admitted: Extract<Admission, { admitted: true }>;
  readonly planApproval: boolean;
  readonly settings: SessionSettings;
  readonly deadlineAt: number;
  /** Where the session's messages go (the task's thread, else its channel). */
  readonly threadId: string;
  /** Who the messages speak to; absent, the task's own thread (a `/jules` task). */
  readonly audience?: Audience;
  readonly steps: SessionSteps;
  /** Where a previous run left off (after continue-as-new); absent, the session is started. */
  readonly position?: SessionPosition;
}

/**
 * A Jules session from start to end: wait for a session slot of the paying key, start the session, watch it
 * (plan approval, questions, pauses, stalls, people's replies), and end the task with what happened. The part of
 * a task after its confirmation, written once for every kind of task.
 */
export async function runJulesSession(ctx: SessionContext): Promise<TaskOutcome> {
  const { state, request, admitted, planApproval, settings, deadlineAt, steps } = ctx;
  const { advance, finish, cancelled } = steps;
  const untilDeadline = () => deadlineAt - Date.now();
  /**
   * Whether a failed activity only ran out of the task's time: past the deadline, or given up by Temporal because
   * its next retry would come after it (a timeout, or a failure that was still retryable).
   */
  const outOfTime = (err: unknown) => Date.now() >= deadlineAt || (err instanceof ActivityFailure && (err.cause instanceof TimeoutFailure || (err.cause instanceof ApplicationFailure && !err.cause.nonRetryable)));
  const owner = { taskId: request.taskId, guildId: request.guildId, requesterId: request.requester.id, keySource: admitted.keySource };

  let snapshot: SessionSnapshot;
  let cursor: WatchCursor;
  let stalledOnce = ctx.position?.stalledOnce ?? false;

  if (ctx.position) {
    snapshot = ctx.position.snapshot;
    cursor = ctx.position.cursor;
  } else {
    // Jules plans cap sessions per key: wait in line here rather than fail at Jules. A cancel ends the wait.
    const slot = await runUnlessInterrupted(
      () =>
        waitingActivities(settings.watchHeartbeatTimeoutMs, untilDeadline())
          .waitForSessionSlot({ ...owner, threadId: ctx.threadId, ...(ctx.audience ? { audience: ctx.audience } : {}), view: state.view!, retryEveryMs: settings.slotRetryMs })
          .then(
            () => 'slot' as const,
            // The wait retries without limit until the deadline; then it gives up, and so does the task.
            (err: unknown) => {
              if (isCancellation(err)) throw err;
              return 'out_of_time' as const;
            },
          ),
      () => state.cancelledBy !== undefined,
    );
    if (!slot.done) return cancelled();
    if (slot.value === 'out_of_time') return finish('expired', { lastError: 'No Jules session of this key became free before the task’s deadline.' });

    try {
      snapshot = await startingActivities(untilDeadline()).startJulesSession({
        ...owner,
        prompt: request.prompt,
        repo: admitted.repo,
        ...(admitted.branch ? { branch: admitted.branch } : {}),
        ...(planApproval ? { planApproval } : {}),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return outOfTime(err)
        ? finish('expired', { lastError: `Jules could not be reached before the task’s deadline (${failureMessage(err)}).` })
        : finish('failed', { lastError: failureMessage(err) });
    }
    state.sessionStarted = true;
    cursor = { seenAtLastTime: [], lastChangeAt: Date.now(), delivered: [] };
    await advance(
      { julesSessionId: snapshot.name, julesSessionUrl: snapshot.url ?? null, julesState: snapshot.state },
      { announce: 'started', event: { kind: 'jules_session_created', outcome: snapshot.state, detail: { session: snapshot.name } } },
    );
  }

  // ---- Watching the session ----
  let waitingFor: 'plan' | 'reply' | undefined;
  let waitStartedAt: number | undefined;
  let reminded = false;
  const expired = () => finish('expired', { lastError: 'The task ran past its deadline.' });

  for (;;) {
    if (state.cancelledBy) return cancelled();
    if (Date.now() >= deadlineAt) return expired();

    if (waitingFor && patched(WATCH_WHILE_PEOPLE_DECIDE)) {
      const seen = await waitForPeople(waitingFor);
      if (seen.kind === 'failed') return outOfTime(seen.error) ? expired() : finish('failed', { lastError: failureMessage(seen.error) });
      if (state.cancelledBy) return cancelled();
      state.takePlanAnswer();
      const news = seen.kind === 'watched' ? seen.result : undefined;
      if (news?.kind === 'quiet') {
        ({ snapshot, cursor } = news);
        // The watch only ran its time: unless people answered meanwhile, the wait goes on.
        if (state.pending.length === 0) continue;
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
      const answered = await condition(() => state.answered(), Math.max(1, Math.min(settings.reminderAfterMs, untilDeadline())));
      if (!answered && Date.now() < deadlineAt) {
        await advance({}, { refreshCard: false, notice: { kind: waitingFor === 'plan' ? 'plan_reminder' : 'reply_reminder', step: `reminder:${cursor.delivered.at(-1) ?? ''}` } });
        await condition(() => state.answered(), Math.max(1, untilDeadline()));
      }
      if (state.cancelledBy) return cancelled();
      state.takePlanAnswer();
      doneWaiting();
      continue;
    }

    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > settings.maxHistoryEvents) {
      return steps.continueAsNew({ snapshot, cursor, stalledOnce });
    }

    const deliver = state.takePending();
    let result: WatchResult;
    try {
      // A push, a reply or a cancel interrupts the watch so the task reacts at once, not at the next poll.
      state.watching = true;
      const watched = await runUnlessInterrupted(
        () => waitingActivities(settings.watchHeartbeatTimeoutMs, untilDeadline()).watchJulesSession(watchInput({ deliver })),
        () => state.wakeRequested || state.cancelledBy !== undefined,
      ).finally(() => {
        state.watching = false;
      });
      if (!watched.done) {
        // Actions handed to the cancelled attempt may not have reached Jules; the cursor says which did not.
        state.pending.unshift(...deliver.filter((a) => !cursor.delivered.includes(a.id)));
        continue;
      }
      result = watched.value;
    } catch (err) {
      // Our own interruption is routine; a cancel of the whole workflow is not, and must leave the loop.
      if (isCancellation(err) && !CancellationScope.current().consideredCancelled) continue;
      if (isCancellation(err)) throw err;
      return outOfTime(err) ? expired() : finish('failed', { lastError: failureMessage(err) });
    }

    // An answer kept while the watch finished belongs to the plan it returns; without one it is stale.
    if (state.planAnswer && result.kind !== 'plan') state.planAnswer = undefined;
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
        state.view = { ...state.view!, awaiting: 'plan_approval', plan: result.plan };
        waitingFor = 'plan';
        break;
      case 'question':
        state.view = { ...state.view!, awaiting: 'reply', question: result.question };
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
        if (state.view!.status === 'stalled') {
          await advance({ status: 'in_progress' }, { event: { kind: 'jules_state_changed', outcome: 'resumed', from: ['stalled'] }, notice: { kind: 'resumed', step: `resumed:${cursor.lastChangeAt}` } });
        }
        break;
      case 'answered_elsewhere':
        await advance({ julesState: snapshot.state }, { refreshCard: false, notice: { kind: 'answered_elsewhere', step: `elsewhere:${cursor.lastUpdateTime ?? ''}` } });
        break;
      case 'discord_refused':
        return finish('needs_attention', {
          ...stateChanged,
          lastError: `Discord would not show Jules' ${snapshot.state === 'AWAITING_USER_FEEDBACK' ? 'question' : 'plan'} in the task's thread (${result.reason}), so nobody could answer it. The session is still open in Jules${snapshot.url ? `: ${snapshot.url}` : '.'}`,
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
      threadId: ctx.threadId,
      ...(ctx.audience ? { audience: ctx.audience } : {}),
      view: state.view!,
      planApproval,
      pollIntervalMs: settings.pollIntervalMs,
      stallAfterMs: settings.stallAfterMs,
      stalled: state.view!.status === 'stalled',
      maxRunMs: Math.min(WATCH_MAX_RUN_MS, Math.max(1_000, untilDeadline())),
    };
  }

  function doneWaiting(): void {
    waitingFor = undefined;
    waitStartedAt = undefined;
    reminded = false;
    state.view = { ...state.view!, awaiting: undefined };
  }

  /**
   * Waits for people to approve the plan or answer the question (one reminder, then the deadline) while a watch
   * looks at the session, which returns when it moves without them (answered in Jules' app, ended, paused) or
   * when it has run its time. A watch still running when people answer is cancelled and waited for.
   */
  async function waitForPeople(question: 'plan' | 'reply'): Promise<{ kind: 'stopped' } | { kind: 'watched'; result: WatchResult } | { kind: 'failed'; error: unknown }> {
    waitStartedAt ??= Date.now();
    let seen: { kind: 'watched'; result: WatchResult } | { kind: 'failed'; error: unknown } | undefined;
    const scope = new CancellationScope();
    const watch = scope
      .run(() => waitingActivities(settings.watchHeartbeatTimeoutMs, untilDeadline()).watchJulesSession(watchInput({ deliver: [], awaiting: question === 'plan' ? 'plan_approval' : 'reply' })))
      .then(
        (result) => void (seen = { kind: 'watched', result }),
        (error: unknown) => void (isCancellation(error) ? undefined : (seen = { kind: 'failed', error })),
      );
    const settled = () => state.answered() || seen !== undefined;
    if (!reminded) {
      const remindIn = waitStartedAt + settings.reminderAfterMs - Date.now();
      if (remindIn > 0) await condition(settled, Math.max(1, Math.min(remindIn, untilDeadline())));
      if (!settled() && Date.now() < deadlineAt) {
        reminded = true;
        await advance({}, { refreshCard: false, notice: { kind: question === 'plan' ? 'plan_reminder' : 'reply_reminder', step: `reminder:${cursor.delivered.at(-1) ?? ''}` } });
      }
    }
    if (!settled()) await condition(settled, Math.max(1, untilDeadline()));
    if (!seen) {
      scope.cancel();
      await watch;
    }
    // Stopped: people answered, the task was cancelled, or the deadline came.
    return seen ?? { kind: 'stopped' };
  }
}

/** The message a person should read for a failed activity, without stack or internals. */
export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause.message;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  if (err instanceof Error) return err.message;
  return 'unknown error';
}

function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} minutes` : `${Math.round(ms / 1000)} seconds`;
}
