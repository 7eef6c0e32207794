/**
 * bench/ack-latency: time from a signed `/jules` request to the ingress's answer, on the embedded stack
 * (Temporal dev server, PGlite, emulators), over real HTTP on loopback. Prints JSON; never passes or fails.
 *
 *   node bin/run-ts.mjs bench/ack-latency.ts [--requests 200] [--concurrency 1] [--pause-ms 0]
 *
 * Goal (issue 2): p99 under 150 ms, far inside Discord's 3,000 ms deadline. Each request is a real
 * update-with-start: the answer carries the admission decision, so the figure includes starting the workflow,
 * the admission local activity (a PGlite read and insert) and the update's completion.
 */
import { parseArgs } from 'node:util';
import { InteractionResponseType } from '@discordjs/core/http-only';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import { round, startBenchStack } from './embedded-stack';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '1' }, warmup: { type: 'string', default: '10' }, 'pause-ms': { type: 'string', default: '0' } } });
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const warmup = Number(values.warmup);
// A pause between requests models arrivals spread in time instead of back-to-back.
const pauseMs = Number(values['pause-ms']);

const stack = await startBenchStack();
const { service } = stack;

try {
  const { sandbox, store, secrets, ingressUrl } = service;
  if (!sandbox || !ingressUrl) throw new Error('the benchmark needs the embedded sandbox');
  const guildId = '700000000000000001';
  const channelId = '700000000000000002';
  const role = '700000000000000010';
  await store.upsertGuild({ guildId, createRoles: [role], confirmRoles: ['700000000000000011'], defaultRepo: 'acme/widgets' });
  await store.setGuildKey(guildId, secrets.encrypt('bench-jules-key-0123456789'));
  // The default quota (50 requests a day per guild) would refuse the benchmark; the quota check itself still runs.
  await store.setGuildQuotas(guildId, { guildRequestsPerDay: 100_000, userRequestsPerHour: 100_000 });

  let deferred = 0;
  const sendOne = async (index: number): Promise<number> => {
    const command = buildSlashCommand({
      applicationId: sandbox.discord.applicationId,
      guildId,
      channelId,
      user: { id: String(700000000000001000n + BigInt(index)), roles: [role] },
      name: 'jules',
      options: { prompt: `benchmark request ${index}` },
    });
    const started = performance.now();
    const answer = await deliverInteraction({ ingressUrl, signer: sandbox.signer, discord: sandbox.discord }, command);
    const elapsed = performance.now() - started;
    // A deferral counts as an answer in time, though not the one a member wants: it is reported apart.
    if (answer.status === 200 && answer.body?.type === InteractionResponseType.DeferredChannelMessageWithSource) deferred += 1;
    else if (answer.status !== 200 || !answer.body?.data?.content?.includes('Request received')) {
      throw new Error(`unexpected answer ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
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
  const q = (p: number) => round(samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)]!);
  console.log(
    JSON.stringify(
      {
        benchmark: 'ack-latency',
        what: 'signed /jules over HTTP → ingress answer with the admission decision (update-with-start + local activity)',
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
      },
      null,
      2,
    ),
  );
} finally {
  await stack.stop();
}
