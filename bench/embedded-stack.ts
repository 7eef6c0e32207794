import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config';
import { createLogger } from '../src/logger';
import { startService, type RunningService, type StartServiceOptions } from '../src/service';
import { openTracing } from '../src/telemetry/tracing';

/** A whole embedded stack for one benchmark run, on its own temporary data and random ports. */
export interface BenchStack {
  readonly service: RunningService;
  /** The configuration the service runs with (ports as started: 0 means a random one was picked). */
  readonly config: Config;
  readonly log: ReturnType<typeof createLogger>;
  /** Stops the service and removes its data. */
  stop(): Promise<void>;
}

/**
 * Starts the service on the embedded defaults the way a newcomer would (Temporal dev server, PGlite, emulators),
 * with extra environment variables (e.g. `JULES_POLL_INTERVAL`) and emulator options.
 */
export async function startBenchStack(
  options: { env?: Record<string, string> } & Pick<StartServiceOptions, 'julesEmulator' | 'discordEmulator' | 'wakeInProcess'> = {},
): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jo-bench-'));
  const config = loadConfig({
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...(process.env.TEMPORAL_CLI_PATH ? { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH } : {}),
    // Tracing's cost is measured by running a benchmark with the endpoint set (README, "Tracing").
    ...(process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    ...options.env,
  });
  // As the CLI does: tracing first, so the logger and every Temporal connection are made with it.
  const tracing = await openTracing(config.tracing);
  const log = createLogger('warn', process.stderr, tracing ? { fields: () => tracing.logFields() } : {});
  const service = await startService({
    ...(tracing ? { tracing } : {}),
    config: { ...config, temporal: { ...config.temporal, port: 0, uiPort: 0 } },
    log,
    parts: { worker: true, ingress: true },
    inMemoryStore: true,
    ...(options.julesEmulator ? { julesEmulator: options.julesEmulator } : {}),
    ...(options.discordEmulator ? { discordEmulator: options.discordEmulator } : {}),
    ...(options.wakeInProcess !== undefined ? { wakeInProcess: options.wakeInProcess } : {}),
  });
  return {
    service,
    config,
    log,
    async stop() {
      await service.stop();
      await tracing?.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One decimal, for figures in the printed JSON. */
export function round(value: number): number {
  return Math.round(value * 10) / 10;
}
