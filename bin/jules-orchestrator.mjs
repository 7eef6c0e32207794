#!/usr/bin/env node
// Runs the TypeScript CLI directly (Node's type stripping, or tsx on a Node without it: see typescript-loader.mjs),
// so `npx jules-orchestrator …` works right after `npm ci` with no build step.
import { loadTypeScript } from './typescript-loader.mjs';

await loadTypeScript();
// The CLI owns SIGTERM and SIGINT before the rest of it loads: a signal during start-up is a clean stop, never
// Node's default (killed, no cleanup) nor the Temporal SDK's (worker stopped, process and ingress still up).
const { ownShutdownSignals } = await import('../src/lifecycle/shutdown-signals.ts');
const shutdown = ownShutdownSignals();
const { runCli } = await import('../src/cli.ts');
process.exitCode = await runCli(process.argv.slice(2), process.env, shutdown);
