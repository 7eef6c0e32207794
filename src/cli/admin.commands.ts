import { parseArgs } from 'node:util';
import type { Config } from '../config';
import { maskSecret } from '../crypto/secret-box';
import { branchProblem, parseQuotaSetting, repoProblem, SNOWFLAKE } from '../shared/guild-settings';
import { PLAN_DEFAULTS } from '../shared/plan';
import { migrate } from '../store/migrate';
import type { GuildQuotaSettings } from '../store/store';
import { openSecrets } from '../crypto/open-secrets';
import { openConfiguredStore } from '../store/open-store';
import type { Logger } from 'pino';
import { UsageError } from './errors';
import { readSecret, validateApiKey } from './read-secret';

/** What the admin commands need from the process. */
export interface AdminContext {
  readonly config: Config;
  readonly log: Logger;
  readonly out: (line: string) => void;
  readonly stdin: NodeJS.ReadStream;
  readonly prompt: (text: string) => void;
}

/** `migrate`: applies pending SQL migrations to the configured database. */
export async function runMigrate(ctx: AdminContext): Promise<void> {
  const store = await openConfiguredStore(ctx.config, { migrate: false });
  try {
    if (!store.executor) {
      throw new UsageError('migrate needs a SQL connection: set DATABASE_URL to the connection string (the Data API cannot change the schema), or run `supabase db push`.');
    }
    const applied = await migrate(store.executor);
    ctx.out(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'The database is up to date.');
  } finally {
    await store.close();
  }
}

/**
 * `guild set --guild-id ID --create-roles ID,ID --confirm-roles ID,ID [--default-repo o/r] [--default-branch B]
 * [--plan-approval on|off] [--merge-method squash|merge|rebase]` and the daily plan's settings: `[--plan-label L]
 * [--in-progress-label L] [--plan-max-items N] [--two-person-rule on|off] [--auto-ship on|off]
 * [--fix-failing-checks on|off] [--max-fix-attempts N]`. Flags left out keep what is stored.
 */
export async function runGuildSet(ctx: AdminContext, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'guild-id': { type: 'string' },
      'create-roles': { type: 'string' },
      'confirm-roles': { type: 'string' },
      'default-repo': { type: 'string' },
      'default-branch': { type: 'string' },
      'plan-approval': { type: 'string' },
      'merge-method': { type: 'string' },
      'plan-label': { type: 'string' },
      'in-progress-label': { type: 'string' },
      'plan-max-items': { type: 'string' },
      'two-person-rule': { type: 'string' },
      'auto-ship': { type: 'string' },
      'fix-failing-checks': { type: 'string' },
      'max-fix-attempts': { type: 'string' },
    },
    strict: true,
  });
  const guildId = requireSnowflake(values['guild-id'], '--guild-id');
  const createRoles = roleList(values['create-roles'], '--create-roles');
  const confirmRoles = roleList(values['confirm-roles'], '--confirm-roles');
  const defaultRepo = values['default-repo'];
  const planApproval = values['plan-approval'];
  if (planApproval !== undefined && planApproval !== 'on' && planApproval !== 'off') throw new UsageError('--plan-approval must be on or off');
  if (defaultRepo !== undefined && repoProblem(defaultRepo)) throw new UsageError('--default-repo must be owner/name');
  const defaultBranch = values['default-branch'];
  const branchIssue = defaultBranch !== undefined ? branchProblem(defaultBranch) : undefined;
  if (branchIssue) throw new UsageError(`--default-branch ${branchIssue}; got "${defaultBranch}"`);
  const mergeMethod = values['merge-method'];
  if (mergeMethod !== undefined && mergeMethod !== 'squash' && mergeMethod !== 'merge' && mergeMethod !== 'rebase') {
    throw new UsageError('--merge-method must be squash, merge or rebase');
  }
  // Every flag is checked before the store is opened: a bad one writes nothing.
  const planLabel = labelFlag(values['plan-label'], '--plan-label');
  const inProgressLabel = labelFlag(values['in-progress-label'], '--in-progress-label');
  if (planLabel !== undefined && inProgressLabel !== undefined && sameLabel(planLabel, inProgressLabel)) {
    throw new UsageError('--plan-label and --in-progress-label must differ: an issue in progress would be planned again');
  }
  const planMaxItems = wholeNumberFlag(values['plan-max-items'], '--plan-max-items', 1, 50);
  const twoPersonRule = onOffFlag(values['two-person-rule'], '--two-person-rule');
  const autoShip = onOffFlag(values['auto-ship'], '--auto-ship');
  const fixFailingChecks = onOffFlag(values['fix-failing-checks'], '--fix-failing-checks');
  const maxFixAttempts = wholeNumberFlag(values['max-fix-attempts'], '--max-fix-attempts', 0, 10);
  const store = await openConfiguredStore(ctx.config);
  try {
    // One label given: it must differ from the other as stored (or its default), which only the store knows.
    if ((planLabel === undefined) !== (inProgressLabel === undefined)) {
      const stored = await store.getGuild(guildId);
      const effectivePlan = planLabel ?? stored?.planLabel ?? PLAN_DEFAULTS.label;
      const effectiveInProgress = inProgressLabel ?? stored?.inProgressLabel ?? PLAN_DEFAULTS.inProgressLabel;
      if (sameLabel(effectivePlan, effectiveInProgress)) {
        const [flag, other] = planLabel !== undefined ? ['--plan-label', 'in-progress'] : ['--in-progress-label', 'plan'];
        throw new UsageError(`${flag} must differ from the guild's ${other} label ("${planLabel ?? inProgressLabel}"): an issue in progress would be planned again`);
      }
    }
    const guild = await store.upsertGuild({
      guildId,
      createRoles,
      confirmRoles,
      ...(defaultRepo !== undefined ? { defaultRepo } : {}),
      ...(defaultBranch !== undefined ? { defaultBranch } : {}),
      ...(planApproval !== undefined ? { planApprovalDefault: planApproval === 'on' } : {}),
      ...(mergeMethod !== undefined ? { mergeMethod } : {}),
      ...(planLabel !== undefined ? { planLabel } : {}),
      ...(inProgressLabel !== undefined ? { inProgressLabel } : {}),
      ...(planMaxItems !== undefined ? { planMaxItems } : {}),
      ...(twoPersonRule !== undefined ? { twoPersonRule } : {}),
      ...(autoShip !== undefined ? { autoShip } : {}),
      ...(fixFailingChecks !== undefined ? { fixFailingChecks } : {}),
      ...(maxFixAttempts !== undefined ? { maxFixAttempts } : {}),
    });
    const onOff = (value: boolean) => (value ? 'on' : 'off');
    ctx.out(
      `Guild ${guild.guildId}: create roles ${guild.createRoles.join(', ') || '(none)'}; confirm roles ${guild.confirmRoles.join(', ') || '(none)'}; ` +
        `default repo ${guild.defaultRepo ?? '(none)'}; default branch ${guild.defaultBranch ?? '(repository default)'}; ` +
        `plan approval ${onOff(guild.planApprovalDefault)} by default; merge method ${guild.mergeMethod}; ` +
        `plan label "${guild.planLabel}", in-progress label "${guild.inProgressLabel}", at most ${guild.planMaxItems} issues a plan; ` +
        `two-person rule ${onOff(guild.twoPersonRule)}; auto-ship ${onOff(guild.autoShip)}; ` +
        `fix failing checks ${onOff(guild.fixFailingChecks)} (at most ${guild.maxFixAttempts} attempts); ` +
        `default key ${guild.hasDefaultKey ? 'set' : 'not set'}.`,
    );
  } finally {
    await store.close();
  }
}

/** The `guild set-quotas` flags and the quota each one sets. */
const QUOTA_FLAGS = {
  '--requests-per-member-hour': 'userRequestsPerHour',
  '--requests-per-day': 'guildRequestsPerDay',
  '--sessions-at-once': 'concurrentSessionsPerKey',
  '--sessions-per-day': 'dailySessionsPerKey',
} as const satisfies Record<string, keyof GuildQuotaSettings>;

/**
 * `guild set-quotas --guild-id ID [--requests-per-member-hour N] [--requests-per-day N] [--sessions-at-once N]
 * [--sessions-per-day N]`: each a whole number from 1, or `default` to return to the default; flags left out keep
 * their setting. Prints the quotas now in force.
 */
export async function runGuildSetQuotas(ctx: AdminContext, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'guild-id': { type: 'string' },
      ...Object.fromEntries(Object.keys(QUOTA_FLAGS).map((flag) => [flag.slice(2), { type: 'string' as const }])),
    },
    strict: true,
  });
  const guildId = requireSnowflake(values['guild-id'], '--guild-id');
  const settings: { -readonly [K in keyof GuildQuotaSettings]: number | null } = {};
  for (const [flag, setting] of Object.entries(QUOTA_FLAGS)) {
    const value = (values as Record<string, string | undefined>)[flag.slice(2)];
    if (value === undefined) continue;
    const parsed = parseQuotaSetting(value);
    if (parsed === undefined) throw new UsageError(`${flag} must be a whole number from 1, or \`default\`; got "${value}"`);
    settings[setting] = parsed;
  }
  if (Object.keys(settings).length === 0) throw new UsageError(`guild set-quotas needs at least one of ${Object.keys(QUOTA_FLAGS).join(', ')}`);
  const store = await openConfiguredStore(ctx.config);
  try {
    const quotas = await store.setGuildQuotas(guildId, settings);
    ctx.out(
      `Guild ${guildId} quotas: ${quotas.userRequestsPerHour} requests per member an hour; ${quotas.guildRequestsPerDay} requests a day; ` +
        `${quotas.concurrentSessionsPerKey} Jules sessions at once and ${quotas.dailySessionsPerKey} a day per key${quotas.customised ? '' : ' (all defaults)'}.`,
    );
  } finally {
    await store.close();
  }
}

/** `guild set-key --guild-id ID` and `user set-key --discord-id ID`: the key comes from standard input only. */
export async function runSetKey(ctx: AdminContext, scope: 'guild' | 'user', args: string[]): Promise<void> {
  const flag = scope === 'guild' ? 'guild-id' : 'discord-id';
  // The parse error would echo a stray argument, and a stray argument may be the key itself.
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options: { [flag]: { type: 'string' } }, strict: true }));
  } catch {
    throw new UsageError(`${scope} set-key takes only --${flag} ID; the key is read from standard input, never from arguments.`);
  }
  const id = requireSnowflake(values[flag] as string | undefined, `--${flag}`);
  const key = await readSecret(ctx.stdin, ctx.prompt);
  const problem = validateApiKey(key);
  if (problem) throw new UsageError(`Not saved: ${problem}. Pipe the key in, e.g. \`printenv JULES_KEY | jules-orchestrator ${scope} set-key --${flag} ${id}\`.`);
  const secrets = openSecrets(ctx.config, ctx.log);
  const store = await openConfiguredStore(ctx.config);
  try {
    const ciphertext = secrets.encrypt(key);
    if (scope === 'guild') await store.setGuildKey(id, ciphertext);
    else await store.setUserKey(id, ciphertext);
    ctx.out(`Saved the ${scope === 'guild' ? `default Jules key of guild ${id}` : `personal Jules key of user ${id}`} (${maskSecret(key)}), encrypted.`);
  } finally {
    await store.close();
  }
}

/** A GitHub label flag: trimmed, 1 to 50 characters (GitHub's cap), no comma (GitHub's issue list splits on commas). */
export function labelFlag(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const label = value.trim();
  if (label.length < 1 || label.length > 50 || label.includes(',')) {
    throw new UsageError(`${flag} must be a GitHub label name: 1 to 50 characters, no comma; got "${value}"`);
  }
  return label;
}

/** Whether two labels are one to GitHub, which compares label names case-insensitively. */
function sameLabel(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** A whole-number flag from `min` to `max`. */
function wholeNumberFlag(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,3}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}; got "${value}"`);
  }
  return Number(value);
}

/** An `on|off` flag as a boolean. */
function onOffFlag(value: string | undefined, flag: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'on' && value !== 'off') throw new UsageError(`${flag} must be on or off; got "${value}"`);
  return value === 'on';
}

/** A required Discord id flag (a snowflake). */
export function requireSnowflake(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} is required`);
  if (!SNOWFLAKE.test(value)) throw new UsageError(`${flag} must be a Discord id (15–25 digits)`);
  return value;
}

function roleList(value: string | undefined, flag: string): string[] {
  if (value === undefined) throw new UsageError(`${flag} is required (comma-separated role ids; pass "" for none)`);
  const roles = value.split(',').map((r) => r.trim()).filter(Boolean);
  for (const role of roles) if (!SNOWFLAKE.test(role)) throw new UsageError(`${flag}: "${role}" is not a Discord role id`);
  return roles;
}
