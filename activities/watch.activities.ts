import { Context } from '@temporalio/activity';
import { renderPlanMessage, renderProgressMessage, renderQuestionMessage } from '../src/discord/task-card';
import type { MessageBody } from '../src/discord/messenger';
import { JulesApiError } from '../src/jules/errors';
import type { JulesActivity, JulesClient, JulesSession } from '../src/jules/jules-client';
import type { JulesAction, SessionSnapshot, WatchCursor, WatchResult } from '../src/shared/jules-session';
import { TERMINAL_SESSION_STATES } from '../src/shared/jules-session';
import type { Awaiting, TaskView } from '../src/shared/task';
import type { ActivityDeps } from './deps';
import { sleepBeating } from './heartbeat';
import { nonceFor } from './nonce';
import { toApplicationFailure } from './failures';
import type { KeyOwner } from './jules.activities';
import { julesClientForOwner, toSnapshot } from './jules.activities';

/** Input of {@link watchJulesSession}. */
export interface WatchInput extends KeyOwner {
  readonly session: string;
  /** The session state the workflow last acted on. */
  readonly knownState: string;
  readonly cursor: WatchCursor;
  /** What to tell Jules first (an approval, a reply), each delivered once even across retries. */
  readonly deliver: readonly JulesAction[];
  /** Where plan, question and progress messages go (the task's thread, else its channel). */
  readonly threadId: string;
  /** The task as the workflow sees it, for rendering messages. */
  readonly view: TaskView;
  /** Whether people approve plans; otherwise Jules approves its own and the plan is posted for information. */
  readonly planApproval: boolean;
  /** Poll interval while nothing changes; faster for a minute after a change. */
  readonly pollIntervalMs: number;
  /** No visible change for this long (since `cursor.lastChangeAt`) → return `stalled`. */
  readonly stallAfterMs: number;
  /** The task is marked stalled: any change returns `resumed`. */
  readonly stalled: boolean;
  /** Return `quiet` after this long so the workflow can continue-as-new; bounded activity attempts. */
  readonly maxRunMs: number;
  /**
   * People were asked to approve the plan or answer the question: the watch runs while they decide, never
   * returns `stalled` (the people are the slow ones), and returns `answered_elsewhere` once the session leaves
   * that state without them (someone answered in Jules' own app).
   */
  readonly awaiting?: PeopleQuestion;
}

/** What a session can wait on people for: approving its plan, or answering its question. */
export type PeopleQuestion = Exclude<Awaiting, 'confirmation'>;

// Right after create, Jules may answer 404 for a few seconds (eventual consistency, jules-sdk #19).
const NOT_FOUND_GRACE_MS = 30_000;
// After a change, poll faster for a while (five idle intervals: a minute at the default 12 s): plans and
// questions tend to follow each other closely.
const FAST_WINDOW_INTERVALS = 5;
// Discord edits of the progress message are coalesced: at most one per this interval, never losing the latest.
const PROGRESS_EDIT_MS = 5_000;
const AWAITING_PLAN = 'AWAITING_PLAN_APPROVAL';
const AWAITING_REPLY = 'AWAITING_USER_FEEDBACK';
/** The session state each question put to people stands for. */
const AWAITED_STATE: Readonly<Record<PeopleQuestion, string>> = { plan_approval: AWAITING_PLAN, reply: AWAITING_REPLY };

/**
 * The session watcher: delivers pending actions, then polls the session (one request per poll while nothing
 * changes) and its new activities (only when the session changed), keeps the thread's progress message up to
 * date itself, and returns only for what needs the workflow: a plan or question to put before people, a
 * pause, a stall, a resumption, the end, or its own time limit. So history grows with decisions, not with
 * progress updates or time.
 */
export function createWatchActivities(deps: Pick<ActivityDeps, 'store' | 'secrets' | 'julesClientFor' | 'discord' | 'log'>) {
  const { store, discord, log } = deps;

  return {
    async watchJulesSession(input: WatchInput): Promise<WatchResult> {
      const context = Context.current();
      const client = await julesClientForOwner(deps, input);
      const started = Date.now();
      // A retried attempt resumes from its last heartbeat: nothing delivered or posted twice.
      let cursor: WatchCursor = (context.info.heartbeatDetails as WatchCursor | undefined) ?? input.cursor;
      const beat = () => context.heartbeat(cursor);

      try {
        // An attempt that was interrupted after delivering (a newer reply or push cancelled it) never reported
        // back; the audit trail did record the delivery, so nothing is sent to Jules twice.
        const recorded = input.deliver.length
          ? new Set((await store.listTaskEvents(input.taskId)).map((event) => event.detail.action).filter((id) => typeof id === 'string'))
          : new Set();
        for (const action of input.deliver) {
          if (cursor.delivered.includes(action.id) || recorded.has(action.id)) continue;
          await deliver(client, input.session, action);
          await store.recordTaskEvent({
            taskId: input.taskId,
            kind: action.kind === 'approve_plan' ? 'plan_approved' : action.purpose === 'changes' ? 'changes_requested' : 'message_to_jules',
            actorId: action.actorId,
            detail: { action: action.id },
            dedupeKey: action.id,
          });
          cursor = { ...cursor, delivered: [...cursor.delivered, action.id].slice(-50), lastChangeAt: Date.now() };
          beat();
        }
      } catch (err) {
        throw toApplicationFailure(err);
      }

      let state = input.knownState;
      const fastWindowMs = FAST_WINDOW_INTERVALS * input.pollIntervalMs;
      let fastUntil = input.deliver.length > 0 ? Date.now() + fastWindowMs : 0;
      // A line the previous attempt saw but had not shown yet is shown first.
      let progress: { line: string; posted: boolean; lastEditAt: number } | undefined = cursor.pendingProgress
        ? { line: cursor.pendingProgress, posted: false, lastEditAt: 0 }
        : undefined;
      let latestPlan: { id: string; steps: string[] } | undefined;
      let latestQuestion: { id: string; text: string } | undefined;
      let failureReason: string | undefined;

      const flushProgress = async (force: boolean) => {
        if (!progress || progress.posted) return;
        if (!force && Date.now() - progress.lastEditAt < PROGRESS_EDIT_MS) return;
        const body = renderProgressMessage({ ...input.view, progress: progress.line });
        if (cursor.progressMessageId) {
          await discord.editMessage(input.threadId, cursor.progressMessageId, body);
        } else {
          const posted = await discord.postMessage(input.threadId, body, { nonce: nonceFor(input.taskId, 'progress') });
          // A retry whose last heartbeat missed the id gets the dead attempt's message back for the nonce: update it.
          if (context.info.attempt > 1) await discord.editMessage(input.threadId, posted.id, body);
          cursor = { ...cursor, progressMessageId: posted.id };
        }
        progress = { ...progress, posted: true, lastEditAt: Date.now() };
        const { pendingProgress: _shown, ...rest } = cursor;
        cursor = rest;
      };

      const result = (kind: WatchResult['kind'], snapshot: SessionSnapshot, extra: object = {}): WatchResult =>
        ({ kind, snapshot, cursor, ...extra }) as WatchResult;

      for (;;) {
        let session: JulesSession;
        try {
          session = await client.getSession(input.session);
        } catch (err) {
          const transient = err instanceof JulesApiError && (err.retryable || (err.status === 404 && Date.now() - started < NOT_FOUND_GRACE_MS));
          if (!transient) throw toApplicationFailure(err);
          log.warn({ taskId: input.taskId, status: (err as JulesApiError).status }, 'Jules poll failed, will retry');
          await sleepBeating(Math.min(Math.max(input.pollIntervalMs, (err as JulesApiError).retryAfterMs ?? 0), 60_000), beat);
          continue;
        }
        const snapshot0 = toSnapshot(session);
        const changed = session.updateTime !== cursor.lastUpdateTime || snapshot0.state !== state;
        if (changed) {
          try {
            for (const activity of await listNewActivities(client, input.session, cursor)) {
              cursor = advanceCursor(cursor, activity);
              if (activity.progressUpdated) {
                const line = [activity.progressUpdated.title, activity.progressUpdated.description].filter(Boolean).join(': ');
                if (line) {
                  progress = { line, posted: false, lastEditAt: progress?.lastEditAt ?? 0 };
                  cursor = { ...cursor, pendingProgress: line };
                }
              }
              if (activity.planGenerated?.plan) {
                const plan = activity.planGenerated.plan;
                latestPlan = { id: plan.id ?? activity.id ?? activity.name, steps: (plan.steps ?? []).map((s, i) => s.title ?? `Step ${i + 1}`) };
              }
              if (activity.agentMessaged?.agentMessage) latestQuestion = { id: activity.id ?? activity.name, text: activity.agentMessaged.agentMessage };
              if (activity.sessionFailed) failureReason = activity.sessionFailed.reason ?? failureReason;
            }
          } catch (err) {
            if (!(err instanceof JulesApiError && err.retryable)) throw toApplicationFailure(err);
            await sleepBeating(input.pollIntervalMs, beat);
            continue;
          }
          // Without plan approval Jules approves its own plan at once: show it as soon as it is seen.
          if (latestPlan && !input.planApproval && !cursor.delivered.includes(`plan:${latestPlan.id}`)) {
            await post(input, renderPlanMessage({ ...input.view, plan: latestPlan.steps }, { action: 'automatic' }), `plan:${latestPlan.id}`);
            cursor = { ...cursor, delivered: [...cursor.delivered, `plan:${latestPlan.id}`].slice(-50) };
          }
          if (snapshot0.state !== state) {
            await store.updateTask(input.taskId, { julesState: snapshot0.state });
            await store.recordTaskEvent({ taskId: input.taskId, kind: 'jules_state_changed', outcome: snapshot0.state, detail: { from: state }, dedupeKey: `state:${session.updateTime ?? snapshot0.state}` });
          }
          cursor = { ...cursor, lastUpdateTime: session.updateTime, lastChangeAt: Date.now() };
          fastUntil = Date.now() + fastWindowMs;
        }
        const previousState = state;
        state = snapshot0.state;
        const snapshot: SessionSnapshot = { ...snapshot0, ...(failureReason ? { failureReason } : {}) };
        await flushProgress(TERMINAL_SESSION_STATES.has(state) || state === AWAITING_PLAN || state === AWAITING_REPLY);

        if (TERMINAL_SESSION_STATES.has(state)) {
          if (state === 'FAILED' && !snapshot.failureReason) {
            const reason = await findLatest(client, input.session, (a) => a.sessionFailed?.reason);
            return result('ended', { ...snapshot, ...(reason ? { failureReason: reason } : {}) });
          }
          return result('ended', snapshot);
        }
        if (state === AWAITING_PLAN) {
          latestPlan ??= await findLatest(client, input.session, (a) =>
            a.planGenerated?.plan ? { id: a.planGenerated.plan.id ?? a.id ?? a.name, steps: (a.planGenerated.plan.steps ?? []).map((s, i) => s.title ?? `Step ${i + 1}`) } : undefined,
          );
          if (latestPlan && input.planApproval && !cursor.delivered.includes(`plan:${latestPlan.id}`)) {
            const messageId = await post(input, renderPlanMessage({ ...input.view, plan: latestPlan.steps, awaiting: 'plan_approval' }), `plan:${latestPlan.id}`);
            cursor = { ...cursor, delivered: [...cursor.delivered, `plan:${latestPlan.id}`].slice(-50) };
            return result('plan', snapshot, { plan: latestPlan.steps, planId: latestPlan.id, messageId });
          }
        }
        if (state === AWAITING_REPLY) {
          latestQuestion ??= await findLatest(client, input.session, (a) => (a.agentMessaged?.agentMessage ? { id: a.id ?? a.name, text: a.agentMessaged.agentMessage } : undefined));
          if (latestQuestion && !cursor.delivered.includes(`question:${latestQuestion.id}`)) {
            const messageId = await post(input, renderQuestionMessage({ ...input.view, question: latestQuestion.text, awaiting: 'reply' }), `question:${latestQuestion.id}`);
            cursor = { ...cursor, delivered: [...cursor.delivered, `question:${latestQuestion.id}`].slice(-50) };
            return result('question', snapshot, { question: latestQuestion.text, messageId });
          }
        }
        if (input.awaiting && state !== AWAITED_STATE[input.awaiting]) return result('answered_elsewhere', snapshot);
        if (state === 'PAUSED' && previousState !== 'PAUSED') return result('paused', snapshot);
        if (changed && (input.stalled || input.knownState === 'PAUSED') && state !== 'PAUSED') return result('resumed', snapshot);
        if (!input.awaiting && Date.now() - cursor.lastChangeAt > input.stallAfterMs) return result('stalled', snapshot);
        if (Date.now() - started > input.maxRunMs) {
          await flushProgress(true);
          return result('quiet', snapshot);
        }

        const fast = Math.min(input.pollIntervalMs, Math.max(1_000, Math.floor(input.pollIntervalMs / 4)));
        const interval = Date.now() < fastUntil ? fast : input.pollIntervalMs;
        await sleepBeating(progress && !progress.posted ? Math.min(interval, PROGRESS_EDIT_MS) : interval, beat);
      }
    },
  };

  async function post(input: WatchInput, body: MessageBody, step: string): Promise<string> {
    const posted = await discord.postMessage(input.threadId, body, { nonce: nonceFor(input.taskId, step) });
    return posted.id;
  }
}

/** Tells Jules one thing. approvePlan on a session no longer awaiting approval is not an error (already done). */
async function deliver(client: JulesClient, session: string, action: JulesAction): Promise<void> {
  if (action.kind === 'send_message') return client.sendMessage(session, action.text);
  try {
    await client.approvePlan(session);
  } catch (err) {
    if (err instanceof JulesApiError && err.status === 400 && err.code === 'FAILED_PRECONDITION') return;
    throw err;
  }
}

/** Every activity newer than the cursor, oldest first, without the ones already seen at the cursor's time. */
async function listNewActivities(client: JulesClient, session: string, cursor: WatchCursor): Promise<JulesActivity[]> {
  const found: JulesActivity[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.listActivities(session, {
      ...(pageToken ? { pageToken } : {}),
      ...(cursor.lastActivityTime ? { createTimeAfter: cursor.lastActivityTime } : {}),
    });
    found.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  const seen = new Set(cursor.seenAtLastTime);
  return found
    .filter((a) => !seen.has(a.id ?? a.name))
    .sort((a, b) => (a.createTime ?? '').localeCompare(b.createTime ?? ''));
}

/** The newest activity for which `pick` returns a value, looking through the whole session (rare: after a restart). */
async function findLatest<T>(client: JulesClient, session: string, pick: (a: JulesActivity) => T | undefined): Promise<T | undefined> {
  const all: JulesActivity[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.listActivities(session, pageToken ? { pageToken } : {});
    all.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  all.sort((a, b) => (a.createTime ?? '').localeCompare(b.createTime ?? ''));
  for (let i = all.length - 1; i >= 0; i--) {
    const value = pick(all[i]!);
    if (value !== undefined) return value;
  }
  return undefined;
}

function advanceCursor(cursor: WatchCursor, activity: JulesActivity): WatchCursor {
  const time = activity.createTime;
  const id = activity.id ?? activity.name;
  if (!time) return cursor;
  if (time === cursor.lastActivityTime) return { ...cursor, seenAtLastTime: [...cursor.seenAtLastTime, id] };
  if (!cursor.lastActivityTime || time > cursor.lastActivityTime) return { ...cursor, lastActivityTime: time, seenAtLastTime: [id] };
  return cursor;
}

