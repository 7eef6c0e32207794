import { afterEach, describe, expect, it } from 'vitest';
import { encodePlanId } from '../src/discord/custom-id';
import type { EmulatedMessage } from '../src/sandbox/discord-emulator';
import { buildAutocomplete } from '../src/sandbox/interaction-signer';
import { askingScript, defaultScript, failingScript } from '../src/sandbox/jules-emulator';
import { planItemTaskId, pullRequestFollowId } from '../src/shared/ids';
import type { PlanView } from '../src/shared/plan';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import { planViewQuery } from '../workflows/messages';
import { eventually, GUILD, MEMBERS, startTestStack, type TestStack, type TestStackOptions } from './helpers/stack';

/**
 * The daily plan end to end on the real stack: `/plan` gathers the `ready` issues from the GitHub emulator, the
 * card waits for a confirmer, each approved item runs as a child task on the Jules emulator, and `/ship` merges
 * what is green at its head. Everything goes through signed interactions, real HTTP and the real Temporal server.
 */

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const REPO = GUILD.repo;
const RUN_ID = /plan-\d{8}-[a-z0-9-]+-[0-9a-f]{4}/;

/** A stack with ready issues on GitHub, and the helpers every plan test uses. */
async function planStack(options: TestStackOptions = {}) {
  stack = await startTestStack({ github: true, ...options });
  const s = stack;
  const gh = s.github!;
  const issue = (title: string, labels: string[] = ['ready']) => gh.createIssue({ repo: REPO, title, body: `Please: ${title}.`, labels }).number;

  /** Runs `/plan` as a member and returns the run id from the answer. */
  async function plan(member: { id: string; roles: readonly string[] } = MEMBERS.lead, options: Record<string, string> = {}) {
    const answer = await s.command(member, 'plan', options);
    const text = String(answer.body?.data?.content ?? '');
    return { text, runId: RUN_ID.exec(text)?.[0] };
  }
  const card = (runId: string, pattern: RegExp = /./) =>
    eventually(() => s.discord.channelMessages(GUILD.channelId).find((m) => cardText(m).includes(runId) && pattern.test(cardText(m))), `the card of ${runId} matching ${pattern}`);
  const view = (runId: string) => s.client.workflow.getHandle(runId).query(planViewQuery) as Promise<PlanView>;
  const text = (answer: { body: any }) => String(answer.body?.data?.content ?? '');
  /** The outcome of an item's task, once the plan has started it. */
  const itemOutcome = async (runId: string, issueNumber: number) => {
    const handle = s.client.workflow.getHandle(planItemTaskId(runId, issueNumber));
    await eventually(() => handle.describe().then(() => true, () => undefined), `the task of #${issueNumber}`);
    return (await handle.result()) as Awaited<ReturnType<TestStack['outcome']>>;
  };
  return { s, gh, issue, plan, card, view, text, itemOutcome };
}

/** Everything a card shows: its content and its embed. */
function cardText(message: EmulatedMessage): string {
  const embed = message.embeds?.[0];
  return [message.content ?? '', embed?.title ?? '', embed?.description ?? '', ...(embed?.fields ?? []).map((f) => `${f.name}: ${f.value}`)].join('\n');
}

describe('/plan', () => {
  it('proposes the open ready issues, oldest first, leaving out pull requests, closed and unlabelled issues', async () => {
    const { gh, issue, plan, card, view } = await planStack();
    const first = issue('Add a dark mode');
    const unlabelled = issue('Not ready yet', []);
    const closed = issue('Already done');
    gh.closeIssue({ repo: REPO, number: closed });
    const second = issue('Fix the footer');
    const pr = gh.openPullRequest({ repo: REPO, headRef: 'someone/branch', title: 'A PR labelled ready' });
    gh.addLabel({ repo: REPO, number: pr.number, label: 'ready' });

    const { text, runId } = await plan();
    expect(text).toMatch(/proposes 2 items/);
    const shown = await card(runId!, /Waiting for approval/);
    expect(cardText(shown)).toMatch(new RegExp(`#${first}\\].*Add a dark mode[\\s\\S]*#${second}\\].*Fix the footer`));
    expect(cardText(shown)).not.toMatch(/Not ready yet|Already done|A PR labelled ready/);
    expect((await view(runId!)).items.map((item) => item.issueNumber)).toEqual([first, second]);
    expect(unlabelled).toBeGreaterThan(0);
  });

  it('says so when there is nothing to plan, and starts nothing', async () => {
    const { plan, s } = await planStack();
    const { text, runId } = await plan();
    expect(text).toMatch(/nothing to plan/);
    expect(runId).toBeUndefined();
    expect(await s.store.listPlanRuns({ guildId: GUILD.id })).toEqual([]);
  });

  it('never plans an issue that is already in a running plan', async () => {
    const { issue, plan, view } = await planStack();
    const only = issue('Only once');
    const first = await plan();
    expect((await view(first.runId!)).items.map((item) => item.issueNumber)).toEqual([only]);
    const second = await plan();
    expect(second.text).toMatch(/nothing to plan/);
  });

  it('never puts one issue on two runs, even when two members run /plan at the same moment', async () => {
    const { issue, plan, view } = await planStack();
    const numbers = [issue('Wanted by both'), issue('Also wanted by both')];
    const answers = await Promise.all([plan(MEMBERS.lead), plan(MEMBERS.developer)]);
    const planned = await Promise.all(answers.flatMap((answer) => (answer.runId ? [view(answer.runId)] : [])));
    expect(planned.flatMap((run) => run.items.map((item) => item.issueNumber)).sort((a, b) => a - b)).toEqual(numbers);
    for (const answer of answers) expect(answer.text).toMatch(answer.runId ? /proposes [12] items?/ : /nothing (left )?to plan/);
  });

  it('is refused to a member with neither a create nor a confirm role', async () => {
    const { issue, plan } = await planStack();
    issue('Something');
    const { text } = await plan(MEMBERS.outsider);
    expect(text).toMatch(/Only members with a create or confirm role/);
  });
});

describe('approving a plan', () => {
  it('is for confirmers only, on the revision they saw; dropped items never run', async () => {
    const { s, gh, issue, plan, card, view, text, itemOutcome } = await planStack();
    const keep = issue('Keep me');
    const drop = issue('Drop me');
    const { runId } = await plan(MEMBERS.developer);
    await card(runId!);

    // A developer may propose, not approve; an outsider may do neither.
    expect(text(await s.click(MEMBERS.developer, encodePlanId({ action: 'approve', runId: runId!, revision: 0 })))).toMatch(/Only members with a confirm role/);
    expect(text(await s.command(MEMBERS.outsider, 'approve', { run_id: runId! }))).toMatch(/Only members with a confirm role/);

    // The proposer drops an item: the card's revision moves on, and an Approve from the old card is refused.
    const dropped = await s.select(MEMBERS.developer, encodePlanId({ action: 'drop', runId: runId!, revision: 0 }), [String(drop)]);
    expect(dropped.body.type).toBe(7);
    expect((await view(runId!)).revision).toBe(1);
    expect(text(await s.click(MEMBERS.lead, encodePlanId({ action: 'approve', runId: runId!, revision: 0 })))).toMatch(/out of date/);
    expect((await view(runId!)).status).toBe('proposed');

    const approved = await s.click(MEMBERS.lead, encodePlanId({ action: 'approve', runId: runId!, revision: 1 }));
    expect(approved.body.type).toBe(7);
    const outcome = await itemOutcome(runId!, keep);
    expect(outcome.status).toBe('completed');
    await expect(s.client.workflow.getHandle(planItemTaskId(runId!, drop)).describe()).rejects.toThrow();

    // On GitHub: the item moved from ready to in progress and got one comment naming the run; the dropped one did not.
    await eventually(() => gh.labels({ repo: REPO, number: keep }).includes('jules-in-progress') || undefined, 'the in-progress label');
    expect(gh.labels({ repo: REPO, number: keep })).not.toContain('ready');
    expect(gh.comments({ repo: REPO, number: keep }).filter((c) => c.body.includes(runId!))).toHaveLength(1);
    expect(gh.labels({ repo: REPO, number: drop })).toContain('ready');
    expect(gh.comments({ repo: REPO, number: drop })).toHaveLength(0);

    // The run's projection and audit trail.
    const row = await s.store.getPlanRun(runId!);
    expect(row).toMatchObject({ status: 'running', approvedBy: MEMBERS.lead.id, proposedBy: MEMBERS.developer.id });
    const events = (await s.store.listTaskEvents(runId!)).map((event) => event.kind);
    expect(events).toEqual(expect.arrayContaining(['plan_proposed', 'plan_item_dropped', 'plan_approved_run']));
  });

  it('under the two-person rule, is not by the member who proposed it', async () => {
    const { s, issue, plan, card, text } = await planStack();
    await s.store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], defaultRepo: GUILD.repo, twoPersonRule: true });
    issue('Four eyes');
    const { runId } = await plan(MEMBERS.lead);
    await card(runId!);
    expect(text(await s.command(MEMBERS.lead, 'approve', { run_id: runId! }))).toMatch(/two-person rule/);
  });

  it('expires when nobody approves in time, and says so on the card', async () => {
    const { s, issue, plan, card } = await planStack({ plans: { approvalTimeoutMs: 1_500 } });
    issue('Nobody cares');
    const { runId } = await plan();
    expect(await s.client.workflow.getHandle(runId!).result()).toMatchObject({ status: 'expired' });
    await card(runId!, /Expired/);
    expect((await s.store.getPlanRun(runId!))?.status).toBe('expired');
  });
});

// The whole flow, plan → approve → ship → cancel, in both ways Discord delivers interactions.
describe.each(['http', 'gateway'] as const)('/ship, with interactions over %s', (mode) => {
  it('merges what is green at its head, skips what is red with the reason, and comments on the issue', async () => {
    const { s, gh, issue, plan, card, text, itemOutcome } = await planStack({ mode });
    const green = issue('Green one');
    const red = issue('Red one');
    const { runId } = await plan();
    await card(runId!);
    expect(text(await s.command(MEMBERS.lead, 'ship', { run_id: runId! }))).toMatch(/not approved yet/);
    await s.command(MEMBERS.lead, 'approve', { run_id: runId! });

    const headOf = async (issueNumber: number) => {
      const outcome = await itemOutcome(runId!, issueNumber);
      expect(outcome.status).toBe('completed');
      const number = parsePullRequestUrl(outcome.prUrl!)!.number;
      return { number, sha: gh.pullRequest({ repo: REPO, number }).head.sha as string };
    };
    const greenPr = await headOf(green);
    const redPr = await headOf(red);
    gh.addCheckRun({ repo: REPO, sha: greenPr.sha, name: 'build', conclusion: 'success' });
    gh.addCheckRun({ repo: REPO, sha: redPr.sha, name: 'build', conclusion: 'failure' });

    expect(text(await s.command(MEMBERS.developer, 'ship', { run_id: runId! }))).toMatch(/Only members with a confirm role/);
    const shipped = text(await s.command(MEMBERS.lead, 'ship', { run_id: runId! }));
    expect(shipped).toMatch(new RegExp(`#${green} Green one: merged`));
    expect(shipped).toMatch(new RegExp(`#${red} Red one: skipped, red: \`build\``));
    expect(gh.pullRequest({ repo: REPO, number: greenPr.number }).merged).toBe(true);
    expect(gh.pullRequest({ repo: REPO, number: redPr.number }).merged).toBe(false);
    // The issue hears of it just after the answer (GitHub paces comments; nobody waits for them), once.
    await eventually(() => gh.comments({ repo: REPO, number: green }).some((c) => c.body.includes(`Merged in #${greenPr.number}`)) || undefined, 'the "Merged in" comment');
    expect(gh.comments({ repo: REPO, number: green }).filter((c) => c.body.includes('Merged in'))).toHaveLength(1);

    const status = await s.command(MEMBERS.developer, 'status', { run_id: runId! });
    const shown = JSON.stringify(status.body.data);
    expect(shown).toMatch(/merged/);
    expect(status.body.data.flags).toBe(64);

    // The red item keeps the run open; cancelling ends it and the card says so.
    const cancelled = await s.click(MEMBERS.lead, encodePlanId({ action: 'cancel', runId: runId! }));
    expect(cancelled.body.type).toBe(7);
    expect(await s.client.workflow.getHandle(runId!).result()).toMatchObject({ status: 'cancelled', merged: 1 });
    await card(runId!, /Cancelled/);
    if (mode === 'gateway') {
      // Over the gateway every answer is a REST callback: one for each of the seven interactions, none twice.
      const answered = s.discord.callbacks.map((c) => c.interactionId);
      expect(answered).toHaveLength(7);
      expect(new Set(answered).size).toBe(7);
    }
  });
});

describe('/ship', () => {
  it('with nothing green says so, and merges nothing', async () => {
    const { s, issue, plan, card, view, text, itemOutcome } = await planStack();
    const only = issue('Pending');
    const { runId } = await plan();
    await card(runId!);
    await s.command(MEMBERS.lead, 'approve', { run_id: runId! });
    await itemOutcome(runId!, only);
    // The plan hears of its item's PR when it handles the ended task, a moment after the task's result (a loaded run saw a /ship in between).
    await eventually(async () => (await view(runId!)).items.find((i) => i.issueNumber === only)?.status === 'pr_open' || undefined, 'the plan to know the PR');
    const gh = s.github!;
    const pr = (await s.store.getTask(planItemTaskId(runId!, only)))!;
    const number = parsePullRequestUrl(pr.prUrl!)!.number;
    gh.addCheckRun({ repo: REPO, sha: gh.pullRequest({ repo: REPO, number }).head.sha as string, name: 'build' });
    const shipped = text(await s.command(MEMBERS.lead, 'ship', { run_id: runId! }));
    expect(shipped).toMatch(/Nothing in `plan-.*` was green/);
    expect(shipped).toMatch(/checks still running/);
    expect(gh.pullRequest({ repo: REPO, number }).merged).toBe(false);
  });
});

describe('/ship and GitHub', () => {
  /** A plan with one item whose pull request went green at its head, as its follow-through saw it. */
  async function greenItem(h: Awaited<ReturnType<typeof planStack>>) {
    const { s, gh, issue, plan, card, itemOutcome } = h;
    const only = issue('Green, then pushed to');
    const { runId } = await plan();
    await card(runId!);
    await s.command(MEMBERS.lead, 'approve', { run_id: runId! });
    const outcome = await itemOutcome(runId!, only);
    const number = parsePullRequestUrl(outcome.prUrl!)!.number;
    const pr = gh.pullRequest({ repo: REPO, number });
    const taskId = planItemTaskId(runId!, only);
    // CI reports once the follow-through follows the PR, so the webhook has someone to wake.
    await eventually(async () => (await s.store.getTask(taskId))?.checksState ?? undefined, 'the follow-through to look at the PR');
    gh.addCheckRun({ repo: REPO, sha: pr.head.sha as string, name: 'build', conclusion: 'success' });
    await eventually(async () => (await s.store.getTask(taskId))?.checksState === 'passed' || undefined, 'the follow-through to see green');
    return { runId: runId!, issueNumber: only, number, branch: pr.head.ref as string, greenSha: pr.head.sha as string, taskId };
  }

  /**
   * How many GitHub events reached the item's PR follow-through: the deliveries noted for its task (which its watch
   * counts), and the signals in its history (for workers that cannot count).
   */
  async function wakes(s: TestStack, taskId: string): Promise<number> {
    const history = await s.client.workflow.getHandle(pullRequestFollowId(taskId)).fetchHistory();
    const signals = history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    const noted = await s.sql.query('select delivery_id from webhook_deliveries where subject = $1', [taskId]);
    return signals + noted.length;
  }

  it('does not merge a head that moved after it went green, until the new head is green itself', async () => {
    const h = await planStack();
    const { s, gh, text } = h;
    // The team gates merges on CI, as GitHub's branch protection does: `build` must pass at the head.
    gh.protectBranch({ repo: REPO, branch: 'main', contexts: ['build'] });
    const item = await greenItem(h);
    const shipNow = async () => text(await s.command(MEMBERS.lead, 'ship', { run_id: item.runId }));

    // Jules (or anyone) pushes again: the green check was for the old head.
    const moved = gh.pushCommit({ repo: REPO, branch: item.branch });
    expect(moved).not.toBe(item.greenSha);
    await gh.flushDeliveries();
    const before = await shipNow();
    expect(before).toMatch(/Nothing in `plan-.*` was green at its current head, so nothing was merged/);
    expect(before).toMatch(new RegExp(`#${item.issueNumber} Green, then pushed to: skipped, required checks have not run: \`build\``));

    // CI starts on the new head: still not green.
    const run = gh.addCheckRun({ repo: REPO, sha: moved, name: 'build' });
    expect(await shipNow()).toMatch(new RegExp(`#${item.issueNumber} Green, then pushed to: skipped, checks still running \\(0 of 1 done\\)`));
    expect(gh.pullRequest({ repo: REPO, number: item.number }).merged).toBe(false);
    expect(gh.comments({ repo: REPO, number: item.issueNumber }).some((c) => c.body.includes('Merged in'))).toBe(false);
    // The item's row follows the push through the PR's follow-through, a moment after the /ship's own look at GitHub.
    await eventually(async () => ((await s.store.listPlanItems(item.runId))[0]?.status === 'pr_open' ? true : undefined), 'the plan item back to pr_open');

    // Green at the new head: now it ships, at that head.
    gh.completeCheckRun({ repo: REPO, id: run, conclusion: 'success' });
    expect(await shipNow()).toMatch(new RegExp(`#${item.issueNumber} Green, then pushed to: merged`));
    expect(gh.pullRequest({ repo: REPO, number: item.number })).toMatchObject({ merged: true });
    expect(gh.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/pulls/${item.number}/merge`))).toMatchObject([{ status: 200 }]);
  });

  it('does not take a new head with no checks yet for green, even where no check is required', async () => {
    const h = await planStack();
    const { s, gh, text } = h;
    const item = await greenItem(h);
    await eventually(async () => ((await s.store.listPlanItems(item.runId))[0]?.checksState === 'passed' ? true : undefined), 'the plan item green');
    gh.pushCommit({ repo: REPO, branch: item.branch });
    await gh.flushDeliveries();
    const shipped = text(await s.command(MEMBERS.lead, 'ship', { run_id: item.runId }));
    expect(shipped).toMatch(/skipped, new commits arrived and their checks have not started yet/);
    expect(gh.pullRequest({ repo: REPO, number: item.number }).merged).toBe(false);
  });

  it('acts once on a webhook delivery GitHub redelivers', async () => {
    const h = await planStack();
    const { s, gh } = h;
    const item = await greenItem(h);
    await gh.flushDeliveries();

    // The check run's completion woke the follow-through once; its redelivery is answered, and does nothing more.
    const original = gh.deliveries.find((d) => d.event === 'check_run' && d.action === 'completed' && !d.redelivery);
    expect(original).toMatchObject({ status: 202 });
    const woken = await wakes(s, item.taskId);
    expect(woken).toBeGreaterThanOrEqual(1);
    const again = await gh.redeliver(original!.id);
    expect(again).toMatchObject({ id: original!.id, redelivery: true, status: 200 });
    expect(await s.sql.query('select delivery_id from webhook_deliveries where delivery_id = $1', [original!.id])).toHaveLength(1);
    expect(await wakes(s, item.taskId)).toBe(woken);
  });
});

describe('a plan on a key with fewer sessions than items', () => {
  it('runs them in turn, and the card and /status give each waiting item its place in line', { timeout: 180_000 }, async () => {
    // Jules asks the first item a question nobody answers, so its session holds the key's one slot.
    const { s, issue, plan, card } = await planStack({ jules: { script: () => askingScript('Which colour should the button be?') } });
    await s.store.setGuildQuotas(GUILD.id, { concurrentSessionsPerKey: 1 });
    const items = [issue('First in line'), issue('Second in line'), issue('Third in line')];
    const { runId } = await plan();
    await card(runId!);
    await s.command(MEMBERS.lead, 'approve', { run_id: runId! });

    // The three start together, so they take the key's slot in the order they reach it, not always in issue order.
    const rows = (text: string) => items.map((n) => text.split('\n').find((line) => line.startsWith(`[#${n}]`)) ?? '');
    const inLine = (text: string) => rows(text).map((row) => / — (number \d in line); at most 1 at once$/.exec(row)?.[1]).filter(Boolean).sort();
    const settled = (text: string) => inLine(text).join() === 'number 1 in line,number 2 in line' && rows(text).filter((row) => /· (🛠️ in Jules|💬 waiting)/.test(row)).length === 1;
    await card(runId!, /number 2 in line/);
    await eventually(() => (settled(cardText(s.discord.channelMessages(GUILD.channelId).find((m) => cardText(m).includes(runId!))!)) ? true : undefined), 'one item in Jules, two in line on the card');
    const status = (await s.command(MEMBERS.developer, 'status', { run_id: runId! })).body.data as { embeds?: { description?: string }[]; content?: string };
    expect(settled([status.content ?? '', ...(status.embeds ?? []).map((embed) => embed.description ?? '')].join('\n'))).toBe(true);
    expect(s.jules.sessions()).toHaveLength(1);
  });
});

describe('an item whose Jules session fails', () => {
  it('is reported failed with Jules’ reason on the card and in /status, gets its ready label back, and the others go on', async () => {
    const reason = 'The repository’s build needs a secret Jules does not have';
    const { s, gh, issue, plan, card, view, itemOutcome } = await planStack({
      jules: { script: (input) => (input.prompt.startsWith('Doomed') ? failingScript(reason) : defaultScript()) },
    });
    const first = issue('Fine one');
    const doomed = issue('Doomed one');
    const last = issue('Fine too');
    const { runId } = await plan();
    await card(runId!);
    await s.command(MEMBERS.lead, 'approve', { run_id: runId! });

    const failed = await itemOutcome(runId!, doomed);
    expect(failed.status).toBe('failed');
    // The others finish their sessions and open their pull requests all the same.
    for (const n of [first, last]) expect(await itemOutcome(runId!, n)).toMatchObject({ status: 'completed', prUrl: expect.stringMatching(/\/pull\/\d+$/) });
    await eventually(async () => (await view(runId!)).items.map((item) => item.status).join() === 'pr_open,failed,pr_open' || undefined, 'the plan to see each item end');
    expect((await view(runId!)).status).toBe('running');

    const shown = await card(runId!, new RegExp(`#${doomed}\\].*failed`));
    expect(cardText(shown)).toContain(`Doomed one · ❌ failed — ${reason}`);
    // A repository without CI: their PRs are open, or already green once their follow-throughs looked.
    expect(cardText(shown)).toMatch(/Fine one · (🔎 PR open|🟢 green)/);
    expect(cardText(shown)).toMatch(/Fine too · (🔎 PR open|🟢 green)/);
    const status = JSON.stringify((await s.command(MEMBERS.developer, 'status', { run_id: runId! })).body.data);
    expect(status).toContain(reason);
    expect(status).toMatch(/Doomed one · ❌ failed/);
    const row = (await s.store.listPlanItems(runId!)).find((item) => item.issueNumber === doomed);
    expect(row).toMatchObject({ status: 'failed', reason: expect.stringContaining(reason) });

    // Its issue is free for the next plan: `ready` again, no longer in progress. The others stay in progress.
    await eventually(() => gh.labels({ repo: REPO, number: doomed }).includes('ready') || undefined, 'the ready label back');
    expect(gh.labels({ repo: REPO, number: doomed })).not.toContain('jules-in-progress');
    for (const n of [first, last]) expect(gh.labels({ repo: REPO, number: n })).toEqual(['jules-in-progress']);
  });
});

describe('/status and the run id option', () => {
  it('lists the open runs, and autocompletes run ids of this server', async () => {
    const { s, issue, plan, card } = await planStack();
    issue('Listed');
    const { runId } = await plan();
    await card(runId!);
    const listed = await s.command(MEMBERS.developer, 'status');
    expect(listed.body.data.content).toContain(runId!);
    expect(String((await s.command(MEMBERS.developer, 'status', { run_id: 'plan-nope' })).body.data.content)).toMatch(/not a plan run id/);

    const typing = (typed: string) =>
      s.send(buildAutocomplete({ applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, name: 'approve', option: 'run_id', typed }));
    const suggested = await typing(runId!.slice(0, 10));
    expect(suggested.body).toEqual({ type: 8, data: { choices: [{ name: runId, value: runId }] } });
    expect((await typing('plan-19990101')).body.data.choices).toEqual([]);
    // Another server's runs are never suggested.
    const elsewhere = buildAutocomplete({ applicationId: s.discord.applicationId, guildId: '800000000000000999', channelId: GUILD.channelId, user: MEMBERS.lead, name: 'ship', option: 'run_id', typed: 'plan-' });
    expect((await s.send(elsewhere)).body.data.choices).toEqual([]);
  });
});

describe('a running plan', () => {
  it('hears at once of an item merged on GitHub itself, and completes', async () => {
    // A merge webhook that comes before the follow-through's first look recorded the PR finds no task and is ignored
    // (as on GitHub); the follow-through's reconcile then finds the merge. Both ways, the plan hears it from there.
    const { s, gh, issue, plan, card, itemOutcome } = await planStack({ plans: { lookEveryMs: 600_000 }, pullRequests: { reconcileEveryMs: 5_000 } });
    const only = issue('Merged by hand');
    const { runId } = await plan();
    await card(runId!);
    await s.command(MEMBERS.lead, 'approve', { run_id: runId! });
    const number = parsePullRequestUrl((await itemOutcome(runId!, only)).prUrl!)!.number;
    gh.mergePullRequest({ repo: REPO, number });
    // The run's own look is ten minutes away: only the follow-through's wake can end it now.
    expect(await s.client.workflow.getHandle(runId!).result()).toMatchObject({ status: 'completed', merged: 1 });
    await card(runId!, /Done/);
  });

  it('with failing checks sent back to Jules, counts each request on the item and says it in the plan’s thread, labelled', async () => {
    const { s, gh, issue, plan, card, itemOutcome } = await planStack();
    await s.store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], defaultRepo: GUILD.repo, fixFailingChecks: true, maxFixAttempts: 2 });
    const only = issue('Make lint pass');
    const { runId } = await plan();
    await card(runId!);
    await s.command(MEMBERS.lead, 'approve', { run_id: runId! });
    const number = parsePullRequestUrl((await itemOutcome(runId!, only)).prUrl!)!.number;
    gh.addCheckRun({ repo: REPO, sha: gh.pullRequest({ repo: REPO, number }).head.sha as string, name: 'lint', conclusion: 'failure' });

    const row = await eventually(async () => (await s.store.listPlanItems(runId!)).find((item) => item.issueNumber === only && item.fixAttempts === 1), 'the fix request on the item');
    expect(row.taskId).toBe(planItemTaskId(runId!, only));
    const thread = (await s.store.getPlanRun(runId!))!.threadId!;
    // In the plan's thread, the fix request and the PR's status message each say which item they are about.
    const label = `**#${only}** Make lint pass\n`;
    const contents = () => s.discord.channelMessages(thread).map((m) => m.content ?? '');
    // The row counts the request a moment before the thread says it.
    await eventually(() => (contents().some((content) => content.startsWith(label) && content.includes(`fix the failing checks of PR #${number} (attempt 1 of 2): \`lint\``)) ? true : undefined), 'the fix request, labelled');
    await eventually(() => (contents().some((content) => content.startsWith(`${label}`) && content.includes(`[PR #${number}](`)) ? true : undefined), 'the PR status message, labelled');
  });

  it('with auto-ship on, merges each item as it turns green, without a /ship', async () => {
    const { s, gh, issue, plan, card, itemOutcome } = await planStack({ plans: { lookEveryMs: 600_000 } });
    await s.store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], defaultRepo: GUILD.repo, autoShip: true });
    const only = issue('Ship me when green');
    const { runId } = await plan();
    await card(runId!);
    await s.command(MEMBERS.lead, 'approve', { run_id: runId! });
    const number = parsePullRequestUrl((await itemOutcome(runId!, only)).prUrl!)!.number;
    gh.addCheckRun({ repo: REPO, sha: gh.pullRequest({ repo: REPO, number }).head.sha as string, name: 'build', conclusion: 'success' });
    expect(await s.client.workflow.getHandle(runId!).result()).toMatchObject({ status: 'completed', merged: 1 });
    expect(gh.pullRequest({ repo: REPO, number }).merged).toBe(true);
    expect(gh.comments({ repo: REPO, number: only }).some((c) => c.body.includes(`Merged in #${number}`))).toBe(true);
  });
});
