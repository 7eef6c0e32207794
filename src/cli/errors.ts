/**
 * The CLI's errors, apart from the command modules so that `runCli` can tell them apart without loading a command
 * (and everything that command loads) it is not running.
 */

/** Thrown for a command line that cannot be carried out; the CLI prints the message and exits 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Why a schedule command could not be carried out, though its command line was right. */
export type ScheduleCommandErrorCode = 'temporal-unreachable' | 'schedule-not-found';

/**
 * Thrown by the schedule commands, changing nothing, when Temporal cannot be reached (`temporal-unreachable`:
 * the message says where the CLI looked and what to start or set, `cause` is the SDK's error) or there is no
 * schedule to remove (`schedule-not-found`). The CLI prints the message and exits 1.
 */
export class ScheduleCommandError extends Error {
  override readonly name = 'ScheduleCommandError';
  readonly code: ScheduleCommandErrorCode;

  constructor(code: ScheduleCommandErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
