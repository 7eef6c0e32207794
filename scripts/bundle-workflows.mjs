#!/usr/bin/env node
// Bundles the workflows into the cache that `start` and `worker` read (src/temporal/workflow-bundle.ts), so they
// come up without running webpack: the Dockerfile runs it when it builds the image. Safe to run at any time: the
// bundle is used only while every file it came from is unchanged, so a later edit makes `start` bundle again.
//   node scripts/bundle-workflows.mjs
import { loadTypeScript } from '../bin/typescript-loader.mjs';

await loadTypeScript();
const { DEFAULT_BUNDLE_CACHE_DIR, loadWorkflowBundle } = await import('../src/temporal/workflow-bundle.ts');
let kept = true;
const { cached } = await loadWorkflowBundle({
  log: (message) => {
    kept = false;
    console.error(message);
  },
});
if (!kept) process.exit(1);
console.log(cached ? `The workflow bundle in ${DEFAULT_BUNDLE_CACHE_DIR} is up to date.` : `Workflows bundled into ${DEFAULT_BUNDLE_CACHE_DIR}.`);
