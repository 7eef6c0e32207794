import { ScheduleNotFoundError } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatedMessage } from '../src/sandbox/discord-emulator';
import { planItemTaskId } from '../src/shared/ids';
import type { PlanView } from '../src/shared/plan';
import { planScheduleId, SCHEDULED_START_TIME } from '../src/shared/plan-schedule';
import { getPlanSchedule, listPlanSchedules, PLAN_SCHEDULE_CATCHUP_WINDOW_MS, removePlanSchedule, setPlanSchedule, type PlanScheduleRequest } from '../src/temporal/plan-schedule';
import { planViewQuery } from '../workflows/messages';
import type { PlanSettings } from '../workflows/plan.workflow';
import type { ScheduledPlanOutcome } from '../workflows/scheduled-plan.workflow';
import { eventually, GUILD, MEMBERS, startTestStack, type TestStack, type TestStackOptions } from './helpers/stack';

/**
 * The daily plan on a Temporal Schedule, on the real stack: the schedule is set through the module `schedule set`
 * uses, fired now with `trigger()`, and its plan card shows up in the emulated channel waiting for `/approve`.
 * The dev server is shared by every test file, so each test removes the schedules it set.
 */

let stack: TestStack | undefined;
const scheduled = new Set<string>();

afterEach(async () => {
  for (const id of scheduled) await removePlanSchedule(stack!.client, id);
  scheduled.clear();
  await stack?.stop();
  stack = undefined;
});

/** The stack's plan pace (as `startTestStack` gives `/plan`), with the test's overrides. */
function planSettings(overrides: Partial<Omit<PlanSettings, 'task'>> = {}): PlanSettings {
  return {
    approvalTimeoutMs: 60_000,
    runDeadlineMs: 600_000,
    lookEveryMs: 2_000,
    ...overrides,
    task: { confirmationTimeoutMs: 60_000, pollIntervalMs: 100, deadlineMs: 120_000, pullRequests: { reconcileEveryMs: 60_000, deadlineMs: 600_000 } },
  };
}

const MORNINGS: PlanScheduleRequest = { guildId: GUILD.id, repo: GUILD.repo, channelId: GUILD.channelId, cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' };

async function scheduleStack(options: TestStackOptions = {}) {
  stack = await startTestStack(options);
  const s = stack;
  /** Sets the schedule on this stack's client and task queue, as `schedule set` does on the configured ones. */
  const set = async (request: Partial<PlanScheduleRequest> = {}, settings: PlanSettings = planSettings()) => {
    const result = await setPlanSchedule({ client: s.client, taskQueue: s.taskQueue, settings }, { ...MORNINGS, ...request });
    scheduled.add(result.schedule.scheduleId);
    return result;
  };
  /** Fires the schedule now and returns the plan its firing started. */
  const fire = async (scheduleId: string) => {
    const handle = s.client.schedule.getHandle(scheduleId);
    const before = (await handle.describe()).info.numActionsTaken;
    await handle.trigger();
    const action = await eventually(async () => {
      const { info } = await handle.describe();
      return info.numActionsTaken > before ? info.recentActions.at(-1) : undefined;
    }, 'the firing');
    const firing = s.client.workflow.getHandle(action.action.workflow.workflowId);
    const { runId } = (await firing.result()) as ScheduledPlanOutcome;
    return { runId, firing, scheduledAt: action.scheduledAt };
  };
  const card = (runId: string, pattern: RegExp) =>
    eventually(() => s.discord.channelMessages(GUILD.channelId).find((m) => cardText(m).includes(runId) && pattern.test(cardText(m))), `the card of ${runId} matching ${pattern}`);
  const view = (runId: string) => s.client.workflow.getHandle(runId).query(planViewQuery) as Promise<PlanView>;
  return { s, set, fire, card, view };
}

/** Everything a card shows: its content and its embed. */
function cardText(message: EmulatedMessage): string {
  const embed = message.embeds?.[0];
  return [message.content ?? '', embed?.title ?? '', embed?.description ?? '', ...(embed?.fields ?? []).map((f) => `${f.name}: ${f.value}`)].join('\n');
}

describe('a plan schedule', () => {
  it('proposes the ready issues in the channel when it fires, and nothing runs until a confirmer approves', async () => {
    const { s, set, fire, card, view } = await scheduleStack({ github: true });
    const issue = s.github!.createIssue({ repo: GUILD.repo, title: 'Tidy the changelog', labels: ['ready'] }).number;
    const { created, schedule } = await set();
    expect(created).toBe(true);
    expect(schedule).toMatchObject({ scheduleId: planScheduleId(GUILD.id, GUILD.repo), guildId: GUILD.id, repo: GUILD.repo, channelId: GUILD.channelId, cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', paused: false });

    const { runId, firing, scheduledAt } = await fire(schedule.scheduleId);
    // The run id people type, dated by the time Temporal gave the firing: not the schedule's timestamped workflow id.
    // (The search attribute keeps whole seconds.)
    const meant = (await firing.describe()).typedSearchAttributes.get(SCHEDULED_START_TIME);
    expect(Math.abs(meant!.getTime() - scheduledAt.getTime())).toBeLessThan(1_000);
    expect(runId).toMatch(new RegExp(`^plan-${scheduledAt.toISOString().slice(0, 10).replaceAll('-', '')}-widgets-[0-9a-f]{4}$`));
    const shown = await card(runId, /Waiting for approval/);
    expect(cardText(shown)).toContain('Tidy the changelog');

    // The firing ended; the plan it started lives on (abandoned, not cancelled), proposed by nobody, paid by the guild.
    expect((await firing.describe()).status.name).toBe('COMPLETED');
    expect((await s.client.workflow.getHandle(runId).describe()).status.name).toBe('RUNNING');
    const proposed = await view(runId);
    expect(proposed).toMatchObject({ status: 'proposed', keySource: 'guild', items: [expect.objectContaining({ issueNumber: issue, status: 'planned' })] });
    expect(proposed.proposedBy).toBeUndefined();
    await expect(s.client.workflow.getHandle(planItemTaskId(runId, issue)).describe()).rejects.toThrow();

    // A confirmer approves, and only then does the item run, as a task on the guild's key.
    const approved = await s.command(MEMBERS.lead, 'approve', { run_id: runId });
    expect(String(approved.body?.data?.content)).toMatch(/Approved/);
    const task = s.client.workflow.getHandle(planItemTaskId(runId, issue));
    await eventually(() => task.describe().then(() => true, () => undefined), 'the item’s task');
    expect(await task.result()).toMatchObject({ status: 'completed' });
    expect(await s.store.getPlanRun(runId)).toMatchObject({ proposedBy: null, approvedBy: MEMBERS.lead.id, keySource: 'guild' });
  });

  it('says in the channel why a firing proposed no plan: nothing ready, or a server not set up', async () => {
    const { s, set, fire } = await scheduleStack({ github: true });
    const { schedule } = await set();
    const said = () => s.discord.channelMessages(GUILD.channelId).map((m) => m.content ?? '').filter((text) => text.startsWith('📋 The scheduled plan did not start'));

    const { runId, firing } = await fire(schedule.scheduleId);
    expect(await s.client.workflow.getHandle(runId).result()).toMatchObject({ status: 'empty' });
    expect((await firing.describe()).status.name).toBe('COMPLETED');
    expect(said()).toEqual([expect.stringMatching(/No open issue in `acme\/widgets` is labelled `ready`/)]);

    // A schedule of a server that was never set up (or was removed since): the team reads what to fix, not silence.
    s.github!.createIssue({ repo: GUILD.repo, title: 'Ready, on a server nobody set up', labels: ['ready'] });
    const elsewhere = await set({ guildId: '720000000000000999' });
    const refused = await fire(elsewhere.schedule.scheduleId);
    expect(await s.client.workflow.getHandle(refused.runId).result()).toMatchObject({ status: 'refused' });
    expect(said()).toHaveLength(2);
    expect(said()[1]).toMatch(/This server is not set up for Jules yet/);
  });

  it('is one schedule per guild and repository: setting it again updates its cron, zone, label and the plans’ settings', async () => {
    const { s, set, fire, card } = await scheduleStack({ github: true });
    const first = await set();
    await s.client.schedule.getHandle(first.schedule.scheduleId).pause('holiday');
    const second = await set({ repo: 'Acme/Widgets', cron: '30 8 * * *', timezone: 'UTC', label: 'jules' }, planSettings({ approvalTimeoutMs: 1_500 }));
    expect(second.created).toBe(false);
    expect(second.schedule.scheduleId).toBe(first.schedule.scheduleId);
    // A new cron does not undo a pause: pausing is the operator's.
    expect(second.schedule).toMatchObject({ cron: '30 8 * * *', timezone: 'UTC', label: 'jules', paused: true });
    expect(second.schedule.settings.approvalTimeoutMs).toBe(1_500);

    const listed = await eventually(async () => {
      const schedules = await listPlanSchedules(s.client, { guildId: GUILD.id });
      return schedules.length > 0 ? schedules : undefined;
    }, 'the schedule in the list');
    expect(listed.map((schedule) => schedule.scheduleId)).toEqual([first.schedule.scheduleId]);
    expect(second.schedule.nextRuns[0]!.toISOString()).toMatch(/T08:30:00\.000Z$/);

    // The plan a firing proposes gets the settings of the last `set`: this one expires after 1.5 s.
    s.github!.createIssue({ repo: GUILD.repo, title: 'Labelled for the schedule', labels: ['jules'] });
    const { runId } = await fire(first.schedule.scheduleId);
    expect(await s.client.workflow.getHandle(runId).result()).toMatchObject({ status: 'expired' });
    await card(runId, /Expired/);
  });

  it('is set to skip a firing while the last one still runs, to catch up at most three hours late, and to fire at 9:00 in its zone', async () => {
    const { s, set } = await scheduleStack();
    const { schedule } = await set();
    const description = await s.client.schedule.getHandle(schedule.scheduleId).describe();
    expect(description.policies).toEqual({ overlap: 'SKIP', catchupWindow: PLAN_SCHEDULE_CATCHUP_WINDOW_MS, pauseOnFailure: false });
    expect(PLAN_SCHEDULE_CATCHUP_WINDOW_MS).toBe(3 * 3_600_000);
    expect(description.action).toMatchObject({ workflowType: 'scheduledPlanWorkflow', taskQueue: s.taskQueue, workflowId: schedule.scheduleId });
    // 9:00 in Berlin on weekdays, whatever the server's own zone.
    const berlin = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    for (const at of schedule.nextRuns) expect(berlin.format(at)).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
  });

  it('is gone once removed, and a second remove finds nothing', async () => {
    const { s, set } = await scheduleStack();
    const { schedule } = await set();
    expect(await removePlanSchedule(s.client, schedule.scheduleId)).toBe(true);
    expect(await getPlanSchedule(s.client, schedule.scheduleId)).toBeUndefined();
    await expect(s.client.schedule.getHandle(schedule.scheduleId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect(await removePlanSchedule(s.client, schedule.scheduleId)).toBe(false);
    expect(await listPlanSchedules(s.client, { guildId: GUILD.id })).toEqual([]);
  });
});
