import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Admission, TaskOutcome, TaskPatch, TaskRequest, TaskView } from '../src/shared/task';
import type { TaskStatus } from '../src/shared/task-status';
import type { SessionSnapshot } from '../src/shared/jules-session';
import { TERMINAL_SESSION_STATES } from '../src/shared/jules-session';
import { REPO, TASK_STATUS } from '../src/shared/search-attributes';
import { admissionUpdate, decisionUpdate, taskViewQuery } from './messages';

/** Timing settings the ingress passes from config, so tests and operators can tune them per run. */
export interface TaskSettings {
  readonly confirmationTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly deadlineMs: number;
}

/** The task workflow's input: what was asked, and how patient to be. Carries no secrets. */
export interface TaskWorkflowInput {
  readonly request: TaskRequest;
  readonly settings: TaskSettings;
}

// Admission answers the ingress inside Discord's 3 s deadline, so it runs as a local activity: no
// extra round trip through the server before the update can complete.
const { admitTask } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5s',
  retry: { initialInterval: '200ms', maximumInterval: '1s', maximumAttempts: 5 },
});

// Unlimited attempts: a store or Discord outage delays a step, it never loses one.
const { recordTask, publishTaskUpdate } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

const { startJulesSession } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
});

// Polling happens inside one heartbeating activity that returns only when something a person should
// see has changed, so history grows with changes, not with time.
const { followJulesSession } = proxyActivities<Activities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '2s', maximumInterval: '1m' },
});

/**
 * One `/jules` request: admit, confirm, start Jules, follow the session, finish. The `tasks` row and
 * the channel follow every step.
 */
export async function taskWorkflow(input: TaskWorkflowInput): Promise<TaskOutcome> {
  const { request, settings } = input;
  let admission: Admission | undefined;
  let view: TaskView | undefined;
  let decided = false;

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
      view = { ...view!, status: decision.action === 'confirm' ? 'in_progress' : 'rejected', decidedBy: decision.member.id };
      return view;
    },
    {
      // Validators cannot do I/O, so the clicker's roles travel with the update.
      validator: (decision) => {
        if (!admission?.admitted || !view) throw new Error('This task was never admitted.');
        if (view.status !== 'pending_confirmation' || decided) {
          throw new Error(`This task is already ${describeStatus(view.status)}.`);
        }
        const confirmRoles = new Set(admission.confirmRoles);
        if (!decision.member.roles.some((role: string) => confirmRoles.has(role))) {
          throw new Error('Only members with a confirm role can confirm or reject this task.');
        }
      },
    },
  );

  admission = await admitTask(request);
  if (!admission.admitted) {
    return { taskId: request.taskId, status: 'refused', reason: admission.reason };
  }

  view = {
    taskId: request.taskId,
    status: admission.status,
    prompt: request.prompt,
    repo: admission.repo,
    ...(admission.branch ? { branch: admission.branch } : {}),
    requesterId: request.requester.id,
    keySource: admission.keySource,
    ...(admission.status === 'in_progress' ? { decidedBy: request.requester.id } : {}),
  };
  upsertSearchAttributes([
    { key: REPO, value: admission.repo },
    { key: TASK_STATUS, value: admission.status },
  ]);

  const { cardMessageId } = await publishTaskUpdate({ channelId: request.channelId, view });

  /** Moves the task a step: search attribute, then in one activity the projection, the card and an announcement. */
  async function advance(patch: TaskPatch, announce?: 'started' | 'outcome'): Promise<void> {
    view = {
      ...view!,
      ...(patch.status ? { status: patch.status } : {}),
      ...(patch.julesSessionUrl ? { sessionUrl: patch.julesSessionUrl } : {}),
      ...(patch.prUrl ? { prUrl: patch.prUrl } : {}),
      ...(patch.lastError ? { error: patch.lastError } : {}),
    };
    if (patch.status) upsertSearchAttributes([{ key: TASK_STATUS, value: patch.status }]);
    await publishTaskUpdate({
      patch,
      channelId: request.channelId,
      ...(cardMessageId ? { cardMessageId } : {}),
      view: view!,
      ...(announce ? { announce } : {}),
    });
  }

  async function finish(status: TaskStatus, patch: TaskPatch = {}): Promise<TaskOutcome> {
    await advance({ ...patch, status }, 'outcome');
    await condition(allHandlersFinished);
    return {
      taskId: request.taskId,
      status,
      ...(view!.prUrl ? { prUrl: view!.prUrl } : {}),
      ...(view!.error ? { reason: view!.error } : {}),
    };
  }

  if (admission.status === 'pending_confirmation') {
    const answered = await condition(() => decided, settings.confirmationTimeoutMs);
    if (!answered) return finish('expired', { lastError: 'Nobody confirmed the request in time.' });
    if (view.status === 'rejected') return finish('rejected', { decidedBy: view.decidedBy ?? null });
    await advance({ status: 'in_progress', decidedBy: view.decidedBy ?? null });
  }

  const jules = { taskId: request.taskId, guildId: request.guildId, requesterId: request.requester.id, keySource: admission.keySource };
  let snapshot: SessionSnapshot;
  try {
    snapshot = await startJulesSession({
      ...jules,
      prompt: request.prompt,
      repo: admission.repo,
      ...(admission.branch ? { branch: admission.branch } : {}),
      ...(request.planApproval !== undefined ? { planApproval: request.planApproval } : {}),
    });
  } catch (err) {
    return finish('failed', { lastError: failureMessage(err) });
  }
  await advance(
    { julesSessionId: snapshot.name, julesSessionUrl: snapshot.url ?? null, julesState: snapshot.state },
    'started',
  );

  try {
    await CancellationScope.withTimeout(settings.deadlineMs, async () => {
      while (!TERMINAL_SESSION_STATES.has(snapshot.state)) {
        const next = await followJulesSession({
          ...jules,
          session: snapshot.name,
          knownState: snapshot.state,
          pollIntervalMs: settings.pollIntervalMs,
        });
        if (next.state !== snapshot.state) await recordTask(request.taskId, { julesState: next.state });
        snapshot = next;
      }
    });
  } catch (err) {
    if (isCancellation(err)) return finish('expired', { lastError: 'The task ran past its deadline.' });
    return finish('failed', { lastError: failureMessage(err) });
  }

  if (snapshot.state === 'FAILED') {
    return finish('failed', { lastError: snapshot.failureReason ?? 'Jules reported the session as failed.' });
  }
  if (!snapshot.prUrl) {
    return finish('needs_attention', {
      lastError: `Jules finished without opening a pull request${snapshot.url ? `: see ${snapshot.url}` : ''}.`,
    });
  }
  return finish('completed', { prUrl: snapshot.prUrl });
}

/** The message a person should read for a failed activity, without stack or internals. */
function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause.message;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  if (err instanceof Error) return err.message;
  return 'unknown error';
}

function describeStatus(status: TaskStatus): string {
  return status.replace(/_/g, ' ');
}
