import type { KeySource, TaskPatch } from '../shared/task';

export type { TaskPatch };
import type { TaskStatus } from '../shared/task-status';

/** A guild's configuration, as the domain sees it (rows are mapped once, in the adapter). */
export interface GuildConfig {
  readonly guildId: string;
  readonly createRoles: readonly string[];
  readonly confirmRoles: readonly string[];
  readonly defaultRepo: string | null;
  readonly defaultBranch: string | null;
  readonly hasDefaultKey: boolean;
  readonly updatedAt: Date;
}

/** Fields an operator sets with `guild set`. */
export interface GuildSettings {
  readonly guildId: string;
  readonly createRoles: readonly string[];
  readonly confirmRoles: readonly string[];
  readonly defaultRepo?: string | null;
  readonly defaultBranch?: string | null;
}

/** A task as projected in the `tasks` table. Written only by activities (and read by `/jules-status`). */
export interface TaskRecord {
  readonly id: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly requesterId: string;
  readonly prompt: string;
  readonly repo: string;
  readonly branch: string | null;
  readonly status: TaskStatus;
  readonly keySource: KeySource;
  readonly cardMessageId: string | null;
  /** The Discord thread under the card where the task's conversation happens. */
  readonly threadId: string | null;
  readonly decidedBy: string | null;
  readonly julesSessionId: string | null;
  readonly julesSessionUrl: string | null;
  readonly julesState: string | null;
  readonly prUrl: string | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What admission records about a new task; the other fields start empty. */
export type NewTask = Pick<TaskRecord, 'id' | 'guildId' | 'channelId' | 'requesterId' | 'prompt' | 'repo' | 'branch' | 'status' | 'keySource'>;

/** Filters for listing tasks. */
export interface TaskQuery {
  readonly guildId?: string;
  readonly requesterId?: string;
  readonly statuses?: readonly TaskStatus[];
  readonly limit?: number;
}

/** Stored Jules keys are ciphertext here; only `src/crypto` turns them into plaintext. */
export interface KeyRepository {
  setGuildKey(guildId: string, ciphertext: string): Promise<void>;
  getGuildKey(guildId: string): Promise<string | undefined>;
  setUserKey(discordId: string, ciphertext: string): Promise<void>;
  getUserKey(discordId: string): Promise<string | undefined>;
}

/** Guild configuration. */
export interface GuildRepository {
  getGuild(guildId: string): Promise<GuildConfig | undefined>;
  upsertGuild(settings: GuildSettings): Promise<GuildConfig>;
}

/** The task projection. */
export interface TaskRepository {
  /** Inserts the task; a second call with the same id returns the existing row unchanged. */
  createTask(task: NewTask): Promise<TaskRecord>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  /** Applies the patch; throws TaskNotFoundError when no such task exists. */
  updateTask(id: string, patch: TaskPatch): Promise<TaskRecord>;
  listTasks(query: TaskQuery): Promise<TaskRecord[]>;
  /** The task whose Jules session this is (`sessions/…`), for webhook pushes. */
  findTaskBySession(session: string): Promise<TaskRecord | undefined>;
  /** The task whose Discord thread this is, for messages forwarded from the thread. */
  findTaskByThread(threadId: string): Promise<TaskRecord | undefined>;
}

/** The repository port: everything the service keeps in Postgres. */
export interface Store extends GuildRepository, TaskRepository, KeyRepository {
  /** Releases connections. */
  close(): Promise<void>;
}
