import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { TaskOutcome } from '../shared/task';
import { OPEN_TASK_STATUSES, TASK_STATUSES, type TaskStatus } from '../shared/task-status';
import type { Store, TaskEventKind } from '../store/store';

/**
 * The task reconciler: ends the `tasks` rows whose workflow closed without writing its end. A workflow writes its
 * own end in its last step, except when Temporal ends it from outside: terminated by an operator, past its run
 * timeout, or gone from the namespace (retention). Such a row would stay open for good, listed by
 * `/jules-status` and holding its key owner's Jules session slot. It also ends the row of a request admitted by
 * the ingress whose workflow never started. Rows are only ever moved from an open
 * status by the same guarded transition the workflow uses, so a reconcile racing a workflow's own ending does
 * nothing twice.
 */

/** Rows younger than this are left alone: their workflow has just been started and may not be visible yet. */
const MIN_AGE_MS = 60_000;

/** How the row of a task whose workflow closed this way ends, and the words people read. */
const ENDINGS: Readonly<Record<string, { status: TaskStatus; event: TaskEventKind; words: string }>> = {
  TERMINATED: { status: 'failed', event: 'failed', words: 'The task was terminated in Temporal before it could finish.' },
  TIMED_OUT: { status: 'expired', event: 'expired', words: 'The task ran past its run timeout in Temporal.' },
  CANCELLED: { status: 'cancelled', event: 'cancelled', words: 'Cancelled in Temporal (the Web UI or the CLI).' },
  FAILED: { status: 'failed', event: 'failed', words: 'The task’s workflow failed; see its history in the Temporal Web UI.' },
  // Past the namespace's retention, or never started: the ingress admits before it starts, and a start that failed
  // (Temporal unreachable; the member was told to try again) leaves the admitted row behind.
  NOT_FOUND: { status: 'failed', event: 'failed', words: 'Temporal does not know this task’s workflow: it never started (Temporal was unreachable when it was asked), or it is past its retention.' },
};

/** What one reconcile did. */
export interface ReconcileReport {
  /** Open rows looked at. */
  readonly checked: number;
  /** Rows ended, by the way their workflow closed. */
  readonly ended: Readonly<Record<string, number>>;
}

/** Options of {@link reconcileClosedTasks}. */
export interface ReconcileOptions {
  readonly client: Client;
  readonly store: Pick<Store, 'listTasks' | 'transitionTask' | 'releaseSessionSlot'>;
  readonly log: Logger;
  /** How many open rows one pass looks at, oldest first being the likeliest to be stale. Default 500. */
  readonly limit?: number;
  readonly now?: () => number;
}

/** One pass: every open row older than a minute whose workflow is closed is ended, and its slot released. */
export async function reconcileClosedTasks(options: ReconcileOptions): Promise<ReconcileReport> {
  const { client, store, log } = options;
  const now = options.now ?? Date.now;
  const rows = await store.listTasks({ open: true, limit: options.limit ?? 500 });
  const ended: Record<string, number> = {};
  for (const row of rows) {
    if (now() - row.createdAt.getTime() < MIN_AGE_MS) continue;
    const closedAs = await closedStatusOf(client, row.id);
    if (!closedAs) continue;
    const ending = closedAs === 'COMPLETED' ? await completedEnding(client, row.id) : ENDINGS[closedAs];
    if (!ending) continue;
    const moved = await store.transitionTask(row.id, {
      from: OPEN_TASK_STATUSES,
      to: ending.status,
      event: ending.event,
      patch: { lastError: ending.words, endedAt: new Date(now()).toISOString() },
      outcome: ending.status,
      detail: { reconciled: true, workflow: closedAs.toLowerCase() },
    });
    await store.releaseSessionSlot(row.id);
    if (moved) {
      ended[closedAs] = (ended[closedAs] ?? 0) + 1;
      log.warn({ taskId: row.id, workflow: closedAs, status: ending.status }, 'ended a task whose workflow closed without ending it');
    }
  }
  return { checked: rows.length, ended };
}

/** The workflow's close status (`TERMINATED`, `COMPLETED`, …, or `NOT_FOUND`), or undefined while it runs. */
async function closedStatusOf(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return status.name === 'RUNNING' || status.name === 'CONTINUED_AS_NEW' ? undefined : status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}

/** A completed workflow whose row stayed open (its last step was lost): its result says how it ended. */
async function completedEnding(client: Client, workflowId: string): Promise<{ status: TaskStatus; event: TaskEventKind; words: string } | undefined> {
  const outcome = (await client.workflow.getHandle(workflowId).result()) as TaskOutcome;
  // Every way a task ends is also the name of the event that records it; a refused request never had a row.
  const status = ENDED_STATUSES.find((s) => s === outcome.status);
  return status ? { status, event: status, words: outcome.reason ?? 'The task ended.' } : undefined;
}

/** The statuses a workflow ends a task with. */
const ENDED_STATUSES = TASK_STATUSES.filter((s): s is Exclude<TaskStatus, 'pending_confirmation' | 'in_progress'> => s !== 'pending_confirmation' && s !== 'in_progress');

/** A reconciler that runs now and then every `everyMs` until stopped; a failed pass is logged and tried again. */
export function startTaskReconciler(options: ReconcileOptions & { readonly everyMs: number }): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const pass = () => {
    running = reconcileClosedTasks(options).catch((err: unknown) => options.log.warn({ err }, 'task reconcile failed; trying again later'));
  };
  pass();
  const timer = setInterval(pass, options.everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
