/**
 * How long the CLI takes to answer, as an operator runs it (a child process through bin/, embedded PGlite store):
 * `--help`; `guild set` on a store already migrated; `migrate` on an empty store (a fresh DATA_DIR each run).
 * Prints one JSON object with the median and every sample per command; never pass/fail.
 * `npm run bench:cli-latency -- --runs 5`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCliProcess } from '../test/helpers/cli-process';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);

const GUILD_SET = ['guild', 'set', '--guild-id', '111111111111111111', '--create-roles', '222222222222222222', '--confirm-roles', ''];

/** Milliseconds one run of the CLI took; throws when it did not exit 0, so a broken command never reads as fast. */
async function timeCli(args: string[], dataDir: string): Promise<number> {
  const started = performance.now();
  const run = await runCliProcess(args, { dataDir });
  const ms = Math.round(performance.now() - started);
  if (run.code !== 0) throw new Error(`jules-orchestrator ${args.join(' ')} exited ${run.code}\n${run.stderr}`);
  return ms;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

const scratch = mkdtempSync(join(tmpdir(), 'jo-bench-cli-'));
try {
  const help: number[] = [];
  const guildSet: number[] = [];
  const migrateEmpty: number[] = [];
  const migratedDir = join(scratch, 'migrated');
  await timeCli(['migrate'], migratedDir);
  for (let i = 0; i < runs; i++) {
    help.push(await timeCli(['--help'], migratedDir));
    guildSet.push(await timeCli(GUILD_SET, migratedDir));
    migrateEmpty.push(await timeCli(['migrate'], join(scratch, `empty-${i}`)));
  }
  const summary = (samples: number[]) => ({ medianMs: median(samples), samplesMs: samples });
  console.log(
    JSON.stringify(
      { bench: 'cli-latency', node: process.version, runs, help: summary(help), guildSetMigratedStore: summary(guildSet), migrateEmptyStore: summary(migrateEmpty) },
      null,
      2,
    ),
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
