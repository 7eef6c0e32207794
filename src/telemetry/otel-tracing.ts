import { fileURLToPath } from 'node:url';
import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { Tracing } from './tracing';

/**
 * The OpenTelemetry side of {@link Tracing}, imported only when tracing is on (src/telemetry/tracing.ts).
 * OTel JS 1.x throughout, the line `@temporalio/interceptors-opentelemetry` 1.24 is built on.
 */

/** The sandboxed half: the package's workflow interceptors with span ids of their own (see the module's comment). */
export const TRACING_WORKFLOW_MODULE = fileURLToPath(new URL('../../workflows/tracing.interceptors.ts', import.meta.url));

/** Options of {@link startOtelTracing}. */
export interface OtelTracingOptions {
  /** OTLP/HTTP base URL; spans are posted as JSON to `<otlpEndpoint>/v1/traces`. */
  readonly otlpEndpoint: string;
  readonly serviceName: string;
}

/**
 * Registers the global tracer provider (AsyncLocalStorage context manager, W3C trace-context propagator) with a
 * batching OTLP/HTTP exporter, and the undici instrumentation (Node's `fetch`, which the Jules and GitHub clients
 * use, and `@discordjs/rest`'s undici requests: both publish on `diagnostics_channel`, so nothing is patched).
 * @see https://github.com/temporalio/sdk-typescript/tree/main/packages/interceptors-opentelemetry
 */
export function startOtelTracing(options: OtelTracingOptions): Tracing {
  const resource = new Resource({ 'service.name': options.serviceName });
  const exporter = new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` });
  const spanProcessor = new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({ resource });
  provider.addSpanProcessor(spanProcessor);
  provider.register();
  const undici = new UndiciInstrumentation();
  undici.setTracerProvider(provider);
  undici.enable();
  const tracer = provider.getTracer(options.serviceName);

  return {
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    workerInterceptors: {
      workflowModules: [TRACING_WORKFLOW_MODULE],
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(spanProcessor, resource) },
    inSpan(name, attributes, fn) {
      return tracer.startActiveSpan(name, { kind: SpanKind.SERVER, root: true, attributes }, async (span) => {
        try {
          return await fn();
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
          throw err;
        } finally {
          span.end();
        }
      });
    },
    logFields(): Record<string, string> {
      const spanContext = trace.getSpanContext(context.active());
      return spanContext && isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
    },
    async shutdown() {
      undici.disable();
      try {
        // Rejects when the last batch cannot be exported (collector down): the caller logs it.
        await provider.shutdown();
      } finally {
        // Unregistered either way, so a later start in the same process (tests) registers its own.
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}
