import type { ClientInterceptors } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Sinks } from '@temporalio/workflow';

/**
 * One trace per request (issue 11): the interaction's span, the workflow start or update-with-start, the workflow,
 * its activities and the outgoing Jules, GitHub and Discord HTTP calls, linked by the Temporal interceptors of
 * `@temporalio/interceptors-opentelemetry` (the v1 line, OTel JS 1.x; README "Tracing" says why not `-v2`).
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, and then free: {@link openTracing} imports OpenTelemetry only when
 * asked, and every caller takes an absent `Tracing` as "do nothing" (no interceptors, no workflow module, no span).
 */
export interface Tracing {
  /** For every `new Client(...)` of the process: starts, updates and signals carry the active span to the workflow. */
  readonly clientInterceptors: ClientInterceptors;
  /** For `Worker.create`: the activity interceptors, and the workflow module that a bundle must include too. */
  readonly workerInterceptors: WorkerInterceptors & { readonly workflowModules: string[] };
  /** The `exporter` sink through which workflow spans leave the sandbox (not called while replaying). */
  readonly sinks: InjectedSinks<Sinks>;
  /** Runs `fn` inside a new root span (an interaction: Discord sends no trace context). */
  inSpan<T>(name: string, attributes: Readonly<Record<string, string | number>>, fn: () => Promise<T>): Promise<T>;
  /** The active span's ids, for pino's `mixin`: `{ trace_id, span_id }`, or `{}` outside a span. */
  logFields(): Record<string, string>;
  /** Exports what is still buffered and stops; rejects when that last export fails (stopped all the same). */
  shutdown(): Promise<void>;
}

/** What {@link openTracing} reads: the tracing part of the config. */
export interface TracingConfig {
  /** OTEL_EXPORTER_OTLP_ENDPOINT, e.g. `http://127.0.0.1:4318`: spans go to `<endpoint>/v1/traces` as OTLP/HTTP JSON. */
  readonly otlpEndpoint?: string;
}

/** The service name spans carry (`service.name`), as log lines carry `service`. */
export const TRACED_SERVICE_NAME = 'jules-orchestrator';

/**
 * Starts tracing when an OTLP endpoint is configured: registers the global tracer provider (AsyncLocalStorage
 * context, W3C propagation) and the undici instrumentation that spans every `fetch` and `@discordjs/rest` call.
 * Call it once per process, before the first Temporal connection. Undefined when tracing is off.
 */
export async function openTracing(config: TracingConfig): Promise<Tracing | undefined> {
  if (!config.otlpEndpoint) return undefined;
  const { startOtelTracing } = await import('./otel-tracing');
  return startOtelTracing({ otlpEndpoint: config.otlpEndpoint, serviceName: TRACED_SERVICE_NAME });
}
