import type { Logger } from 'pino';
import { planItemMayMove, type PlanItem, type PlanItemStatus, type PlanView } from '../shared/plan';
import { hasEnded, type TaskView } from '../shared/task';
import type { PlanItemRecord, PlanRunRecord, Store } from '../store/store';
import { discordRefusal } from './errors';
import type { DiscordMessenger } from './messenger';
import { renderPlanCard } from './plan-card';

/**
 * The plan's card as its status table: edited in place from the `plan_runs` and `plan_items` projection whenever an
 * item moves, by whichever activity moved it (the plan's own steps, an item's task, its PR's follow-through).
 */
export interface PlanBoard {
  /** An item's task changed: its row follows (never backwards), and the card is redrawn. */
  itemChanged(runId: string, issueNumber: number, view: TaskView): Promise<void>;
  /** An item's task waits for a Jules session slot: `detail` (its place in line) shows on its row until it starts. */
  itemWaits(runId: string, issueNumber: number, detail: string): Promise<void>;
  /** Redraws the card from the projection; `extra` adds what only the workflow knows (expiry, payer). */
  redraw(runId: string, extra?: Partial<PlanView>): Promise<PlanView | undefined>;
}

/** The plan board over the store and the bot's messenger. */
export function createPlanBoard({ store, discord, log }: { readonly store: Store; readonly discord: DiscordMessenger; readonly log: Logger }): PlanBoard {
  async function redraw(runId: string, extra: Partial<PlanView> = {}): Promise<PlanView | undefined> {
    const [run, items] = await Promise.all([store.getPlanRun(runId), store.listPlanItems(runId)]);
    if (!run) return undefined;
    const view = { ...planViewOf(run, items), ...extra };
    if (run.cardMessageId) {
      try {
        await discord.editMessage(run.channelId, run.cardMessageId, renderPlanCard(view));
      } catch (err) {
        // A deleted card or lost access will not heal by retrying; the projection and `/status` still tell.
        const refusal = discordRefusal(err);
        if (!refusal) throw err;
        log.warn({ runId, status: refusal.status, code: refusal.code }, `Discord refused the plan card: ${refusal.message}`);
      }
    }
    return view;
  }

  return {
    redraw,
    async itemChanged(runId, issueNumber, view) {
      const items = await store.listPlanItems(runId);
      const item = items.find((candidate) => candidate.issueNumber === issueNumber);
      if (!item) return;
      const status = itemStatusOf(view);
      if (status === item.status || !planItemMayMove(item.status, status)) return;
      await store.updatePlanItem(runId, issueNumber, {
        status,
        ...(view.prUrl ? { prUrl: view.prUrl } : {}),
        // Its place in line is over once it leaves the queue.
        ...(status === 'failed' && view.error ? { reason: view.error.slice(0, 500) } : item.status === 'queued' ? { reason: null } : {}),
      });
      await redraw(runId);
    },
    async itemWaits(runId, issueNumber, detail) {
      const item = (await store.listPlanItems(runId)).find((candidate) => candidate.issueNumber === issueNumber);
      // The slot wait may come before the plan recorded the item as queued, never after it started.
      if (!item || (item.status !== 'planned' && item.status !== 'queued') || item.reason === detail) return;
      await store.updatePlanItem(runId, issueNumber, { status: 'queued', reason: detail });
      await redraw(runId);
    },
  };
}

/** What an item's task says about the item. */
export function itemStatusOf(view: TaskView): PlanItemStatus {
  if (hasEnded(view)) return view.status === 'completed' && view.prUrl ? 'pr_open' : 'failed';
  if (view.awaiting === 'plan_approval' || view.awaiting === 'reply') return 'waiting';
  return view.sessionUrl ? 'in_jules' : 'queued';
}

/** The plan as the projection has it; fields only the workflow holds (roles, expiry) are left empty. */
export function planViewOf(run: PlanRunRecord, items: readonly PlanItemRecord[]): PlanView {
  return {
    runId: run.id,
    status: run.status,
    guildId: run.guildId,
    channelId: run.channelId,
    repo: run.repo,
    label: run.label,
    ...(run.proposedBy ? { proposedBy: run.proposedBy } : {}),
    ...(run.approvedBy ? { approvedBy: run.approvedBy } : {}),
    keySource: run.keySource ?? 'guild',
    ...(run.keySource === 'personal' && run.proposedBy ? { payerId: run.proposedBy } : {}),
    confirmRoles: [],
    twoPersonRule: false,
    revision: run.revision,
    items: items.map(itemOf),
    ...(run.cardMessageId ? { cardMessageId: run.cardMessageId } : {}),
    ...(run.threadId ? { threadId: run.threadId } : {}),
  };
}

function itemOf(row: PlanItemRecord): PlanItem {
  return {
    issueNumber: row.issueNumber,
    title: row.title,
    url: row.issueUrl,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.prUrl ? { prUrl: row.prUrl } : {}),
  };
}
