/**
 * bench/session-cost: what one long task costs in Temporal history and in Jules API calls.
 *
 *   node bin/run-ts.mjs bench/session-cost.ts [--scale 60] [--progress 20]
 *
 * An emulated 30-minute session (a plan to approve, a question to answer, N progress updates and a ten-minute
 * stretch where nothing happens) runs on the embedded stack with the session script and every interval of the
 * service divided by one factor; figures are reported in session time. Prints JSON; never passes or fails.
 *
 * Goals (issue 5): fewer than 100 history events, not growing with the session's length or its number of
 * progress updates; no more than 6 Jules requests a minute while nothing changes; a change noticed within
 * 15 s (p95) without a webhook.
 */
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import { createHttpJulesClient } from '../src/jules/http-jules-client';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import type { ScriptStep } from '../src/sandbox/jules-emulator';
import { taskWorkflowId } from '../src/shared/ids';
import type { TaskOutcome } from '../src/shared/task';
import { planDecisionUpdate, replyUpdate, taskViewQuery } from '../workflows/messages';
import { round, startBenchStack } from './embedded-stack';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '60' }, progress: { type: 'string', default: '20' } } });
const scale = Number(values.scale);
const progressUpdates = Number(values.progress);
const MIN = 60_000;
const sessionMs = 30 * MIN;
const idleStretchMs = 10 * MIN;
const key = 'bench-session-key-0123456789';

/** The 30-minute script in session time (the emulator divides by `scale` through timeScale). */
function script(): ScriptStep[] {
  const half = Math.ceil(progressUpdates / 2);
  const busyMs = sessionMs - 2 * MIN - idleStretchMs - 2 * MIN; // plan first, idle stretch, question, the end
  const gap = Math.floor(busyMs / progressUpdates);
  const progress = (i: number): ScriptStep => ({ afterMs: gap, state: 'IN_PROGRESS', activity: { originator: 'agent', progressUpdated: { title: `Progress ${i + 1}` } } });
  return [
    { afterMs: 30_000, state: 'PLANNING', activity: { originator: 'system', description: 'Session started' } },
    { afterMs: 30_000, activity: { originator: 'agent', planGenerated: { plan: { id: 'plan-1', steps: [{ id: 's1', index: 0, title: 'Read the code' }, { id: 's2', index: 1, title: 'Change it' }] } } } },
    { afterMs: 0, state: 'AWAITING_PLAN_APPROVAL' },
    { afterMs: 1_000, state: 'IN_PROGRESS' },
    ...Array.from({ length: half }, (_, i) => progress(i)),
    { afterMs: idleStretchMs, activity: { originator: 'agent', agentMessaged: { agentMessage: 'Should the cache expire entries?' } } },
    { afterMs: 0, state: 'AWAITING_USER_FEEDBACK' },
    { afterMs: 1_000, state: 'IN_PROGRESS' },
    ...Array.from({ length: progressUpdates - half }, (_, i) => progress(half + i)),
    { afterMs: MIN, state: 'COMPLETED', pullRequestUrl: 'https://github.com/{owner}/{repo}/pull/{number}', activity: { originator: 'system', sessionCompleted: {} } },
  ];
}

const scaled = (ms: number) => `${Math.max(1, Math.round(ms / scale))}ms`;
const stack = await startBenchStack({
  env: { JULES_POLL_INTERVAL: scaled(12_000) },
  julesEmulator: { keys: [key], timeScale: 1 / scale, script: () => script() },
});
const { service } = stack;

try {
  const { sandbox, store, secrets, ingressUrl, client } = service;
  if (!sandbox?.jules || !ingressUrl || !client) throw new Error('the benchmark needs the embedded sandbox');
  const jules = sandbox.jules;
  const guildId = '600000000000000001';
  const lead = { id: '600000000000000100', roles: ['600000000000000011'] };
  await store.upsertGuild({ guildId, createRoles: ['600000000000000010'], confirmRoles: lead.roles, defaultRepo: 'acme/widgets' });
  await store.setGuildKey(guildId, secrets.encrypt(key));

  const command = buildSlashCommand({ applicationId: sandbox.discord.applicationId, guildId, channelId: '600000000000000002', user: lead, name: 'jules', options: { prompt: 'Add a cache to the pricing service', plan_approval: true } });
  const started = Date.now();
  await deliverInteraction({ ingressUrl, signer: sandbox.signer, discord: sandbox.discord }, command);
  const handle = client.workflow.getHandle(taskWorkflowId(command.id));

  // People answer within half a minute of session time, like an attentive team.
  const answered = new Set<string>();
  const people = setInterval(async () => {
    try {
      const view = await handle.query(taskViewQuery);
      if (view?.awaiting === 'plan_approval' && !answered.has('plan')) {
        answered.add('plan');
        await sleep(30_000 / scale);
        await handle.executeUpdate(planDecisionUpdate, { args: [{ action: 'approve', member: lead }] });
      }
      if (view?.awaiting === 'reply' && !answered.has('reply')) {
        answered.add('reply');
        await sleep(30_000 / scale);
        await handle.executeUpdate(replyUpdate, { args: [{ member: lead, text: 'Yes, after an hour.' }] });
      }
    } catch {
      // the task may have moved on between the query and the update
    }
  }, Math.max(20, 5_000 / scale));
  const outcome = (await handle.result()) as TaskOutcome;
  clearInterval(people);
  const wallMs = Date.now() - started;

  // History of every run (continue-as-new would add runs), as events and as encoded protobuf bytes.
  let events = 0;
  let bytes = 0;
  let runs = 0;
  for await (const execution of client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) {
    const history = await client.workflow.getHandle(handle.workflowId, execution.runId).fetchHistory();
    events += history.events?.length ?? 0;
    bytes += proto.temporal.api.history.v1.History.encode(history).finish().length;
    runs++;
  }

  // Jules traffic, and when each change was first seen: the first poll at or after the activity's time.
  const session = jules.sessions()[0]!;
  const polls = jules.requests.filter((r) => r.method === 'GET' && r.path === `/v1alpha/${session.name}`).map((r) => r.at);
  const julesApi = createHttpJulesClient({ baseUrl: jules.url, apiKey: key });
  const changes = (await julesApi.listActivities(session.name)).items.filter((a) => a.originator !== 'user').map((a) => Date.parse(a.createTime!));
  const latencies = changes.map((t) => (polls.find((p) => p >= t) ?? Number.NaN) - t).filter((l) => Number.isFinite(l)).map((l) => l * scale).sort((a, b) => a - b);
  const p95 = latencies[Math.min(latencies.length - 1, Math.ceil(0.95 * latencies.length) - 1)] ?? Number.NaN;

  // "While nothing changes": the requests inside the idle stretch, after the fast window that follows a change.
  const sortedChanges = [...changes].sort((a, b) => a - b);
  let idleMs = 0;
  let idleRequests = 0;
  const fastWindowMs = (5 * 12_000) / scale;
  for (let i = 0; i + 1 < sortedChanges.length; i++) {
    const from = sortedChanges[i]! + fastWindowMs;
    const to = sortedChanges[i + 1]!;
    if (to - from < (2 * MIN) / scale) continue;
    idleMs += to - from;
    idleRequests += jules.requests.filter((r) => r.at >= from && r.at < to).length;
  }
  const sessionMinutes = (wallMs * scale) / MIN;

  console.log(
    JSON.stringify(
      {
        benchmark: 'session-cost',
        scale,
        session: { minutes: Math.round(sessionMinutes * 10) / 10, progressUpdates, plan: true, question: true, outcome: outcome.status },
        history: { events, bytes, runs },
        jules: {
          requests: jules.requests.length,
          requestsPerSessionMinute: round(jules.requests.length / sessionMinutes),
          idleRequestsPerMinute: round(idleRequests / ((idleMs * scale) / MIN)),
          changes: latencies.length,
          noticedWithinSeconds: { p50: round(latencies[Math.floor(latencies.length / 2)]! / 1000), p95: round(p95 / 1000), max: round(latencies.at(-1)! / 1000) },
        },
        goals: {
          eventsBelow100: events < 100,
          idleRequestsPerMinuteAtMost6: idleRequests / ((idleMs * scale) / MIN) <= 6,
          noticedP95Within15s: p95 <= 15_000,
        },
      },
      null,
      2,
    ),
  );
} finally {
  await stack.stop();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
