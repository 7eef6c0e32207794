import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtName, resolveGoTool, type GoTool } from '../src/tools/go-tool';

/**
 * How a Go-built tool is found or built into the tool cache, with a stand-in `go` that lays out GOBIN the way
 * `go install` does (the real build of gitleaks is exercised by test/secret-scan.test.ts and .ci/run).
 */

const TOOL: GoTool = {
  displayName: 'scanner',
  envVar: 'SCANNER_PATH',
  module: 'example.com/scanner/v2',
  version: 'v2.1.0',
  binary: 'scanner',
  versionVariable: 'example.com/scanner/v2/version.Version',
};

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'jo-go-tool-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function folder(name: string): Promise<string> {
  const dir = join(scratch, `${name}-${randomUUID().slice(0, 8)}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A stand-in for `go`: records its arguments and GOBIN, waits so that races overlap, writes the binary. */
async function fakeGo(options: { fail?: boolean } = {}): Promise<{ command: string; calls: string }> {
  const dir = await folder('fake-go');
  const calls = join(dir, 'calls.log');
  const command = join(dir, 'go');
  await writeFile(
    command,
    `#!${process.execPath}
const { appendFileSync, chmodSync, mkdirSync, writeFileSync } = require('node:fs');
appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ args: process.argv.slice(2), gobin: process.env.GOBIN, cgo: process.env.CGO_ENABLED }) + '\\n');
setTimeout(() => {
  if (${options.fail ? 'true' : 'false'}) { process.stderr.write('go: example.com/scanner/v2@v2.1.0: reading module: 410 Gone\\n'); process.exit(1); }
  mkdirSync(process.env.GOBIN, { recursive: true });
  writeFileSync(process.env.GOBIN + '/scanner', '#!/bin/sh\\nexit 0\\n');
  chmodSync(process.env.GOBIN + '/scanner', 0o755);
}, 300);
`,
  );
  await chmod(command, 0o755);
  return { command, calls };
}

async function callsOf(calls: string): Promise<{ args: string[]; gobin: string; cgo: string }[]> {
  return (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

describe('a Go-built tool', () => {
  it('is found under the name go install gives it, renamed when the pinned name differs', async () => {
    expect(builtName('github.com/zricethezav/gitleaks/v8')).toBe('gitleaks');
    expect(builtName('github.com/Shopify/toxiproxy/v2/cmd/server')).toBe('server');
    // The stand-in go builds `scanner` (its package's name); the pinned name is another.
    const go = await fakeGo();
    const cacheDir = await folder('cache');
    const renamed = await resolveGoTool({ ...TOOL, module: 'example.com/tools/scanner', binary: 'scanner-server' }, { cacheDir, goCommand: go.command, env: process.env });
    expect(renamed.path).toBe(join(cacheDir, 'scanner-server', 'bin', 'scanner-server'));
    expect(await readdir(join(cacheDir, 'scanner-server', 'bin'))).toEqual(['scanner-server']);
  });

  it('is built once into the cache, with its version linked in, when two processes ask at the same time', async () => {
    const go = await fakeGo();
    const cacheDir = await folder('cache');
    const opts = { cacheDir, goCommand: go.command, env: process.env };

    const [a, b] = await Promise.all([resolveGoTool(TOOL, opts), resolveGoTool(TOOL, opts)]);

    const expected = join(cacheDir, 'scanner', 'bin', 'scanner');
    expect([a.path, b.path]).toEqual([expected, expected]);
    expect([a.source, b.source]).toEqual(['go-install', 'go-install']);
    const [call] = await callsOf(go.calls);
    expect(call?.args).toEqual(['install', '-trimpath', '-ldflags=-X=example.com/scanner/v2/version.Version=v2.1.0', 'example.com/scanner/v2@v2.1.0']);
    expect(call?.cgo).toBe('0');
    // Each built into its own temp folder; only the final folder is left, and the next call uses it.
    expect(await readdir(cacheDir)).toEqual(['scanner']);
    expect(await resolveGoTool(TOOL, opts)).toEqual({ path: expected, source: 'cache', installMs: 0 });
  });

  it('is built again when the cache holds another version', async () => {
    const go = await fakeGo();
    const cacheDir = await folder('cache');
    await resolveGoTool({ ...TOOL, version: 'v2.0.0' }, { cacheDir, goCommand: go.command, env: process.env });

    const resolved = await resolveGoTool(TOOL, { cacheDir, goCommand: go.command, env: process.env });

    expect(resolved.source).toBe('go-install');
    expect((await callsOf(go.calls)).map((c) => c.args.at(-1))).toEqual(['example.com/scanner/v2@v2.0.0', 'example.com/scanner/v2@v2.1.0']);
    expect(JSON.parse(await readFile(join(cacheDir, 'scanner', 'go-install.json'), 'utf8'))).toEqual({ module: TOOL.module, version: 'v2.1.0' });
  });

  it('says what go said when the build fails, and leaves nothing half-built in the cache', async () => {
    const go = await fakeGo({ fail: true });
    const cacheDir = await folder('cache');

    const attempt = resolveGoTool(TOOL, { cacheDir, goCommand: go.command, env: process.env });

    await expect(attempt).rejects.toMatchObject({ name: 'ToolError', code: 'install-failed' });
    await expect(attempt).rejects.toThrow(/410 Gone/);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('uses an explicit path as given, refuses one that points at nothing, and says how to get it when building is off', async () => {
    const dir = await folder('own');
    const own = join(dir, 'scanner');
    await writeFile(own, '#!/bin/sh\nexit 0\n');
    await chmod(own, 0o755);
    const cacheDir = await folder('cache');

    expect(await resolveGoTool(TOOL, { explicitPath: own, cacheDir })).toEqual({ path: own, source: 'explicit', installMs: 0 });
    await expect(resolveGoTool(TOOL, { explicitPath: join(dir, 'nope'), cacheDir })).rejects.toThrow(/SCANNER_PATH is set to .*nope/);
    await expect(resolveGoTool(TOOL, { cacheDir, install: false })).rejects.toMatchObject({ code: 'not-found' });
  });
});
