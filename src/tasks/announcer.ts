import type { DiscordRefusal } from '../discord/errors';
import type { PullRequestStatus } from '../github/pr-status';
import type { Audience } from '../shared/audience';
import type { TaskView } from '../shared/task';

/** Thread notices that are neither the card nor a plan, question or progress message. */
export type NoticeKind =
  | 'plan_reminder'
  | 'reply_reminder'
  | 'answered_elsewhere'
  | 'stalled'
  | 'paused'
  | 'resumed'
  | 'waiting_slot'
  | 'slot_free'
  | 'not_delivered';

/**
 * What showing a message came to: where it is, or why it cannot be shown for good (the thread is gone, access
 * was lost). Only permanent refusals are returned; what may heal (a 5xx, the network) is thrown, so the
 * activity's retry policy handles it.
 */
export type Shown = { readonly messageId: string } | { readonly refusal: DiscordRefusal };

/** Jules' plan, shown once per plan id. */
export interface PlanToShow {
  readonly id: string;
  readonly steps: readonly string[];
  /** `people`: it waits for a confirmer's approval. `jules`: Jules approved it itself, shown for information. */
  readonly approval: 'people' | 'jules';
}

/** Jules' question to the requester, shown once per question (activity) id. */
export interface QuestionToShow {
  readonly id: string;
  readonly text: string;
}

/** A notice; `step` names the occasion, so a retried activity shows it once. */
export interface NoticeToShow {
  readonly kind: NoticeKind;
  readonly detail?: string;
  readonly step: string;
  /** A notice shown earlier to edit in place instead of posting a new one. */
  readonly replaces?: string;
}

/**
 * The one message edited in place with the latest progress line, as the watcher carries it in its cursor:
 * its id once posted, and how often it was posted anew after someone deleted it.
 */
export interface ProgressMessage {
  readonly messageId?: string;
  readonly reposts?: number;
}

/** A followed pull request as its status message shows it, or why GitHub would not show it. */
export type PrStatusToShow = PullRequestStatus | { readonly unreadable: string; readonly url: string };

/** The one PR status message, as the follow-through carries it: where it is and the text it shows now. */
export interface PrStatusMessage extends ProgressMessage {
  readonly shown?: string;
}

/** The PR status message after a look, with the refusal when Discord would not show it. */
export interface PrStatusShown extends PrStatusMessage {
  readonly refusal?: DiscordRefusal;
}

/** The progress message after a line was shown, with the refusal when the line was dropped instead. */
export interface ProgressShown extends ProgressMessage {
  readonly refusal?: DiscordRefusal;
}

/**
 * Tells people what a task is doing. Activities decide *when* something is worth showing; an announcer decides
 * how it looks and where it goes, and never posts the same thing twice across retried attempts.
 */
export interface TaskAnnouncer {
  /** Shows a plan; a refusal matters when people must approve it (nobody could). */
  showPlan(plan: PlanToShow): Promise<Shown>;
  /** Shows a question people must answer; a refusal means nobody can. */
  showQuestion(question: QuestionToShow): Promise<Shown>;
  /**
   * Shows the latest progress line, best effort: edits `message` in place, posts it anew when it was deleted, and
   * drops the line (logged, returned as `refusal`) on any other refusal. Progress is information: it never fails.
   * `retried`: this attempt may follow one that posted without remembering the id.
   */
  showProgress(line: string, message: ProgressMessage, options?: { readonly retried?: boolean }): Promise<ProgressShown>;
  /** Shows a notice, or edits one shown earlier; a refusal is logged and returned (notices are information). */
  showNotice(notice: NoticeToShow): Promise<Shown>;
  /**
   * Shows how a followed pull request stands in its one status message, edited in place only when its text
   * changes, best effort like progress (a deleted message is posted anew).
   */
  showPrStatus(status: PrStatusToShow, message: PrStatusMessage): Promise<PrStatusShown>;
}

/**
 * The task an announcer speaks for: its view renders the messages, `threadId` is where the task's thread is. The
 * PR follow-through, which outlives the task, has no view: it shows PR statuses only.
 */
export interface AnnouncedTask {
  readonly taskId: string;
  readonly threadId: string;
  readonly view?: TaskView;
  readonly audience: Audience;
}

/** Builds the announcer for a task and audience; activities get one through their deps. */
export type AnnouncerFactory = (task: AnnouncedTask) => TaskAnnouncer;
