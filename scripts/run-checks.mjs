#!/usr/bin/env node
// Runs the package scripts named on the command line side by side and fails when any fails: `npm test`'s static
// checks (types, lint, the lock), which each keep about one core busy for a few seconds and need nothing of
// one another. Each one's output is printed whole once it ends, under its name, so the outputs never interleave.
//   node scripts/run-checks.mjs typecheck lint lint:lockfile
import { spawn } from 'node:child_process';

const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: node scripts/run-checks.mjs <package script>...');
  process.exit(2);
}

// The npm that runs us (npm sets npm_execpath for its scripts), else the one on PATH.
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];

/** Runs one package script; resolves with its exit code and everything it printed. */
function run(name) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(npm[0], [...npm.slice(1), 'run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (err) => resolve({ name, code: 1, output: `${output}${err.message}\n`, ms: Date.now() - started }));
    child.on('close', (code, signal) => resolve({ name, code: code ?? 1, output: signal ? `${output}killed by ${signal}\n` : output, ms: Date.now() - started }));
  });
}

const results = await Promise.all(
  names.map(async (name) => {
    const result = await run(name);
    const verdict = result.code === 0 ? 'passed' : `FAILED (exit ${result.code})`;
    process.stdout.write(`\n> ${name}: ${verdict} in ${(result.ms / 1000).toFixed(1)} s\n${result.output}`);
    return result;
  }),
);
const failed = results.filter((result) => result.code !== 0).map((result) => result.name);
if (failed.length > 0) {
  console.error(`\n${failed.join(', ')} failed.`);
  process.exit(1);
}
