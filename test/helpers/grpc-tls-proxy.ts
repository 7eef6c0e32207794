import { connect, constants, createSecureServer, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * A TLS-terminating gRPC relay in front of a plaintext Temporal dev server (which speaks no TLS itself), standing
 * in for Temporal Cloud or a self-hosted cluster behind TLS: it presents a server certificate, can require a client
 * certificate (mTLS) or an `Authorization: Bearer` API key, and relays every HTTP/2 stream, trailers included, to
 * the server. It records each call's method and credentials so a test can see who called what.
 */
export interface GrpcTlsProxy {
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** Every call relayed or refused, in arrival order. */
  readonly calls: readonly ProxiedCall[];
  close(): Promise<void>;
}

export interface ProxiedCall {
  /** The gRPC method path, e.g. `/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue`. */
  readonly path: string;
  /** The client certificate's subject CN, when the client presented one. */
  readonly clientCertCn?: string;
  /** Whether the call carried the expected API key (always true when none is required). */
  readonly authorized: boolean;
}

export interface GrpcTlsProxyOptions {
  /** `host:port` of the plaintext gRPC server. */
  readonly target: string;
  /** PEM server certificate and key. */
  readonly cert: string;
  readonly key: string;
  /** PEM CA that client certificates must chain to; given: mTLS is required. */
  readonly clientCa?: string;
  /** Given: every call must carry `authorization: Bearer <apiKey>`, or is answered UNAUTHENTICATED. */
  readonly apiKey?: string;
}

const GRPC_UNAUTHENTICATED = 16;
// Hop-by-hop or HTTP/2 connection headers a relay must not copy onto another connection.
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

export async function startGrpcTlsProxy(options: GrpcTlsProxyOptions): Promise<GrpcTlsProxy> {
  const calls: ProxiedCall[] = [];
  const upstreams = new Set<ClientHttp2Session>();
  const server = createSecureServer({
    cert: options.cert,
    key: options.key,
    allowHTTP1: false,
    ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  });
  server.on('session', (session) => {
    // One upstream connection per client connection, closed with it.
    const upstream = connect(`http://${options.target}`);
    upstream.on('error', () => undefined);
    upstreams.add(upstream);
    session.once('close', () => {
      upstreams.delete(upstream);
      upstream.close();
    });
    session.on('error', () => undefined);
    (session as unknown as { upstream: ClientHttp2Session }).upstream = upstream;
  });
  server.on('stream', (stream, headers) => {
    const session = stream.session as unknown as { upstream: ClientHttp2Session; socket: TLSSocket };
    const path = String(headers[constants.HTTP2_HEADER_PATH] ?? '');
    const peer = session.socket.getPeerCertificate?.();
    const clientCertCn = peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined;
    const authorized = options.apiKey === undefined || headers.authorization === `Bearer ${options.apiKey}`;
    calls.push({ path, authorized, ...(clientCertCn ? { clientCertCn } : {}) });
    stream.on('error', () => undefined);
    if (!authorized) {
      // A trailers-only gRPC answer, as Temporal Cloud gives for a missing or wrong API key.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(GRPC_UNAUTHENTICATED), 'grpc-message': 'Request unauthorized.' }, { endStream: true });
      return;
    }
    relay(stream, headers, session.upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    calls,
    close: async () => {
      for (const upstream of upstreams) upstream.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open client sessions (a long poll) would hold close() until they end.
        setTimeout(resolve, 2_000).unref();
      });
    },
  };
}

function relay(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, upstream: ClientHttp2Session): void {
  const request = upstream.request(relayed(headers, [':method', ':path', ':scheme', ':authority']));
  request.on('error', () => stream.close(constants.NGHTTP2_INTERNAL_ERROR));
  stream.on('close', () => {
    if (!request.closed) request.close(constants.NGHTTP2_CANCEL);
  });
  let trailers: OutgoingHttpHeaders = {};
  request.on('trailers', (received) => (trailers = relayed(received, [])));
  request.on('response', (received) => {
    const answer = relayed(received, [':status']);
    if (received['grpc-status'] !== undefined) {
      // A trailers-only answer (an error with no body): the status is in the headers and the stream ends here.
      stream.respond(answer, { endStream: true });
      return;
    }
    stream.respond(answer, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    request.pipe(stream);
  });
  stream.pipe(request);
}

/** `headers` without connection headers and without pseudo-headers other than `keepPseudo`. */
function relayed(headers: IncomingHttpHeaders, keepPseudo: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_RELAYED.has(name)) continue;
    if (name.startsWith(':') && !keepPseudo.includes(name)) continue;
    out[name] = value;
  }
  return out;
}
