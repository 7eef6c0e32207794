import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, sep } from 'node:path';
import type { WorkflowBundle } from '@temporalio/worker';
import type { Tracing } from '../telemetry/tracing';
import { PROJECT_ROOT } from '../tools/tool-cache';
import { bundleWorkflows } from './worker';

/**
 * The workflows' bundle, reused from one start to the next. Webpack takes two to three seconds of CPU at every
 * `start` and `worker` (Temporal's docs pre-bundle for production for this reason). The bundle is kept with the
 * list of files it was built from: every source file of the project, the `package.json` of every package it
 * took code from, and the bundler's (`@temporalio/worker`, webpack, swc-loader, swc). It is reused only while
 * each of those files is byte for byte what it was; any edit, upgrade or move bundles again. `npm ci` empties the
 * cache with the rest of `node_modules`. One blind spot: a new file that a path already imported would now
 * resolve to first (`./x.ts` beside an imported `./x/index.ts`) is not seen until an imported file changes.
 */

/** Where bundles are kept: `node_modules/.cache/`, as build tools do (wiped by `npm ci`, ignored by git). */
export const DEFAULT_BUNDLE_CACHE_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'jules-orchestrator');

/** What {@link loadWorkflowBundle} gives: the bundle, and whether it came from the cache. */
export interface LoadedWorkflowBundle {
  readonly bundle: WorkflowBundle;
  readonly cached: boolean;
}

/** Options of {@link loadWorkflowBundle}. */
export interface LoadWorkflowBundleOptions {
  /** With tracing: its workflow interceptors are in the bundle (kept apart from the plain one). */
  readonly tracing?: Tracing;
  readonly cacheDir?: string;
  /** Told why a kept bundle was not used, or could not be kept (nothing fails for it). */
  readonly log?: (message: string) => void;
}

/** A kept bundle: the code and, for each file it came from, its SHA-256 (null: the file did not exist). */
interface BundleRecord {
  readonly format: typeof RECORD_FORMAT;
  readonly interceptorModules: readonly string[];
  readonly inputs: Readonly<Record<string, string | null>>;
  readonly code: string;
}

/** Raised when what a record lists changes, so older records are bundled again rather than trusted. */
const RECORD_FORMAT = 2;

/**
 * The workflows bundled as {@link bundleWorkflows} does, from the cache when its record still matches every file
 * the bundle came from; otherwise bundled and kept for the next process (a cache that cannot be written is only
 * said, through `log`).
 */
export async function loadWorkflowBundle(options: LoadWorkflowBundleOptions = {}): Promise<LoadedWorkflowBundle> {
  const kept = await keptWorkflowBundle(options);
  if (kept) return { bundle: kept, cached: true };
  const { code } = await bundleWorkflows(options.tracing ? { tracing: options.tracing } : {});
  const { file, interceptorModules } = recordOf(options);
  try {
    await writeRecord(file, { format: RECORD_FORMAT, interceptorModules, inputs: await hashAll(inputsOf(code)), code });
  } catch (err) {
    options.log?.(`The workflow bundle could not be kept in ${dirname(file)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { bundle: { code }, cached: false };
}

/** The kept bundle for these options when every file it came from is unchanged; undefined otherwise. */
export async function keptWorkflowBundle(options: Omit<LoadWorkflowBundleOptions, 'log'> = {}): Promise<WorkflowBundle | undefined> {
  const { file, interceptorModules } = recordOf(options);
  const kept = await readRecord(file);
  const usable = kept !== undefined && sameStrings(kept.interceptorModules, interceptorModules) && (await stillMatches(kept.inputs));
  return usable ? { code: kept.code } : undefined;
}

/** The record's file for these options (the traced bundle is kept apart) and the interceptor modules it holds. */
function recordOf(options: Omit<LoadWorkflowBundleOptions, 'log'>): { file: string; interceptorModules: readonly string[] } {
  const interceptorModules = options.tracing?.workerInterceptors.workflowModules ?? [];
  const name = interceptorModules.length > 0 ? 'workflows-traced.json' : 'workflows.json';
  return { file: join(options.cacheDir ?? DEFAULT_BUNDLE_CACHE_DIR, name), interceptorModules };
}

/**
 * The files a bundle came from, from its inline source map: the project's own sources (present or not: the
 * bundler's generated entry is not on disk), and for code from `node_modules` the package's `package.json`,
 * whose version stands for the files (a package's map names its TypeScript sources, not the JavaScript bundled).
 * The bundler's packages are always among them: another webpack or swc may compile the same sources differently.
 */
function inputsOf(code: string): string[] {
  const inputs = new Set<string>(BUNDLER_PACKAGE_JSONS);
  for (const source of inlineSourceMapSources(code)) {
    if (!isAbsolute(source)) continue; // webpack's runtime and ignored modules: part of the bundler
    const inPackage = source.lastIndexOf(`${sep}node_modules${sep}`);
    inputs.add(inPackage === -1 ? source : packageJsonOf(source, inPackage + `${sep}node_modules${sep}`.length));
  }
  return [...inputs].sort();
}

/** `@temporalio/worker`'s `package.json`, and those of the webpack, swc-loader and swc it bundles with. */
const BUNDLER_PACKAGE_JSONS = ((): string[] => {
  const worker = createRequire(import.meta.url).resolve('@temporalio/worker/package.json');
  const fromWorker = createRequire(worker);
  return [worker, ...['webpack', 'swc-loader', '@swc/core'].map((name) => fromWorker.resolve(`${name}/package.json`))];
})();

function packageJsonOf(source: string, nameStart: number): string {
  const parts = source.slice(nameStart).split(sep);
  const nameParts = parts[0]?.startsWith('@') ? 2 : 1;
  return join(source.slice(0, nameStart), ...parts.slice(0, nameParts), 'package.json');
}

function inlineSourceMapSources(code: string): string[] {
  const match = /\/\/# sourceMappingURL=data:application\/json;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!match) throw new Error('The workflow bundle has no inline source map to learn its sources from');
  const map = JSON.parse(Buffer.from(match[1]!, 'base64').toString('utf8')) as { sources?: unknown };
  return Array.isArray(map.sources) ? map.sources.filter((s): s is string => typeof s === 'string') : [];
}

async function hashAll(paths: readonly string[]): Promise<Record<string, string | null>> {
  const hashes = await Promise.all(paths.map(hashOf));
  return Object.fromEntries(paths.map((path, i) => [path, hashes[i]!]));
}

async function hashOf(path: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function stillMatches(inputs: Readonly<Record<string, string | null>>): Promise<boolean> {
  const paths = Object.keys(inputs);
  if (paths.length === 0) return false;
  const now = await hashAll(paths).catch(() => undefined);
  return now !== undefined && paths.every((path) => now[path] === inputs[path]);
}

async function readRecord(file: string): Promise<BundleRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as Partial<BundleRecord>;
    const valid =
      record.format === RECORD_FORMAT &&
      typeof record.code === 'string' &&
      Array.isArray(record.interceptorModules) &&
      typeof record.inputs === 'object' &&
      record.inputs !== null;
    return valid ? (record as BundleRecord) : undefined;
  } catch {
    return undefined; // half-written by hand, or an older format: bundled again and replaced
  }
}

/** Written whole or not at all: a temporary file renamed over the record, so a reader never sees half of one. */
async function writeRecord(file: string, record: BundleRecord): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(record));
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
