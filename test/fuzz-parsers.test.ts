import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runGuildSet, runGuildSetQuotas, runSetKey, type AdminContext } from '../src/cli/admin.commands';
import { UsageError } from '../src/cli/errors';
import { runKeysRotate } from '../src/cli/keys.commands';
import { runRegisterCommands } from '../src/cli/register-commands';
import { cronProblem, ianaTimeZone, runScheduleList, runScheduleRemove, runScheduleSet } from '../src/cli/schedule.commands';
import { ConfigError, loadConfig, parseDuration } from '../src/config';
import {
  BUTTON_ACTIONS,
  decodeCustomId,
  decodeModalId,
  decodePlanId,
  decodeSetupId,
  decodeSetupModalId,
  encodeCustomId,
  encodeModalId,
  encodePlanId,
  encodeSetupId,
  encodeSetupModalId,
  MODAL_ACTIONS,
  PLAN_ACTIONS,
  SETUP_ACTIONS,
  SETUP_FORMS,
} from '../src/discord/custom-id';
import { isBranchName } from '../src/shared/jules-request';
import { createTally } from './helpers/reliability-tally';

/**
 * Property tests of every parser outside HTTP: whatever comes in, the answer is a value or an error that says what
 * is wrong, never another exception. Runs are kept small (CI); a failure prints fast-check's shrunk input and seed.
 */

const tally = createTally('fuzz-parsers');
afterAll(() => {
  const written = tally.write();
  expect(written.crashes).toBe(0);
});

/** Text near the shapes the parsers expect, and text far from them. */
const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const nearText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  digits(0, 30),
  fc.constantFrom('', ' ', '0', '00', '007', '-1', '1e3', '0x10', '９', '١٢٣', '\n', '\u0000', 'NaN', 'Infinity', '9'.repeat(40)),
);

describe('custom_id codec', () => {
  const runId = fc.tuple(digits(8, 8), fc.stringMatching(/^[a-z0-9-]{1,24}$/), fc.stringMatching(/^[0-9a-f]{4}$/)).map(([day, slug, tag]) => `plan-${day}-${slug}-${tag}`);
  const taskId = fc.oneof(
    fc.bigInt({ min: 0n, max: 10n ** 25n - 1n }).map((n) => `task-${n}`),
    fc.tuple(runId, fc.integer({ min: 0, max: 999_999_999 })).map(([run, issue]) => `task-${run}-${issue}`),
  );
  /** Ids of ours, ids one edit away from ours, and noise. */
  const candidate = fc.oneof(
    fc.tuple(fc.constantFrom('jo1:', 'jo1m:', 'jp1:', 'jo2:', ''), fc.constantFrom(...BUTTON_ACTIONS, ...PLAN_ACTIONS, 'launch', ''), fc.constantFrom(':', '::', ''), fc.oneof(taskId, runId, nearText), fc.oneof(fc.constant(''), nearText.map((t) => `:${t}`))).map((parts) => parts.join('')),
    fc.tuple(runId, fc.oneof(digits(1, 8), nearText)).map(([run, revision]) => `jp1:approve:${run}:${revision}`),
    fc
      .tuple(fc.constantFrom('js1:', 'js1m:', 'js2:', ''), fc.constantFrom(...SETUP_ACTIONS, 'launch', ''), fc.constantFrom(':', '::', ''), fc.oneof(digits(0, 22), nearText))
      .map((parts) => parts.join('')),
    nearText,
  );

  it('decodes any string without throwing, and what it decodes encodes back to exactly that string', () => {
    fc.assert(
      fc.property(candidate, (customId) => {
        for (const [target, decode, encode] of [
          ['custom_id button', decodeCustomId, encodeCustomId],
          ['custom_id modal', decodeModalId, encodeModalId],
          ['custom_id plan', decodePlanId, encodePlanId],
          ['custom_id setup', decodeSetupId, encodeSetupId],
          ['custom_id setup form', decodeSetupModalId, encodeSetupModalId],
        ] as const) {
          const decoded = decode(customId);
          tally.record(target, decoded ? 'accepted' : 'refused');
          if (decoded) expect(encode(decoded as never)).toBe(customId);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads plan revisions written one way only: 7, never 007', () => {
    expect(decodePlanId('jp1:approve:plan-20261202-acme-web-ab12:7')).toEqual({ action: 'approve', runId: 'plan-20261202-acme-web-ab12', revision: 7 });
    expect(decodePlanId('jp1:approve:plan-20261202-acme-web-ab12:007')).toBeUndefined();
    expect(decodePlanId('jp1:approve:plan-20261202-acme-web-ab12:0')).toEqual({ action: 'approve', runId: 'plan-20261202-acme-web-ab12', revision: 0 });
    expect(decodeCustomId('jo1:confirm:task-0123')).toBeUndefined();
  });

  it('round-trips every id it can encode', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BUTTON_ACTIONS), fc.constantFrom(...MODAL_ACTIONS), fc.constantFrom(...PLAN_ACTIONS), fc.bigInt({ min: 0n, max: 10n ** 25n - 1n }), runId, fc.option(fc.integer({ min: 0, max: 999_999 }), { nil: undefined }), (button, modal, plan, interaction, run, revision) => {
        const task = `task-${interaction}`;
        expect(decodeCustomId(encodeCustomId({ action: button, taskId: task }))).toEqual({ action: button, taskId: task });
        expect(decodeModalId(encodeModalId({ action: modal, taskId: task }))).toEqual({ action: modal, taskId: task });
        const id = { action: plan, runId: run, ...(revision !== undefined ? { revision } : {}) };
        expect(decodePlanId(encodePlanId(id))).toEqual(id);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...SETUP_ACTIONS), fc.constantFrom(...SETUP_FORMS), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (action, form, revision) => {
        expect(decodeSetupId(encodeSetupId({ action, revision }))).toEqual({ action, revision });
        expect(decodeSetupModalId(encodeSetupModalId({ action: form, revision }))).toEqual({ action: form, revision });
      }),
      { numRuns: 300 },
    );
  });
});

describe('configuration from the environment', () => {
  const NAMES = [
    'PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'TEMPORAL_ADDRESS', 'TEMPORAL_TLS', 'TEMPORAL_API_KEY',
    'DATABASE_URL', 'SUPABASE_URL', 'DISCORD_API_URL', 'JULES_API_URL', 'GITHUB_API_URL', 'DISCORD_PUBLIC_KEY', 'DISCORD_APPLICATION_ID', 'DISCORD_TOKEN',
    'DISCORD_MODE', 'LOG_LEVEL', 'SECRETS_ENCRYPTION_KEY', 'SECRETS_ENCRYPTION_PREVIOUS_KEYS', 'TEMPORAL_UI_ORIGIN', 'CODEC_AUTH_TOKEN', 'GITHUB_APP_ID',
    'GITHUB_APP_PRIVATE_KEY', 'GITHUB_WEBHOOK_SECRET', 'CONFIRMATION_TIMEOUT', 'JULES_POLL_INTERVAL', 'TASK_DEADLINE', 'PR_FOLLOW_DEADLINE',
    'PR_RECONCILE_INTERVAL', 'PLAN_APPROVAL_TIMEOUT', 'WATCH_HEARTBEAT_TIMEOUT',
  ] as const;
  const value = fc.oneof(
    nearText,
    fc.tuple(digits(1, 12), fc.constantFrom('ms', 's', 'm', 'h', 'd', 'w', '')).map(([n, unit]) => `${n}${unit}`),
    fc.tuple(fc.constantFrom('http://', 'https://', 'file://', 'javascript:', 'postgres://', 'ftp://', ''), fc.webSegment()).map(([scheme, rest]) => `${scheme}${rest || 'x'}`),
    fc.constantFrom('true', 'false', 'http', 'gateway', 'info', 'AB'.repeat(32), 'a'.repeat(43) + '=', '1100000000000000001'),
  );
  const env = fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 6 });

  it('gives a valid configuration or a ConfigError naming the variable of each problem, nothing else', () => {
    fc.assert(
      fc.property(env, (variables) => {
        let config: ReturnType<typeof loadConfig>;
        try {
          config = loadConfig(variables);
        } catch (error) {
          tally.record('config', error instanceof ConfigError ? 'refused' : 'crash');
          expect(error).toBeInstanceOf(ConfigError);
          // Each problem names the variable to change (and the entry of a list), then says what it must be.
          for (const problem of (error as ConfigError).problems) expect(problem).toMatch(/^[A-Z][A-Z0-9_]+( entry \d+)? \S/);
          return;
        }
        tally.record('config', 'accepted');
        // What it accepts is in range: ports, capped durations, http(s) URLs, named queues.
        for (const port of [config.http.port, config.temporal.port, config.temporal.uiPort]) expect(Number.isInteger(port) && port >= 0 && port <= 65535).toBe(true);
        expect(config.jules.pollIntervalMs).toBeLessThanOrEqual(parseDuration('1h'));
        expect(Object.values(config.timeouts).every((ms) => Number.isSafeInteger(ms) && ms > 0 && ms <= parseDuration('365d'))).toBe(true);
        expect(config.timeouts.watchHeartbeatMs >= 5_000 && config.timeouts.watchHeartbeatMs <= parseDuration('10m')).toBe(true);
        for (const url of [config.discord.apiUrl, config.github.apiUrl, config.jules.apiUrl, config.store.supabaseUrl]) if (url !== undefined) expect(url).toMatch(/^https?:\/\//i);
        expect(config.temporal.taskQueue.trim()).not.toBe('');
        expect(config.temporal.namespace.trim()).not.toBe('');
      }),
      { numRuns: 1500 },
    );
  });
});

describe('CLI arguments', () => {
  /** Thrown by the stand-in configuration: reaching it means every flag was checked and accepted. */
  class ArgumentsAccepted extends Error {}
  const untouchable = new Proxy({}, { get: () => { throw new ArgumentsAccepted('reached the configuration'); } });
  const stdin = { isTTY: false, [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new ArgumentsAccepted('reached stdin')) }) };
  const ctx = { config: untouchable, log: untouchable, out: () => undefined, stdin, prompt: () => undefined } as unknown as AdminContext;

  const COMMANDS = {
    'guild set': (args: string[]) => runGuildSet(ctx, args),
    'guild set-quotas': (args: string[]) => runGuildSetQuotas(ctx, args),
    'guild set-key': (args: string[]) => runSetKey(ctx, 'guild', args),
    'user set-key': (args: string[]) => runSetKey(ctx, 'user', args),
    'schedule set': (args: string[]) => runScheduleSet(ctx, args),
    'schedule list': (args: string[]) => runScheduleList(ctx, args),
    'schedule remove': (args: string[]) => runScheduleRemove(ctx, args),
    'register-commands': (args: string[]) => runRegisterCommands(ctx, args),
    'keys rotate': (args: string[]) => runKeysRotate(ctx, args),
  } as const;
  const FLAGS = [
    '--guild-id', '--create-roles', '--confirm-roles', '--default-repo', '--default-branch', '--plan-approval', '--merge-method', '--plan-label',
    '--in-progress-label', '--plan-max-items', '--two-person-rule', '--auto-ship', '--fix-failing-checks', '--max-fix-attempts', '--requests-per-member-hour',
    '--requests-per-day', '--sessions-at-once', '--sessions-per-day', '--discord-id', '--repo', '--channel', '--cron', '--timezone', '--label', '--id', '--guild',
    '--unknown', '-g', '--', '--guild-id=1200000000000000002',
  ];
  const flagValue = fc.oneof(
    nearText,
    fc.constantFrom('1200000000000000002', '1500000000000000005,1500000000000000006', '', 'acme/widgets', 'main', 'feature/x', 'on', 'off', 'squash', 'default', '0 9 * * 1-5', 'Europe/Berlin', 'UTC', 'ready', '50', '0', '11', '9999999999', 'plan-schedule-1200000000000000002-acme/widgets'),
  );
  const argv = fc.array(fc.oneof(fc.constantFrom(...FLAGS), flagValue), { maxLength: 10 });
  /** A well-formed command line for each command, so the property also sees acceptance, not only refusals. */
  const wellFormed = fc.constantFrom<[keyof typeof COMMANDS, string[]]>(
    ['guild set', ['--guild-id', '1200000000000000002', '--create-roles', '', '--confirm-roles', '1500000000000000005', '--default-branch', 'main']],
    ['guild set-quotas', ['--guild-id', '1200000000000000002', '--requests-per-day', '20']],
    ['user set-key', ['--discord-id', '1400000000000000004']],
    ['schedule set', ['--guild-id', '1200000000000000002', '--repo', 'acme/widgets', '--channel', '1300000000000000003', '--cron', '0 9 * * 1-5', '--timezone', 'UTC']],
    ['schedule list', []],
    ['register-commands', ['--guild', '1200000000000000002']],
    ['keys rotate', []],
  );

  it('refuses a bad command line with a usage error, before touching the store, Temporal or stdin', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.tuple(fc.constantFrom(...(Object.keys(COMMANDS) as (keyof typeof COMMANDS)[])), argv), wellFormed), async ([command, args]) => {
        try {
          await COMMANDS[command](args);
        } catch (error) {
          if (error instanceof ArgumentsAccepted) return tally.record(`cli ${command}`, 'accepted');
          const code = (error as { code?: unknown }).code;
          const refused = error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
          tally.record(`cli ${command}`, refused ? 'refused' : 'crash');
          if (!refused) throw error;
          expect((error as Error).message.length).toBeGreaterThan(0);
          return;
        }
        tally.record(`cli ${command}`, 'crash');
        throw new Error(`${command} ${args.join(' ')} finished without reaching the configuration`);
      }),
      { numRuns: 1500 },
    );
  });

  it('checks crons and time zones without throwing, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(nearText, fc.array(fc.oneof(fc.constantFrom('*', '*/5', '1-5', 'mon', 'JAN', '0', '60', '7', '1,15', '/', '5-1'), digits(1, 2)), { minLength: 4, maxLength: 6 }).map((fields) => fields.join(' '))),
        fc.oneof(nearText, fc.constantFrom('UTC', 'Europe/Berlin', 'europe/berlin', 'US/Pacific', '+01:00', 'Etc/GMT+1', 'Mars/Olympus', '../etc/passwd')),
        (cron, zone) => {
          tally.record('cli cron', cronProblem(cron) === undefined ? 'accepted' : 'refused');
          tally.record('cli timezone', ianaTimeZone(zone) === undefined ? 'refused' : 'accepted');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('branch names', () => {
  /** git itself is the oracle: a name we take must be one `git check-ref-format --branch` takes. */
  function gitTakes(name: string): boolean {
    try {
      execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
  const branchish = fc.oneof(
    fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9._-]{1,8}$/), fc.constantFrom('..', '.lock', '@{', '~', '^', ':', '?', '*', '[', '\\', ' ', '.', '-', '@', '//')), { minLength: 1, maxLength: 5 }).map((parts) => parts.join('/')),
    nearText,
  );

  it('takes only names git takes as branches', () => {
    fc.assert(
      fc.property(branchish, (name) => {
        const ours = isBranchName(name);
        tally.record('branch name', ours ? 'accepted' : 'refused');
        if (ours) expect(gitTakes(name), name).toBe(true);
      }),
      { numRuns: 250 },
    );
  });
});
