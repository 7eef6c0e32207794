import { join } from 'node:path';
import versions from '../../scripts/python-tool-versions.json' with { type: 'json' };
import { DEFAULT_PIP_COMMANDS, runPip } from '../temporal/toolchain';
import { ToolError } from './errors';
import { DEFAULT_CACHE_DIR, installIntoCache, pathExists } from './tool-cache';

/**
 * schemathesis, the property-based API tester run against the live ingress and its OpenAPI document
 * (test/openapi-schemathesis.test.ts), pinned in scripts/python-tool-versions.json and installed from PyPI
 * with `pip install --target` into `.tools/schemathesis`, like the Temporal CLI. A `--target` folder (not a
 * venv) because a venv's scripts name their own path and would break when the temp folder is renamed into place.
 * @see https://schemathesis.readthedocs.io/en/stable/
 */
export const SCHEMATHESIS = { displayName: 'schemathesis', ...versions.schemathesis } as const;

/** How to run the installed schemathesis: `python3 -m schemathesis.cli` with the install on PYTHONPATH. */
export interface SchemathesisCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** Add to the environment the command runs in. */
  readonly env: { readonly PYTHONPATH: string };
  readonly source: 'cache' | 'pip';
}

/** Options of {@link resolveSchemathesis}. */
export interface SchemathesisOptions {
  /** Tool cache directory; defaults to `<projectRoot>/.tools`. */
  readonly cacheDir?: string;
  /** pip-install the pinned version when the cache lacks it (default true). */
  readonly install?: boolean;
  readonly log?: (msg: string) => void;
}

/** The Python that runs schemathesis; the same one whose pip installs it (`python3 -m pip` is tried first). */
const PYTHON = 'python3';

/** The cached install when it holds the pinned version (pip's `*.dist-info` tells), else a pip install into the cache. */
export async function resolveSchemathesis(opts: SchemathesisOptions = {}): Promise<SchemathesisCommand> {
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  const folder = join(cacheDir, SCHEMATHESIS.pipPackage);
  if (await isInstalled(folder)) return commandFor(folder, 'cache');
  if (opts.install === false) {
    throw new ToolError('not-found', `No ${SCHEMATHESIS.displayName} ${SCHEMATHESIS.version} in ${cacheDir}: run \`npm run setup:schemathesis\` (needs python3 with pip and PyPI).`);
  }
  const log = opts.log ?? (() => {});
  const spec = `${SCHEMATHESIS.pipPackage}==${SCHEMATHESIS.version}`;
  log(`Installing ${spec} from PyPI into ${folder}…`);
  const started = Date.now();
  try {
    await installIntoCache({
      cacheDir,
      folder: SCHEMATHESIS.pipPackage,
      populate: (dir) => runPip(DEFAULT_PIP_COMMANDS, ['install', '--target', dir, '--no-input', '--disable-pip-version-check', '--quiet', spec]),
      isInstalled,
      onRaceLost: () => log(`Another process installed ${SCHEMATHESIS.displayName} at the same time; using its copy.`),
    });
  } catch (err) {
    throw new ToolError('install-failed', `Could not install ${spec} with pip: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!(await isInstalled(folder))) throw new ToolError('install-failed', `pip installed ${spec}, but ${folder} does not hold it.`);
  log(`Installed ${spec} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return commandFor(folder, 'pip');
}

async function isInstalled(dir: string): Promise<boolean> {
  return pathExists(join(dir, `${SCHEMATHESIS.pipPackage}-${SCHEMATHESIS.version}.dist-info`));
}

function commandFor(dir: string, source: SchemathesisCommand['source']): SchemathesisCommand {
  return { file: PYTHON, args: ['-m', 'schemathesis.cli'], env: { PYTHONPATH: dir }, source };
}
