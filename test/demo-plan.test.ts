import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliProcess, type CliRun } from './helpers/cli-process';

/**
 * `npx jules-orchestrator demo plan` as a newcomer runs it: a child process through bin/, a fresh DATA_DIR, no
 * credentials, its own embedded Temporal dev server. The printed transcript is what is checked.
 */

/** A dev server of its own, PGlite, three Jules sessions and GitHub's write pacing: tens of seconds on a busy machine. */
const DEMO_TIMEOUT_MS = 240_000;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function runDemoPlan(): Promise<CliRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jo-demo-plan-'));
  dirs.push(dataDir);
  const extraEnv: Record<string, string> = process.env.TEMPORAL_CLI_PATH ? { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH } : {};
  return runCliProcess(['demo', 'plan', '--no-wait'], { dataDir, extraEnv, timeoutMs: DEMO_TIMEOUT_MS - 10_000 });
}

describe('demo plan', () => {
  it('ships the two green items of a three-item plan, skips the red one with its failing check, and prints the transcript', { timeout: DEMO_TIMEOUT_MS }, async () => {
    const { code, stdout, stderr } = await runDemoPlan();
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const lines = stdout.split('\n');

    // The story, in order: /plan, Approve, /status, /ship, Cancel.
    const said = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    const steps = [/runs \/plan$/, /proposes 3 items/, /clicks Approve on the plan card/, /runs \/status run_id:plan-/, /runs \/ship run_id:plan-/, /Shipped 2 of 3 from `plan-/, /clicks Cancel plan/];
    const at = steps.map(said);
    expect(at.every((index) => index >= 0), String(at)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);

    // `/ship`'s answer: merged twice, skipped once, with the check that failed.
    const ship = lines.slice(at[5]!, at[6]!);
    expect(ship.filter((line) => /: merged \(PR #\d+\)$/.test(line))).toHaveLength(2);
    expect(ship.filter((line) => /: skipped, red: `test`$/.test(line))).toHaveLength(1);

    // The transcript: the card through to Cancelled, three sessions and PRs in the thread, two merges, the red one's
    // failure; each item's messages in the plan's thread, its PR status too, carry its number.
    const transcript = lines.slice(said(/^Transcript of channel \d+ and the plan's thread/));
    expect(transcript.filter((line) => /→ posted {2}#\d+ 🛠️ Jules started working/.test(line))).toHaveLength(3);
    expect(transcript.filter((line) => /→ posted {2}#\d+ ✅ PR ready: https:\/\/github\.com\/acme\/widgets\/pull\/\d+/.test(line))).toHaveLength(3);
    expect(transcript.filter((line) => /→ edited {2}#\d+ 🎉 \[PR #\d+\]\(.*\) merged by/.test(line))).toHaveLength(2);
    expect(transcript.filter((line) => /→ edited {2}#\d+ ❌ \[PR #\d+\]\(.*\): `test` failed\./.test(line))).toHaveLength(1);
    expect(transcript.some((line) => /edited {2}Plan `plan-.*`: ⏹️ Cancelled · #1 ✅ merged, #2 ✅ merged, #3 🔴 red$/.test(line))).toBe(true);
    expect(stdout).toMatch(/^Outcome: cancelled — 2 merged \(#\d+, #\d+\), PR #\d+ skipped \(`test` failed\)$/m);
  });
});
