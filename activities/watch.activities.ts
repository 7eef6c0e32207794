import { Context } from '@temporalio/activity';
import { JulesApiError } from '../src/jules/errors';
import type { JulesActivity, JulesClient, JulesSession } from '../src/jules/jules-client';
import { TASK_THREAD, type Audience } from '../src/shared/audience';
import type { JulesAction, SessionSnapshot, WatchCursor, WatchResult } from '../src/shared/jules-session';
import { TERMINAL_SESSION_STATES } from '../src/shared/jules-session';
import type { Awaiting, TaskView } from '../src/shared/task';
import type { ProgressShown } from '../src/tasks/announcer';
import type { ActivityDeps } from './deps';
import { sleepBeating } from './heartbeat';
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
  /** The task as the workflow sees it, for the announcer to render messages from. */
  readonly view: TaskView;
  /** Who is told; absent (as in every input before the field existed): the task's thread. */
  readonly audience?: Audience;
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

// Right after create, Jules may answer 404 for a few seconds, for the session or for its activities (eventual
// consistency, jules-sdk #19, reference/jules-api.md). Generous, since "a few seconds" is not a promise.
const NOT_FOUND_GRACE_MS = 2 * 60_000;
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
 * changes) and its new activities (only when the session changed), has the announcer keep the progress message
 * up to date, and returns only for what needs the workflow: a plan or question to put before people, a
 * pause, a stall, a resumption, the end, or its own time limit. So history grows with decisions, not with
 * progress updates or time. What people see, and how, is the announcer's business.
 */
export function createWatchActivities(deps: Pick<ActivityDeps, 'store' | 'secrets' | 'julesClientFor' | 'log'> & Required<Pick<ActivityDeps, 'announcerFor'>>) {
  const { store, log, announcerFor } = deps;

  return {
    async watchJulesSession(input: WatchInput): Promise<WatchResult> {
      const context = Context.current();
      const client = await julesClientForOwner(deps, input);
      const announcer = announcerFor({ taskId: input.taskId, threadId: input.threadId, view: input.view, audience: input.audience ?? TASK_THREAD });
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
          const refused = await deliver(client, input.session, action);
          await store.recordTaskEvent({
            taskId: input.taskId,
            kind: refused ? 'message_not_delivered' : action.kind === 'approve_plan' ? 'plan_approved' : action.purpose === 'changes' ? 'changes_requested' : 'message_to_jules',
            actorId: action.actorId,
            detail: { action: action.id, ...(refused ? { status: refused.status, code: refused.code } : {}) },
            dedupeKey: action.id,
          });
          cursor = remember(cursor, action.id);
          if (refused) {
            log.warn({ taskId: input.taskId, status: refused.status, code: refused.code }, 'Jules refused a message; the task goes on');
            await announcer.showNotice({ kind: 'not_delivered', detail: refused.message, step: `not-delivered:${action.id}` });
          } else {
            cursor = { ...cursor, lastChangeAt: Date.now() };
          }
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

      /** Shows the latest progress line, at most once per PROGRESS_EDIT_MS unless forced; the announcer never refuses by throwing. */
      const flushProgress = async (force: boolean) => {
        if (!progress || progress.posted) return;
        if (!force && Date.now() - progress.lastEditAt < PROGRESS_EDIT_MS) return;
        const shown = await announcer.showProgress(
          progress.line,
          { ...(cursor.progressMessageId ? { messageId: cursor.progressMessageId } : {}), ...(cursor.progressReposts ? { reposts: cursor.progressReposts } : {}) },
          { retried: context.info.attempt > 1 },
        );
        progress = { ...progress, posted: true, lastEditAt: Date.now() };
        cursor = withProgressMessage(cursor, shown);
      };

      const result = (kind: WatchResult['kind'], snapshot: SessionSnapshot, extra: object = {}): WatchResult =>
        ({ kind, snapshot, cursor, ...extra }) as WatchResult;

      // Jules calls that may fail for a while: a 429 or 5xx, or the 404 a new session's reads give for a few seconds
      // (reference/jules-api.md). Waited out here, heartbeating, until the attempt's own time is up.
      let createdAt = started;
      const waitOutJules = async (err: unknown, what: string): Promise<void> => {
        const waitMs = julesRetryDelay(err, input.pollIntervalMs, Date.now() - createdAt < NOT_FOUND_GRACE_MS);
        if (waitMs === undefined) throw toApplicationFailure(err);
        log.warn({ taskId: input.taskId, status: (err as JulesApiError).status }, `Jules ${what} failed, will retry`);
        await sleepBeating(waitMs, beat);
      };

      for (;;) {
        let session: JulesSession;
        try {
          session = await client.getSession(input.session);
        } catch (err) {
          await waitOutJules(err, 'poll');
          continue;
        }
        if (session.createTime && Number.isFinite(Date.parse(session.createTime))) createdAt = Math.min(createdAt, Date.parse(session.createTime));
        const snapshot0 = toSnapshot(session);
        const changed = session.updateTime !== cursor.lastUpdateTime || snapshot0.state !== state;
        if (changed) {
          try {
            for (const activity of await listNewActivities(client, input.session, cursor, beat)) {
              cursor = advanceCursor(cursor, activity);
              if (activity.progressUpdated) {
                const line = [activity.progressUpdated.title, activity.progressUpdated.description].filter(Boolean).join(': ');
                if (line) {
                  progress = { line, posted: false, lastEditAt: progress?.lastEditAt ?? 0 };
                  cursor = { ...cursor, pendingProgress: line };
                }
              }
              latestPlan = planOf(activity) ?? latestPlan;
              if (activity.agentMessaged?.agentMessage) latestQuestion = { id: activity.id ?? activity.name, text: activity.agentMessaged.agentMessage };
              if (activity.sessionFailed) failureReason = activity.sessionFailed.reason ?? failureReason;
            }
          } catch (err) {
            await waitOutJules(err, 'activity list');
            continue;
          }
          // Without plan approval Jules approves its own plan at once: show it as soon as it is seen (for information).
          if (latestPlan && !input.planApproval && !cursor.delivered.includes(`plan:${latestPlan.id}`)) {
            await announcer.showPlan({ ...latestPlan, approval: 'jules' });
            cursor = remember(cursor, `plan:${latestPlan.id}`);
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

        try {
          if (TERMINAL_SESSION_STATES.has(state)) {
            if (state === 'FAILED' && !snapshot.failureReason) {
              const reason = await findLatest(client, input.session, (a) => a.sessionFailed?.reason, beat);
              return result('ended', { ...snapshot, ...(reason ? { failureReason: reason } : {}) });
            }
            return result('ended', snapshot);
          }
          if (state === AWAITING_PLAN) {
            latestPlan ??= await findLatest(client, input.session, planOf, beat);
            if (latestPlan && input.planApproval && !cursor.delivered.includes(`plan:${latestPlan.id}`)) {
              const posted = await announcer.showPlan({ ...latestPlan, approval: 'people' });
              if ('refusal' in posted) return result('discord_refused', snapshot, { reason: posted.refusal.message });
              cursor = remember(cursor, `plan:${latestPlan.id}`);
              return result('plan', snapshot, { plan: latestPlan.steps, planId: latestPlan.id, messageId: posted.messageId });
            }
          }
          if (state === AWAITING_REPLY) {
            latestQuestion ??= await findLatest(client, input.session, (a) => (a.agentMessaged?.agentMessage ? { id: a.id ?? a.name, text: a.agentMessaged.agentMessage } : undefined), beat);
            if (latestQuestion && !cursor.delivered.includes(`question:${latestQuestion.id}`)) {
              const posted = await announcer.showQuestion(latestQuestion);
              if ('refusal' in posted) return result('discord_refused', snapshot, { reason: posted.refusal.message });
              cursor = remember(cursor, `question:${latestQuestion.id}`);
              return result('question', snapshot, { question: latestQuestion.text, messageId: posted.messageId });
            }
          }
        } catch (err) {
          if (!(err instanceof JulesApiError)) throw err;
          await waitOutJules(err, 'activity list');
          continue;
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
}

/**
 * The cursor after a progress line was shown (or dropped): the line is no longer pending, and the progress
 * message is where the announcer left it. Field names are the cursor's as running tasks carry it in history.
 */
function withProgressMessage(cursor: WatchCursor, shown: ProgressShown): WatchCursor {
  const { pendingProgress: _shown, progressMessageId: _id, progressReposts: _reposts, ...rest } = cursor;
  return { ...rest, ...(shown.messageId ? { progressMessageId: shown.messageId } : {}), ...(shown.reposts ? { progressReposts: shown.reposts } : {}) };
}

/** Ids the watcher remembers having delivered or posted; the newest 50 are enough to never repeat one. */
function remember(cursor: WatchCursor, id: string): WatchCursor {
  return { ...cursor, delivered: [...cursor.delivered, id].slice(-50) };
}

/** A plan as a `planGenerated` activity carries it. */
function planOf(activity: JulesActivity): { id: string; steps: string[] } | undefined {
  const plan = activity.planGenerated?.plan;
  return plan ? { id: plan.id ?? activity.id ?? activity.name, steps: (plan.steps ?? []).map((s, i) => s.title ?? `Step ${i + 1}`) } : undefined;
}

/**
 * How long to wait before asking Jules again after `err`, or undefined when asking again cannot help: a 429 or
 * 5xx (honouring Retry-After, at most a minute), or a 404 while the session is new (`young`).
 */
function julesRetryDelay(err: unknown, pollIntervalMs: number, young: boolean): number | undefined {
  if (!(err instanceof JulesApiError)) return undefined;
  if (!err.retryable && !(err.status === 404 && young)) return undefined;
  return Math.min(Math.max(pollIntervalMs, err.retryAfterMs ?? 0), 60_000);
}

/**
 * Tells Jules one thing. approvePlan on a session no longer awaiting approval is not an error (already done).
 * A message Jules refuses for good (a 4xx other than a rejected key or a missing session, e.g. the session
 * finished meanwhile) is returned, not thrown: one refused reply must not fail a task that may have a PR.
 */
async function deliver(client: JulesClient, session: string, action: JulesAction): Promise<{ status: number; code: string; message: string } | undefined> {
  try {
    if (action.kind === 'send_message') await client.sendMessage(session, action.text);
    else await client.approvePlan(session);
    return undefined;
  } catch (err) {
    if (!(err instanceof JulesApiError) || !err.permanent || KEY_OR_SESSION_STATUSES.has(err.status)) throw err;
    if (action.kind === 'approve_plan' && err.status === 400 && err.code === 'FAILED_PRECONDITION') return undefined;
    return { status: err.status, code: err.code, message: err.status === 400 ? 'Jules no longer takes messages in this state' : `Jules answered ${err.status} ${err.code}` };
  }
}

/** Answers that mean the key or the session itself is gone: the task cannot go on, so they stay failures. */
const KEY_OR_SESSION_STATUSES: ReadonlySet<number> = new Set([401, 403, 404]);

/** Every activity newer than the cursor, oldest first, without the ones already seen at the cursor's time. */
async function listNewActivities(client: JulesClient, session: string, cursor: WatchCursor, beat: () => void): Promise<JulesActivity[]> {
  const found: JulesActivity[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.listActivities(session, {
      ...(pageToken ? { pageToken } : {}),
      ...(cursor.lastActivityTime ? { createTimeAfter: cursor.lastActivityTime } : {}),
    });
    found.push(...page.items);
    pageToken = page.nextPageToken;
    beat();
  } while (pageToken);
  const seen = new Set(cursor.seenAtLastTime);
  return found
    .filter((a) => !seen.has(a.id ?? a.name))
    .sort((a, b) => (a.createTime ?? '').localeCompare(b.createTime ?? ''));
}

/** The newest activity for which `pick` returns a value, looking through the whole session (rare: after a restart). */
async function findLatest<T>(client: JulesClient, session: string, pick: (a: JulesActivity) => T | undefined, beat: () => void): Promise<T | undefined> {
  const all: JulesActivity[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.listActivities(session, pageToken ? { pageToken } : {});
    all.push(...page.items);
    pageToken = page.nextPageToken;
    beat();
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

