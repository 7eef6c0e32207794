import type { TaskStatus } from './task-status';

/** Which stored Jules key pays for a task. The workflow carries the source, never the key. */
export type KeySource = 'personal' | 'guild';

/** A Discord member as the ingress saw them in the interaction payload. */
export interface Member {
  readonly id: string;
  /** Role ids from `member.roles`; validators cannot do I/O, so roles travel with each request. */
  readonly roles: readonly string[];
}

/** What a `/jules` command asks for: the task workflow's input. Carries no secrets. */
export interface TaskRequest {
  readonly taskId: string;
  readonly interactionId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly requester: Member;
  readonly prompt: string;
  readonly repo?: string;
  readonly branch?: string;
  readonly planApproval?: boolean;
}

/** Why a request was refused at admission. */
export type RefusalCode = 'guild_not_configured' | 'not_allowed' | 'no_repo' | 'no_key' | 'bad_repo';

/** The admission decision, returned to the ingress through the admission update. */
export type Admission =
  | {
      readonly admitted: true;
      readonly status: 'pending_confirmation' | 'in_progress';
      readonly keySource: KeySource;
      readonly repo: string;
      readonly branch?: string;
      readonly confirmRoles: readonly string[];
      /** The card message in the channel, once posted. */
      readonly cardMessageId?: string;
    }
  | { readonly admitted: false; readonly code: RefusalCode; readonly reason: string };

/** What Discord shows of a task: enough to render its card. No secrets, no key. */
export interface TaskView {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly prompt: string;
  readonly repo: string;
  readonly branch?: string;
  readonly requesterId: string;
  readonly keySource: KeySource;
  readonly decidedBy?: string;
  readonly sessionUrl?: string;
  readonly prUrl?: string;
  readonly error?: string;
}

/** A confirm or reject click, as the ingress passes it to the workflow. */
export interface Decision {
  readonly action: 'confirm' | 'reject';
  readonly member: Member;
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
  readonly decidedBy?: string | null;
  readonly julesSessionId?: string | null;
  readonly julesSessionUrl?: string | null;
  readonly julesState?: string | null;
  readonly prUrl?: string | null;
  readonly lastError?: string | null;
}
