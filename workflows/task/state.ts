import type { JulesAction } from '../../src/shared/jules-session';
import { isConfirmer, isRequesterOrConfirmer } from '../../src/shared/permissions';
import { hasEnded, type Admission, type Cancellation, type Decision, type PlanDecision, type Reply, type TaskPatch, type TaskRequest, type TaskView } from '../../src/shared/task';
import type { TaskStatus } from '../../src/shared/task-status';

/** A confirmer's answer to Jules' plan, kept until the workflow turns it into something to tell Jules. */
export interface PlanAnswer {
  readonly action: 'approve' | 'request_changes';
  readonly by: string;
  readonly feedback?: string;
}

/** The final step being published: its status, patch and who caused it. */
export interface Ending {
  readonly status: TaskStatus;
  readonly patch: TaskPatch;
  readonly actorId?: string;
}

/**
 * What a task knows and what people asked of it, with the rules for who may ask what, when. Pure: no Temporal
 * calls, so its rules are tested without a server; the workflow wires its handlers to these methods.
 * Validators (`check…`) throw an Error whose message the member reads; transitions (the verbs) assume the
 * check passed and return the view the member's answer shows.
 */
export class TaskState {
  admission: Admission | undefined;
  view: TaskView | undefined;
  /** A confirmer confirmed or rejected the request. */
  decided = false;
  /** Who cancelled the task, once someone did. */
  cancelledBy: string | undefined;
  planAnswer: PlanAnswer | undefined;
  /** What to tell Jules at the next watch, oldest first. */
  readonly pending: JulesAction[];
  /** A push, a reply or a cancel asks the running watch to stop and the task to look again. */
  wakeRequested = false;
  /** A watch of the session is running (a plan click may come while it finishes posting the plan). */
  watching = false;
  /** The Jules session exists: replies can reach it. */
  sessionStarted: boolean;
  /** Set by the final step: from then on, nothing people send can still be acted on. */
  ending: Ending | undefined;

  constructor(
    private readonly request: TaskRequest,
    carried: { readonly admission: Admission; readonly view: TaskView; readonly pending: readonly JulesAction[] } | undefined,
    /** Ids of actions for Jules (the workflow's deterministic uuid4). */
    private readonly newId: () => string,
  ) {
    this.admission = carried?.admission;
    this.view = carried?.view;
    this.pending = [...(carried?.pending ?? [])];
    this.sessionStarted = carried !== undefined;
  }

  /** One rule for every validator: a task that has ended, or is ending, takes no more decisions. */
  closed(): boolean {
    return this.ending !== undefined || !this.view || hasEnded(this.view);
  }

  /** People acted on what the task waits for: a plan answer, a reply or a cancel. */
  answered(): boolean {
    return this.planAnswer !== undefined || this.cancelledBy !== undefined || this.pending.length > 0;
  }

  private actors() {
    return { requesterId: this.request.requester.id, confirmRoles: this.admission?.admitted ? this.admission.confirmRoles : [] };
  }

  private statusWords(): string {
    return describe(this.ending?.status ?? this.view?.status ?? 'finished');
  }

  // Validators cannot do I/O, so the member's roles travel with each update.

  checkDecision(decision: Decision): void {
    if (!this.view) throw new Error('This task was never admitted.');
    if (this.view.status !== 'pending_confirmation' || this.decided || this.closed()) throw new Error(`This task is already ${this.statusWords()}.`);
    if (!isConfirmer(decision.member, this.actors())) throw new Error('Only members with a confirm role can confirm or reject this task.');
  }

  decide(decision: Decision): TaskView {
    this.decided = true;
    const rejected = decision.action === 'reject';
    this.view = {
      ...this.view!,
      status: rejected ? 'rejected' : 'in_progress',
      awaiting: undefined,
      decidedBy: decision.member.id,
      ...(rejected && decision.reason ? { error: decision.reason } : {}),
    };
    return this.view;
  }

  checkPlanDecision(decision: PlanDecision): void {
    if (!isConfirmer(decision.member, this.actors())) throw new Error('Only members with a confirm role can approve the plan or ask for changes.');
    if (this.closed()) throw new Error('This task has ended: no plan is waiting for approval.');
    // The watcher posts the plan just before it returns it, so a click may come while the watch is still
    // finishing: it is kept and applied when the plan arrives.
    if (!(this.view?.awaiting === 'plan_approval' || this.watching) || this.planAnswer) throw new Error('No plan is waiting for approval on this task.');
    if (decision.action === 'request_changes' && !decision.feedback?.trim()) throw new Error('Say what Jules should change.');
  }

  decidePlan(decision: PlanDecision): TaskView {
    this.planAnswer = { action: decision.action, by: decision.member.id, ...(decision.feedback ? { feedback: decision.feedback } : {}) };
    this.view = { ...this.view!, awaiting: undefined };
    return this.view;
  }

  checkReply(reply: Reply): void {
    if (this.closed() || !this.sessionStarted) throw new Error('Jules is not working on this task right now.');
    if (!isRequesterOrConfirmer(reply.member, this.actors())) throw new Error('Only the requester or a confirmer can reply to Jules.');
    if (!reply.text.trim()) throw new Error('The reply is empty.');
  }

  reply(reply: Reply): TaskView {
    this.pending.push({ kind: 'send_message', id: this.newId(), text: reply.text, actorId: reply.member.id, purpose: 'reply' });
    this.wakeRequested = true;
    this.view = { ...this.view!, awaiting: this.view!.awaiting === 'reply' ? undefined : this.view!.awaiting };
    return this.view;
  }

  checkCancel(cancellation: Cancellation): void {
    if (this.closed() || this.cancelledBy) throw new Error(`This task is already ${this.statusWords()}.`);
    if (!isRequesterOrConfirmer(cancellation.member, this.actors())) throw new Error('Only the requester or a confirmer can cancel this task.');
  }

  cancel(cancellation: Cancellation): TaskView {
    this.cancelledBy = cancellation.member.id;
    this.wakeRequested = true;
    this.view = { ...this.view!, status: 'cancelled', awaiting: undefined, decidedBy: this.view!.decidedBy };
    return this.view;
  }

  /** A pushed Jules event: look at the session now. */
  wake(): void {
    this.wakeRequested = true;
  }

  /** Admission decided: the view the card first shows. */
  admit(admission: Extract<Admission, { admitted: true }>): TaskView {
    const { request } = this;
    this.admission = admission;
    this.view = {
      taskId: request.taskId,
      status: admission.status,
      channelId: request.channelId,
      prompt: request.prompt,
      repo: admission.repo,
      ...(admission.branch ? { branch: admission.branch } : {}),
      requesterId: request.requester.id,
      keySource: admission.keySource,
      confirmRoles: admission.confirmRoles,
      ...(request.retryOf ? { retryOf: request.retryOf } : {}),
      ...(admission.status === 'pending_confirmation' ? { awaiting: 'confirmation' as const } : { decidedBy: request.requester.id }),
    };
    return this.view;
  }

  /** What a step's patch changes in what Discord shows. */
  applyPatch(patch: TaskPatch): TaskView {
    this.view = {
      ...this.view!,
      ...(patch.status ? { status: patch.status } : {}),
      ...(patch.julesSessionUrl ? { sessionUrl: patch.julesSessionUrl } : {}),
      ...(patch.prUrl ? { prUrl: patch.prUrl } : {}),
      ...(patch.lastError ? { error: patch.lastError } : {}),
    };
    return this.view;
  }

  /** The final step begins: the view says the task ended, and every validator refuses from now on. */
  beginEnding(ending: Ending): void {
    this.ending = ending;
    this.view = { ...this.view!, ended: true };
  }

  /** Turns a plan decision into what to tell Jules next. */
  takePlanAnswer(): void {
    const answer = this.planAnswer;
    if (!answer) return;
    this.pending.push(
      answer.action === 'approve'
        ? { kind: 'approve_plan', id: this.newId(), actorId: answer.by }
        : { kind: 'send_message', id: this.newId(), text: answer.feedback ?? '', actorId: answer.by, purpose: 'changes' },
    );
    this.planAnswer = undefined;
  }

  /** Everything waiting to be told to Jules, handed to the next watch (and the wake-up it answers). */
  takePending(): JulesAction[] {
    this.wakeRequested = false;
    return this.pending.splice(0, this.pending.length);
  }
}

/** A status as words: `needs_attention` → "needs attention". */
function describe(status: TaskStatus | string): string {
  return status.replace(/_/g, ' ');
}
