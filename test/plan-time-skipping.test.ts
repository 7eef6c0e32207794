import { Writable } from 'node:stream';
import { TimeSkippingClient } from '@temporalio/testing/lib/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config';
import { createSecretBox, generateEncryptionKey } from '../src/crypto/secret-box';
import { createOctokitGitHubClient } from '../src/github/octokit-github-client';
import { createLogger } from '../src/logger';
import { startDiscordEmulator, type DiscordEmulator, type EmulatedMessage } from '../src/sandbox/discord-emulator';
import { startGitHubEmulator, type GitHubEmulator } from '../src/sandbox/github-emulator';
import { newSnowflake } from '../src/sandbox/interaction-signer';
import { defaultScript, failingScript, startJulesEmulator, type JulesEmulator, type SessionScriptFactory } from '../src/sandbox/jules-emulator';
import { planRunId, type PlanView } from '../src/shared/plan';
import { parsePullRequestUrl } from '../src/shared/pull-request';
import { SEARCH_ATTRIBUTE_KEYS } from '../src/shared/search-attributes';
import type { Store } from '../src/store/store';
import { createEncryptionCodec, createPayloadKeyring } from '../src/temporal/codec';
import { createDataConverter } from '../src/temporal/data-converter';
import { startTimeSkippingServer } from '../src/temporal/dev-server';
import { createTemporalPlanControl, type PlanControl } from '../src/temporal/plan-control';
import { installTemporalRuntime } from '../src/temporal/runtime';
import { createTaskWorker } from '../src/temporal/worker';
import { wireWorker } from '../src/wiring';
import type { PlanOutcome, PlanSettings } from '../workflows/plan.workflow';
import { planViewQuery } from '../workflows/messages';
import { GITHUB, GUILD, KEYS, MEMBERS, eventually, workflowBundle } from './helpers/stack';
import { openMigratedStore } from './helpers/migrated-store';

/**
 * The plan's long waits, on the time-skipping test server: twelve hours of waiting for approval and a run's
 * deadline pass in seconds. The worker is the service's own (wireWorker over the real activities), talking to the
 * Discord, GitHub and Jules emulators and a PGlite store; only Temporal's clock is the test server's.
 */

const DEFAULTS = loadConfig({}).timeouts;

interface SkippingStack {
  readonly env: TestWorkflowEnvironment;
  readonly client: TimeSkippingClient;
  readonly plans: PlanControl;
  readonly store: Store;
  readonly discord: DiscordEmulator;
  readonly github: GitHubEmulator;
  readonly jules: JulesEmulator;
  readonly settings: PlanSettings;
  /** Tears everything down; prints what the worker logged when the test failed. */
  stop(failed: boolean): Promise<void>;
}

let stack: SkippingStack | undefined;

afterEach(async (context) => {
  await stack?.stop(context.task.result?.state === 'fail');
  stack = undefined;
});

/** The test server, a worker wired as `main` wires it, and the plan control the ingress uses. */
async function startSkippingStack(
  ctx: { skip(): void },
  options: { readonly plans?: Partial<Omit<PlanSettings, 'task'>>; readonly script?: SessionScriptFactory; readonly followPullRequests?: boolean } = {},
): Promise<SkippingStack> {
  const path = inject('testServerPath');
  // Only where neither PATH, the cache nor pip gave a binary and the SDK would have to download it.
  if (path === '') ctx.skip();
  const env = await startTimeSkippingServer({ testServer: { executable: { type: 'existing-path', path }, source: 'cache' } });
  // The test server knows only its built-in search attributes; the workflows set ours, as on the dev server.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_KEYS.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  const logs: string[] = [];
  const log = createLogger('debug', new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } }));
  installTemporalRuntime(log);
  const store = await openMigratedStore();
  const secretsKey = generateEncryptionKey();
  const secrets = createSecretBox(secretsKey);
  const dataConverter = createDataConverter(createEncryptionCodec(createPayloadKeyring({ secretsKey })));
  const discord = await startDiscordEmulator();
  const github = await startGitHubEmulator({ tokens: { [GITHUB.token]: {} } });
  const jules = await startJulesEmulator({
    keys: [KEYS.guild],
    timeScale: 0.2,
    ...(options.script ? { script: options.script } : {}),
    openPullRequest: (pr) => ({ url: github.openPullRequest({ repo: `${pr.owner}/${pr.repo}`, headRef: pr.branch, title: pr.title, body: pr.body }).htmlUrl }),
  });
  await store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], defaultRepo: GUILD.repo });
  await store.setGuildKey(GUILD.id, secrets.encrypt(KEYS.guild));

  const taskQueue = `skip-${newSnowflake()}`;
  const worker: Worker = await createTaskWorker(
    wireWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      store,
      secrets,
      dataConverter,
      discord: { apiUrl: discord.apiUrl, token: discord.token, retries: 1 },
      julesApiUrl: jules.url,
      github: createOctokitGitHubClient({ baseUrl: github.url, auth: { token: GITHUB.token }, retryAfterBaseMs: 10, writeSpacingMs: 0 }),
      log,
      workflowBundle: await workflowBundle(),
      shutdownGraceTime: '1s',
    }),
  );
  const running = worker.run();
  // Waiting on a workflow's result lets the server skip time; anything else (queries, updates) keeps it real.
  const client = new TimeSkippingClient({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter });
  const settings: PlanSettings = {
    approvalTimeoutMs: DEFAULTS.planApprovalMs,
    runDeadlineMs: DEFAULTS.taskDeadlineMs + DEFAULTS.prFollowDeadlineMs,
    ...options.plans,
    task: {
      confirmationTimeoutMs: DEFAULTS.confirmationMs,
      pollIntervalMs: 100,
      deadlineMs: DEFAULTS.taskDeadlineMs,
      ...(options.followPullRequests === false ? {} : { pullRequests: { reconcileEveryMs: DEFAULTS.prReconcileMs, deadlineMs: DEFAULTS.prFollowDeadlineMs } }),
    },
  };
  return {
    env,
    client,
    plans: createTemporalPlanControl({ client, taskQueue, settings }),
    store,
    discord,
    github,
    jules,
    settings,
    async stop(failed) {
      worker.shutdown();
      await running;
      await env.teardown();
      await discord.close();
      await jules.close();
      await github.close();
      await store.close();
      if (failed) console.log(logs.join('').slice(-20_000));
    },
  };
}

/** Everything a card shows. */
function cardText(message: EmulatedMessage): string {
  const embed = message.embeds?.[0];
  return [message.content ?? '', embed?.title ?? '', embed?.description ?? '', ...(embed?.fields ?? []).map((f) => `${f.name}: ${f.value}`)].join('\n');
}

const cardOf = (s: SkippingStack, runId: string) => s.discord.channelMessages(GUILD.channelId).find((m) => cardText(m).includes(runId));

// Each test starts its own test server and bundles the workflows: minutes on a loaded two-core machine.
const SKIPPING_TEST_TIMEOUT_MS = 4 * 60_000;

describe('on the time-skipping test server, a plan', () => {
  it('nobody approves expires after PLAN_APPROVAL_TIMEOUT at its default of 12 hours, and its card says so', { timeout: SKIPPING_TEST_TIMEOUT_MS }, async (ctx) => {
    const s = (stack = await startSkippingStack(ctx));
    expect(DEFAULTS.planApprovalMs).toBe(12 * 60 * 60_000);
    const issue = s.github.createIssue({ repo: GUILD.repo, title: 'Nobody looks at this', labels: ['ready'] }).number;
    const runId = planRunId(new Date(), GUILD.repo, 'ab12');

    const proposed = await s.plans.propose({ runId, guildId: GUILD.id, channelId: GUILD.channelId, proposedBy: MEMBERS.lead });
    expect(proposed).toMatchObject({ kind: 'proposal', proposal: { kind: 'proposed' } });
    const startedAt = await s.env.currentTimeMs();
    await eventually(() => cardOf(s, runId), 'the card');
    expect(cardText(cardOf(s, runId)!)).toMatch(/Waiting for approval/);

    // A minute before the twelve hours are up, it still waits.
    await s.env.sleep(DEFAULTS.planApprovalMs - 60_000);
    const handle = s.client.workflow.getHandle(runId);
    expect(((await handle.query(planViewQuery)) as PlanView).status).toBe('proposed');

    const outcome = (await handle.result()) as PlanOutcome;
    expect(outcome).toMatchObject({ status: 'expired', merged: 0 });
    expect((await s.env.currentTimeMs()) - startedAt).toBeGreaterThanOrEqual(DEFAULTS.planApprovalMs);
    expect(cardText(cardOf(s, runId)!)).toMatch(/Expired: nobody approved it in time/);
    expect(cardOf(s, runId)!.components ?? []).toEqual([]);
    expect(s.discord.channelMessages(GUILD.channelId).some((m) => (m.content ?? '').includes('Nobody approved this plan in time'))).toBe(true);
    expect((await s.store.getPlanRun(runId))?.status).toBe('expired');
    // Nothing ran: no Jules session, and the issue keeps its label for the next plan.
    expect(s.jules.sessions()).toHaveLength(0);
    expect(s.github.labels({ repo: GUILD.repo, number: issue })).toEqual(['ready']);
  });

  // The items' PRs are not followed here: a PR is followed by one heartbeating activity that returns only for
  // decisions (FOLLOW_IN_ONE_ACTIVITY), and the test server never skips time while an activity runs. The run deadline
  // is the plan's own timer; test/plan.test.ts covers following on the dev server.
  it('that is running ends at its run deadline, its open items failed with the reason', { timeout: SKIPPING_TEST_TIMEOUT_MS }, async (ctx) => {
    // A day rather than the default (TASK_DEADLINE + PR_FOLLOW_DEADLINE, ten days) only to keep the test short: all
    // day long the plan looks at its items every 30 minutes (the default). Nothing merges before the deadline here;
    // test/plan.test.ts merges items on the dev server.
    const runDeadlineMs = 24 * 60 * 60_000;
    const s = (stack = await startSkippingStack(ctx, {
      plans: { runDeadlineMs },
      followPullRequests: false,
      script: (input) => (input.prompt.startsWith('Jules gives up') ? failingScript('The build tool is missing') : defaultScript()),
    }));
    const gaveUp = s.github.createIssue({ repo: GUILD.repo, title: 'Jules gives up', labels: ['ready'] }).number;
    const stuck = s.github.createIssue({ repo: GUILD.repo, title: 'Checks never finish', labels: ['ready'] }).number;
    const runId = planRunId(new Date(), GUILD.repo, 'cd34');
    await s.plans.propose({ runId, guildId: GUILD.id, channelId: GUILD.channelId, proposedBy: MEMBERS.developer });
    expect(await s.plans.approve(runId, MEMBERS.lead)).toMatchObject({ kind: 'done' });
    const approvedAt = await s.env.currentTimeMs();
    const handle = s.client.workflow.getHandle(runId);

    // Jules works in real time (the clock skips only while a result is awaited): one item fails, one opens its PR,
    // whose check starts and never finishes.
    const itemOf = async (issueNumber: number) => ((await handle.query(planViewQuery)) as PlanView).items.find((i) => i.issueNumber === issueNumber)!;
    await eventually(async () => (await itemOf(gaveUp)).status === 'failed' || undefined, `#${gaveUp} to fail`, 30_000);
    const stuckPr = await eventually(async () => {
      const item = await itemOf(stuck);
      return item.status === 'pr_open' ? parsePullRequestUrl(item.prUrl!)!.number : undefined;
    }, `the PR of #${stuck}`, 30_000);
    s.github.addCheckRun({ repo: GUILD.repo, sha: s.github.pullRequest({ repo: GUILD.repo, number: stuckPr }).head.sha as string, name: 'build' });

    const outcome = (await handle.result()) as PlanOutcome;
    expect(outcome).toMatchObject({ status: 'completed', merged: 0 });
    expect((await s.env.currentTimeMs()) - approvedAt).toBeGreaterThanOrEqual(runDeadlineMs);

    // The item still open at the deadline fails with the run's reason; the one that failed before keeps Jules'.
    const deadline = 'The run’s time ran out before this item was merged.';
    const items = await s.store.listPlanItems(runId);
    expect(items.map(({ issueNumber, status, reason }) => ({ issueNumber, status, reason }))).toEqual([
      { issueNumber: gaveUp, status: 'failed', reason: expect.stringContaining('The build tool is missing') },
      { issueNumber: stuck, status: 'failed', reason: deadline },
    ]);
    expect((await s.store.getPlanRun(runId))?.status).toBe('completed');
    const card = cardText(cardOf(s, runId)!);
    expect(card).toMatch(/✅ Done/);
    expect(card).toMatch(new RegExp(`#${stuck}\\].*failed.* — ${deadline}`));
    expect(card).toMatch(new RegExp(`#${gaveUp}\\].*failed — .*The build tool is missing`));
    expect(s.github.pullRequest({ repo: GUILD.repo, number: stuckPr }).merged).toBe(false);
    // Both issues are free for the next plan: `ready` again, no longer in progress.
    for (const number of [gaveUp, stuck]) expect(s.github.labels({ repo: GUILD.repo, number })).toEqual(['ready']);
  });
});
