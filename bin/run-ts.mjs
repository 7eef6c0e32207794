#!/usr/bin/env node
// Runs one TypeScript file (a benchmark or script) the way bin/jules-orchestrator.mjs runs the CLI:
// `node bin/run-ts.mjs bench/ack-latency.ts`.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { loadTypeScript } from './typescript-loader.mjs';

await loadTypeScript();
const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bin/run-ts.mjs FILE.ts [args…]');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(file), ...rest];
await import(pathToFileURL(resolve(file)).href);
