import type { Member } from './task';

/**
 * Who may act on a task, said once: the workflow's update validators and the dispatcher's pre-checks (before
 * opening a modal) both call these. Roles come from the interaction payload.
 */
export interface TaskActors {
  readonly requesterId: string;
  readonly confirmRoles: readonly string[];
}

/** Confirm, reject, approve a plan or request changes: members of a confirm role. */
export function isConfirmer(member: Member, actors: Pick<TaskActors, 'confirmRoles'>): boolean {
  const roles = new Set(actors.confirmRoles);
  return member.roles.some((role) => roles.has(role));
}

/** Reply to Jules or cancel: the requester, or a confirmer. */
export function isRequesterOrConfirmer(member: Member, actors: TaskActors): boolean {
  return member.id === actors.requesterId || isConfirmer(member, actors);
}
