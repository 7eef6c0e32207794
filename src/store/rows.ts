import type { KeySource } from '../shared/task';
import { TASK_STATUSES, type TaskStatus } from '../shared/task-status';
import { UnexpectedRowError } from './errors';
import type { GuildConfig, TaskRecord } from './store';

/**
 * A `guilds` row as the store selects it ({@link GUILD_COLUMNS}): every column except the key's
 * ciphertext, which only `getGuildKey` reads, replaced by whether there is one.
 */
export interface GuildRow {
  readonly guild_id: string;
  readonly create_roles: string[];
  readonly confirm_roles: string[];
  readonly default_repo: string | null;
  readonly default_branch: string | null;
  readonly has_default_key: boolean;
  readonly created_at: Date;
  readonly updated_at: Date;
}

/** The select list that produces a {@link GuildRow}. */
export const GUILD_COLUMNS = `guild_id, create_roles, confirm_roles, default_repo, default_branch,
  (default_jules_key is not null) as has_default_key, created_at, updated_at`;

/** A `tasks` row, every column, as Postgres returns it. */
export interface TaskRow {
  readonly id: string;
  readonly guild_id: string;
  readonly channel_id: string;
  readonly requester_id: string;
  readonly prompt: string;
  readonly repo: string;
  readonly branch: string | null;
  readonly status: string;
  readonly key_source: string;
  readonly card_message_id: string | null;
  readonly thread_id: string | null;
  readonly decided_by: string | null;
  readonly jules_session_id: string | null;
  readonly jules_session_url: string | null;
  readonly jules_state: string | null;
  readonly pr_url: string | null;
  readonly last_error: string | null;
  readonly created_at: Date;
  readonly updated_at: Date;
}

/** A row holding one stored key's ciphertext (`guilds.default_jules_key` or `users.jules_key`, aliased). */
export interface KeyRow {
  readonly ciphertext: string | null;
}

const KNOWN_STATUSES: ReadonlySet<string> = new Set(TASK_STATUSES);

/** Maps a {@link GuildRow} to the domain's GuildConfig. */
export function toGuildConfig(row: GuildRow): GuildConfig {
  return {
    guildId: row.guild_id,
    createRoles: row.create_roles,
    confirmRoles: row.confirm_roles,
    defaultRepo: row.default_repo,
    defaultBranch: row.default_branch,
    hasDefaultKey: row.has_default_key,
    updatedAt: row.updated_at,
  };
}

/** Maps a {@link TaskRow} to the domain's TaskRecord; throws UnexpectedRowError on a status or key source it does not know. */
export function toTaskRecord(row: TaskRow): TaskRecord {
  // The CHECK constraints guarantee these, unless a newer migration added values this process predates.
  if (!KNOWN_STATUSES.has(row.status)) throw new UnexpectedRowError('tasks', 'status', row.status);
  if (row.key_source !== 'personal' && row.key_source !== 'guild') {
    throw new UnexpectedRowError('tasks', 'key_source', row.key_source);
  }
  return {
    id: row.id,
    guildId: row.guild_id,
    channelId: row.channel_id,
    requesterId: row.requester_id,
    prompt: row.prompt,
    repo: row.repo,
    branch: row.branch,
    status: row.status as TaskStatus,
    keySource: row.key_source satisfies KeySource,
    cardMessageId: row.card_message_id,
    threadId: row.thread_id ?? null,
    decidedBy: row.decided_by,
    julesSessionId: row.jules_session_id,
    julesSessionUrl: row.jules_session_url,
    julesState: row.jules_state,
    prUrl: row.pr_url,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
