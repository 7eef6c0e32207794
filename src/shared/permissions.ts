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

/** Discord's MANAGE_GUILD permission bit ("Manage Server"), which `/jules-setup` asks for. */
export const MANAGE_GUILD = 1n << 5n;
/** Discord's ADMINISTRATOR bit, which grants every permission. */
const ADMINISTRATOR = 1n << 3n;

/**
 * Whether a member may change the server's setup: their permissions in the channel (the interaction's
 * `member.permissions`, a decimal bitfield string) include Manage Server or Administrator. Anything that is not a
 * bitfield reads as no permission.
 * @see https://discord.com/developers/docs/topics/permissions
 */
export function canManageServer(permissions: string | undefined): boolean {
  if (permissions === undefined || !/^\d{1,20}$/.test(permissions)) return false;
  return (BigInt(permissions) & (MANAGE_GUILD | ADMINISTRATOR)) !== 0n;
}
