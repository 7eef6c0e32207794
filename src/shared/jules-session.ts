/**
 * The part of a Jules session the workflow reasons about, as returned by the start and watch activities.
 * State is a plain string: unknown states from the alpha API are tolerated, never thrown on.
 */
export interface SessionSnapshot {
  readonly name: string;
  readonly state: string;
  readonly url?: string;
  readonly prUrl?: string;
  /** Jules' reason when the session failed. */
  readonly failureReason?: string;
}

/** Jules session states after which the session does nothing more. */
export const TERMINAL_SESSION_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED']);

/** Something the workflow asks the watcher to tell Jules before it polls again. */
export type JulesAction =
  | { readonly kind: 'approve_plan'; readonly id: string; readonly actorId: string }
  | { readonly kind: 'send_message'; readonly id: string; readonly text: string; readonly actorId: string; readonly purpose: 'reply' | 'changes' };

/**
 * Where the watcher left off: carried from one watch to the next (and across continue-as-new), and kept in
 * heartbeats so a retried attempt neither repeats Jules calls nor posts progress twice.
 */
export interface WatchCursor {
  /** `createTime` of the newest activity seen; the next list asks only for newer ones. */
  readonly lastActivityTime?: string;
  /** Ids of the activities seen at `lastActivityTime` (several may share a timestamp). */
  readonly seenAtLastTime: readonly string[];
  /** The session's `updateTime` at the last poll: unchanged means nothing to list. */
  readonly lastUpdateTime?: string;
  /** Epoch ms of the last change a person could see; drives the stall timeout. */
  readonly lastChangeAt: number;
  /** The thread message edited in place with the latest progress line. */
  readonly progressMessageId?: string;
  /** Actions already delivered to Jules (ids), so a retry never sends one twice. */
  readonly delivered: readonly string[];
  /** A progress line seen but not yet shown (coalesced); a retried attempt shows it. */
  readonly pendingProgress?: string;
  /** How often the progress message was posted anew after someone deleted it (each post has its own nonce). */
  readonly progressReposts?: number;
}

/** Why a watch returned to the workflow: only what needs a decision or changes the task's status. */
export type WatchResult =
  | { readonly kind: 'plan'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor; readonly plan: readonly string[]; readonly planId: string; readonly messageId?: string }
  | { readonly kind: 'question'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor; readonly question: string; readonly messageId?: string }
  | { readonly kind: 'paused'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor }
  | { readonly kind: 'stalled'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor }
  | { readonly kind: 'ended'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor }
  | { readonly kind: 'resumed'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor }
  | { readonly kind: 'quiet'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor }
  /** The session left the state people were asked about: someone answered in Jules itself. */
  | { readonly kind: 'answered_elsewhere'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor }
  /** Discord refused for good to show people a plan or question they must answer (thread deleted, access lost). */
  | { readonly kind: 'discord_refused'; readonly snapshot: SessionSnapshot; readonly cursor: WatchCursor; readonly reason: string };
