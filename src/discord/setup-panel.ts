import {
  ButtonStyle,
  ComponentType,
  SelectMenuDefaultValueType,
  TextInputStyle,
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type APIModalInteractionResponseCallbackData,
  type APIModalSubmissionComponent,
} from '@discordjs/core/http-only';
import { SETTING_LIMITS } from '../shared/guild-settings';
import { JULES_KEY_LENGTH } from '../shared/jules-key';
import type { GuildConfig, GuildQuotas } from '../store/store';
import { encodeSetupId, encodeSetupModalId, type SetupAction } from './custom-id';
import type { MessageBody } from './messenger';

/**
 * What `/jules-setup` shows: the guild's configuration with the components that change it, or, while the minimum
 * (roles, a default repository, a default key) is not there yet, the next step of it. Pure: the handlers in
 * setup.command.ts read the store and pass what they read.
 */

/** What the panel is drawn from. */
export interface SetupState {
  /** Undefined for a server nobody has set up. */
  readonly guild: GuildConfig | undefined;
  readonly quotas: GuildQuotas;
  /** The configuration's revision (its newest audit row's id), carried by every component. */
  readonly revision: number;
}

/** The minimum a server needs before `/jules` can run, in the order the first use walks through it. */
export const SETUP_STEPS = ['roles', 'repo', 'key'] as const;

/** One of {@link SETUP_STEPS}. */
export type SetupStep = (typeof SETUP_STEPS)[number];

/** The steps of the minimum still missing. */
export function missingSteps(guild: GuildConfig | undefined): SetupStep[] {
  return SETUP_STEPS.filter((step) => {
    switch (step) {
      case 'roles':
        return !guild || guild.createRoles.length === 0 || guild.confirmRoles.length === 0;
      case 'repo':
        return !guild?.defaultRepo;
      case 'key':
        return !guild?.hasDefaultKey;
    }
  });
}

/** The quota fields of the quotas form: the text input's custom id, its label and the setting it writes. */
export const QUOTA_FIELDS = [
  { field: 'user_requests_per_hour', setting: 'userRequestsPerHour', label: 'Requests per member an hour' },
  { field: 'guild_requests_per_day', setting: 'guildRequestsPerDay', label: 'Requests per day (whole server)' },
  { field: 'concurrent_sessions_per_key', setting: 'concurrentSessionsPerKey', label: 'Jules sessions at once, per key' },
  { field: 'daily_sessions_per_key', setting: 'dailySessionsPerKey', label: 'Jules sessions per day, per key' },
] as const satisfies readonly { field: string; setting: Exclude<keyof GuildQuotas, 'customised'>; label: string }[];

/** The text inputs' custom ids of the repository and key forms. */
export const SETUP_FIELDS = { repo: 'repo', branch: 'branch', key: 'key' } as const;

/** The words `/jules-setup` ends its first walk-through with. */
export const READY_TEXT = '✅ Jules is ready in this server. Try it now: `/jules prompt: Add a sentence about Jules to the README`.';

/** The panel for `state`, with `notice` (what just happened, or why nothing did) above it. */
export function renderSetupPanel(state: SetupState, notice?: string): MessageBody {
  const missing = missingSteps(state.guild);
  const next = missing[0];
  const body = next ? renderStep(state, next, missing.length) : renderFull(state);
  // Always a content, empty without a notice: an edited panel must not keep the last answer's words.
  return { ...body, content: notice ?? '', allowed_mentions: { parse: [] } };
}

function renderStep(state: SetupState, step: SetupStep, left: number): MessageBody {
  const done = SETUP_STEPS.length - left;
  const at = `Step ${done + 1} of ${SETUP_STEPS.length}`;
  const { guild, revision } = state;
  switch (step) {
    case 'roles':
      return {
        embeds: [{ title: `Set up Jules — ${at}: roles`, description: 'Pick who may ask Jules for work (`/jules`), and who confirms a request before Jules starts (confirmers can also use `/jules-ops` and `/jules-usage`).', color: 0x5865f2 }],
        components: [roleRow('create_roles', 'Who may ask Jules (create roles)', guild?.createRoles ?? [], revision), roleRow('confirm_roles', 'Who confirms requests (confirm roles)', guild?.confirmRoles ?? [], revision)],
      };
    case 'repo':
      return {
        embeds: [{ title: `Set up Jules — ${at}: repository`, description: 'Which GitHub repository should `/jules` work on when a member names none? Members can still pick another with `repo:`.', color: 0x5865f2 }],
        components: [row(button('repo', 'Set default repository', revision, ButtonStyle.Primary))],
      };
    case 'key':
      return {
        embeds: [{ title: `Set up Jules — ${at}: Jules key`, description: 'The Jules API key that pays for this server’s tasks (members with a key of their own pay with theirs). It is stored encrypted and never shown again.', color: 0x5865f2 }],
        components: [row(button('key', 'Set default key', revision, ButtonStyle.Primary))],
      };
  }
}

function renderFull(state: SetupState): MessageBody {
  const { guild, quotas, revision } = state;
  // The full panel shows only once the minimum is set, so there is a guild.
  const g = guild!;
  const onOff = (value: boolean) => (value ? 'on' : 'off');
  const roles = (ids: readonly string[]) => (ids.length ? ids.map((id) => `<@&${id}>`).join(' ') : '(none)');
  const key = g.hasDefaultKey
    ? `set${g.defaultKeySetAt ? ` on <t:${Math.floor(g.defaultKeySetAt.getTime() / 1000)}:D>` : ''}${g.defaultKeySetBy ? ` by <@${g.defaultKeySetBy}>` : g.defaultKeySetAt ? ' from the command line' : ''}`
    : 'not set';
  const lines = [
    `**Create roles**: ${roles(g.createRoles)}`,
    `**Confirm roles**: ${roles(g.confirmRoles)}`,
    `**Default repository**: \`${g.defaultRepo}\` · **branch**: ${g.defaultBranch ? `\`${g.defaultBranch}\`` : 'the repository’s default'}`,
    `**Default key**: ${key}`,
    `**Plan approval by default**: ${onOff(g.planApprovalDefault)} · **merge method**: ${g.mergeMethod}`,
    `**Two-person rule**: ${onOff(g.twoPersonRule)} · **auto-ship**: ${onOff(g.autoShip)} · **fix failing checks**: ${onOff(g.fixFailingChecks)}`,
    `**Quotas**: ${quotas.userRequestsPerHour} requests per member an hour · ${quotas.guildRequestsPerDay} a day · ${quotas.concurrentSessionsPerKey} sessions at once and ${quotas.dailySessionsPerKey} a day per key${quotas.customised ? '' : ' (defaults)'}`,
  ];
  const toggle = (action: SetupAction, label: string, value: boolean) => button(action, `${label}: ${onOff(value)}`, revision, value ? ButtonStyle.Success : ButtonStyle.Secondary);
  return {
    embeds: [{ title: 'Jules in this server', description: lines.join('\n'), color: 0x5865f2, footer: { text: 'Changes apply at once and are recorded with your name.' } }],
    components: [
      roleRow('create_roles', 'Create roles', g.createRoles, revision),
      roleRow('confirm_roles', 'Confirm roles', g.confirmRoles, revision),
      row(button('repo', 'Repository & branch', revision), button('quotas', 'Quotas', revision), button('key', 'Set default key', revision)),
      row(
        toggle('plan_approval', 'Plan approval', g.planApprovalDefault),
        button('merge_method', `Merge: ${g.mergeMethod}`, revision),
        toggle('two_person_rule', 'Two-person rule', g.twoPersonRule),
        toggle('auto_ship', 'Auto-ship', g.autoShip),
        toggle('fix_failing_checks', 'Fix failing checks', g.fixFailingChecks),
      ),
    ],
  };
}

function row(...components: APIComponentInMessageActionRow[]): APIActionRowComponent<APIComponentInMessageActionRow> {
  return { type: ComponentType.ActionRow, components };
}

function button(action: SetupAction, label: string, revision: number, style: ButtonStyle.Primary | ButtonStyle.Secondary | ButtonStyle.Success = ButtonStyle.Secondary): APIComponentInMessageActionRow {
  return { type: ComponentType.Button, style, label, custom_id: encodeSetupId({ action, revision }) };
}

function roleRow(action: 'create_roles' | 'confirm_roles', placeholder: string, current: readonly string[], revision: number): APIActionRowComponent<APIComponentInMessageActionRow> {
  return row({
    type: ComponentType.RoleSelect,
    custom_id: encodeSetupId({ action, revision }),
    placeholder,
    min_values: 1,
    max_values: 25,
    default_values: current.map((id) => ({ id, type: SelectMenuDefaultValueType.Role })),
  });
}

/** The repository form, filled with what is set. */
export function buildRepoForm(guild: GuildConfig | undefined, revision: number): APIModalInteractionResponseCallbackData {
  return {
    custom_id: encodeSetupModalId({ action: 'repo', revision }),
    title: 'Default repository and branch',
    components: [
      textInput(SETUP_FIELDS.repo, 'Repository (owner/name)', 'e.g. acme/widgets', true, SETTING_LIMITS.repoMax, guild?.defaultRepo ?? undefined),
      textInput(SETUP_FIELDS.branch, 'Starting branch (blank: the repo’s default)', 'e.g. main', false, SETTING_LIMITS.branchMax, guild?.defaultBranch ?? undefined),
    ],
  };
}

/** The quotas form: each field blank keeps the quota, a number sets it, `default` returns it to the default. */
export function buildQuotasForm(quotas: GuildQuotas, revision: number): APIModalInteractionResponseCallbackData {
  return {
    custom_id: encodeSetupModalId({ action: 'quotas', revision }),
    title: 'Quotas',
    components: QUOTA_FIELDS.map(({ field, setting, label }) => textInput(field, label, `now ${quotas[setting]}; a number, or "default"`, false, 9)),
  };
}

/** The key form. Never filled: the key is not shown back, not even to the member who set it. */
export function buildKeyForm(revision: number): APIModalInteractionResponseCallbackData {
  return {
    custom_id: encodeSetupModalId({ action: 'key', revision }),
    title: 'Default Jules key',
    components: [textInput(SETUP_FIELDS.key, 'Jules API key', 'From jules.google.com → Settings → API keys', true, JULES_KEY_LENGTH.max)],
  };
}

function textInput(customId: string, label: string, placeholder: string, required: boolean, maxLength: number, value?: string) {
  return {
    type: ComponentType.Label as const,
    label,
    component: {
      type: ComponentType.TextInput as const,
      custom_id: customId,
      style: TextInputStyle.Short,
      placeholder,
      required,
      max_length: maxLength,
      ...(value ? { value } : {}),
    },
  };
}

/**
 * Every text input's value in a modal submission by custom id, whether inside a Label (current layout) or an
 * action row (older clients).
 */
export function readModalFields(components: readonly APIModalSubmissionComponent[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const component of components) {
    const inputs =
      component.type === ComponentType.Label
        ? [component.component as typeof component.component | undefined]
        : component.type === ComponentType.ActionRow
          ? ((component.components as typeof component.components | undefined) ?? [])
          : [];
    for (const input of inputs) {
      if (input?.type === ComponentType.TextInput && typeof input.value === 'string') values.set(input.custom_id, input.value);
    }
  }
  return values;
}
