/**
 * Errors of the store module. Each says when it is thrown; none carries a key, ciphertext or row content
 * beyond ids, so they are safe to log.
 */

/** Base class of store errors, so callers can tell them from driver errors. */
export class StoreError extends Error {
  /** A stable machine-readable code. */
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Thrown by `updateTask` when no task has the given id. */
export class TaskNotFoundError extends StoreError {
  /** HTTP-like status for boundaries that map errors to responses. */
  readonly status = 404;
  readonly taskId: string;

  constructor(taskId: string) {
    super(`No task with id ${taskId}.`, 'TASK_NOT_FOUND');
    this.taskId = taskId;
  }
}

/** Thrown by `updatePlanRun` when no plan run has the given id. */
export class PlanRunNotFoundError extends StoreError {
  /** HTTP-like status for boundaries that map errors to responses. */
  readonly status = 404;
  readonly runId: string;

  constructor(runId: string) {
    super(`No plan run with id ${runId}.`, 'PLAN_RUN_NOT_FOUND');
    this.runId = runId;
  }
}

/** Thrown by `updatePlanItem` when the run has no item for the given issue (or the run does not exist). */
export class PlanItemNotFoundError extends StoreError {
  /** HTTP-like status for boundaries that map errors to responses. */
  readonly status = 404;
  readonly runId: string;
  readonly issueNumber: number;

  constructor(runId: string, issueNumber: number) {
    super(`Plan run ${runId} has no item for issue #${issueNumber}.`, 'PLAN_ITEM_NOT_FOUND');
    this.runId = runId;
    this.issueNumber = issueNumber;
  }
}

/** Thrown when opening the file-backed embedded database while another live process holds its lock file. */
export class StoreLockedError extends StoreError {
  readonly dataDir: string;
  readonly pid: number;

  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database at ${dataDir} is in use by process ${pid} (is \`jules-orchestrator start\` running?). ` +
        'Stop it, or set DATABASE_URL to share one Postgres server.',
      'STORE_LOCKED',
    );
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/** Thrown when a migration file fails to apply; the migration's transaction has been rolled back. */
export class MigrationError extends StoreError {
  readonly version: string;

  constructor(version: string, file: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Migration ${version} (${file}) failed and was rolled back: ${reason}`, 'MIGRATION_FAILED', { cause });
    this.version = version;
  }
}

/**
 * Thrown when a row holds a value the domain types do not know, e.g. a status added by a newer migration
 * while an older process still runs.
 */
export class UnexpectedRowError extends StoreError {
  constructor(table: string, column: string, value: unknown) {
    super(`Unexpected value ${JSON.stringify(value)} in ${table}.${column}.`, 'UNEXPECTED_ROW');
  }
}

/**
 * Thrown by the supabase-js adapter when PostgREST answers with an error, or cannot be reached (`status` 0).
 * `code` is PostgREST's: a Postgres SQLSTATE such as `23514` for a database error (the same code the SQL
 * adapter's driver error carries), `PGRST…` for PostgREST's own. The message leaves out PostgREST's
 * `details`, which can quote a whole failing row (a prompt, a ciphertext).
 */
export class SupabaseRequestError extends StoreError {
  /** The HTTP status PostgREST answered with; 0 when no answer came. */
  readonly status: number;

  constructor(operation: string, status: number, error: { code?: string; message?: string; hint?: string | null }) {
    const hint = error.hint ? ` (${error.hint})` : '';
    super(`Supabase ${operation} failed with HTTP ${status}: ${error.message ?? 'no message'}${hint}`, error.code || 'SUPABASE_REQUEST_FAILED');
    this.status = status;
  }
}
