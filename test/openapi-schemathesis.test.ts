import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signGitHubWebhook } from '../src/github/webhook-signature';
import { GITHUB_WEBHOOK_HEADERS } from '../src/github/webhook-events';
import { JULES_WEBHOOK_HEADERS } from '../src/http/jules-webhook.route';
import { OPENAPI_PATH, SECURITY_SCHEMES } from '../src/http/openapi';
import { signJulesWebhookRequest } from '../src/sandbox/jules-relay';
import { PROJECT_ROOT, runCommand } from '../src/tools/tool-cache';
import { resolveSchemathesis, type SchemathesisCommand } from '../src/tools/schemathesis';
import { CODEC, GITHUB, startTestStack, type TestStack } from './helpers/stack';

/**
 * schemathesis (PyPI, scripts/python-tool-versions.json) against the live ingress on loopback, with every check,
 * driven by GET /openapi.json. Its hook (test/schemathesis/hooks.py) has this test sign each generated request,
 * so cases reach the handlers behind the signatures. The counts go to .data/reliability/schemathesis.json.
 */

const JULES_SECRET = 'schemathesis-jules-secret';
/** Examples per operation and phase: enough to find what the schemas let through, small enough for CI. */
const MAX_EXAMPLES = 20;
const REPORT_DIR = join(PROJECT_ROOT, '.data', 'reliability');

let stack: TestStack;
let signer: Server;
let schemathesis: SchemathesisCommand;

/**
 * The headers that authenticate `body` on `path`, as the stack's senders sign it, named as the document's
 * security schemes name them (schemathesis' ignored_auth check removes them by those names).
 */
function sign(path: string, body: Buffer): { auth: Record<string, string>; defaults?: Record<string, string> } {
  const raw = body.toString('utf8');
  const named = (headers: Record<string, string>) =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [schemeHeaderNames.get(name) ?? name, value]));
  switch (path) {
    case '/interactions': {
      const { 'content-type': _contentType, ...auth } = stack.signer.sign(raw).headers;
      return { auth: named(auth) };
    }
    case '/webhook/jules': {
      const { [JULES_WEBHOOK_HEADERS.delivery]: delivery = '', 'content-type': _contentType, ...auth } = signJulesWebhookRequest(JULES_SECRET, raw).headers;
      return { auth: named(auth), defaults: { [JULES_WEBHOOK_HEADERS.delivery]: delivery } };
    }
    case '/webhook/github':
      return { auth: named({ [GITHUB_WEBHOOK_HEADERS.signature]: signGitHubWebhook(GITHUB.webhookSecret, body) }) };
    default:
      return { auth: { Authorization: `Bearer ${CODEC.token}` } };
  }
}

/** Lowercase header name → the spelling of the security scheme that names it. */
const schemeHeaderNames = new Map(
  Object.values(SECURITY_SCHEMES).flatMap((scheme) => ('name' in scheme ? [[scheme.name.toLowerCase(), scheme.name] as const] : [])),
);

beforeAll(async () => {
  [schemathesis, stack] = await Promise.all([
    resolveSchemathesis({ log: (msg) => console.log(`[schemathesis] ${msg}`) }),
    // github: true makes the stack listen on loopback; the worker stays out (nothing here needs a task run).
    startTestStack({ worker: false, github: true, julesWebhookSecret: JULES_SECRET }),
  ]);
  signer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { path, body } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { path: string; body: string };
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(sign(path, Buffer.from(body, 'base64'))));
    });
  });
  await new Promise<void>((resolve) => signer.listen(0, '127.0.0.1', resolve));
}, 300_000);

afterAll(async () => {
  await new Promise((resolve) => signer?.close(resolve));
  await stack?.stop();
});

it('finds no failure in any route with every check on', async () => {
  const { port } = stack.app.server.address() as AddressInfo;
  const { port: signerPort } = signer.address() as AddressInfo;
  await mkdir(REPORT_DIR, { recursive: true });
  const jsonReport = join(REPORT_DIR, 'schemathesis-run.json');
  const args = [
    ...schemathesis.args,
    'run',
    `http://127.0.0.1:${port}${OPENAPI_PATH}`,
    '--checks',
    'all',
    '--max-examples',
    String(MAX_EXAMPLES),
    '--workers',
    '1',
    // NUL characters are refused everywhere by the parser (bad-bodies.test.ts), a rule OpenAPI 3.0 cannot state
    // for properties a schema does not name; generating them would only rediscover that 400.
    '--generation-allow-x00',
    'false',
    // Each run starts fresh and leaves no example database behind.
    '--generation-database',
    ':memory:',
    '--no-color',
    '--report',
    'json',
    '--report-json-path',
    jsonReport,
  ];
  const result = await runCommand(schemathesis.file, args, {
    // Anything schemathesis or Hypothesis writes where it runs stays in the git-ignored report folder.
    cwd: REPORT_DIR,
    env: {
      ...process.env,
      PYTHONPATH: [schemathesis.env.PYTHONPATH, join(PROJECT_ROOT, 'test', 'schemathesis')].join(':'),
      SCHEMATHESIS_HOOKS: 'hooks',
      PYTHONDONTWRITEBYTECODE: '1',
      JO_SIGNER_URL: `http://127.0.0.1:${signerPort}/sign`,
    },
    timeoutMs: 480_000,
  });
  if (result.exitCode !== 0) console.log(result.stdout.slice(-8000), result.stderr.slice(-2000));
  const run = JSON.parse(await readFile(jsonReport, 'utf8')) as SchemathesisRunReport;
  const summary = {
    schemathesis: run.schemathesis_version,
    // As written, not as a double: the seed replays the run (`--seed`).
    seed: /"seed":\s*(\d+)/.exec(await readFile(jsonReport, 'utf8'))?.[1],
    maxExamples: MAX_EXAMPLES,
    operations: run.operations.tested,
    cases: run.test_cases.generated,
    failures: run.test_cases.unique_failures,
    errors: run.errors.length,
    failed: run.failures.map((f) => ({ code: f.code, title: f.title, operations: f.operations })),
    warnings: Object.fromEntries(Object.entries(run.warnings).filter(([, operations]) => operations.length > 0)),
    seconds: Math.round(run.running_time),
  };
  await writeFile(join(REPORT_DIR, 'schemathesis.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary));

  expect(run.complete).toBe(true);
  // The stack's operations: /interactions, both webhooks, the codec's (with and without the token in the path, and
  // their OPTIONS), /healthz, /metrics and /openapi.json.
  expect(summary.operations).toBe(13);
  expect(summary.cases).toBeGreaterThan(100);
  expect(summary.failed).toEqual([]);
  expect(summary.errors).toBe(0);
  expect(result.exitCode ?? 0, result.detail).toBe(0);
}, 600_000);

/** The fields of schemathesis' `--report json` run report this test reads. */
interface SchemathesisRunReport {
  readonly schemathesis_version: string;
  readonly seed: number | string;
  readonly running_time: number;
  readonly complete: boolean;
  readonly operations: { readonly tested: number };
  readonly test_cases: { readonly generated: number; readonly unique_failures: number };
  readonly failures: readonly { readonly code: string; readonly title: string; readonly operations: readonly string[] }[];
  readonly errors: readonly unknown[];
  readonly warnings: Readonly<Record<string, readonly string[]>>;
}
