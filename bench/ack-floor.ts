/**
 * bench/ack-floor: how close the `/jules` acknowledgement comes to what Temporal itself allows, measured in one run
 * on one embedded stack (the Temporal dev server `start` uses, PGlite, the emulators) so the ratios hold on a noisy
 * machine. Three ways to answer a request, each at concurrency 1 and at concurrency C:
 *
 * - `start`: the bare SDK floor, `client.workflow.start` of a workflow (the server records it; no worker involved).
 * - `updateWithStart`: the bare floor of what the ack does, `executeUpdateWithStart` of a workflow whose update
 *   handler answers at once (a worker must run its first workflow task), with no HTTP and no store.
 * - `ack`: the project's signed `/jules` over HTTP, answered by the ingress with the admission decision.
 *
 * Prints JSON: per way and concurrency, requests per second and latency percentiles, the share of `/jules` answers
 * in line (not deferred), and the ratios the goals are stated in. Figures only: nothing here passes or fails.
 *
 *   npm run bench:ack-floor [-- --requests 200 --concurrency 50]
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { round, startBenchStack } from './embedded-stack';
import { floorAdmitUpdate, floorWorkflow } from './floor/floor.workflow';
import { ackKindOf, julesRequest, prepareBenchGuild, quantile, ratio, saveBenchJson } from './jules-requests';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '50' }, warmup: { type: 'string', default: '10' } } });
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const WARMUP = Number(values.warmup);
const GOALS = { ackThroughputAtConcurrencyVsUpdateWithStartAtLeast: 1.0, answeredInLineAtLeast: 0.95, ackP50AtOneVsUpdateWithStartAtMost: 1.0 };

interface Figures {
  readonly requests: number;
  readonly concurrency: number;
  readonly perSecond: number;
  readonly ms: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

// Every call in the run gets its own index (warm-ups negative), so no two phases reuse a workflow ID.
let warmedUp = 0;
let measured = 0;

/** Runs `one` `requests` times, `concurrency` at a time, after a warm-up, and sums it up. */
async function measure(requests: number, concurrency: number, one: (index: number) => Promise<void>): Promise<Figures> {
  for (let i = 0; i < WARMUP; i++) await one(-1 - warmedUp++);
  const samples: number[] = [];
  const base = measured;
  measured += requests;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const index = base + next++;
        const at = performance.now();
        await one(index);
        samples.push(performance.now() - at);
      }
    }),
  );
  const wallMs = performance.now() - started;
  samples.sort((a, b) => a - b);
  const q = (p: number) => quantile(samples, p);
  return { requests, concurrency, perSecond: round((requests / wallMs) * 1000), ms: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: round(samples.at(-1)!) } };
}

const stack = await startBenchStack();
try {
  const { service } = stack;
  const { sandbox, ingressUrl, client } = service;
  if (!sandbox || !ingressUrl || !client) throw new Error('the benchmark needs the embedded sandbox and a Temporal client');

  // ---- The floors: a worker of their own, on the same server, with the trivial workflow ----
  const taskQueue = `ack-floor-${randomUUID()}`;
  const connection = await NativeConnection.connect({ address: service.temporal.address });
  // The service's client encrypts payloads, so the floor's worker shares its data converter (the floors pay the codec too).
  const worker = await Worker.create({ connection, namespace: service.temporal.namespace, taskQueue, dataConverter: client.options.dataConverter, workflowsPath: fileURLToPath(new URL('./floor/floor.workflow.ts', import.meta.url)) });
  const running = worker.run();
  const run = randomUUID().slice(0, 8);
  const bareStart = async (index: number) => {
    await client.workflow.start(floorWorkflow, { taskQueue, workflowId: `floor-start-${run}-${index}` });
  };
  const bareUpdateWithStart = async (index: number) => {
    const workflowId = `floor-uws-${run}-${index}`;
    const startOperation = new WithStartWorkflowOperation<typeof floorWorkflow>('floorWorkflow', { taskQueue, workflowId, args: [], workflowIdConflictPolicy: 'USE_EXISTING' });
    await client.workflow.executeUpdateWithStart(floorAdmitUpdate, { args: [workflowId], startWorkflowOperation: startOperation });
  };

  // ---- The project's ack: signed /jules over HTTP ----
  const guild = await prepareBenchGuild(service, 730000000000000000n);
  let deferred = 0;
  const ack = async (index: number) => {
    const command = julesRequest(sandbox.discord.applicationId, guild, index + 1_000, `ack floor request ${run} ${index}`);
    const answer = await deliverInteraction({ ingressUrl, signer: sandbox.signer, discord: sandbox.discord }, command);
    if (ackKindOf(answer.status, answer.body) === 'deferred' && index >= 0) deferred += 1;
  };

  const figures: Record<string, { one: Figures; many: Figures }> = {};
  const ackDeferred: { one: number; many: number } = { one: 0, many: 0 };
  for (const [name, one] of [['start', bareStart], ['updateWithStart', bareUpdateWithStart], ['ack', ack]] as const) {
    deferred = 0;
    const single = await measure(REQUESTS, 1, one);
    if (name === 'ack') ackDeferred.one = deferred;
    deferred = 0;
    const many = await measure(REQUESTS, CONCURRENCY, one);
    if (name === 'ack') ackDeferred.many = deferred;
    figures[name] = { one: single, many };
  }
  worker.shutdown();
  await running;
  await connection.close();

  const { start, updateWithStart, ack: acked } = figures as Record<'start' | 'updateWithStart' | 'ack', { one: Figures; many: Figures }>;
  const throughputRatio = ratio(acked.many.perSecond, updateWithStart.many.perSecond);
  const p50Ratio = ratio(acked.one.ms.p50, updateWithStart.one.ms.p50);
  const inLine = Math.round(((REQUESTS - ackDeferred.many) / REQUESTS) * 1000) / 1000;
  const printed = {
    benchmark: 'ack-floor',
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    start,
    updateWithStart,
    ack: { ...acked, deferred: ackDeferred, answeredInLineAtConcurrency: inLine },
    ratios: {
      ackVsUpdateWithStartThroughputAtConcurrency: throughputRatio,
      ackVsStartThroughputAtConcurrency: ratio(acked.many.perSecond, start.many.perSecond),
      ackVsUpdateWithStartP50AtOne: p50Ratio,
    },
    goal: {
      throughputAtConcurrencyAtLeastUpdateWithStart: { value: throughputRatio, met: throughputRatio >= GOALS.ackThroughputAtConcurrencyVsUpdateWithStartAtLeast },
      answeredInLineAtLeast95Percent: { value: inLine, met: inLine >= GOALS.answeredInLineAtLeast },
      p50AtOneNoWorseThanUpdateWithStart: { value: p50Ratio, met: p50Ratio <= GOALS.ackP50AtOneVsUpdateWithStartAtMost },
    },
    node: process.version,
  };
  saveBenchJson('ack-floor', printed);
  console.log(JSON.stringify(printed));
} finally {
  await stack.stop();
}
