import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTE_KEYS } from '../shared/search-attributes';
import { DevServerError } from './errors';
import type { ResolvedExecutable } from './toolchain';

/** How to run the embedded Temporal dev server (`temporal server start-dev`). */
export interface DevServerOptions {
  /** The CLI, from `resolveTemporalCli`. */
  cli: ResolvedExecutable;
  /** Namespace created at startup (`default` always exists too). */
  namespace: string;
  /** Address to bind; default 127.0.0.1. */
  ip?: string;
  /** gRPC port; default a random free port. */
  port?: number;
  /** Serve the Web UI. */
  ui: boolean;
  /** Web UI port; default gRPC port + 1000. */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts; omitted: in memory, lost on stop. */
  dbFilename?: string;
  /** Codec server the Web UI calls to decode payloads (our `/codec`). */
  codecEndpoint?: string;
  /** Server log level (`debug`, `info`, `warn`, `error`, `never`); default `warn`. */
  logLevel?: string;
  /** Port of the server's own Prometheus `/metrics` (`--metrics-port`, on `ip`); default a random one, not reported. */
  metricsPort?: number;
}

/** A running dev server. */
export interface DevServer {
  /** `host:port` for `Connection.connect` / `NativeConnection.connect`. */
  address: string;
  namespace: string;
  /** Web UI URL when the UI is on. */
  uiUrl?: string;
  /** The server's Prometheus endpoint, when {@link DevServerOptions.metricsPort} was given. */
  metricsUrl?: string;
  /** Stops the server; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts the Temporal CLI's dev server with the project's custom search attributes registered.
 * @see https://docs.temporal.io/cli/server#start-dev
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const dbFilename = opts.dbFilename === undefined ? undefined : resolve(opts.dbFilename);
  // The CLI does not create the folder and fails with a bare SQLite error when it is missing.
  if (dbFilename) await mkdir(dirname(dbFilename), { recursive: true });

  const extraArgs: string[] = [];
  if (opts.ui) {
    // This machine class has no internet; the UI's newsfeed would only produce failed requests.
    extraArgs.push('--ui-disable-news-fetch');
    if (opts.codecEndpoint) extraArgs.push('--ui-codec-endpoint', opts.codecEndpoint);
  }

  if (dbFilename) {
    // WAL with synchronous=normal survives a crash of any process (only a power cut may lose the last
    // transactions) and stops every history write from waiting on fsync.
    extraArgs.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }

  const ip = opts.ip ?? '127.0.0.1';
  // The SDK's launcher passes no --metrics-port, and the CLI then picks a random one that only its banner tells.
  if (opts.metricsPort !== undefined) extraArgs.push('--metrics-port', String(opts.metricsPort));
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: opts.cli.executable,
        namespace: opts.namespace,
        ip,
        port: opts.port,
        ui: opts.ui,
        uiPort: opts.ui ? opts.uiPort : undefined,
        dbFilename,
        log: { format: 'pretty', level: opts.logLevel ?? 'warn' },
        searchAttributes: [...SEARCH_ATTRIBUTE_KEYS],
        extraArgs,
      },
    });
  } catch (err) {
    throw new DevServerError(
      `The Temporal dev server did not start (${describe(opts.cli)}, ${ip}:${opts.port ?? 'random port'}` +
        `${dbFilename ? `, database ${dbFilename}` : ''}): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  let stopping: Promise<void> | undefined;
  return {
    address: env.address,
    namespace: opts.namespace,
    uiUrl: opts.ui ? uiUrl(ip, env.address, opts.uiPort) : undefined,
    ...(opts.metricsPort !== undefined ? { metricsUrl: `http://${hostOf(ip)}:${opts.metricsPort}/metrics` } : {}),
    stop: () => (stopping ??= env.teardown()),
  };
}

/** Options for {@link startTimeSkippingServer}. */
export interface TimeSkippingServerOptions {
  /** The test server, from `resolveTestServer`. */
  testServer: ResolvedExecutable;
}

/**
 * Starts the time-skipping test server; timers jump forward while a test awaits a workflow result.
 * The caller owns the environment and must `teardown()` it.
 * @see https://typescript.temporal.io/api/classes/testing.TestWorkflowEnvironment#createtimeskipping
 */
export async function startTimeSkippingServer(opts: TimeSkippingServerOptions): Promise<TestWorkflowEnvironment> {
  try {
    return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: opts.testServer.executable } });
  } catch (err) {
    throw new DevServerError(
      `The Temporal time-skipping test server did not start (${describe(opts.testServer)}): ` +
        `${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

function describe(resolved: ResolvedExecutable): string {
  return resolved.executable.type === 'existing-path' ? resolved.executable.path : 'SDK download';
}

function uiUrl(ip: string, address: string, uiPort: number | undefined): string {
  // The CLI's default UI port is the gRPC port + 1000.
  const grpcPort = Number(address.slice(address.lastIndexOf(':') + 1));
  return `http://${hostOf(ip)}:${uiPort ?? grpcPort + 1000}`;
}

function hostOf(ip: string): string {
  return ip === '0.0.0.0' || ip === '::' ? 'localhost' : ip.includes(':') ? `[${ip}]` : ip;
}
