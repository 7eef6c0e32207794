import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createSecretBox } from '../src/crypto/secret-box';
import { cronProblem, ianaTimeZone } from '../src/cli/schedule.commands';
import { planScheduleId } from '../src/shared/plan-schedule';
import { openStore } from '../src/store/open-store';
import { connectClient } from '../src/temporal/connection';
import { removePlanSchedule } from '../src/temporal/plan-schedule';
import { runCliProcess as runCli, type CliRun } from './helpers/cli-process';
import { copyMigratedStore } from './helpers/migrated-store';

/**
 * The `jules-orchestrator` command as an operator runs it: a real child process through bin/, a fresh DATA_DIR
 * each time (empty, or with the migrated database copied in), and an environment holding nothing but what a shell
 * would give it.
 */

const ROOT = resolve(import.meta.dirname, '..');
/** Commands that open the embedded database take a few seconds each (PGlite start and migrations). */
const STORE_TEST_TIMEOUT_MS = 120_000;

const guildId = '1200000000000000002';
const userId = '1400000000000000004';
const roleA = '1500000000000000005';
const roleB = '1500000000000000006';
const roleC = '1500000000000000007';
/** Looks like a Jules API key; the tests check it never comes back out in clear. */
const julesKey = 'fake-jules-test-KEY-0123456789abcdefGHIJ';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jo-cli-'));
  dirs.push(dir);
  return dir;
}

/**
 * A fresh DATA_DIR holding a copy of the migrated embedded database, for tests of what a command writes: the
 * CLI still opens and checks it, but no test waits for PGlite's initdb and every migration again (`migrate` on an
 * empty DATA_DIR has its own test).
 */
function migratedDataDir(): string {
  const dir = freshDataDir();
  copyMigratedStore(dir);
  return dir;
}

/** Opens the embedded store the CLI wrote, runs `use`, and closes it (the CLI must not be running). */
async function withStore<T>(dataDir: string, use: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir: join(dataDir) });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

function localSecretBox(dataDir: string) {
  return createSecretBox(readFileSync(join(dataDir, 'secrets.key'), 'utf8').trim());
}

describe('jules-orchestrator migrate', { timeout: STORE_TEST_TIMEOUT_MS }, () => {
  it('applies the migration on a fresh data directory, and a second run says it is up to date', async () => {
    const dataDir = freshDataDir();
    const first = await runCli(['migrate'], { dataDir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const files = readdirSync(join(ROOT, 'supabase', 'migrations')).filter((f) => f.endsWith('.sql'));
    expect(first.stdout).toBe(`Applied ${files.length} migration(s): ${files.map((f) => f.split('_')[0]).join(', ')}\n`);
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true);

    const second = await runCli(['migrate'], { dataDir });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('The database is up to date.\n');
  });
});

describe('jules-orchestrator guild set', { timeout: STORE_TEST_TIMEOUT_MS }, () => {
  it('saves the guild’s roles and default repository and prints the resulting config', async () => {
    const dataDir = migratedDataDir();
    const run = await runCli(
      ['guild', 'set', '--guild-id', guildId, '--create-roles', `${roleA},${roleB}`, '--confirm-roles', roleC, '--default-repo', 'acme/widgets'],
      { dataDir },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Guild ${guildId}`);
    expect(run.stdout).toContain(`create roles ${roleA}, ${roleB}`);
    expect(run.stdout).toContain(`confirm roles ${roleC}`);
    expect(run.stdout).toContain('default repo acme/widgets');
    expect(run.stdout).toContain('default key not set');
    expect(run.stdout).toContain('merge method squash');

    const guild = await withStore(dataDir, (store) => store.getGuild(guildId));
    expect(guild).toMatchObject({ guildId, createRoles: [roleA, roleB], confirmRoles: [roleC], defaultRepo: 'acme/widgets', defaultBranch: null, hasDefaultKey: false, mergeMethod: 'squash' });

    // The merge method is kept when a later `guild set` does not name it.
    await runCli(['guild', 'set', '--guild-id', guildId, '--create-roles', roleA, '--confirm-roles', roleC, '--merge-method', 'rebase'], { dataDir });
    await runCli(['guild', 'set', '--guild-id', guildId, '--create-roles', roleA, '--confirm-roles', roleC], { dataDir });
    expect((await withStore(dataDir, (store) => store.getGuild(guildId)))?.mergeMethod).toBe('rebase');
  });

  it('refuses bad ids, a bad repository and missing flags with exit code 2, storing nothing', async () => {
    const dataDir = freshDataDir();
    const good = { '--guild-id': guildId, '--create-roles': roleA, '--confirm-roles': roleC } as Record<string, string>;
    const argsWith = (overrides: Record<string, string | undefined>) =>
      Object.entries({ ...good, ...overrides }).flatMap(([flag, value]) => (value === undefined ? [] : [flag, value]));
    const cases: { args: string[]; says: RegExp }[] = [
      { args: argsWith({ '--guild-id': 'my-server' }), says: /--guild-id must be a Discord id/ },
      { args: argsWith({ '--create-roles': `${roleA},admins` }), says: /--create-roles: "admins" is not a Discord role id/ },
      { args: argsWith({ '--confirm-roles': 'c' }), says: /--confirm-roles: "c" is not a Discord role id/ },
      { args: argsWith({ '--default-repo': 'https://github.com/acme/widgets' }), says: /--default-repo must be owner\/name/ },
      { args: argsWith({ '--guild-id': undefined }), says: /--guild-id is required/ },
      { args: argsWith({ '--confirm-roles': undefined }), says: /--confirm-roles is required/ },
      { args: [...argsWith({}), '--default-rep', 'acme/widgets'], says: /Unknown option '--default-rep'/ },
      { args: [...argsWith({}), '--merge-method', 'fast-forward'], says: /--merge-method must be squash, merge or rebase/ },
      { args: argsWith({ '--default-branch': 'my feature' }), says: /--default-branch must be a git branch name/ },
      { args: argsWith({ '--default-branch': 'topic..main' }), says: /--default-branch must be a git branch name/ },
      { args: argsWith({ '--default-branch': 'release.lock' }), says: /--default-branch must be a git branch name/ },
      { args: [...argsWith({}), 'extra'], says: /Unexpected argument 'extra'/ },
    ];
    for (const { args, says } of cases) {
      const run = await runCli(['guild', 'set', ...args], { dataDir });
      const label = args.join(' ');
      expect(run.code, label).toBe(2);
      expect(run.stderr, label).toMatch(says);
      expect(run.stderr, label).toContain('Usage: jules-orchestrator');
      expect(run.stdout, label).toBe('');
    }
    // Nothing was opened, nothing was written.
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('jules-orchestrator guild set: the daily plan’s settings', { timeout: STORE_TEST_TIMEOUT_MS }, () => {
  const roles = ['--guild-id', guildId, '--create-roles', roleA, '--confirm-roles', roleC];

  it('shows the plan defaults, saves the settings given, and keeps them when a later `guild set` leaves them out', async () => {
    const dataDir = migratedDataDir();
    const first = await runCli(['guild', 'set', ...roles], { dataDir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('plan label "ready", in-progress label "jules-in-progress", at most 10 issues a plan; two-person rule off; auto-ship off; fix failing checks off (at most 2 attempts); default key not set.');

    const set = await runCli(
      [
        'guild', 'set', ...roles,
        '--plan-label', 'jules ready', '--in-progress-label', 'jules: working', '--plan-max-items', '25',
        '--two-person-rule', 'on', '--auto-ship', 'on', '--fix-failing-checks', 'on', '--max-fix-attempts', '0',
      ],
      { dataDir },
    );
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('plan label "jules ready", in-progress label "jules: working", at most 25 issues a plan; two-person rule on; auto-ship on; fix failing checks on (at most 0 attempts)');

    const later = await runCli(['guild', 'set', ...roles, '--auto-ship', 'off'], { dataDir });
    expect(later.code).toBe(0);
    expect(await withStore(dataDir, (store) => store.getGuild(guildId))).toMatchObject({
      planLabel: 'jules ready',
      inProgressLabel: 'jules: working',
      planMaxItems: 25,
      twoPersonRule: true,
      autoShip: false,
      fixFailingChecks: true,
      maxFixAttempts: 0,
    });
  });

  it('refuses plan settings out of range or not on|off with exit code 2, storing nothing', async () => {
    const dataDir = freshDataDir();
    const cases: { args: string[]; says: RegExp }[] = [
      { args: ['--plan-max-items', '0'], says: /--plan-max-items must be a whole number from 1 to 50; got "0"/ },
      { args: ['--plan-max-items', '51'], says: /--plan-max-items must be a whole number from 1 to 50; got "51"/ },
      { args: ['--plan-max-items', 'ten'], says: /--plan-max-items must be a whole number from 1 to 50/ },
      { args: ['--max-fix-attempts', '11'], says: /--max-fix-attempts must be a whole number from 0 to 10; got "11"/ },
      { args: ['--max-fix-attempts=-1'], says: /--max-fix-attempts must be a whole number from 0 to 10; got "-1"/ },
      { args: ['--two-person-rule', 'yes'], says: /--two-person-rule must be on or off; got "yes"/ },
      { args: ['--auto-ship', 'true'], says: /--auto-ship must be on or off/ },
      { args: ['--fix-failing-checks', 'ON'], says: /--fix-failing-checks must be on or off/ },
      { args: ['--plan-label', 'ready,now'], says: /--plan-label must be a GitHub label name: 1 to 50 characters, no comma/ },
      { args: ['--in-progress-label', '  '], says: /--in-progress-label must be a GitHub label name/ },
      { args: ['--plan-label', 'x'.repeat(51)], says: /--plan-label must be a GitHub label name/ },
      { args: ['--plan-label', 'Jules', '--in-progress-label', 'jules'], says: /--plan-label and --in-progress-label must differ/ },
    ];
    for (const { args, says } of cases) {
      const run = await runCli(['guild', 'set', ...roles, ...args], { dataDir });
      const label = args.join(' ');
      expect(run.code, label).toBe(2);
      expect(run.stderr, label).toMatch(says);
      expect(run.stdout, label).toBe('');
    }
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a plan label that is the guild’s in-progress label, changing nothing', async () => {
    const dataDir = migratedDataDir();
    const run = await runCli(['guild', 'set', ...roles, '--plan-label', 'Jules-In-Progress'], { dataDir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--plan-label must differ from the guild's in-progress label/);
    expect(run.stdout).toBe('');
    expect(await withStore(dataDir, (store) => store.getGuild(guildId))).toBeUndefined();
  });
});

describe('jules-orchestrator guild set-quotas', { timeout: STORE_TEST_TIMEOUT_MS }, () => {
  it('sets the quotas given, keeps the others, returns one to its default, and prints what is in force', async () => {
    const dataDir = migratedDataDir();
    const first = await runCli(['guild', 'set-quotas', '--guild-id', guildId, '--sessions-at-once', '15', '--sessions-per-day', '100'], { dataDir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`Guild ${guildId} quotas: 5 requests per member an hour; 50 requests a day; 15 Jules sessions at once and 100 a day per key.\n`);

    const second = await runCli(['guild', 'set-quotas', '--guild-id', guildId, '--requests-per-day', '200', '--sessions-per-day', 'default'], { dataDir });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('200 requests a day; 15 Jules sessions at once and 15 a day per key.');
    const quotas = await withStore(dataDir, (store) => store.getGuildQuotas(guildId));
    expect(quotas).toEqual({ userRequestsPerHour: 5, guildRequestsPerDay: 200, concurrentSessionsPerKey: 15, dailySessionsPerKey: 15, customised: true });
  });

  it('refuses a number that is not a whole number from 1, an unknown flag and an empty change, storing nothing', async () => {
    const dataDir = freshDataDir();
    const cases: { args: string[]; says: RegExp }[] = [
      { args: ['--guild-id', guildId, '--sessions-at-once', '0'], says: /--sessions-at-once must be a whole number from 1, or `default`; got "0"/ },
      { args: ['--guild-id', guildId, '--requests-per-day', '2.5'], says: /--requests-per-day must be a whole number/ },
      { args: ['--guild-id', guildId, '--requests-per-member-hour', 'lots'], says: /--requests-per-member-hour must be a whole number/ },
      { args: ['--guild-id', guildId], says: /needs at least one of --requests-per-member-hour/ },
      { args: ['--guild-id', 'my-server', '--sessions-at-once', '3'], says: /--guild-id must be a Discord id/ },
      { args: ['--guild-id', guildId, '--sessions', '3'], says: /Unknown option '--sessions'/ },
    ];
    for (const { args, says } of cases) {
      const run = await runCli(['guild', 'set-quotas', ...args], { dataDir });
      const label = args.join(' ');
      expect(run.code, label).toBe(2);
      expect(run.stderr, label).toMatch(says);
      expect(run.stdout, label).toBe('');
    }
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('commands and help', () => {
  it('answers an unknown command with exit code 2 and the usage', async () => {
    const dataDir = freshDataDir();
    const [unknown, unknownGuild, unknownUser] = await Promise.all([
      runCli(['deploy'], { dataDir }),
      runCli(['guild', 'delete', '--guild-id', guildId], { dataDir }),
      runCli(['user', 'set', '--discord-id', userId], { dataDir }),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "deploy"');
    expect(unknown.stderr).toContain('Usage: jules-orchestrator <command>');
    expect(unknownGuild.code).toBe(2);
    expect(unknownGuild.stderr).toContain('guild takes `set`, `set-key` or `set-quotas`');
    expect(unknownUser.code).toBe(2);
    expect(unknownUser.stderr).toContain('user takes `set-key`');
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses arguments a command does not take with exit code 2, instead of running without them', async () => {
    const dataDir = freshDataDir();
    const runs = await Promise.all([
      runCli(['start', '--port', '8080'], { dataDir }),
      runCli(['worker', 'now'], { dataDir }),
      runCli(['ingress', 'extra'], { dataDir }),
      runCli(['migrate', 'now'], { dataDir }),
      runCli(['demo', '--no-wiat'], { dataDir }),
      runCli(['demo', 'plan', 'twice'], { dataDir }),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Usage: jules-orchestrator <command>');
    }
    expect(runs[0]!.stderr).toContain('start takes no arguments (got 2)');
    expect(runs[0]!.stderr).not.toContain('8080');
    expect(runs[3]!.stderr).toContain('migrate takes no arguments');
    expect(runs[4]!.stderr).toContain("Unknown option '--no-wiat'");
    expect(runs[5]!.stderr).toContain('demo takes `plan` or nothing');
    // Nothing started: no store, no Temporal data.
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('prints the usage and exits 0 for --help, and exits 2 with the usage when no command is given', async () => {
    const dataDir = freshDataDir();
    const [help, none] = await Promise.all([runCli(['--help'], { dataDir }), runCli([], { dataDir })]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: jules-orchestrator <command>');
    for (const command of ['start', 'worker', 'ingress', 'demo', 'migrate', 'guild set', 'guild set-key', 'user set-key']) {
      expect(help.stdout).toContain(`  ${command} `);
    }
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('Usage: jules-orchestrator <command>');
  });

  it('stops with exit code 78 on a malformed environment, listing every problem', async () => {
    const dataDir = freshDataDir();
    const run = await runCli(['migrate'], { dataDir, extraEnv: { DISCORD_PUBLIC_KEY: 'xyz', TEMPORAL_UI_PORT: 'abc' } });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('The configuration is not valid');
    expect(run.stderr).toMatch(/^ {2}- DISCORD_PUBLIC_KEY .+$/m);
    expect(run.stderr).toMatch(/^ {2}- TEMPORAL_UI_PORT .+$/m);
    expect(run.stdout).toBe('');
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('setting Jules keys from standard input', { timeout: STORE_TEST_TIMEOUT_MS }, () => {
  it('saves a member’s personal key encrypted, printing only a masked form', async () => {
    const dataDir = migratedDataDir();
    const run = await runCli(['user', 'set-key', '--discord-id', userId], { dataDir, stdin: `${julesKey}\n` });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`personal Jules key of user ${userId}`);
    expect(run.stdout).toContain(`fake…(${julesKey.length} chars)`);
    expect(run.stdout).not.toContain(julesKey);
    expect(run.stderr).not.toContain(julesKey);

    const stored = await withStore(dataDir, (store) => store.getUserKey(userId));
    expect(stored).toBeDefined();
    expect(stored).not.toContain(julesKey);
    expect(stored).toMatch(/^v1:/);
    expect(localSecretBox(dataDir).decrypt(stored!)).toBe(julesKey);
  });

  it('saves a guild’s default key encrypted, printing only a masked form', async () => {
    const dataDir = migratedDataDir();
    const setKey = await runCli(['guild', 'set-key', '--guild-id', guildId], { dataDir, stdin: julesKey });
    expect(setKey.code).toBe(0);
    expect(setKey.stdout).toContain(`default Jules key of guild ${guildId}`);
    expect(setKey.stdout).toContain(`fake…(${julesKey.length} chars)`);
    expect(setKey.stdout + setKey.stderr).not.toContain(julesKey);

    const stored = await withStore(dataDir, (store) => store.getGuildKey(guildId));
    expect(stored).toBeDefined();
    expect(stored).not.toContain(julesKey);
    expect(localSecretBox(dataDir).decrypt(stored!)).toBe(julesKey);
    // The generated local key file is private to its owner.
    expect(statSync(join(dataDir, 'secrets.key')).mode & 0o077).toBe(0);
  });

  it('refuses an empty standard input with exit code 2 and stores nothing', async () => {
    const dataDir = freshDataDir();
    const [user, guild] = await Promise.all([
      runCli(['user', 'set-key', '--discord-id', userId], { dataDir, stdin: '' }),
      runCli(['guild', 'set-key', '--guild-id', guildId], { dataDir, stdin: '  \n' }),
    ]);
    for (const run of [user, guild]) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Not saved: no key was given on standard input');
      expect(run.stdout).toBe('');
    }
    // Neither the database nor the local encryption key was even created.
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a key with whitespace in it without repeating the key', async () => {
    const dataDir = freshDataDir();
    const run = await runCli(['user', 'set-key', '--discord-id', userId], { dataDir, stdin: `${julesKey} ${julesKey}` });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the key contains whitespace');
    expect(run.stderr).not.toContain(julesKey);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('does not accept the key as a command-line flag, and does not echo it', async () => {
    const dataDir = freshDataDir();
    const [separate, joined, positional] = await Promise.all([
      runCli(['user', 'set-key', '--discord-id', userId, '--key', julesKey], { dataDir, stdin: julesKey }),
      runCli(['guild', 'set-key', '--guild-id', guildId, `--api-key=${julesKey}`], { dataDir, stdin: julesKey }),
      runCli(['user', 'set-key', '--discord-id', userId, julesKey], { dataDir, stdin: julesKey }),
    ]);
    expect(positional.code).toBe(2);
    expect(positional.stderr).not.toContain(julesKey);
    expect(separate.code).toBe(2);
    expect(separate.stderr).toContain('never from arguments');
    expect(separate.stderr).not.toContain(julesKey);
    expect(joined.code).toBe(2);
    expect(joined.stderr).toContain('never from arguments');
    expect(joined.stderr).not.toContain(julesKey);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a malformed discord id before reading any key', async () => {
    const dataDir = freshDataDir();
    const run = await runCli(['user', 'set-key', '--discord-id', 'alice'], { dataDir, stdin: julesKey });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--discord-id must be a Discord id');
    expect(run.stderr).not.toContain(julesKey);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('jules-orchestrator schedule', { timeout: STORE_TEST_TIMEOUT_MS }, () => {
  const channelId = '1300000000000000003';
  const set = ['schedule', 'set', '--guild-id', guildId, '--repo', 'acme/widgets', '--channel', channelId, '--cron', '0 9 * * 1-5', '--timezone', 'Europe/Berlin'];
  const flagsWith = (overrides: Record<string, string | undefined>) => {
    const flags: Record<string, string | undefined> = { '--guild-id': guildId, '--repo': 'acme/widgets', '--channel': channelId, '--cron': '0 9 * * 1-5', '--timezone': 'Europe/Berlin', ...overrides };
    return ['schedule', 'set', ...Object.entries(flags).flatMap(([flag, value]) => (value === undefined ? [] : [flag, value]))];
  };

  it('refuses bad ids, repositories, crons, time zones and flags with exit code 2, before reaching Temporal', async () => {
    const dataDir = freshDataDir();
    const cases: { args: string[]; says: RegExp }[] = [
      { args: flagsWith({ '--guild-id': 'my-server' }), says: /--guild-id must be a Discord id/ },
      { args: flagsWith({ '--channel': undefined }), says: /--channel is required/ },
      { args: flagsWith({ '--repo': 'https://github.com/acme/widgets' }), says: /--repo must be owner\/name/ },
      { args: flagsWith({ '--cron': '61 9 * * *' }), says: /--cron the minute field "61" must be \*, or values from 0 to 59/ },
      { args: flagsWith({ '--timezone': 'Mars/Olympus' }), says: /--timezone must be an IANA time zone like Europe\/Berlin or UTC; got "Mars\/Olympus"/ },
      { args: flagsWith({ '--cron': undefined }), says: /--cron is required, e\.g\. --cron "0 9 \* \* 1-5"/ },
      { args: flagsWith({ '--timezone': undefined }), says: /--timezone is required: the IANA zone the cron is read in/ },
      { args: flagsWith({ '--label': 'ready,now' }), says: /--label must be a GitHub label name/ },
      { args: ['schedule', 'remove', '--guild-id', guildId], says: /--repo is required/ },
      { args: ['schedule', 'remove', '--id', planScheduleId(guildId, 'acme/widgets'), '--repo', 'acme/widgets'], says: /takes --id, or --guild-id with --repo, not both/ },
      { args: ['schedule', 'remove', '--id', 'my-nightly-backup'], says: /--id must be a plan schedule's id as `schedule list` shows it/ },
      { args: ['schedule', 'pause'], says: /schedule takes `set`, `list` or `remove`/ },
    ];
    // Nothing listens there: a command that got past its checks would fail with exit 1 instead. Four at a time.
    const runs: CliRun[] = [];
    for (let at = 0; at < cases.length; at += 4) {
      runs.push(...(await Promise.all(cases.slice(at, at + 4).map(({ args }) => runCli(args, { dataDir, extraEnv: { TEMPORAL_ADDRESS: '127.0.0.1:1' } })))));
    }
    for (const [index, run] of runs.entries()) {
      const { args, says } = cases[index]!;
      const label = args.join(' ');
      expect(run.code, label).toBe(2);
      expect(run.stderr, label).toMatch(says);
      expect(run.stderr, label).toContain('Usage: jules-orchestrator');
      expect(run.stdout, label).toBe('');
    }
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('checks every flag the way the commands do: crons Temporal accepts, IANA zones, and the flags that go together', () => {
    // The checks behind the exit code 2 above, as functions: what passes, and what each refusal says.
    for (const cron of ['0 9 * * 1-5', '30 8 * * mon-fri', '0 9 1,15 * *', '*/15 9-17 * * *', '5/15 * * jan,jul 0', '0 9 * * 7', '@daily', '@weekly']) {
      expect(cronProblem(cron), cron).toBeUndefined();
    }
    const refused: [string, RegExp][] = [
      ['0 9 * *', /must have five fields \(minute hour day-of-month month day-of-week\)/],
      ['0 0 9 * * 1-5 2027', /must have five fields/],
      ['0 24 * * *', /the hour field "24" must be \*, or values from 0 to 23/],
      ['0 9 * * 1-8', /the day-of-week field "1-8" must be \*, or values from 0 to 7 \(or names\)/],
      ['0 9 * * fri-mon', /the day-of-week field "fri-mon" has a range that ends before it starts/],
      ['0 9 L * *', /the day-of-month field "L"/],
      ['0 9 * 13 *', /the month field "13"/],
      ['*/0 9 * * *', /the minute field "\*\/0" has a step that is not a whole number from 1/],
      ['0 9 * * 1,', /the day-of-week field "1,"/],
      ['CRON_TZ=Europe/Berlin 0 9 * * *', /takes no time zone: give it with --timezone/],
      ['@every 1h', /knows the shorthands @hourly, @daily/],
    ];
    for (const [cron, says] of refused) expect(cronProblem(cron), cron).toMatch(says);

    expect(ianaTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    // Temporal's zone names are case-sensitive: the case comes from the zone database.
    expect(ianaTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(ianaTimeZone('UTC')).toBe('UTC');
    expect(ianaTimeZone('US/Pacific')).toBe('US/Pacific');
    for (const zone of ['Mars/Olympus', '+01:00', 'UTC+1', '', 'Europe/Berlin; rm -rf /']) expect(ianaTimeZone(zone), zone).toBeUndefined();
  });

  it('says where it looked for Temporal, and what to start, when nothing answers there', async () => {
    const dataDir = freshDataDir();
    const [configured, embedded] = await Promise.all([
      runCli(['schedule', 'list'], { dataDir, extraEnv: { TEMPORAL_ADDRESS: '127.0.0.1:1' } }),
      runCli(['schedule', 'remove', '--guild-id', guildId, '--repo', 'acme/widgets'], { dataDir, extraEnv: { TEMPORAL_PORT: '1' } }),
    ]);
    expect(configured.code).toBe(1);
    expect(configured.stderr).toMatch(/^Could not reach Temporal at 127\.0\.0\.1:1 \(.+\)\. Schedules live in Temporal: check TEMPORAL_ADDRESS/);
    expect(embedded.code).toBe(1);
    expect(embedded.stderr).toMatch(/Could not reach Temporal at 127\.0\.0\.1:1 .*start the service first \(`jules-orchestrator start` runs the embedded server there\), or set TEMPORAL_ADDRESS/);
    for (const run of [configured, embedded]) {
      expect(run.stdout).toBe('');
      expect(run.stderr).not.toContain('"level"');
    }
  });

  it('sets, updates, lists and removes a guild’s schedule on the Temporal server', async () => {
    const dataDir = freshDataDir();
    const extraEnv = { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: inject('temporalNamespace'), TEMPORAL_TASK_QUEUE: `cli-schedule-${Date.now()}` };
    const scheduleId = planScheduleId(guildId, 'acme/widgets');
    const cli = (args: string[]) => runCli(args, { dataDir, extraEnv });
    try {
      const created = await cli(set);
      expect(created.stderr).toBe('');
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(new RegExp(`^Created schedule ${scheduleId}: guild ${guildId}, repo acme/widgets, channel ${channelId}, cron "0 9 \\* \\* 1-5" in Europe/Berlin, active; next (Mon|Tue|Wed|Thu|Fri) \\d{4}-\\d\\d-\\d\\d 09:00, `));
      expect(created.stdout).toContain('waits for /approve');
      expect(created.stdout).toContain('run `schedule set` again after changing them');

      const updated = await cli(['schedule', 'set', '--guild-id', guildId, '--repo', 'acme/widgets', '--channel', channelId, '--cron', '30 7 * * *', '--timezone', 'europe/berlin', '--label', 'jules']);
      expect(updated.code).toBe(0);
      expect(updated.stdout).toMatch(new RegExp(`^Updated schedule ${scheduleId}: .*\\(label "jules"\\).*cron "30 7 \\* \\* \\*" in Europe/Berlin, active; next \\w{3} \\d{4}-\\d\\d-\\d\\d 07:30`));

      // Temporal lists schedules eventually: ask until it shows this one.
      let listed = await cli(['schedule', 'list', '--guild-id', guildId]);
      for (let attempt = 0; attempt < 10 && !listed.stdout.includes(scheduleId); attempt++) listed = await cli(['schedule', 'list', '--guild-id', guildId]);
      expect(listed.code).toBe(0);
      expect(listed.stdout.trim().split('\n')).toHaveLength(1);
      expect(listed.stdout).toMatch(new RegExp(`^schedule ${scheduleId}: guild ${guildId}, repo acme/widgets \\(label "jules"\\), channel ${channelId}, cron "30 7 \\* \\* \\*" in Europe/Berlin, active; next `));

      const removed = await cli(['schedule', 'remove', '--guild-id', guildId, '--repo', 'acme/widgets']);
      expect(removed.code).toBe(0);
      expect(removed.stdout).toBe(`Removed schedule ${scheduleId}. Plans it already proposed are left as they are.\n`);
      const again = await cli(['schedule', 'remove', '--id', scheduleId]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`There is no schedule ${scheduleId}, so nothing was removed`);
      const none = await cli(['schedule', 'list', '--guild-id', guildId]);
      expect(none.stdout).toBe(`No plan schedule for guild ${guildId}.\n`);
    } finally {
      // The dev server is shared by every test file: leave no schedule behind, whatever failed above.
      const connection = await connectClient({ address: extraEnv.TEMPORAL_ADDRESS, namespace: extraEnv.TEMPORAL_NAMESPACE });
      await removePlanSchedule(new Client({ connection, namespace: extraEnv.TEMPORAL_NAMESPACE }), scheduleId);
      await connection.close();
    }
  });

  it('is in the usage', async () => {
    const help = await runCli(['--help'], { dataDir: freshDataDir() });
    for (const command of ['schedule set', 'schedule list', 'schedule remove']) expect(help.stdout).toContain(`  ${command} `);
  });
});
