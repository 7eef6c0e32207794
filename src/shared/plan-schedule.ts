import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Names the plan schedule's parts share: the CLI that sets it, the workflow it starts, and the tests. A schedule
 * proposes a plan at its times; the plan still waits for `/approve`. Plain data, no secrets (workflows import it).
 */

/** Every plan schedule's id starts with this, so `schedule list` and `remove` never touch anyone else's schedules. */
export const PLAN_SCHEDULE_PREFIX = 'plan-schedule-';

/**
 * The schedule of a guild's plan for one repository: `plan-schedule-<guild id>-<owner>/<name>`, lower case (GitHub
 * names are case-insensitive). One per guild and repository, so `schedule set` twice updates instead of adding a
 * second. The `/` is kept because neither an owner nor a name can contain it: with `-` in its place, `a-b/c` and
 * `a/b-c` would share one schedule.
 */
export function planScheduleId(guildId: string, repo: string): string {
  return `${PLAN_SCHEDULE_PREFIX}${guildId}-${repo.toLowerCase()}`;
}

/** Whether `id` is shaped like one of {@link planScheduleId}'s ids. */
export function isPlanScheduleId(id: string): boolean {
  return /^plan-schedule-\d{15,25}-[a-z0-9_.-]+\/[a-z0-9_.-]+$/.test(id);
}

/**
 * The time a schedule meant to take its action, which Temporal sets on every workflow a schedule starts (a manual
 * trigger's is the moment of the trigger). Absent on a workflow started any other way.
 * @see https://docs.temporal.io/search-attribute#default-search-attribute
 */
export const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
