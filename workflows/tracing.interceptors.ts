/**
 * The workflow interceptors of tracing (bundled only when OTEL_EXPORTER_OTLP_ENDPOINT is set; see
 * src/telemetry/tracing.ts): `@temporalio/interceptors-opentelemetry`'s, with span ids from a stream of their own.
 *
 * Why not the package's `workflow-interceptors` module as it is: its tracer draws span and trace ids from
 * `Math.random`, which in a workflow is the run's seeded generator behind `uuid4()`. Turning tracing on (or off)
 * under a running task would then shift every later `uuid4()` (the ids of the actions the task asks of Jules, the
 * plan-run ids of scheduled plans, which name child workflows) between the recorded run and its replay. Here ids come
 * from a generator seeded by the run id, so the workflow's own randomness is the same with tracing on or off, which
 * is what the package's `-v2` line does (test/tracing.test.ts replays the committed histories with these on).
 */
// First: OpenTelemetry's browser build, which the bundle uses, needs the `performance` this module gives the sandbox.
import '@temporalio/interceptors-opentelemetry/lib/workflow/runtime';
import { BasicTracerProvider, SimpleSpanProcessor, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryInboundInterceptor, OpenTelemetryInternalsInterceptor, OpenTelemetryOutboundInterceptor } from '@temporalio/interceptors-opentelemetry/lib/workflow';
import { SpanExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/span-exporter';
import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** Where a run keeps its id stream: on the run's own globals (each workflow run has its own, V8 context reused or not). */
const STREAM = Symbol.for('jules-orchestrator.tracing.span-ids');

/** The next 32 random bits of this run's id stream (mulberry32, seeded with an FNV-1a hash of the run id). */
function next32(): number {
  const globals = globalThis as { [STREAM]?: { state: number } };
  let stream = globals[STREAM];
  if (!stream) {
    let hash = 0x811c9dc5;
    for (const char of workflowInfo().runId) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
    stream = globals[STREAM] = { state: hash >>> 0 };
  }
  stream.state = (stream.state + 0x6d2b79f5) >>> 0;
  let t = stream.state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

const hex = (words: number) => Array.from({ length: words }, () => next32().toString(16).padStart(8, '0')).join('');

/** Span and trace ids that never touch `Math.random`. */
const idGenerator: IdGenerator = { generateTraceId: () => hex(4), generateSpanId: () => hex(2) };

let tracer: ReturnType<BasicTracerProvider['getTracer']> | undefined;

/** One tracer for the bundle, exporting through the package's sink like its own (the worker's `exporter` sink). */
function workflowTracer() {
  if (!tracer) {
    const provider = new BasicTracerProvider({ idGenerator });
    provider.addSpanProcessor(new SimpleSpanProcessor(new SpanExporter()));
    tracer = provider.getTracer('@temporalio/interceptor-workflow');
  }
  return tracer;
}

// The package's classes, with this tracer in place of theirs (constructing them still registers the package's
// context manager, which carries the active span across the workflow's awaits).
class InboundInterceptor extends OpenTelemetryInboundInterceptor {
  protected override readonly tracer = workflowTracer();
}

class OutboundInterceptor extends OpenTelemetryOutboundInterceptor {
  protected override readonly tracer = workflowTracer();
}

/** The factory the worker's `workflowModules` names: spans for the run, its updates, signals, activities and children. */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new InboundInterceptor()],
  outbound: [new OutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
