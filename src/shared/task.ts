import { isFinalStatus, type TaskStatus } from './task-status';

/** Which stored Jules key pays for a task. The workflow carries the source, never the key. */
export type KeySource = 'personal' | 'guild';

/** A Discord member as the ingress saw them in the interaction payload. */
export interface Member {
  readonly id: string;
  /** Role ids from `member.roles`; validators cannot do I/O, so roles travel with each request. */
  readonly roles: readonly string[];
}

/**
 * Where a task came from. A `/jules` interaction gets a card in its channel and a thread under it; a plan item is
 * started already confirmed by the plan's approval, paid by the plan's key, and speaks in the plan's thread.
 */
export type TaskOrigin =
  | { readonly kind: 'interaction'; readonly interactionId: string }
  | {
      readonly kind: 'plan_item';
      readonly runId: string;
      readonly issueNumber: number;
      readonly issueTitle: string;
      /** The plan's thread, where the item's messages go (one line each, labelled with the issue). */
      readonly threadId: string;
      /** The key the plan's card said would pay. */
      readonly keySource: KeySource;
    };

/** What a task asks for: the task workflow's input. Carries no secrets. */
export interface TaskRequest {
  readonly taskId: string;
  /** Absent in requests recorded before plans existed: those came from the `/jules` interaction `interactionId`. */
  readonly origin?: TaskOrigin;
  /** The `/jules` interaction; kept for requests recorded before {@link TaskRequest.origin}. */
  readonly interactionId?: string;
  readonly guildId: string;
  /** The channel of the card (`/jules`) or of the plan's card (a plan item). */
  readonly channelId: string;
  readonly requester: Member;
  readonly prompt: string;
  readonly repo?: string;
  readonly branch?: string;
  readonly planApproval?: boolean;
  /** The ended task this one asks again (`/jules-retry`); its card links to the earlier one. */
  readonly retryOf?: RetryOf;
}

/** The earlier task a retry asks again: its id, and its card's link when it had one. Ids and a URL, nothing secret. */
export interface RetryOf {
  readonly taskId: string;
  readonly cardUrl?: string;
}

/** A plan item's origin, or undefined for a `/jules` task (with or without {@link TaskRequest.origin}). */
export function planItemOrigin(request: Pick<TaskRequest, 'origin'>): Extract<TaskOrigin, { kind: 'plan_item' }> | undefined {
  return request.origin?.kind === 'plan_item' ? request.origin : undefined;
}

/** Why a request was refused at admission. */
export type RefusalCode = 'guild_not_configured' | 'not_allowed' | 'no_repo' | 'no_key' | 'bad_repo' | 'quota';

/** The admission decision: the ingress answers `/jules` with it, and an admitted task's workflow starts with it. */
export type Admission =
  | {
      readonly admitted: true;
      readonly status: 'pending_confirmation' | 'in_progress';
      readonly keySource: KeySource;
      readonly repo: string;
      readonly branch?: string;
      readonly confirmRoles: readonly string[];
      /** Whether people approve Jules' plan: the request's choice, else the guild's default. */
      readonly planApproval?: boolean;
      /** How a Merge click merges the task's pull request (the guild's setting). */
      readonly mergeMethod?: 'merge' | 'squash' | 'rebase';
      /** Failing checks of the task's PR go back to Jules by themselves (`guild set --fix-failing-checks on`). */
      readonly fixFailingChecks?: boolean;
      /** At most this many fix requests per PR (`--max-fix-attempts`, default 2). */
      readonly maxFixAttempts?: number;
      /** The card message in the channel, once posted. */
      readonly cardMessageId?: string;
    }
  | { readonly admitted: false; readonly code: RefusalCode; readonly reason: string };

/** What a task waits for from people, if anything. */
export type Awaiting = 'confirmation' | 'plan_approval' | 'reply';

/** What Discord shows of a task: enough to render its card and check who may act. No secrets, no key. */
export interface TaskView {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly channelId?: string;
  /** The thread under the card where everything after the card goes. */
  readonly threadId?: string;
  readonly cardMessageId?: string;
  readonly awaiting?: Awaiting;
  /** Role ids that may confirm, approve plans and act for anyone (ids are not secret). */
  readonly confirmRoles?: readonly string[];
  /** Jules' plan step titles, while or after it waited for approval. */
  readonly plan?: readonly string[];
  /** The agent's latest question, while it waits for a reply. */
  readonly question?: string;
  /** The latest progress line. */
  readonly progress?: string;
  readonly prompt: string;
  readonly repo: string;
  readonly branch?: string;
  readonly requesterId: string;
  readonly keySource: KeySource;
  readonly decidedBy?: string;
  readonly sessionUrl?: string;
  readonly prUrl?: string;
  /** How the pull request stands, mirrored from its follow-through ("all 5 checks passed", "merged"). */
  readonly prStatus?: string;
  readonly error?: string;
  /** The earlier task this one retries. */
  readonly retryOf?: RetryOf;
  /** True once the workflow finished. The status alone cannot say: `stalled` may be an alert or the end. */
  readonly ended?: boolean;
}

/** Whether a task is over: nothing more will happen to it, and its buttons are gone. */
export function hasEnded(view: Pick<TaskView, 'status' | 'ended'>): boolean {
  return view.ended === true || isFinalStatus(view.status);
}

/** A confirm or reject click, as the ingress passes it to the workflow. */
export interface Decision {
  readonly action: 'confirm' | 'reject';
  readonly member: Member;
  /** Why, when a confirmer rejects through the reason modal. */
  readonly reason?: string;
}

/** Approve Jules' plan, or ask for changes (the feedback goes to Jules as a message). */
export interface PlanDecision {
  readonly action: 'approve' | 'request_changes';
  readonly member: Member;
  readonly feedback?: string;
}

/** A reply to Jules' question (the Reply modal), or a message forwarded from the task's thread. */
export interface Reply {
  readonly member: Member;
  readonly text: string;
}

/** A Cancel click by the requester or a confirmer. */
export interface Cancellation {
  readonly member: Member;
}

/** A push from a Jules relay (`POST /webhook/jules`): wakes the task at once instead of at the next poll. */
export interface JulesEvent {
  readonly deliveryId: string;
  readonly session: string;
  readonly state?: string;
}

/** How a task workflow ended. */
export interface TaskOutcome {
  readonly taskId: string;
  readonly status: TaskStatus | 'refused';
  readonly prUrl?: string;
  readonly reason?: string;
}

/** Fields of the task projection a workflow step may change. `undefined` leaves a field as it is. */
export interface TaskPatch {
  readonly status?: TaskStatus;
  readonly cardMessageId?: string | null;
  readonly threadId?: string | null;
  readonly decidedBy?: string | null;
  readonly julesSessionId?: string | null;
  readonly julesSessionUrl?: string | null;
  readonly julesState?: string | null;
  readonly prUrl?: string | null;
  readonly lastError?: string | null;
  /** When the task ended (ISO 8601); stamped by the step that announces the outcome. */
  readonly endedAt?: string | null;
  /** The pull request Jules opened, as the follow-through last read it. */
  readonly prNumber?: number | null;
  readonly prHeadSha?: string | null;
  readonly prState?: 'open' | 'merged' | 'closed' | null;
  readonly checksState?: 'no_checks' | 'pending' | 'passed' | 'failed' | null;
  /** When the pull request was merged (ISO 8601). */
  readonly mergedAt?: string | null;
  /**
   * How the PR follow-through is woken by a webhook delivery: `deliveries`, it watches the deliveries recorded
   * about its task; `signal` or null, a Temporal signal per delivery (follow-throughs started before, or after).
   */
  readonly prFollowWakes?: PrFollowWakes | null;
}

/** How a task's PR follow-through learns of a webhook delivery (see {@link TaskPatch.prFollowWakes}). */
export type PrFollowWakes = 'signal' | 'deliveries';
