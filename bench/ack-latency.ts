/**
 * bench/ack-latency: time from a signed `/jules` request to the ingress's answer, on the embedded stack
 * (Temporal dev server, PGlite, emulators), over real HTTP on loopback. Prints JSON; never passes or fails.
 *
 *   node bin/run-ts.mjs bench/ack-latency.ts [--requests 200] [--concurrency 1] [--pause-ms 0]
 *
 * Goal (issue 2): p99 under 150 ms, far inside Discord's 3,000 ms deadline. Each request is a real admission:
 * the answer carries the decision, so the figure includes the ingress's admission against the store (PGlite reads
 * and the quota-checked insert) and the durable start of the task's workflow.
 */
import { parseArgs } from 'node:util';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { round, startBenchStack } from './embedded-stack';
import { ackKindOf, julesRequest, prepareBenchGuild, quantile, saveBenchJson } from './jules-requests';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '1' }, warmup: { type: 'string', default: '10' }, 'pause-ms': { type: 'string', default: '0' } } });
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const warmup = Number(values.warmup);
// A pause between requests models arrivals spread in time instead of back-to-back.
const pauseMs = Number(values['pause-ms']);

const stack = await startBenchStack();
const { service } = stack;

try {
  const { sandbox, ingressUrl } = service;
  if (!sandbox || !ingressUrl) throw new Error('the benchmark needs the embedded sandbox');
  const guild = await prepareBenchGuild(service, 700000000000000000n);

  let deferred = 0;
  const sendOne = async (index: number): Promise<number> => {
    const command = julesRequest(sandbox.discord.applicationId, guild, index, `benchmark request ${index}`);
    const started = performance.now();
    const answer = await deliverInteraction({ ingressUrl, signer: sandbox.signer, discord: sandbox.discord }, command);
    const elapsed = performance.now() - started;
    // A deferral counts as an answer in time, though not the one a member wants: it is reported apart.
    if (ackKindOf(answer.status, answer.body) === 'deferred') deferred += 1;
    return elapsed;
  };

  for (let i = 0; i < warmup; i++) await sendOne(-1 - i);
  const samples: number[] = [];
  let next = 0;
  const startedAll = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        samples.push(await sendOne(next++));
        if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }),
  );
  const wallMs = performance.now() - startedAll;
  samples.sort((a, b) => a - b);
  const q = (p: number) => quantile(samples, p / 100);
  const figures = {
    benchmark: 'ack-latency',
    what: 'signed /jules over HTTP → ingress answer with the admission decision (admission against the store, then the workflow start)',
    requests: samples.length,
    concurrency,
    pauseMs,
    warmup,
    ms: { min: round(samples[0]!), p50: q(50), p90: q(90), p99: q(99), max: round(samples.at(-1)!), mean: round(samples.reduce((a, b) => a + b, 0) / samples.length) },
    throughputPerSecond: round((samples.length / wallMs) * 1000),
    deferred,
    goal: { p99BelowMs: 150, met: q(99) < 150 },
    discordDeadlineMs: 3000,
    node: process.version,
  };
  saveBenchJson('ack-latency', figures);
  console.log(JSON.stringify(figures, null, 2));
} finally {
  await stack.stop();
}
