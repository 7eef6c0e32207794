import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { PlanSettings } from '../../workflows/plan.workflow';
import type { ScheduledPlanInput, scheduledPlanWorkflow } from '../../workflows/scheduled-plan.workflow';
import { PLAN_SCHEDULE_PREFIX, planScheduleId } from '../shared/plan-schedule';
import { GUILD_ID } from '../shared/search-attributes';

/**
 * The daily plan as a Temporal Schedule: at each of its times it starts `scheduledPlanWorkflow`, which proposes a
 * plan card in the channel; nothing runs until a confirmer approves it. `schedule set | list | remove` in the CLI
 * and the tests both go through here.
 * @see https://docs.temporal.io/develop/typescript/schedules
 */

/**
 * The schedule's catch-up window: 3 hours. When the Temporal server was down at a firing's time and comes back
 * within this window, the firing is still taken: a 9:00 plan still appears by noon, when it is worth approving.
 * Later than that the team has planned its day without it (`/plan` is there for a late one) and the next morning's
 * firing is the better plan. Temporal's default, a year, would propose a missed morning's plan whenever the server
 * came back, in the middle of the night or days later.
 */
export const PLAN_SCHEDULE_CATCHUP_WINDOW_MS = 3 * 3_600_000;

/** What `schedule set` asks for: which guild's plan of which repository, shown where, and when. */
export interface PlanScheduleRequest {
  readonly guildId: string;
  /** `owner/name`. */
  readonly repo: string;
  readonly channelId: string;
  /** Five cron fields (minute hour day-of-month month day-of-week), as Temporal reads them, in {@link timezone}. */
  readonly cron: string;
  /** An IANA time zone, e.g. `Europe/Berlin`, or `UTC`. */
  readonly timezone: string;
  /** Default: the guild's plan label. */
  readonly label?: string;
}

/** A plan schedule as Temporal holds it. */
export interface PlanSchedule extends PlanScheduleRequest {
  readonly scheduleId: string;
  readonly paused: boolean;
  /** The next times it proposes a plan (at most three). */
  readonly nextRuns: readonly Date[];
  /** What each proposed plan is started with: the config of the last `schedule set`. */
  readonly settings: PlanSettings;
}

/** Where the schedule's firings run and with which plan settings. */
export interface PlanScheduleTarget {
  /** A client with the data converter the workers share: the action's arguments are encrypted like any payload. */
  readonly client: Client;
  readonly taskQueue: string;
  readonly settings: PlanSettings;
}

/** The workflow type the schedule starts (workflows/scheduled-plan.workflow.ts). */
const ACTION_WORKFLOW_TYPE = 'scheduledPlanWorkflow';

/**
 * Creates the guild's schedule for the repository, or updates it when it exists (same id): the cron, time zone,
 * channel, label and plan settings are replaced, a paused schedule stays paused.
 * @throws TypeError when Temporal refuses the cron or the time zone (the SDK's mapping of INVALID_ARGUMENT).
 */
export async function setPlanSchedule(target: PlanScheduleTarget, request: PlanScheduleRequest): Promise<{ readonly created: boolean; readonly schedule: PlanSchedule }> {
  const { client } = target;
  const scheduleId = planScheduleId(request.guildId, request.repo);
  const input: ScheduledPlanInput = {
    guildId: request.guildId,
    channelId: request.channelId,
    repo: request.repo,
    ...(request.label ? { label: request.label } : {}),
    settings: target.settings,
  };
  const action: ScheduleOptionsStartWorkflowAction<typeof scheduledPlanWorkflow> = {
    type: 'startWorkflow',
    workflowType: ACTION_WORKFLOW_TYPE,
    // Temporal suffixes each firing's id with its time: `plan-schedule-…-2026-12-01T08:00:00Z`.
    workflowId: scheduleId,
    taskQueue: target.taskQueue,
    args: [input],
    // Temporal keeps the cron only compiled into calendars; the memo keeps it as it was typed, for `schedule list`.
    memo: { cron: request.cron },
    typedSearchAttributes: [{ key: GUILD_ID, value: request.guildId }],
  };
  const spec = { cronExpressions: [request.cron], timezone: request.timezone };
  // SKIP: a firing ends as soon as its plan is started, so one still running is waiting for a worker; later firings
  // are skipped, and workers back after a long outage propose one plan, not one per missed morning.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: PLAN_SCHEDULE_CATCHUP_WINDOW_MS, pauseOnFailure: false };
  let created = true;
  try {
    await client.schedule.create<typeof scheduledPlanWorkflow>({ scheduleId, spec, action, policies });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    created = false;
    await client.schedule.getHandle(scheduleId).update<typeof scheduledPlanWorkflow>((previous) => ({
      spec,
      action,
      policies,
      // Pausing is the operator's, in the Web UI or `temporal schedule toggle`: a new cron does not undo it.
      state: { paused: previous.state.paused, ...(previous.state.note ? { note: previous.state.note } : {}) },
    }));
  }
  const schedule = await getPlanSchedule(client, scheduleId);
  if (!schedule) throw new Error(`Schedule ${scheduleId} was set but cannot be described`);
  return { created, schedule };
}

/** The plan schedule with this id, or undefined when there is none (or it is not a plan schedule). */
export async function getPlanSchedule(client: Client, scheduleId: string): Promise<PlanSchedule | undefined> {
  let description: ScheduleDescription;
  try {
    description = await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
  return planScheduleOf(description);
}

/**
 * The plan schedules, of one guild or of all, ordered by id. Temporal's list is eventually consistent, so each
 * listed schedule is described afresh: one removed a moment ago is left out, what is shown is what is set.
 */
export async function listPlanSchedules(client: Client, filter: { readonly guildId?: string } = {}): Promise<PlanSchedule[]> {
  const prefix = filter.guildId ? `${PLAN_SCHEDULE_PREFIX}${filter.guildId}-` : PLAN_SCHEDULE_PREFIX;
  const ids: string[] = [];
  for await (const summary of client.schedule.list()) if (summary.scheduleId.startsWith(prefix)) ids.push(summary.scheduleId);
  const schedules = await Promise.all(ids.sort().map((id) => getPlanSchedule(client, id)));
  return schedules.filter((schedule): schedule is PlanSchedule => schedule !== undefined);
}

/** Deletes the schedule; false when there was none. Plans it already proposed are left as they are. */
export async function removePlanSchedule(client: Client, scheduleId: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

function planScheduleOf(description: ScheduleDescription): PlanSchedule | undefined {
  const { action } = description;
  const input = action.args?.[0] as ScheduledPlanInput | undefined;
  if (action.workflowType !== ACTION_WORKFLOW_TYPE || !input?.guildId || !input.repo) return undefined;
  const cron = action.memo?.['cron'];
  return {
    scheduleId: description.scheduleId,
    guildId: input.guildId,
    repo: input.repo,
    channelId: input.channelId,
    ...(input.label ? { label: input.label } : {}),
    cron: typeof cron === 'string' ? cron : '',
    timezone: description.spec.timezone ?? 'UTC',
    paused: description.state.paused,
    nextRuns: description.info.nextActionTimes.slice(0, 3),
    settings: input.settings,
  };
}
