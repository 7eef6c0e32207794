import {
  ComponentType,
  InteractionResponseType,
  MessageFlags,
  type APIInteractionResponse,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from '@discordjs/core/http-only';
import type { SecretBox } from '../crypto/secret-box';
import { branchProblem, parseQuotaSetting, repoProblem, SNOWFLAKE } from '../shared/guild-settings';
import { julesKeyProblem } from '../shared/jules-key';
import { canManageServer, MANAGE_GUILD } from '../shared/permissions';
import type { GuildConfig, GuildQuotaSettings, GuildRepository, GuildSettings, GuildEventRepository, KeyRepository, QuotaRepository } from '../store/store';
import { decodeSetupId, decodeSetupModalId, SETUP_MODAL_PREFIX, SETUP_PREFIX, type SetupAction } from './custom-id';
import { ephemeral, FAILURE_TEXT, updateMessage, type ComponentInteraction, type ComponentRoute, type ModalInteraction, type SlashCommand } from './interaction-kit';
import {
  buildKeyForm,
  buildQuotasForm,
  buildRepoForm,
  missingSteps,
  QUOTA_FIELDS,
  READY_TEXT,
  readModalFields,
  renderSetupPanel,
  SETUP_FIELDS,
  type SetupState,
} from './setup-panel';

/**
 * `/jules-setup`: a server's configuration, changed from Discord. Discord shows the command to members with Manage
 * Server (`default_member_permissions`), but a server can change who sees it, so every command, click and form
 * checks `member.permissions` again here.
 */
export const setupCommand = {
  name: 'jules-setup',
  description: 'For server managers: set Jules up here (roles, repository, key, quotas), privately.',
  dm_permission: false,
  default_member_permissions: MANAGE_GUILD.toString(),
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What `/jules-setup` reads and writes. */
export interface SetupPorts {
  readonly store: Pick<GuildRepository, 'getGuild' | 'upsertGuild'> &
    Pick<KeyRepository, 'setGuildKey'> &
    Pick<QuotaRepository, 'getGuildQuotas' | 'setGuildQuotas'> &
    Pick<GuildEventRepository, 'listGuildEvents'>;
  /** Encrypts the default key set through the form; absent, the form says keys are set with the CLI here. */
  readonly secrets?: Pick<SecretBox, 'encrypt'>;
}

/** The words of `/jules-setup`'s refusals, said once so tests and handlers agree. */
export const SETUP_TEXT = {
  notManager: 'Only members with the **Manage Server** permission can change how Jules is set up here, so nothing was changed.',
  stale: '⚠️ The configuration changed since this was shown (someone else, or the command line), so nothing was changed. Here it is as it is now; try again.',
  roleGone: 'One of those roles no longer exists in this server, so nothing was changed. Pick the roles again.',
  emptyForm: 'The form was empty, so nothing was changed.',
  noSecrets: 'This process cannot encrypt keys, so the key was not saved. Set it with `jules-orchestrator guild set-key` instead.',
} as const;

/** `/jules-setup` and its components: one module, as the dispatcher routes them. */
export function createSetupFeature(ports: SetupPorts): { command: SlashCommand; components: ComponentRoute[] } {
  const { store } = ports;

  async function readState(guildId: string): Promise<SetupState> {
    const [guild, quotas, [newest]] = await Promise.all([store.getGuild(guildId), store.getGuildQuotas(guildId), store.listGuildEvents(guildId, 1)]);
    return { guild, quotas, revision: newest?.id ?? 0 };
  }

  /** The panel after a change, saying what changed, or that the minimum is now there. */
  async function afterChange(guildId: string, before: SetupState, said: string): Promise<APIInteractionResponse> {
    const after = await readState(guildId);
    const finished = missingSteps(before.guild).length > 0 && missingSteps(after.guild).length === 0;
    return updateMessage(renderSetupPanel(after, finished ? `${said}\n${READY_TEXT}` : said));
  }

  /** The settings as stored, to change one of them: roles are required by `upsertGuild`, the rest kept. */
  function settingsOf(state: SetupState, guildId: string, actorId: string, change: Partial<GuildSettings>): GuildSettings {
    return { guildId, createRoles: state.guild?.createRoles ?? [], confirmRoles: state.guild?.confirmRoles ?? [], ...change, actorId };
  }

  const command: SlashCommand = {
    definition: setupCommand,
    async handle(interaction) {
      if (!interaction.guild_id || !interaction.member) return ephemeral('Use `/jules-setup` in a server channel, not in direct messages.');
      if (!canManageServer(interaction.member.permissions)) return ephemeral(SETUP_TEXT.notManager);
      const state = await readState(interaction.guild_id);
      const welcome = missingSteps(state.guild).length > 0 ? 'Welcome! Three steps and Jules is ready here; each change is saved at once.' : undefined;
      const body = renderSetupPanel(state, welcome);
      return { type: InteractionResponseType.ChannelMessageWithSource, data: { ...body, flags: MessageFlags.Ephemeral } };
    },
  };

  async function handleComponent(interaction: ComponentInteraction): Promise<APIInteractionResponse> {
    const id = decodeSetupId(interaction.data.custom_id);
    if (!id) return ephemeral(FAILURE_TEXT.staleButton);
    const guildId = interaction.guild_id;
    if (!guildId || !interaction.member) return ephemeral(FAILURE_TEXT.directMessage);
    if (!canManageServer(interaction.member.permissions)) return ephemeral(SETUP_TEXT.notManager);
    const actorId = interaction.member.user.id;
    const state = await readState(guildId);
    if (state.revision !== id.revision) return updateMessage(renderSetupPanel(state, SETUP_TEXT.stale));
    const isRoleMenu = id.action === 'create_roles' || id.action === 'confirm_roles';
    const expected = isRoleMenu ? ComponentType.RoleSelect : ComponentType.Button;
    if (interaction.data.component_type !== expected) return ephemeral(FAILURE_TEXT.staleButton);
    switch (id.action) {
      case 'create_roles':
      case 'confirm_roles': {
        const roles = chosenRoles(interaction);
        if (!roles) return ephemeral(SETUP_TEXT.roleGone);
        const field = id.action === 'create_roles' ? 'createRoles' : 'confirmRoles';
        await store.upsertGuild(settingsOf(state, guildId, actorId, { [field]: roles }));
        return afterChange(guildId, state, `Saved: ${id.action === 'create_roles' ? 'who may ask Jules' : 'who confirms requests'}.`);
      }
      case 'repo':
        return { type: InteractionResponseType.Modal, data: buildRepoForm(state.guild, state.revision) };
      case 'quotas':
        return { type: InteractionResponseType.Modal, data: buildQuotasForm(state.quotas, state.revision) };
      case 'key':
        return { type: InteractionResponseType.Modal, data: buildKeyForm(state.revision) };
      default:
        return toggle(id.action, state, guildId, actorId);
    }
  }

  async function toggle(action: keyof typeof TOGGLES | 'merge_method', state: SetupState, guildId: string, actorId: string) {
    const guild = state.guild;
    // Toggles show only on the full panel, which needs a configured guild: a forged click before is out of date.
    if (!guild) return updateMessage(renderSetupPanel(state, SETUP_TEXT.stale));
    if (action === 'merge_method') {
      const mergeMethod = MERGE_METHODS[(MERGE_METHODS.indexOf(guild.mergeMethod) + 1) % MERGE_METHODS.length]!;
      const saved = await store.upsertGuild(settingsOf(state, guildId, actorId, { mergeMethod }));
      return afterChange(guildId, state, `Saved: pull requests merge by ${saved.mergeMethod}.`);
    }
    const { field, name } = TOGGLES[action];
    const saved = await store.upsertGuild(settingsOf(state, guildId, actorId, { [field]: !guild[field] }));
    return afterChange(guildId, state, `Saved: ${name} ${saved[field] ? 'on' : 'off'}.`);
  }

  async function handleModal(interaction: ModalInteraction): Promise<APIInteractionResponse> {
    const id = decodeSetupModalId(interaction.data.custom_id);
    if (!id) return ephemeral(FAILURE_TEXT.staleModal);
    const guildId = interaction.guild_id;
    if (!guildId || !interaction.member) return ephemeral(FAILURE_TEXT.directMessage);
    if (!canManageServer(interaction.member.permissions)) return ephemeral(SETUP_TEXT.notManager);
    const actorId = interaction.member.user.id;
    const fields = readModalFields(interaction.data.components);
    const state = await readState(guildId);
    // A form answers with the panel only when it was opened from the panel's button, which Discord then sends.
    const answer = (response: APIInteractionResponse, words: string) => (interaction.message ? response : ephemeral(words));
    if (state.revision !== id.revision) return answer(updateMessage(renderSetupPanel(state, SETUP_TEXT.stale)), SETUP_TEXT.stale);
    switch (id.action) {
      case 'repo': {
        const repo = (fields.get(SETUP_FIELDS.repo) ?? '').trim();
        const branch = (fields.get(SETUP_FIELDS.branch) ?? '').trim();
        if (!repo) return ephemeral(`${SETUP_TEXT.emptyForm} Write the repository as owner/name.`);
        const problem = repoProblem(repo);
        if (problem) return ephemeral(`The repository ${problem}, so nothing was changed.`);
        const branchIssue = branch ? branchProblem(branch) : undefined;
        if (branchIssue) return ephemeral(`The branch ${branchIssue}, so nothing was changed.`);
        await store.upsertGuild(settingsOf(state, guildId, actorId, { defaultRepo: repo, defaultBranch: branch || null }));
        const said = `Saved: tasks work on \`${repo}\`${branch ? ` from \`${branch}\`` : ''} unless a member names another.`;
        return answer(await afterChange(guildId, state, said), said);
      }
      case 'quotas': {
        const settings: { -readonly [K in keyof GuildQuotaSettings]: number | null } = {};
        for (const { field, setting, label } of QUOTA_FIELDS) {
          const value = (fields.get(field) ?? '').trim();
          if (!value) continue;
          const parsed = parseQuotaSetting(value);
          if (parsed === undefined) return ephemeral(`“${label}” must be a whole number from 1, or \`default\`, so nothing was changed.`);
          settings[setting] = parsed;
        }
        if (Object.keys(settings).length === 0) return ephemeral(`${SETUP_TEXT.emptyForm} Fill in the quotas to change; blank ones are kept.`);
        await store.setGuildQuotas(guildId, settings, actorId);
        return answer(await afterChange(guildId, state, 'Saved: the quotas.'), 'Saved: the quotas.');
      }
      case 'key': {
        const key = (fields.get(SETUP_FIELDS.key) ?? '').trim();
        if (!key) return ephemeral(`${SETUP_TEXT.emptyForm} Paste the Jules API key.`);
        // The problem is said without the key, which is never echoed.
        const problem = julesKeyProblem(key);
        if (problem) return ephemeral(`Not saved: ${problem}. Copy the key again from Jules' settings and paste it alone.`);
        if (!ports.secrets) return ephemeral(SETUP_TEXT.noSecrets);
        await store.setGuildKey(guildId, ports.secrets.encrypt(key), actorId);
        const said = 'Saved: the default key, encrypted. It is never shown again.';
        return answer(await afterChange(guildId, state, said), said);
      }
    }
  }

  return {
    command,
    components: [
      { prefix: SETUP_PREFIX, handleComponent },
      { prefix: SETUP_MODAL_PREFIX, handleModal },
    ],
  };
}

const MERGE_METHODS = ['squash', 'merge', 'rebase'] as const;

/** The on/off settings the panel's buttons flip, and how the answer names them. */
const TOGGLES = {
  plan_approval: { field: 'planApprovalDefault', name: 'plan approval by default' },
  two_person_rule: { field: 'twoPersonRule', name: 'the two-person rule' },
  auto_ship: { field: 'autoShip', name: 'auto-ship' },
  fix_failing_checks: { field: 'fixFailingChecks', name: 'fixing failing checks' },
} as const satisfies Partial<Record<SetupAction, { field: keyof GuildConfig & keyof GuildSettings; name: string }>>;

/**
 * The roles picked in a role menu, or undefined when one is not a role of this server as Discord resolved it: a
 * role deleted while the menu was open, or a forged value. Discord sends each picked role in `data.resolved.roles`.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-resolved-data-structure
 */
function chosenRoles(interaction: ComponentInteraction): string[] | undefined {
  const data = interaction.data as { values?: unknown; resolved?: { roles?: Record<string, unknown> } };
  const values = Array.isArray(data.values) ? (data.values as unknown[]) : [];
  const resolved = data.resolved?.roles;
  if (values.length === 0 || values.length > 25 || typeof resolved !== 'object' || resolved === null) return undefined;
  const roles = values.filter((value): value is string => typeof value === 'string' && SNOWFLAKE.test(value) && Object.hasOwn(resolved, value));
  return roles.length === values.length ? [...new Set(roles)] : undefined;
}
