import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import versions from '../../scripts/go-tool-versions.json' with { type: 'json' };
import { ToolError } from './errors';
import { DEFAULT_CACHE_DIR, exeName, installIntoCache, isExecutableFile, runCommand } from './tool-cache';

/** A command-line tool built from a Go module with `go install`, pinned in scripts/go-tool-versions.json. */
export interface GoTool {
  /** Human name for log lines and errors. */
  displayName: string;
  /** Environment variable a user sets to point at their own binary (named in error messages only). */
  envVar: string;
  /** The package to install, without a version (`github.com/zricethezav/gitleaks/v8`). */
  module: string;
  /** The pinned module version (`v8.30.1`). */
  version: string;
  /**
   * Binary name, under `<cache>/<binary>/bin/`. `go install` names the binary after the package's last path
   * element (`…/cmd/server` builds `server`); when that differs, the build is renamed to this.
   */
  binary: string;
  /** A `-X` link-time variable that receives the version, so `<binary> version` tells the truth. */
  versionVariable?: string;
}

/** gitleaks, the secret scanner run over the repository's history and the test stack's logs. */
export const GITLEAKS: GoTool = { displayName: 'gitleaks', envVar: 'GITLEAKS_PATH', ...versions.gitleaks };

/** toxiproxy's server, the TCP proxy the fault tests put between the worker and everything it talks to. */
export const TOXIPROXY: GoTool = { displayName: 'toxiproxy', envVar: 'TOXIPROXY_PATH', ...versions.toxiproxy };

/** Where a resolved Go tool came from. */
export type GoToolSource = 'explicit' | 'cache' | 'go-install';

/** A Go tool ready to run, with where it came from and how long an install took (0 when none ran). */
export interface ResolvedGoTool {
  path: string;
  source: GoToolSource;
  installMs: number;
}

/** How to find or install a Go tool. */
export interface GoToolOptions {
  /** An explicit binary path (e.g. GITLEAKS_PATH). If set, it must exist. */
  explicitPath?: string;
  /** Tool cache directory; defaults to `<projectRoot>/.tools`. */
  cacheDir?: string;
  /** Run `go install` into the cache when the cache lacks the pinned version (default true). */
  install?: boolean;
  /** The `go` command (default `go` on PATH). */
  goCommand?: string;
  /**
   * The environment `go install` runs in (PATH, HOME, GOPATH, GOPROXY…); GOBIN and CGO_ENABLED are set on top.
   * Required to install: only config and scripts read the process environment.
   */
  env?: NodeJS.ProcessEnv;
  /** Progress lines for a person watching ("Building gitleaks v8.30.1 with go install…"). */
  log?: (msg: string) => void;
}

/**
 * Finds a Go tool: the explicit path, else the cache when it holds the pinned version, else `go install` of
 * the pinned version into the cache. PATH is not searched: another version of a scanner has other rules,
 * so its findings would differ from CI's.
 */
export async function resolveGoTool(tool: GoTool, opts: GoToolOptions = {}): Promise<ResolvedGoTool> {
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  if (opts.explicitPath !== undefined && opts.explicitPath !== '') {
    const path = resolve(opts.explicitPath);
    if (!(await isExecutableFile(path))) {
      throw new ToolError(
        'explicit-path-invalid',
        `${tool.envVar} is set to "${opts.explicitPath}", but there is no executable file there. Point it at a ` +
          `${tool.displayName} ${tool.version} binary, or unset it to let the project build one into ${cacheDir}.`,
      );
    }
    return { path, source: 'explicit', installMs: 0 };
  }

  const cached = await cachedGoToolPath(tool, cacheDir);
  if (cached) return { path: cached, source: 'cache', installMs: 0 };

  if (opts.install === false) {
    throw new ToolError(
      'not-found',
      `No ${tool.displayName} ${tool.version} in ${cacheDir}: run \`npm run setup:tools\` (needs Go and the Go module proxy), ` +
        `or set ${tool.envVar}.`,
    );
  }
  const started = Date.now();
  const path = await installGoTool(tool, { ...opts, cacheDir });
  return { path, source: 'go-install', installMs: Date.now() - started };
}

/** The name `go install` gives a package's binary: its last path element, or the one before a `/vN` major version. */
export function builtName(module: string): string {
  const last = basename(module);
  return /^v\d+$/.test(last) ? basename(dirname(module)) : last;
}

/** The file that records which module and version a cache folder holds. */
const MARKER = 'go-install.json';

/** The cached binary's path when the cache holds the pinned version, else undefined. */
export async function cachedGoToolPath(tool: GoTool, cacheDir: string = DEFAULT_CACHE_DIR): Promise<string | undefined> {
  return installedBinary(tool, join(cacheDir, tool.binary));
}

async function installedBinary(tool: GoTool, dir: string): Promise<string | undefined> {
  const binary = join(dir, 'bin', exeName(tool.binary));
  if (!(await isExecutableFile(binary))) return undefined;
  try {
    const marker = JSON.parse(await readFile(join(dir, MARKER), 'utf8')) as { module?: string; version?: string };
    return marker.module === tool.module && marker.version === tool.version ? binary : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the pinned version with `go install` into `<cacheDir>/<binary>/bin` and returns the binary's path.
 * Go's own module and build caches (GOMODCACHE, GOCACHE) make a second build fast; the result is static
 * (CGO_ENABLED=0), so it does not depend on the machine's C libraries.
 */
export async function installGoTool(tool: GoTool, opts: GoToolOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  if (!opts.env) throw new ToolError('install-failed', `Installing ${tool.displayName} needs the environment go runs in (opts.env).`);
  const env = opts.env;
  const spec = `${tool.module}@${tool.version}`;
  log(`Building ${tool.displayName} ${tool.version} with \`go install ${spec}\` (a few minutes the first time)…`);
  const started = Date.now();
  await installIntoCache({
    cacheDir,
    folder: tool.binary,
    populate: async (dir) => {
      const args = ['install', '-trimpath'];
      if (tool.versionVariable) args.push(`-ldflags=-X=${tool.versionVariable}=${tool.version}`);
      args.push(spec);
      const result = await runCommand(opts.goCommand ?? 'go', args, { env: { ...env, GOBIN: join(dir, 'bin'), CGO_ENABLED: '0' } });
      if (!result.ok) {
        throw new ToolError(
          'install-failed',
          result.missing
            ? `Cannot build ${tool.displayName}: \`go\` is not installed (https://go.dev/doc/install), or set ${tool.envVar}.`
            : `\`go install ${spec}\` failed: ${result.detail}`,
        );
      }
      const built = builtName(tool.module);
      if (built !== tool.binary) await rename(join(dir, 'bin', exeName(built)), join(dir, 'bin', exeName(tool.binary)));
      await writeFile(join(dir, MARKER), `${JSON.stringify({ module: tool.module, version: tool.version })}\n`);
    },
    isInstalled: async (dir) => (await installedBinary(tool, dir)) !== undefined,
    onRaceLost: () => log(`Another process built ${tool.displayName} at the same time; using its copy.`),
  });
  const installed = await cachedGoToolPath(tool, cacheDir);
  if (!installed) throw new ToolError('install-failed', `go install ${spec} finished, but ${join(cacheDir, tool.binary)} does not hold it.`);
  log(`Built ${tool.displayName} at ${installed} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return installed;
}
