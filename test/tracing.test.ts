import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openTracing, type Tracing } from '../src/telemetry/tracing';
import { HISTORIES, historyFiles, PLAN_HISTORIES, readHistory, replayDataConverter } from './helpers/histories';
import { startOtlpCollector, type CollectedSpan, type OtlpCollector } from './helpers/otlp-collector';
import { MEMBERS, startTestStack, threadOf, tracedWorkflowBundle } from './helpers/stack';

/**
 * Issue 11, part 3: with OTEL_EXPORTER_OTLP_ENDPOINT set, one `/jules` is one trace, from the interaction through
 * the update-with-start, the workflow and its activities to the Jules and Discord calls. The collector is a real
 * OTLP/HTTP receiver on loopback; the stack is the emulator stack on the real dev server.
 */

let collector: OtlpCollector;
let tracing: Tracing;

beforeAll(async () => {
  collector = await startOtlpCollector();
  tracing = (await openTracing({ otlpEndpoint: collector.url }))!;
});

afterAll(async () => {
  await tracing?.shutdown();
  await collector?.close();
});

describe('tracing', () => {
  it('is off, with nothing loaded, when no OTLP endpoint is set', async () => {
    expect(await openTracing({})).toBeUndefined();
  });

  it('makes one trace of a /jules: the interaction, the workflow, a Jules call and a Discord call; log lines carry its id', async () => {
    const webUiUrl = 'http://127.0.0.1:8233';
    const s = await startTestStack({ tracing, webUiUrl });
    let taskId: string;
    let thread: string;
    try {
      const asked = await s.ask(MEMBERS.lead, { prompt: 'Add a changelog entry for the tracing work' });
      taskId = asked.taskId;
      expect((await s.outcome(taskId)).status).toBe('completed');
      thread = await threadOf(s, taskId);
      // The thread offers operators the run's page in the Web UI, built by the one link builder.
      expect(s.discord.channelMessages(thread).map((m) => m.content)).toContain(
        `🔎 For operators: this run in the Temporal Web UI: <${webUiUrl}/namespaces/${inject('temporalNamespace')}/workflows/${taskId}>`,
      );
    } finally {
      await s.stop();
    }
    // Shutting the worker down exported the workflow's spans to the processor; a flush sends what is batched.
    await tracing.shutdown();
    tracing = (await openTracing({ otlpEndpoint: collector.url }))!;

    expect(collector.rejected).toEqual([]);
    const interaction = collector.spans.find((span) => span.name === 'interaction jules' && span.attributes['discord.interaction.id'] === taskId.replace(/^task-/, ''));
    expect(interaction, 'the interaction span').toBeDefined();
    const trace = collector.spans.filter((span) => span.traceId === interaction!.traceId);
    const names = trace.map((span) => span.name);
    // The ingress's start (after its admission) and the run it started.
    expect(names).toContain('StartWorkflow:taskWorkflow');
    expect(names).toContain('RunWorkflow:taskWorkflow');
    expect(names.some((name) => name.startsWith('RunActivity:'))).toBe(true);
    const calls = (to: string) => trace.filter((span: CollectedSpan) => String(span.attributes['url.full'] ?? '').startsWith(to));
    expect(calls(s.jules.url).length, 'Jules calls in the trace').toBeGreaterThan(0);
    expect(calls(s.discord.apiUrl).length, 'Discord calls in the trace').toBeGreaterThan(0);
    expect(trace.every((span) => span.service === 'jules-orchestrator')).toBe(true);
    // Nothing a member typed goes into span names or attributes.
    expect(JSON.stringify(trace)).not.toContain('changelog entry');

    const traced = s.logs.map((line) => JSON.parse(line) as { trace_id?: string }).filter((line) => line.trace_id === interaction!.traceId);
    expect(traced.length, 'log lines with the trace id').toBeGreaterThan(0);
  });

  it('costs nothing but the spans when the collector is down: answers go on, the stop says what was lost', async () => {
    await tracing.shutdown();
    const closed = await startOtlpCollector();
    await closed.close();
    const orphaned = (await openTracing({ otlpEndpoint: closed.url }))!;
    try {
      await expect(orphaned.inSpan('interaction jules', { 'discord.interaction.id': '1' }, async () => 'answered')).resolves.toBe('answered');
      await expect(orphaned.inSpan('interaction jules', {}, async () => Promise.reject(new Error('handler failed')))).rejects.toThrow('handler failed');
    } finally {
      // The CLI logs this as a warning and exits as usual.
      await expect(orphaned.shutdown()).rejects.toThrow(/ECONNREFUSED/);
      // Stopped all the same: a new start registers afresh and exports again.
      tracing = (await openTracing({ otlpEndpoint: collector.url }))!;
      await tracing.inSpan('interaction ping', {}, async () => undefined);
      await tracing.shutdown();
      expect(collector.spans.some((span) => span.name === 'interaction ping')).toBe(true);
      tracing = (await openTracing({ otlpEndpoint: collector.url }))!;
    }
  });

  it('keeps the committed histories replaying with its workflow interceptors on', async () => {
    const workflowBundle = await tracedWorkflowBundle(tracing);
    const histories = [...historyFiles(HISTORIES).map((file) => [HISTORIES, file] as const), ...historyFiles(PLAN_HISTORIES).map((file) => [PLAN_HISTORIES, file] as const)];
    expect(histories.length).toBeGreaterThan(20);
    for (const [dir, file] of histories) {
      await Worker.runReplayHistory(
        { workflowBundle, dataConverter: replayDataConverter, interceptors: tracing.workerInterceptors, sinks: tracing.sinks },
        readHistory(dir, file),
        `traced-replay-${file}`,
      );
    }
  });
});
