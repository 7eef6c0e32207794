import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export carries it (ids in hex), with its service's name. */
export interface CollectedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly service?: string;
  readonly attributes: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** An OTLP/HTTP trace receiver on loopback: what `@opentelemetry/exporter-trace-otlp-http` posts (JSON). */
export interface OtlpCollector {
  /** The base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT (exports go to `<url>/v1/traces`). */
  readonly url: string;
  readonly spans: readonly CollectedSpan[];
  /** Bodies that were not OTLP JSON trace exports, or went to another path: a test expects none. */
  readonly rejected: readonly string[];
  close(): Promise<void>;
}

interface AnyValue { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number }
interface KeyValue { key: string; value: AnyValue }
interface ExportBody {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: KeyValue[] }[] }[] }[];
}

const valueOf = (value: AnyValue) => value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue ?? value.doubleValue;
const attributesOf = (list: readonly KeyValue[] = []) => Object.fromEntries(list.map(({ key, value }) => [key, valueOf(value)]));

/** Starts a collector that keeps every span it is sent and answers as a collector does (200, empty partial success). */
export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = [];
  const rejected: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: ExportBody | undefined;
      try {
        body = request.method === 'POST' && request.url === '/v1/traces' && request.headers['content-type']?.startsWith('application/json') ? (JSON.parse(text) as ExportBody) : undefined;
      } catch {
        body = undefined;
      }
      if (!body?.resourceSpans) {
        rejected.push(`${request.method} ${request.url}: ${text.slice(0, 200)}`);
        response.writeHead(400).end();
        return;
      }
      for (const resourceSpans of body.resourceSpans) {
        const service = attributesOf(resourceSpans.resource?.attributes)['service.name'];
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              ...(typeof service === 'string' ? { service } : {}),
              attributes: attributesOf(span.attributes),
            });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    rejected,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
