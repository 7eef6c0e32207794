#!/usr/bin/env node
// Installs the pinned schemathesis (scripts/python-tool-versions.json) into .tools/schemathesis with pip, for
// test/openapi-schemathesis.test.ts. CI runs it before the tests; the test installs it itself when missing.
//
//   node scripts/install-schemathesis.mjs
//
// It reuses src/tools/schemathesis.ts through tsx (as install-temporal.mjs does), so the cache layout and the
// race-safe install exist once.
import { register } from 'tsx/esm/api';

register();
const { resolveSchemathesis, SCHEMATHESIS } = await import('../src/tools/schemathesis.ts');

/** @param {string} msg */
const log = (msg) => console.log(`[install-schemathesis] ${msg}`);

try {
  const resolved = await resolveSchemathesis({ log });
  log(`${SCHEMATHESIS.displayName} ${SCHEMATHESIS.version}: ${resolved.env.PYTHONPATH} (${resolved.source})`);
} catch (err) {
  console.error(`[install-schemathesis] error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
