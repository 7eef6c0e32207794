/**
 * How long `start` (embedded Temporal, PGlite, emulators) takes to stop on SIGTERM: once ready and idle, and
 * during start-up (right after the embedded Temporal is up). `readyMs` is how long it ran before the signal: to
 * `Ready.` when idle (the workflow bundle kept from an earlier start or not), to the `Temporal:` line during
 * start-up. Prints one JSON object; never pass/fail.
 * `npm run bench:shutdown -- --runs 3`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, killServiceProcess, startServiceProcess } from '../test/helpers/service-process';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);

async function stopMs(when: RegExp): Promise<{ readyMs: number; stopMs: number; exit: number | NodeJS.Signals | null }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jo-bench-shutdown-'));
  const spawned = performance.now();
  const service = startServiceProcess('start', {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
  });
  try {
    await service.waitFor(when, 120_000);
    const sent = performance.now();
    service.child.kill('SIGTERM');
    const exit = await service.exited;
    return { readyMs: Math.round(sent - spawned), stopMs: Math.round(performance.now() - sent), exit };
  } finally {
    await killServiceProcess(service);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const idle: Awaited<ReturnType<typeof stopMs>>[] = [];
const startingUp: Awaited<ReturnType<typeof stopMs>>[] = [];
for (let i = 0; i < runs; i++) {
  idle.push(await stopMs(/^Ready\./m));
  startingUp.push(await stopMs(/^Temporal: /m));
}
const summary = (samples: typeof idle) => ({
  readyMs: samples.map((s) => s.readyMs),
  stopMs: samples.map((s) => s.stopMs),
  maxMs: Math.max(...samples.map((s) => s.stopMs)),
  exits: samples.map((s) => s.exit),
});
console.log(JSON.stringify({ bench: 'shutdown', node: process.version, runs, sigtermWhenReadyAndIdle: summary(idle), sigtermDuringStartUp: summary(startingUp) }, null, 2));
