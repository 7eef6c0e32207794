import { Writable } from 'node:stream';
import type { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import { SearchAttributeError } from '../src/temporal/errors';
import { ensureSearchAttributes, registerSearchAttributes } from '../src/temporal/search-attributes';

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
