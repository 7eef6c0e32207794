import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GITLEAKS, resolveGoTool } from '../src/tools/go-tool';
import { describeFinding, runGitleaks, type GitleaksFinding } from '../src/tools/gitleaks';
import { PROJECT_ROOT } from '../src/tools/tool-cache';
import { eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

/**
 * gitleaks (built from its Go module into .tools/ on first use) over the repository's history and over a real
 * task's logs, with the project's .gitleaks.toml. gitleaks only reports strings random enough to be secrets,
 * so every canary here is fresh randomness in the exact shape of the real thing; a fixed fake would prove
 * nothing about what the scan catches.
 */

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomFrom(alphabet: string, length: number): string {
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** A GitHub classic personal access token: `ghp_` and 36 letters and digits. */
function githubTokenCanary(): string {
  return `ghp_${randomFrom(ALNUM, 36)}`;
}

/** A Google API key, the shape of a Jules key: `AIza` and 35 of `[A-Za-z0-9_-]`. */
function julesKeyCanary(): string {
  return `AIza${randomBytes(27).toString('base64url').slice(0, 35)}`;
}

/** A Discord bot token: base64 of the bot's user id (a snowflake), a 6-character timestamp, an HMAC. */
function discordTokenCanary(): string {
  const botId = `1${randomFrom('0123456789', 18)}`;
  return `${Buffer.from(botId).toString('base64url')}.${randomBytes(6).toString('base64url').slice(0, 6)}.${randomBytes(30).toString('base64url').slice(0, 38)}`;
}

let gitleaks: string;
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'jo-secret-scan-'));
  const resolved = await resolveGoTool(GITLEAKS, {
    explicitPath: process.env.GITLEAKS_PATH,
    env: process.env,
    log: (msg) => console.log(`[gitleaks] ${msg}`),
  });
  gitleaks = resolved.path;
}, 900_000);
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** A fresh folder under the scratch dir. */
async function folder(name: string): Promise<string> {
  const dir = join(scratch, `${name}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The findings whose secret is `secret`. */
const findingsOf = (findings: readonly GitleaksFinding[], secret: string) => findings.filter((f) => f.secret === secret);

describe('the repository', () => {
  it('holds no secret anywhere in its history, beyond the allow-listed test fixtures', async () => {
    const report = await runGitleaks(gitleaks, { kind: 'git', repo: PROJECT_ROOT });

    console.log(`[secret-scan] gitleaks git: ${report.commits} commits, ${report.bytes} bytes, ${report.findings.length} findings`);
    expect(report.commits).toBeGreaterThan(0);
    expect(report.findings.map(describeFinding)).toEqual([]);
  });

  it('allow-lists a fixture by its value, so a real-shaped key committed beside it is still found', async () => {
    const repo = await folder('repo');
    const leaked = julesKeyCanary();
    await mkdir(join(repo, 'test'));
    // The allow-listed fixture and a fresh key, in the very file the fixture is allowed in.
    await writeFile(join(repo, 'test', 'jules-client.test.ts'), `const KEY = 'AIzaSy-test-key-0123456789';\nconst REAL = '${leaked}';\n`);
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: repo, stdio: 'pipe' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'a fixture and a leak');

    const { findings } = await runGitleaks(gitleaks, { kind: 'git', repo });

    expect(findingsOf(findings, leaked).map((f) => f.ruleId)).toContain('gcp-api-key');
    expect(findings.filter((f) => f.secret !== leaked).map(describeFinding)).toEqual([]);
  });
});

describe('random canaries', () => {
  it('shaped like a GitHub token, a Discord bot token and a Jules key are each caught, bare or in config and logs', async () => {
    const canary = { github: githubTokenCanary(), discord: discordTokenCanary(), jules: julesKeyCanary() };
    const dir = await folder('canaries');
    await writeFile(join(dir, 'bare.txt'), `${canary.github}\n${canary.discord}\n${canary.jules}\n`);
    await writeFile(join(dir, 'service.env'), `GITHUB_TOKEN=${canary.github}\nDISCORD_TOKEN=${canary.discord}\nJULES_API_KEY=${canary.jules}\n`);
    await writeFile(
      join(dir, 'worker.log'),
      [
        { level: 30, msg: 'GitHub client ready', auth: `token ${canary.github}` },
        { level: 40, msg: 'Discord REST retry', request: { headers: { Authorization: `Bot ${canary.discord}` } } },
        { level: 50, msg: 'Jules request failed', err: { message: `401 for ${canary.jules}` } },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );

    const { findings } = await runGitleaks(gitleaks, { kind: 'dir', path: dir });

    const rules = (secret: string, file: string) => findingsOf(findings, secret).filter((f) => f.file.endsWith(file)).map((f) => f.ruleId);
    // On a line of its own, each is known by its shape: GitHub's and Google's by gitleaks' rules, Discord's by ours.
    expect(rules(canary.github, 'bare.txt')).toContain('github-pat');
    expect(rules(canary.jules, 'bare.txt')).toContain('gcp-api-key');
    expect(rules(canary.discord, 'bare.txt')).toContain('discord-bot-token');
    for (const secret of Object.values(canary)) {
      expect(rules(secret, 'service.env'), 'in the env file').not.toEqual([]);
      expect(rules(secret, 'worker.log'), 'in the log').not.toEqual([]);
    }
  });
});

describe('a real task’s logs', () => {
  it('show none of its keys and tokens, and gitleaks finds each one a log line leaks', async () => {
    const canary = { julesKey: julesKeyCanary(), refusedKey: julesKeyCanary(), githubToken: githubTokenCanary(), discordToken: discordTokenCanary() };
    stack = await startTestStack({ github: true, keys: { guild: canary.julesKey }, githubToken: canary.githubToken, discord: { token: canary.discordToken } });
    const s = stack;

    // A task through to its PR, which the worker then looks up on GitHub with the token.
    const done = await s.ask(MEMBERS.lead, { prompt: 'Add a health check' });
    expect((await s.outcome(done.taskId)).status).toBe('completed');
    await eventually(async () => (await s.store.getTask(done.taskId))?.prNumber ?? undefined, 'the PR follow-through’s first look');
    // A task on a personal key Jules refuses: the error path, where a key is likeliest to be logged.
    await s.store.setUserKey(GUILD.lead, s.secrets.encrypt(canary.refusedKey));
    const refused = await s.ask(MEMBERS.lead, { prompt: 'Add a health check with my own key' });
    const outcome = await s.outcome(refused.taskId);
    expect(outcome).toMatchObject({ status: 'failed', reason: expect.stringMatching(/rejected the API key/i) });

    const logs = s.logs.join('');
    expect(s.logs.length).toBeGreaterThan(20);
    const dir = await folder('stack-logs');
    await writeFile(join(dir, 'stack.log'), logs);
    const clean = await runGitleaks(gitleaks, { kind: 'dir', path: dir });
    expect(clean.findings.map(describeFinding)).toEqual([]);
    for (const [name, secret] of Object.entries(canary)) expect(logs.includes(secret), `the logs contain the ${name}`).toBe(false);

    // The same logs with one careless line per secret: the scan that passed above would have caught them.
    const careless = [
      { level: 50, msg: 'Jules refused the session', err: { message: `401 UNAUTHENTICATED for ${canary.refusedKey}` } },
      { level: 20, msg: 'starting a Jules session', session: { title: 'jo-task', credential: canary.julesKey } },
      { level: 30, msg: 'GitHub client ready', auth: `token ${canary.githubToken}` },
      { level: 40, msg: 'Discord REST retry', request: { headers: { Authorization: `Bot ${canary.discordToken}` } } },
    ];
    await writeFile(join(dir, 'stack.log'), `${logs}${careless.map((line) => JSON.stringify(line)).join('\n')}\n`);
    const leaked = await runGitleaks(gitleaks, { kind: 'dir', path: dir });
    for (const [name, secret] of Object.entries(canary)) expect(findingsOf(leaked.findings, secret), `the leaked ${name}`).not.toEqual([]);
    expect(leaked.findings.filter((f) => !Object.values(canary).includes(f.secret)).map(describeFinding)).toEqual([]);
  });
});
