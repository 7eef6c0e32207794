/**
 * bench/ack-profile: where the time of one `/jules` acknowledgement goes, on a quiet embedded stack (one request at
 * a time). The client's clock and the server's event times share this machine, so each ack splits into:
 *
 * - `toStart`: request sent → WorkflowExecutionStarted recorded (HTTP, signature, dispatch, the ingress's admission
 *   against the store: the guild and key reads, the quota-checked insert and the audit event; then the start call
 *   reaching the server and the server persisting it);
 * - `toAnswer`: WorkflowExecutionStarted → answer received (the start's answer, the dispatcher's words, the HTTP
 *   answer);
 * - `firstTaskAfterAnswer`: answer received → the first WorkflowTaskCompleted: how long after the member's answer the
 *   worker ran the task's first step (matching and the activation), work the ack no longer waits for.
 *
 * Prints JSON (p50 and p90 of each part and of the whole) and saves it under .data/bench/; never passes or fails.
 *
 *   npm run bench:ack-profile [-- --requests 50]
 */
import { parseArgs } from 'node:util';
import { tsToMs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import { deliverInteraction } from '../src/sandbox/http-delivery';
import { taskWorkflowId } from '../src/shared/ids';
import { round, startBenchStack } from './embedded-stack';
import { ackKindOf, julesRequest, prepareBenchGuild, quantile, saveBenchJson } from './jules-requests';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '50' }, warmup: { type: 'string', default: '10' } } });
const REQUESTS = Number(values.requests);
const WARMUP = Number(values.warmup);
const EventType = proto.temporal.api.enums.v1.EventType;
const PARTS = ['toStart', 'toAnswer', 'total', 'firstTaskAfterAnswer'] as const;

const stack = await startBenchStack();
try {
  const { service } = stack;
  const { sandbox, ingressUrl, client } = service;
  if (!sandbox || !ingressUrl || !client) throw new Error('the benchmark needs the embedded sandbox and a Temporal client');
  const guild = await prepareBenchGuild(service, 760000000000000000n);
  const endpoint = { ingressUrl, signer: sandbox.signer, discord: sandbox.discord };
  const samples: Record<(typeof PARTS)[number], number[]> = { toStart: [], toAnswer: [], total: [], firstTaskAfterAnswer: [] };
  for (let index = -WARMUP; index < REQUESTS; index++) {
    const command = julesRequest(sandbox.discord.applicationId, guild, index, `ack profile ${index}`);
    const sentAt = Date.now();
    const answer = await deliverInteraction(endpoint, command);
    const answeredAt = Date.now();
    ackKindOf(answer.status, answer.body);
    if (index < 0) continue;
    // Let the card post and the rest of the first steps settle, so the next ack meets a quiet worker.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const events = (await client.workflow.getHandle(taskWorkflowId(command.id)).fetchHistory()).events ?? [];
    const at = (type: proto.temporal.api.enums.v1.EventType) => {
      const event = events.find((e) => e.eventType === type);
      if (!event) throw new Error(`no ${EventType[type]} in the history of ${command.id}`);
      return tsToMs(event.eventTime);
    };
    const started = at(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    samples.toStart.push(started - sentAt);
    samples.toAnswer.push(answeredAt - started);
    samples.total.push(answeredAt - sentAt);
    samples.firstTaskAfterAnswer.push(at(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) - answeredAt);
  }
  const ms = Object.fromEntries(
    PARTS.map((part) => {
      const sorted = samples[part].toSorted((a, b) => a - b);
      return [part, { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length) }];
    }),
  );
  const figures = { benchmark: 'ack-profile', requests: REQUESTS, concurrency: 1, ms, clock: 'Date.now() on the client and the server event times: whole milliseconds', node: process.version };
  saveBenchJson('ack-profile', figures);
  console.log(JSON.stringify(figures, null, 2));
} finally {
  await stack.stop();
}
