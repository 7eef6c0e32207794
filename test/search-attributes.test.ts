import { Writable } from 'node:stream';
import type { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import { SEARCH_ATTRIBUTE_KEYS } from '../src/shared/search-attributes';
import { connectClient } from '../src/temporal/connection';
import { SearchAttributeError } from '../src/temporal/errors';
import { checkSearchAttributes, ensureSearchAttributes, missingSearchAttributes, registerSearchAttributes } from '../src/temporal/search-attributes';
import { resolveTemporalCli } from '../src/temporal/toolchain';

/** An OperatorService that refuses every call as a server does for credentials without admin rights. */
function refusingConnection(): Connection {
  const denied = () => Promise.reject(Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 }));
  return { operatorService: { listSearchAttributes: denied, addSearchAttributes: denied } } as unknown as Connection;
}

function capturedLog(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger('debug', new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
  return { log, lines };
}

describe('registering search attributes on a server the service did not start', () => {
  it('names the refusal when the credentials may not use the OperatorService', async () => {
    const attempt = ensureSearchAttributes(refusingConnection(), 'jules.a1b2c');

    await expect(attempt).rejects.toBeInstanceOf(SearchAttributeError);
    await expect(attempt).rejects.toMatchObject({ code: 'permission-denied', message: expect.stringMatching(/tcld/) });
  });

  it('warns and starts anyway when permission is denied', async () => {
    const { log, lines } = capturedLog();

    const added = await registerSearchAttributes(refusingConnection(), 'jules.a1b2c', log);

    expect(added).toEqual([]);
    const warning = lines.map((line) => JSON.parse(line) as { level: number; msg: string }).find((line) => line.level === 40);
    expect(warning?.msg).toMatch(/permission denied.*Starting anyway/);
  });

  it('still fails on any other refusal', async () => {
    const { log } = capturedLog();
    const unavailable = { operatorService: { listSearchAttributes: () => Promise.reject(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })) } } as unknown as Connection;

    await expect(registerSearchAttributes(unavailable, 'default', log)).rejects.toThrow(/UNAVAILABLE/);
  });
});

describe('the custom search attributes of a real server started without them', () => {
  const names = SEARCH_ATTRIBUTE_KEYS.map((key) => key.name);
  let env: TestWorkflowEnvironment;
  let connection: Connection;

  beforeAll(async () => {
    const cli = await resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, pathEnv: process.env.PATH });
    // A bare dev server, as a cluster an operator set up: none of ours registered.
    env = await TestWorkflowEnvironment.createLocal({ server: { executable: cli.executable, namespace: 'jules', log: { format: 'pretty', level: 'error' } } });
    connection = await connectClient({ address: env.address, namespace: 'jules' });
  }, 120_000);
  afterAll(async () => {
    await connection?.close();
    await env?.teardown();
  });

  it('are checked without being added, and the missing ones named with the commands that create them', async () => {
    const { log, lines } = capturedLog();

    expect(await checkSearchAttributes(connection, 'jules', log)).toEqual(names);

    const error = lines.map((line) => JSON.parse(line) as { level: number; msg: string; missing?: string[] }).find((line) => line.level === 50);
    expect(error?.missing).toEqual(names);
    expect(error?.msg).toContain('temporal operator search-attribute create --name JulesGuildId --type Keyword');
    expect(error?.msg).toContain('tcld');
    expect((await missingSearchAttributes(connection, 'jules')).map((key) => key.name)).toEqual(names);
  });

  it('are added when registering is asked for, once, and then found by the check', async () => {
    const { log, lines } = capturedLog();

    expect(await ensureSearchAttributes(connection, 'jules')).toEqual(names);
    expect(await ensureSearchAttributes(connection, 'jules')).toEqual([]);

    expect(await checkSearchAttributes(connection, 'jules', log)).toEqual([]);
    expect(lines).toEqual([]);
  });
});
