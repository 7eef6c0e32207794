import type { Logger } from 'pino';
import { GITHUB_DELIVERY_SOURCE } from '../github/webhook-events';
import type { DeliveryLog } from '../store/delivery-log';

/**
 * How a webhook delivery about a followed pull request reaches the follow-through's activity without a Temporal
 * signal per delivery (each would be history). The ingress notes in `webhook_deliveries` which task a delivery was
 * about; the follow-through marks where the count of those stood before it read GitHub, and waits for it to move.
 * The ingress and the workers may be separate processes, so the store is the way that always works: one query per
 * poll interval for every waiting follow-through of this process together. When the ingress runs in the same
 * process it also calls {@link PullRequestWakes.notify}, and waiters wake at once.
 */

/** Where a follow-through stood before a look: deliveries counted about its task, and this process's notices. */
export interface WakeMark {
  readonly deliveries: number;
  readonly notices: number;
}

/** See the module comment. One per process, shared by the ingress's sink and the worker's activities. */
export interface PullRequestWakes {
  /** Where the task stands now; taken before reading GitHub, so a delivery during the read is not missed. */
  mark(taskId: string): Promise<WakeMark>;
  /**
   * True as soon as a delivery about the task came after `since` (at once when noticed in this process, else
   * within the poll interval), false after `withinMs`. A failed poll is logged and waited out, never thrown.
   */
  wait(taskId: string, since: WakeMark, withinMs: number): Promise<boolean>;
  /** The ingress of this process noted a delivery about the task: its waiters wake now, not at the next poll. */
  notify(taskId: string): void;
  /** Stops polling; whoever still waits is answered false. */
  stop(): void;
}

/**
 * How often the deliveries are counted while someone waits: one query per process for all its waiters, so twice a
 * second is cheap, and keeps a delivery's look well inside 2 s of it when the ingress runs elsewhere.
 */
export const WAKE_POLL_EVERY_MS = 500;

/** Notices remembered per task, at most; forgetting one costs a follow-through one needless look. */
const MAX_NOTICED_TASKS = 10_000;

interface Waiter {
  readonly taskId: string;
  readonly since: WakeMark;
  readonly answer: (woken: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

/** The wakes of one process, counted in `deliveries` (the GitHub source's rows). */
export function createPullRequestWakes(deps: {
  readonly deliveries: Pick<DeliveryLog, 'countDeliveries'>;
  readonly log?: Pick<Logger, 'warn'>;
  readonly pollEveryMs?: number;
}): PullRequestWakes {
  const pollEveryMs = deps.pollEveryMs ?? WAKE_POLL_EVERY_MS;
  const notices = new Map<string, number>();
  const waiters = new Set<Waiter>();
  let polling: NodeJS.Timeout | undefined;
  let counting = false;

  const settle = (waiter: Waiter, woken: boolean) => {
    if (!waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.answer(woken);
    if (waiters.size === 0 && polling) {
      clearInterval(polling);
      polling = undefined;
    }
  };

  const poll = async () => {
    if (counting || waiters.size === 0) return;
    counting = true;
    try {
      const counts = await deps.deliveries.countDeliveries(GITHUB_DELIVERY_SOURCE, [...new Set([...waiters].map((w) => w.taskId))]);
      for (const waiter of [...waiters]) if ((counts.get(waiter.taskId) ?? 0) !== waiter.since.deliveries) settle(waiter, true);
    } catch (err) {
      deps.log?.warn({ err }, 'could not count webhook deliveries; followed pull requests are looked at on their reconcile pace');
    } finally {
      counting = false;
    }
  };

  return {
    async mark(taskId) {
      const counts = await deps.deliveries.countDeliveries(GITHUB_DELIVERY_SOURCE, [taskId]);
      return { deliveries: counts.get(taskId) ?? 0, notices: notices.get(taskId) ?? 0 };
    },
    wait(taskId, since, withinMs) {
      if ((notices.get(taskId) ?? 0) !== since.notices) return Promise.resolve(true);
      return new Promise<boolean>((answer) => {
        const waiter: Waiter = { taskId, since, answer, timer: setTimeout(() => settle(waiter, false), Math.max(0, withinMs)) };
        waiters.add(waiter);
        if (!polling) {
          polling = setInterval(() => void poll(), pollEveryMs);
          polling.unref();
        }
      });
    },
    notify(taskId) {
      notices.set(taskId, (notices.get(taskId) ?? 0) + 1);
      if (notices.size > MAX_NOTICED_TASKS) notices.delete(notices.keys().next().value!);
      for (const waiter of [...waiters]) if (waiter.taskId === taskId) settle(waiter, true);
    },
    stop() {
      for (const waiter of [...waiters]) settle(waiter, false);
      if (polling) clearInterval(polling);
      polling = undefined;
    },
  };
}
