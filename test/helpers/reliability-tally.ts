import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The small tally each bad-input test leaves in `.data/reliability/<name>.json` (git-ignored), and each fault
 * test in `.data/reliability/fault-<name>.json`, so a later `bench/reliability` can add up what was tried and
 * survived without running the tests again.
 */

/** Where the tallies go. */
export const RELIABILITY_DIR = resolve(import.meta.dirname, '..', '..', '.data', 'reliability');

/** How one input ended: taken, refused with a 4xx or a clear error, answered 5xx, or it threw where it must not. */
export type InputOutcome = 'accepted' | 'refused' | 'server-error' | 'crash';

/** What a tally file holds. `status5xx` and `crashes` must be 0. */
export interface ReliabilityTally {
  readonly name: string;
  readonly inputs: number;
  readonly accepted: number;
  /** Refused with a 4xx, or (for a parser outside HTTP) with an error that says what is wrong. */
  readonly status4xx: number;
  readonly status5xx: number;
  readonly crashes: number;
  /** The same counts per parser or route. */
  readonly targets: Readonly<Record<string, { inputs: number; accepted: number; status4xx: number; status5xx: number; crashes: number }>>;
  readonly writtenAt: string;
  /** Figures of the test's own, e.g. how many signature vectors agreed. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Counts outcomes per target; `write()` saves the file and returns what it wrote. */
export function createTally(name: string) {
  const targets: Record<string, { inputs: number; accepted: number; status4xx: number; status5xx: number; crashes: number }> = {};
  const field = { accepted: 'accepted', refused: 'status4xx', 'server-error': 'status5xx', crash: 'crashes' } as const;
  return {
    record(target: string, outcome: InputOutcome): void {
      const counts = (targets[target] ??= { inputs: 0, accepted: 0, status4xx: 0, status5xx: 0, crashes: 0 });
      counts.inputs += 1;
      counts[field[outcome]] += 1;
    },
    /** The outcome of an HTTP status: 2xx accepted, 4xx refused, anything else a server error. */
    recordStatus(target: string, status: number): void {
      this.record(target, status >= 200 && status < 300 ? 'accepted' : status >= 400 && status < 500 ? 'refused' : 'server-error');
    },
    write(extra?: Readonly<Record<string, unknown>>): ReliabilityTally {
      const sum = (key: 'inputs' | 'accepted' | 'status4xx' | 'status5xx' | 'crashes') => Object.values(targets).reduce((total, counts) => total + counts[key], 0);
      const tally: ReliabilityTally = {
        name,
        inputs: sum('inputs'),
        accepted: sum('accepted'),
        status4xx: sum('status4xx'),
        status5xx: sum('status5xx'),
        crashes: sum('crashes'),
        targets,
        writtenAt: new Date().toISOString(),
        ...(extra ? { extra } : {}),
      };
      mkdirSync(RELIABILITY_DIR, { recursive: true });
      writeFileSync(join(RELIABILITY_DIR, `${name}.json`), `${JSON.stringify(tally, null, 2)}\n`);
      return tally;
    },
  };
}

/** What a fault file holds: one fault tried, and whether everything held after it (with the test's figures). */
export interface FaultTrial {
  readonly name: string;
  readonly fault: string;
  readonly tried: 1;
  readonly survived: 0 | 1;
  readonly writtenAt: string;
  readonly figures?: Readonly<Record<string, unknown>>;
}

/**
 * Records a fault test in `.data/reliability/fault-<name>.json`: tried (not survived) when called, survived once
 * the test calls `survived()` after its last assertion. A test that fails or dies half-way leaves "tried".
 */
export function tryFault(name: string, fault: string) {
  const write = (survived: 0 | 1, figures?: Readonly<Record<string, unknown>>): FaultTrial => {
    const trial: FaultTrial = { name, fault, tried: 1, survived, writtenAt: new Date().toISOString(), ...(figures ? { figures } : {}) };
    mkdirSync(RELIABILITY_DIR, { recursive: true });
    writeFileSync(join(RELIABILITY_DIR, `fault-${name}.json`), `${JSON.stringify(trial, null, 2)}\n`);
    return trial;
  };
  write(0);
  return { survived: (figures?: Readonly<Record<string, unknown>>) => write(1, figures) };
}
