#!/usr/bin/env node
// Lints package-lock.json (or the lockfile given): packages from the npm registry only, over HTTPS, under their
// own names, each with a sha512 integrity. `npm test` runs it before vitest; the policy lives in
// src/tools/lockfile-lint.ts, and test/lockfile-lint.test.ts shows it catching planted entries.
//
//   node scripts/lint-lockfile.mjs [path/to/package-lock.json]
import { register } from 'tsx/esm/api';

register();
const { lintLockfile } = await import('../src/tools/lockfile-lint.ts');

const path = process.argv[2] ?? 'package-lock.json';
const report = await lintLockfile(path);
for (const issue of report.issues) console.error(`[lint-lockfile] ${issue}`);
console.log(`[lint-lockfile] ${path}: ${report.packages} packages, ${report.issues.length} issues`);
process.exitCode = report.issues.length === 0 ? 0 : 1;
