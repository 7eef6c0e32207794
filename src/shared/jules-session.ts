/**
 * The part of a Jules session the workflow reasons about, as returned by the follow/start activities.
 * State is a plain string: unknown states from the alpha API are tolerated, never thrown on.
 */
export interface SessionSnapshot {
  readonly name: string;
  readonly state: string;
  readonly url?: string;
  readonly prUrl?: string;
  /** Jules' reason when the session failed. */
  readonly failureReason?: string;
  /** Latest human-readable progress line, if any. */
  readonly progress?: string;
}

/** Jules session states after which the session does nothing more. */
export const TERMINAL_SESSION_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED']);
