import { readFileSync } from 'node:fs';
import { Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import { TemporalConnectionError } from './errors';

/**
 * Where and how every Client `Connection` and Worker `NativeConnection` of a process reaches Temporal: one set of
 * options for both, so TLS and an API key are never set at one connect site and forgotten at another.
 * @see https://docs.temporal.io/develop/typescript/temporal-client
 */
export interface TemporalConnectionOptions {
  /** `host:port`; Temporal Cloud: `<ns>.<acct>.tmprl.cloud:7233`, or a regional endpoint with an API key. */
  readonly address: string;
  readonly namespace: string;
  /** Absent: plaintext. `true`: TLS with the system's roots. An object: a server CA, a server name, an mTLS pair. */
  readonly tls?: TLSConfig | true;
  /** Sent as `Authorization: Bearer …` on every call; only ever with TLS. */
  readonly apiKey?: string;
}

/** What {@link temporalConnectionOptions} reads: the Temporal part of {@link Config}. */
export type TemporalConnectionConfig = Pick<Config['temporal'], 'namespace' | 'apiKey' | 'tls'> & { readonly address: string };

/**
 * The connection options for a server we did not start (TEMPORAL_ADDRESS), from its config: TLS when configured
 * (certificate files read here, so a wrong path fails at start with its name), and the API key. A pure function of
 * `config` and what `readFile` returns.
 */
export function temporalConnectionOptions(config: TemporalConnectionConfig, readFile: (path: string) => Uint8Array = readFileSync): TemporalConnectionOptions {
  return {
    address: config.address,
    namespace: config.namespace,
    ...(config.tls ? { tls: tlsConfig(config.tls, readFile) } : {}),
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
  };
}

/** Opens a Client connection (ingress, reconciler, admin commands). */
export async function connectClient(options: TemporalConnectionOptions): Promise<Connection> {
  return Connection.connect(sdkOptions(options));
}

/** A Client connection that connects on its first call: the ingress comes up even while Temporal is down. */
export function connectClientLazily(options: TemporalConnectionOptions): Connection {
  return Connection.lazy(sdkOptions(options));
}

/**
 * A Client connection for `/readyz` alone, connecting on its first call, without the SDK's retrying interceptor:
 * a probe should say "unreachable" at once rather than retry until its deadline, and the SDK does not clear a
 * retry's timer on close, so a retry firing after a stop throws "Channel has been shut down" out of a timer
 * (sdk-typescript's grpc-retry) and the stopped process exits 1.
 */
export function connectProbeLazily(options: TemporalConnectionOptions): Connection {
  return Connection.lazy({ ...sdkOptions(options), interceptors: [] });
}

/**
 * Whether a failed connect means Temporal is not there (yet): the native connection's `TransportError` (refused,
 * reset, no route) or gRPC UNAVAILABLE. Worth waiting for, unlike a refused API key or certificate, which the
 * native connection also reports as a `TransportError` (see {@link temporalCredentialsProblem}).
 */
export function isTemporalUnreachable(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | undefined;
  return (e?.name === 'TransportError' || e?.code === 14) && temporalCredentialsProblem(err) === undefined;
}

// How the two connection types word a refusal: gRPC status names and codes from @grpc/grpc-js, tonic's status
// descriptions and rustls' certificate errors from the native (Rust) connection.
const REFUSALS: readonly { readonly pattern: RegExp; readonly grpcCode?: number; readonly problem: string }[] = [
  {
    pattern: /UNAUTHENTICATED|valid authentication credentials/i,
    grpcCode: 16,
    problem: 'refused the credentials (unauthenticated): check TEMPORAL_API_KEY, or the client pair of TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH',
  },
  {
    pattern: /PERMISSION_DENIED|does not have permission/i,
    grpcCode: 7,
    problem: 'refused the credentials for this namespace (permission denied): check TEMPORAL_NAMESPACE and what the key or certificate may do',
  },
  {
    pattern: /InvalidCertificate|UnknownIssuer|NotValidForName|CertificateRequired|BadCertificate|certificate/i,
    problem:
      'failed the TLS handshake: check TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME against the server\'s certificate, ' +
      'and the client pair where the server requires mTLS',
  },
];

/**
 * What is wrong when Temporal answered but refused this process (a wrong API key, a certificate it does not
 * trust, a server certificate we do not), in words that name the variables to check; undefined for any other
 * failure. Waiting does not help these, so a worker stops trying and says so.
 */
export function temporalCredentialsProblem(err: unknown): string | undefined {
  const e = err as { message?: unknown; code?: unknown; cause?: unknown } | undefined;
  if (e === undefined || e === null) return undefined;
  const text = `${typeof e.message === 'string' ? e.message : ''} ${e.cause instanceof Error ? e.cause.message : ''}`;
  const refusal = REFUSALS.find((r) => (r.grpcCode !== undefined && e.code === r.grpcCode) || r.pattern.test(text));
  return refusal?.problem;
}

/** Opens a Worker's native connection. */
export async function connectWorker(options: TemporalConnectionOptions): Promise<NativeConnection> {
  return NativeConnection.connect(sdkOptions(options));
}

/** Both SDK connection types take the same `address`, `tls` and `apiKey`; the namespace goes to the Client and Worker. */
function sdkOptions(options: TemporalConnectionOptions): { address: string; tls?: TLSConfig | true; apiKey?: string } {
  return {
    address: options.address,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
  };
}

function tlsConfig(tls: NonNullable<Config['temporal']['tls']>, readFile: (path: string) => Uint8Array): TLSConfig | true {
  const read = (path: string, what: string): Uint8Array => {
    try {
      return readFile(path);
    } catch (err) {
      throw new TemporalConnectionError(`Could not read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const config: TLSConfig = {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.serverCaCertPath ? { serverRootCACertificate: read(tls.serverCaCertPath, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH') } : {}),
    ...(tls.clientCertPath && tls.clientKeyPath
      ? { clientCertPair: { crt: read(tls.clientCertPath, 'TEMPORAL_TLS_CLIENT_CERT_PATH'), key: read(tls.clientKeyPath, 'TEMPORAL_TLS_CLIENT_KEY_PATH') } }
      : {}),
  };
  // `true` rather than `{}`: plain TLS with the system's roots, as for an API key on Temporal Cloud.
  return Object.keys(config).length === 0 ? true : config;
}

/**
 * Why Temporal cannot be used through `connection` right now, or undefined when it answers: one cheap call
 * (`GetSystemInfo`) under a deadline, for `/readyz`.
 */
export async function temporalProblem(connection: Connection, address: string, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  // The deadline bounds the call, not a lazy connection's first connect, which can take longer: hence a timer too.
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`Temporal at ${address} is unreachable: no answer within ${timeoutMs} ms`), timeoutMs)));
  const asked = connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({})).then(
    () => undefined,
    (err: unknown) => {
      const refused = temporalCredentialsProblem(err);
      return refused ? `Temporal at ${address} ${refused}` : `Temporal at ${address} is unreachable: ${err instanceof Error ? err.message : String(err)}`;
    },
  );
  try {
    return await Promise.race([asked, late]);
  } finally {
    clearTimeout(timer);
  }
}
