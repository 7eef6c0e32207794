#!/usr/bin/env node
// Builds the pinned Go-module tools (scripts/go-tool-versions.json: gitleaks, toxiproxy) into .tools/ with
// `go install`, unless the cache already holds them or GITLEAKS_PATH / TOXIPROXY_PATH points at a binary. The
// tests that need them do the same on first use; CI runs this beforehand so the build (minutes on a cold Go
// cache) is not inside a test's hook.
//
//   node scripts/install-go-tools.mjs    # CI and `npm run setup:tools`: fail loudly
//
// It reuses src/tools/go-tool.ts through tsx (as install-temporal.mjs does), so the cache layout, the version
// marker and the race-safe install exist once.
import { register } from 'tsx/esm/api';

register();
const { GITLEAKS, TOXIPROXY, resolveGoTool } = await import('../src/tools/go-tool.ts');

/** @param {string} msg */
const log = (msg) => console.log(`[install-go-tools] ${msg}`);
let failed = false;
for (const [tool, explicitPath] of [
  [GITLEAKS, process.env.GITLEAKS_PATH],
  [TOXIPROXY, process.env.TOXIPROXY_PATH],
]) {
  try {
    const resolved = await resolveGoTool(tool, { explicitPath, env: process.env, log });
    log(`${tool.displayName} ${tool.version}: ${resolved.path} (${resolved.source}${resolved.installMs ? `, ${(resolved.installMs / 1000).toFixed(1)} s` : ''})`);
  } catch (err) {
    failed = true;
    console.error(`[install-go-tools] error: ${tool.displayName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
process.exitCode = failed ? 1 : 0;
