import { planSettingsOf } from '../workflow-settings';
import { parseArgs } from 'node:util';
import type { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { REPO_PATTERN } from '../shared/jules-request';
import { isPlanScheduleId, planScheduleId } from '../shared/plan-schedule';
import type { TemporalConnectionOptions } from '../temporal/connection';
import type { PlanSchedule } from '../temporal/plan-schedule';
import { labelFlag, requireSnowflake, type AdminContext } from './admin.commands';
import { ScheduleCommandError, UsageError } from './errors';

/**
 * `schedule set | list | remove`: the daily plan as a Temporal Schedule (src/temporal/plan-schedule.ts). Every flag
 * is checked before Temporal is reached, so a bad one changes nothing and needs no server.
 */

/**
 * `schedule set --guild-id ID --repo owner/name --channel ID --cron "0 9 * * 1-5" --timezone Europe/Berlin
 * [--label L]`: creates the guild's schedule for the repository, or updates it (one per guild and repository).
 */
export async function runScheduleSet(ctx: AdminContext, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'guild-id': { type: 'string' },
      repo: { type: 'string' },
      channel: { type: 'string' },
      cron: { type: 'string' },
      timezone: { type: 'string' },
      label: { type: 'string' },
    },
    strict: true,
  });
  const guildId = requireSnowflake(values['guild-id'], '--guild-id');
  const repo = requireRepo(values.repo);
  const channelId = requireSnowflake(values.channel, '--channel');
  const cron = requireCron(values.cron);
  const timezone = requireTimeZone(values.timezone);
  const label = labelFlag(values.label, '--label');
  const settings = planSettingsOf(ctx.config);
  const { created, schedule } = await withTemporalClient(ctx.config, async (client, { setPlanSchedule }) => {
    try {
      return await setPlanSchedule({ client, taskQueue: ctx.config.temporal.taskQueue, settings }, { guildId, repo, channelId, cron, timezone, ...(label ? { label } : {}) });
    } catch (err) {
      // The SDK's answer to INVALID_ARGUMENT on a schedule spec: what the checks above did not foresee.
      if (err instanceof TypeError) throw new UsageError(`Temporal refused the schedule's --cron or --timezone: ${err.message}`);
      throw err;
    }
  });
  ctx.out(`${created ? 'Created' : 'Updated'} ${describeSchedule(schedule)}.`);
  ctx.out(
    'Each firing proposes a plan card in the channel and waits for /approve: nothing runs unattended, and the guild’s default Jules key pays. ' +
      'The plans’ timeouts come from this configuration (PLAN_APPROVAL_TIMEOUT, TASK_DEADLINE, PR_FOLLOW_DEADLINE, …): run `schedule set` again after changing them.',
  );
}

/** `schedule list [--guild-id ID]`: every plan schedule (of one guild), one line each. */
export async function runScheduleList(ctx: AdminContext, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'guild-id': { type: 'string' } }, strict: true });
  const guildId = values['guild-id'] === undefined ? undefined : requireSnowflake(values['guild-id'], '--guild-id');
  const schedules = await withTemporalClient(ctx.config, (client, { listPlanSchedules }) => listPlanSchedules(client, guildId ? { guildId } : {}));
  if (schedules.length === 0) {
    ctx.out(guildId ? `No plan schedule for guild ${guildId}.` : 'No plan schedules.');
    return;
  }
  for (const schedule of schedules) ctx.out(describeSchedule(schedule));
}

/** `schedule remove --guild-id ID --repo owner/name`, or `schedule remove --id plan-schedule-…`. */
export async function runScheduleRemove(ctx: AdminContext, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'guild-id': { type: 'string' }, repo: { type: 'string' }, id: { type: 'string' } }, strict: true });
  let scheduleId: string;
  if (values.id !== undefined) {
    if (values['guild-id'] !== undefined || values.repo !== undefined) throw new UsageError('schedule remove takes --id, or --guild-id with --repo, not both');
    if (!isPlanScheduleId(values.id)) throw new UsageError(`--id must be a plan schedule's id as \`schedule list\` shows it (plan-schedule-<guild id>-<owner>/<name>); got "${values.id}"`);
    scheduleId = values.id;
  } else {
    if (values['guild-id'] === undefined && values.repo === undefined) throw new UsageError('schedule remove needs --guild-id and --repo, or --id');
    scheduleId = planScheduleId(requireSnowflake(values['guild-id'], '--guild-id'), requireRepo(values.repo));
  }
  const removed = await withTemporalClient(ctx.config, (client, { removePlanSchedule }) => removePlanSchedule(client, scheduleId));
  if (!removed) throw new ScheduleCommandError('schedule-not-found', `There is no schedule ${scheduleId}, so nothing was removed (\`schedule list\` shows the schedules).`);
  ctx.out(`Removed schedule ${scheduleId}. Plans it already proposed are left as they are.`);
}


/** Cron fields in Temporal's order, with the values it accepts (0 and 7 are both Sunday). */
const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'], first: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'], first: 0 },
] as const;
const CRON_SHORTHANDS = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'];

/**
 * Why Temporal would refuse `cron`, or undefined when it takes it: five fields of `*`, numbers, ranges, steps and
 * lists (month and weekday names too), or a shorthand like `@daily`. Stricter than Temporal in one way only: the
 * time zone and comments have flags of their own, and seconds or years are no part of a morning plan.
 * @see https://docs.temporal.io/develop/typescript/schedules
 */
export function cronProblem(cron: string): string | undefined {
  const text = cron.trim();
  if (/^(CRON_)?TZ=/i.test(text)) return 'takes no time zone: give it with --timezone';
  if (text.startsWith('@')) return CRON_SHORTHANDS.includes(text.toLowerCase()) ? undefined : `knows the shorthands ${CRON_SHORTHANDS.join(', ')} only`;
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return 'must have five fields (minute hour day-of-month month day-of-week), like "0 9 * * 1-5"';
  for (const [index, field] of fields.entries()) {
    const spec = CRON_FIELDS[index]!;
    const value = (part: string): number | undefined => {
      if (/^\d{1,2}$/.test(part)) return Number(part) >= spec.min && Number(part) <= spec.max ? Number(part) : undefined;
      const names = 'names' in spec ? spec.names : undefined;
      const at = names?.findIndex((name) => part.length >= 3 && (part.toLowerCase() === name || part.toLowerCase() === name.slice(0, 3)));
      return at === undefined || at < 0 ? undefined : at + ('first' in spec ? spec.first : 0);
    };
    for (const item of field.split(',')) {
      const [range, step, ...extra] = item.split('/');
      const problem = `the ${spec.name} field "${field}"`;
      if (extra.length > 0 || range === '') return `${problem} is not a cron field`;
      if (step !== undefined && !/^[1-9]\d{0,1}$/.test(step)) return `${problem} has a step that is not a whole number from 1`;
      if (range === '*') continue;
      const [from, to, ...more] = range!.split('-');
      const start = value(from!);
      const end = to === undefined ? start : value(to);
      if (more.length > 0 || start === undefined || end === undefined) return `${problem} must be *, or values from ${spec.min} to ${spec.max}${'names' in spec ? ' (or names)' : ''} as n, n-m, n/step or lists of them`;
      if (end < start) return `${problem} has a range that ends before it starts`;
    }
  }
  return undefined;
}

function requireCron(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--cron is required, e.g. --cron "0 9 * * 1-5" (9:00 on weekdays)');
  const problem = cronProblem(value);
  if (problem) throw new UsageError(`--cron ${problem}; got "${value}"`);
  return value.trim().replace(/\s+/g, ' ');
}

/**
 * The IANA time zone Temporal should read, or undefined when there is no such zone. Case is fixed from the zone
 * database (Temporal's is case-sensitive: `europe/berlin` is unknown to it); an alias (`US/Pacific`) is kept as
 * typed, since the server's zone database knows it too.
 */
export function ianaTimeZone(text: string): string | undefined {
  // Offsets like +01:00 are no zone: they do not follow daylight saving time.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(text)) return undefined;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  return resolved.toLowerCase() === text.toLowerCase() ? resolved : text;
}

function requireTimeZone(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--timezone is required: the IANA zone the cron is read in, e.g. Europe/Berlin, or UTC');
  const zone = ianaTimeZone(value.trim());
  if (!zone) throw new UsageError(`--timezone must be an IANA time zone like Europe/Berlin or UTC; got "${value}"`);
  return zone;
}

function requireRepo(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--repo is required (owner/name)');
  if (!REPO_PATTERN.test(value)) throw new UsageError(`--repo must be owner/name; got "${value}"`);
  return value;
}

/** One schedule on one line: what `list` prints and `set` confirms. */
function describeSchedule(schedule: PlanSchedule): string {
  const next = schedule.nextRuns.map((at) => formatIn(at, schedule.timezone)).join(', ');
  return (
    `schedule ${schedule.scheduleId}: guild ${schedule.guildId}, repo ${schedule.repo}${schedule.label ? ` (label "${schedule.label}")` : ''}, ` +
    `channel ${schedule.channelId}, cron "${schedule.cron}" in ${schedule.timezone}, ${schedule.paused ? 'paused' : 'active'}; next ${next || '(none)'}`
  );
}

/** `Wed 2026-12-02 09:00` in the schedule's zone. */
function formatIn(at: Date, timeZone: string): string {
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
        .formatToParts(at)
        .map((part) => [part.type, part.value]),
    );
    return `${parts['weekday']} ${parts['year']}-${parts['month']}-${parts['day']} ${parts['hour']}:${parts['minute']}`;
  } catch {
    return at.toISOString();
  }
}

/** What the schedule commands do on Temporal: loaded only once a command's flags are checked. */
type ScheduleCalls = typeof import('../temporal/plan-schedule');

/**
 * Connects to the Temporal the service uses, with the workers' data converter: the schedule's arguments are
 * encrypted like every payload, so the CLI needs the same keys (SECRETS_ENCRYPTION_KEY or TEMPORAL_PAYLOAD_KEY, or
 * the embedded store's DATA_DIR). Without TEMPORAL_ADDRESS, the embedded server a running `start` listens on.
 * Temporal's client (about half a second to load) is loaded here, after the flags were checked, so a refused
 * command answers at once.
 */
async function withTemporalClient<T>(config: Config, use: (client: Client, calls: ScheduleCalls) => Promise<T>): Promise<T> {
  const { address, port, namespace } = config.temporal;
  if (!address && port === 0) throw new UsageError('With TEMPORAL_PORT=0 the embedded server listens on a random port: set TEMPORAL_ADDRESS to reach it');
  const [{ Client }, { connectClient, temporalConnectionOptions }, { openPayloadCodec }, { createDataConverter }, calls] = await Promise.all([
    import('@temporalio/client'),
    import('../temporal/connection'),
    import('../temporal/codec'),
    import('../temporal/data-converter'),
    import('../temporal/plan-schedule'),
  ]);
  const options: TemporalConnectionOptions = address ? temporalConnectionOptions({ ...config.temporal, address }) : { address: `127.0.0.1:${port}`, namespace };
  let connection: Connection;
  try {
    connection = await connectClient(options);
  } catch (err) {
    const hint = address ? 'check TEMPORAL_ADDRESS and its TLS settings' : 'start the service first (`jules-orchestrator start` runs the embedded server there), or set TEMPORAL_ADDRESS';
    throw new ScheduleCommandError('temporal-unreachable', `Could not reach Temporal at ${options.address} (${(err as Error).message}). Schedules live in Temporal: ${hint}.`, { cause: err });
  }
  try {
    const client = new Client({ connection, namespace: options.namespace, dataConverter: createDataConverter(openPayloadCodec(config)) });
    return await use(client, calls);
  } finally {
    await connection.close();
  }
}
