import type { DiscordRefusal } from '../../src/discord/errors';
import type { AnnouncedTask, AnnouncerFactory, NoticeToShow, PlanToShow, PrStatusMessage, PrStatusToShow, ProgressMessage, ProgressShown, QuestionToShow, Shown } from '../../src/tasks/announcer';

/** One thing an activity asked the fake announcer to show, in the order asked. */
export type Announced =
  | { readonly op: 'plan'; readonly plan: PlanToShow }
  | { readonly op: 'question'; readonly question: QuestionToShow }
  | { readonly op: 'progress'; readonly line: string; readonly message: ProgressMessage; readonly retried: boolean }
  | { readonly op: 'notice'; readonly notice: NoticeToShow }
  | { readonly op: 'pr_status'; readonly status: PrStatusToShow; readonly message: PrStatusMessage };

/** How the fake answers: a refusal for an operation, or (for progress) a message of its choosing. */
export interface FakeAnnouncerBehaviour {
  readonly refuse?: Partial<Record<Announced['op'], DiscordRefusal>>;
  readonly progress?: (line: string, message: ProgressMessage) => ProgressShown;
}

/** A refusal as Discord's classifier would give it for a deleted thread. */
export const THREAD_GONE: DiscordRefusal = { kind: 'channel_gone', status: 404, code: 10003, message: 'the channel or thread was deleted' };

/**
 * A fake of our own announcer port: records what activities ask to show (and for whom) and answers with
 * made-up message ids, or with the refusals a test asks for. No Discord involved.
 */
export function fakeAnnouncer(behaviour: FakeAnnouncerBehaviour = {}) {
  const shown: Announced[] = [];
  const tasks: AnnouncedTask[] = [];
  let next = 0;
  const answer = (op: Announced['op']): Shown => {
    const refusal = behaviour.refuse?.[op];
    return refusal ? { refusal } : { messageId: `${op}-${++next}` };
  };
  const announcerFor: AnnouncerFactory = (task) => {
    tasks.push(task);
    return {
      async showPlan(plan) {
        shown.push({ op: 'plan', plan });
        return answer('plan');
      },
      async showQuestion(question) {
        shown.push({ op: 'question', question });
        return answer('question');
      },
      async showProgress(line, message, options) {
        shown.push({ op: 'progress', line, message, retried: options?.retried ?? false });
        if (behaviour.progress) return behaviour.progress(line, message);
        const refusal = behaviour.refuse?.progress;
        if (refusal) return { ...message, refusal };
        return message.messageId ? message : { ...message, messageId: `progress-${++next}` };
      },
      async showNotice(notice) {
        shown.push({ op: 'notice', notice });
        return answer('notice');
      },
      async showPrStatus(status, message) {
        shown.push({ op: 'pr_status', status, message });
        const refusal = behaviour.refuse?.pr_status;
        if (refusal) return { ...message, refusal };
        return { ...message, messageId: message.messageId ?? `pr_status-${++next}`, shown: JSON.stringify(status) };
      },
    };
  };
  return {
    announcerFor,
    /** Everything asked, in order. */
    shown,
    /** The tasks (and audiences) announcers were built for. */
    tasks,
    /** Only the asks of one operation. */
    of<K extends Announced['op']>(op: K): Extract<Announced, { op: K }>[] {
      return shown.filter((a): a is Extract<Announced, { op: K }> => a.op === op);
    },
  };
}
