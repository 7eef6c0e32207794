import { isConfirmer } from '../../src/shared/permissions';
import { isFinalPlanItem, type PlanItem, type PlanItemStatus, type PlanView } from '../../src/shared/plan';
import type { Member } from '../../src/shared/task';

/**
 * What people may ask of a plan run, and when: pure transitions over the plan's view, checked by the updates'
 * validators (which cannot do I/O, so the clicker's roles come with each update). The workflow owns the order of
 * steps; this class owns the rules.
 */
export class PlanState {
  view: PlanView | undefined;
  /** Who approved, once someone did. */
  approvedBy: string | undefined;
  cancelledBy: string | undefined;
  /** Items whose status changed since the card was last published. */
  private readonly changed = new Set<number>();

  /** Whether the run is still waiting for approval. */
  get proposed(): boolean {
    return this.view?.status === 'proposed';
  }

  /** Whether every item is merged, failed or dropped. */
  get allFinal(): boolean {
    return (this.view?.items ?? []).every((item) => isFinalPlanItem(item.status));
  }

  /** The items that still run, in issue order. */
  get openItems(): readonly PlanItem[] {
    return (this.view?.items ?? []).filter((item) => !isFinalPlanItem(item.status));
  }

  checkApprove({ member, revision }: { readonly member: Member; readonly revision?: number }): void {
    const view = this.require();
    if (!this.proposed) throw new Error(`This plan is not waiting for approval: it is ${view.status}.`);
    if (!isConfirmer(member, view)) throw new Error('Only members with a confirm role can approve a plan.');
    if (view.twoPersonRule && view.proposedBy === member.id) throw new Error('This server uses the two-person rule: someone other than the member who ran `/plan` must approve it.');
    if (revision !== undefined && revision !== view.revision) throw new Error('This card is out of date: the plan changed since it was shown. Look at the card again and approve what it shows now.');
    if (!view.items.some((item) => item.status === 'planned')) throw new Error('Every item was dropped, so there is nothing to approve. Cancel the plan, or run `/plan` again.');
  }

  approve({ member }: { readonly member: Member }): PlanView {
    this.approvedBy = member.id;
    return this.set({ ...this.require(), status: 'running', approvedBy: member.id });
  }

  checkDrop({ member, revision, issueNumbers }: { readonly member: Member; readonly revision: number; readonly issueNumbers: readonly number[] }): void {
    const view = this.require();
    if (!this.proposed) throw new Error('Items can be dropped only before the plan is approved.');
    if (!this.mayManage(member)) throw new Error('Only the member who ran `/plan` or a member with a confirm role can change this plan.');
    if (revision !== view.revision) throw new Error('This card is out of date: the plan changed since it was shown.');
    const planned = new Set(view.items.filter((item) => item.status === 'planned').map((item) => item.issueNumber));
    if (issueNumbers.length === 0 || issueNumbers.some((n) => !planned.has(n))) throw new Error('Choose items that are still on the plan.');
  }

  drop({ member, issueNumbers }: { readonly member: Member; readonly issueNumbers: readonly number[] }): PlanView {
    const dropped = new Set(issueNumbers);
    const view = this.require();
    for (const n of dropped) this.changed.add(n);
    return this.set({
      ...view,
      revision: view.revision + 1,
      items: view.items.map((item) => (dropped.has(item.issueNumber) ? { ...item, status: 'dropped', reason: `Dropped by <@${member.id}> before approval.` } : item)),
    });
  }

  checkCancel({ member }: { readonly member: Member }): void {
    const view = this.require();
    if (view.status !== 'proposed' && view.status !== 'running') throw new Error(`This plan is already ${view.status}.`);
    if (!this.mayManage(member)) throw new Error('Only the member who ran `/plan` or a member with a confirm role can cancel this plan.');
  }

  cancel({ member }: { readonly member: Member }): PlanView {
    this.cancelledBy = member.id;
    return this.require();
  }

  checkShip({ member }: { readonly member: Member }): void {
    const view = this.require();
    if (!isConfirmer(member, view)) throw new Error('Only members with a confirm role can ship a plan.');
    if (view.status === 'proposed') throw new Error('This plan is not approved yet: approve it first, then ship what turns green.');
    if (view.status !== 'running') throw new Error(`This plan is ${view.status}; there is nothing left to ship.`);
  }

  /** Sets one item's status (and why), remembering it for the next published card. */
  setItem(issueNumber: number, status: PlanItemStatus, extra: { readonly reason?: string; readonly prUrl?: string } = {}): void {
    const view = this.require();
    this.changed.add(issueNumber);
    this.set({ ...view, items: view.items.map((item) => (item.issueNumber === issueNumber ? { ...item, status, ...extra } : item)) });
  }

  /** Ends the run with `status`: items still open are left as they are (their tasks were cancelled). */
  end(status: 'completed' | 'cancelled' | 'expired'): PlanView {
    return this.set({ ...this.require(), status });
  }

  /** The items changed since the last call, for the store; clears the list. */
  takeChanged(): readonly PlanItem[] {
    const items = this.require().items.filter((item) => this.changed.has(item.issueNumber));
    this.changed.clear();
    return items;
  }

  private mayManage(member: Member): boolean {
    const view = this.require();
    return view.proposedBy === member.id || isConfirmer(member, view);
  }

  private require(): PlanView {
    if (!this.view) throw new Error('This plan is still being gathered; try again in a moment.');
    return this.view;
  }

  private set(view: PlanView): PlanView {
    this.view = view;
    return view;
  }
}
