/**
 * bench/reliability: one JSON of what issue 12 asks to show, added up from what the tests and benches left behind
 * (it runs nothing itself, so it takes a second):
 *
 * - faults tried and survived: the `fault-<name>.json` trials the fault tests write (a fault test that failed or
 *   stopped midway counts as tried, not survived);
 * - bad inputs tried, per file and in total, and how many got a 5xx or crashed (both must be 0): the tallies the
 *   fuzz and vector tests write to .data/reliability/ (test/helpers/reliability-tally.ts), and schemathesis' counts;
 * - load held: per store the latest bench/load JSON in .data/bench/ that measured it (non-2xx, ack p50/p99 and
 *   share in line per rate), and the latest soak (memory and history events per open task);
 * - the ack ratios: the latest bench/ack-floor JSON;
 * - lint and scan findings: the latest bench/security-checks JSON (splinter, gitleaks, lockfile-lint).
 *
 * A part never produced here is listed under `missing` with the command that produces it; `verdict` says whether
 * every zero that must be zero is zero among the parts present. Prints JSON and saves it under .data/bench/.
 *
 *   npm run bench:reliability
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RELIABILITY_DIR, type FaultTrial, type ReliabilityTally } from '../test/helpers/reliability-tally';
import { latestBenchJson, saveBenchJson, savedBenchJsons } from './jules-requests';

/** The tallies the suite writes, and the test that writes each. */
const TALLIES: Readonly<Record<string, string>> = {
  'fuzz-interactions': 'test/fuzz-interactions.test.ts',
  'fuzz-parsers': 'test/fuzz-parsers.test.ts',
  'fuzz-webhooks': 'test/fuzz-webhooks.test.ts',
  'signature-vectors': 'test/ed25519-vectors.test.ts',
};
const SCHEMATHESIS = { file: 'schemathesis.json', test: 'test/openapi-schemathesis.test.ts' };

const missing: { part: string; run: string }[] = [];

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function badInputs() {
  const present = new Set(safeList(RELIABILITY_DIR));
  const tallies: Omit<ReliabilityTally, 'targets'>[] = [];
  for (const [name, test] of Object.entries(TALLIES)) {
    const tally = present.has(`${name}.json`) ? readJson<ReliabilityTally>(join(RELIABILITY_DIR, `${name}.json`)) : undefined;
    if (!tally) {
      missing.push({ part: `bad inputs: ${name}`, run: `npx vitest run ${test}` });
      continue;
    }
    const { targets: _targets, ...totals } = tally;
    tallies.push(totals);
  }
  const sum = (key: 'inputs' | 'status4xx' | 'status5xx' | 'crashes') => tallies.reduce((total, tally) => total + tally[key], 0);
  const schemathesis = readJson<{ operations: number; cases: number; failures: number; errors: number; seed?: string }>(join(RELIABILITY_DIR, SCHEMATHESIS.file));
  if (!schemathesis) missing.push({ part: 'bad inputs: schemathesis', run: `npx vitest run ${SCHEMATHESIS.test}` });
  return {
    tried: sum('inputs'),
    refused4xx: sum('status4xx'),
    status5xx: sum('status5xx'),
    crashes: sum('crashes'),
    byFile: tallies,
    ...(schemathesis ? { schemathesis: { operations: schemathesis.operations, cases: schemathesis.cases, failures: schemathesis.failures, errors: schemathesis.errors, seed: schemathesis.seed } } : {}),
  };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Faults tried and survived: each fault test writes `fault-<name>.json` when it starts (survived 0) and again after
 * its last assertion (survived 1), so a fault whose test failed or stopped midway counts as tried, not survived.
 */
function faults() {
  const trials = safeList(RELIABILITY_DIR)
    .filter((file) => file.startsWith('fault-') && file.endsWith('.json'))
    .map((file) => readJson<FaultTrial>(join(RELIABILITY_DIR, file)))
    .filter((trial): trial is FaultTrial => trial !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
  if (trials.length === 0) missing.push({ part: 'faults', run: 'npx vitest run test/temporal-crash.test.ts test/postgres-stop.test.ts test/network-faults.test.ts test/deployment-kill.test.ts test/upstream-storms.test.ts' });
  return {
    tried: trials.length,
    survived: trials.filter((trial) => trial.survived === 1).length,
    notSurvived: trials.filter((trial) => trial.survived !== 1).map((trial) => trial.name),
    byFault: trials.map((trial) => ({ name: trial.name, fault: trial.fault, survived: trial.survived, ...(trial.figures ? { figures: trial.figures } : {}) })),
  };
}

interface LoadFigures {
  readonly durationS: number;
  readonly stores: readonly {
    readonly store: string;
    readonly rates: readonly { rate: number; sent: number; non2xx: number; errors: number; timeouts: number; unexpectedAnswers: number; ackMs: { p50: number; p99: number }; inLineShare: number }[];
  }[];
  readonly soak?: { tasks: number; perOpenTaskMb: { rss: number; heapUsed: number }; historyEventsPerTask: { mean: number; max: number }; goal: { met: boolean } };
}

/**
 * Load held: per store the latest run that measured it, and the latest soak (bench/load can run a store or the soak
 * alone: `--stores postgres`, `--stores "" --soak 1000`), each with the file it came from.
 */
function load() {
  const runs = savedBenchJsons('load').map(({ file, figures }) => ({ file, figures: figures as LoadFigures }));
  if (runs.length === 0) {
    missing.push({ part: 'load', run: 'npm run bench:load' });
    return undefined;
  }
  const latestPerStore = new Map<string, { file: string; durationS: number; store: LoadFigures['stores'][number] }>();
  for (const { file, figures } of runs) for (const store of figures.stores) latestPerStore.set(store.store, { file, durationS: figures.durationS, store });
  const rates = [...latestPerStore.values()].flatMap(({ file, durationS, store }) =>
    store.rates.map((r) => ({
      store: store.store,
      rate: r.rate,
      durationS,
      sent: r.sent,
      non2xx: r.non2xx,
      failedRequests: r.errors + r.timeouts + r.unexpectedAnswers,
      ackP50Ms: r.ackMs.p50,
      ackP99Ms: r.ackMs.p99,
      inLineShare: r.inLineShare,
      file,
    })),
  );
  for (const store of ['pglite', 'postgres']) if (!latestPerStore.has(store)) missing.push({ part: `load on ${store}`, run: `npm run bench:load -- --stores ${store} --soak 0` });
  const soaked = runs.filter((run) => run.figures.soak).at(-1);
  if (!soaked) missing.push({ part: 'soak', run: 'npm run bench:load -- --stores "" --soak 1000' });
  const soak = soaked?.figures.soak;
  return {
    non2xx: rates.reduce((total, r) => total + r.non2xx, 0),
    failedRequests: rates.reduce((total, r) => total + r.failedRequests, 0),
    rates,
    ...(soak && soaked
      ? { soak: { tasks: soak.tasks, rssPerOpenTaskMb: soak.perOpenTaskMb.rss, heapPerOpenTaskMb: soak.perOpenTaskMb.heapUsed, historyEventsPerTask: soak.historyEventsPerTask, goalMet: soak.goal.met, file: soaked.file } }
      : {}),
  };
}

function ack() {
  const latest = latestBenchJson('ack-floor');
  if (!latest) {
    missing.push({ part: 'ack ratios', run: 'npm run bench:ack-floor' });
    return undefined;
  }
  const figures = latest.figures as { ratios: Record<string, number>; goal: Record<string, { value: number; met: boolean }>; ack: { answeredInLineAtConcurrency: number } };
  return { file: latest.file, ratios: figures.ratios, answeredInLineAtConcurrency: figures.ack.answeredInLineAtConcurrency, goal: figures.goal };
}

function security() {
  const latest = latestBenchJson('security');
  if (!latest) {
    missing.push({ part: 'lint and scan findings', run: 'npm run bench:security' });
    return undefined;
  }
  const figures = latest.figures as { splinter: { byLevel: Record<string, number> }; gitleaks: { history: { findings: number; commits: number } }; lockfile: { packages: number; issues: number } };
  return {
    file: latest.file,
    splinter: figures.splinter.byLevel,
    gitleaks: { commits: figures.gitleaks.history.commits, findings: figures.gitleaks.history.findings },
    lockfileLint: { packages: figures.lockfile.packages, issues: figures.lockfile.issues },
  };
}

const faultsSurvived = faults();
const inputs = badInputs();
const loadHeld = load();
const ackRatios = ack();
const findings = security();
// Each figure that must be zero, among the parts present.
const zeros = {
  faultsNotSurvived: faultsSurvived.notSurvived.length,
  badInput5xx: inputs.status5xx,
  badInputCrashes: inputs.crashes,
  ...(inputs.schemathesis ? { schemathesisFailures: inputs.schemathesis.failures } : {}),
  ...(loadHeld ? { loadNon2xx: loadHeld.non2xx, loadFailedRequests: loadHeld.failedRequests } : {}),
  ...(findings ? { splinterErrors: findings.splinter.ERROR ?? 0, gitleaksFindings: findings.gitleaks.findings, lockfileIssues: findings.lockfileLint.issues } : {}),
};
const figures = {
  benchmark: 'reliability',
  faults: faultsSurvived,
  badInputs: inputs,
  ...(loadHeld ? { load: loadHeld } : {}),
  ...(ackRatios ? { ack: ackRatios } : {}),
  ...(findings ? { security: findings } : {}),
  mustBeZero: zeros,
  verdict: { allZero: Object.values(zeros).every((value) => value === 0), complete: missing.length === 0 },
  missing,
};
saveBenchJson('reliability', figures);
console.log(JSON.stringify(figures, null, 2));
