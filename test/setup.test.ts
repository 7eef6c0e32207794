import { InteractionResponseType, MessageFlags } from '@discordjs/core/http-only';
import { afterEach, describe, expect, it } from 'vitest';
import { SETUP_TEXT } from '../src/discord/setup.command';
import { READY_TEXT } from '../src/discord/setup-panel';
import { encodeSetupId, encodeSetupModalId } from '../src/discord/custom-id';
import { buildModalSubmit, buildRoleSelect, newSnowflake } from '../src/sandbox/interaction-signer';
import { canManageServer, MANAGE_GUILD } from '../src/shared/permissions';
import { buttonId, GUILD, KEYS, MEMBERS, startTestStack, type TestStack } from './helpers/stack';
import { keyLeaks } from './helpers/key-leaks';

/**
 * `/jules-setup` end to end: signed interactions through the real app and dispatcher, the store on PGlite, and a
 * `/jules` on the real Temporal dev server with the Jules emulator once the server is set up.
 */

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

// VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS, and Manage Server.
const BASIC = (1n << 10n) | (1n << 11n) | (1n << 16n) | (1n << 31n);
const MANAGER = { id: '800000000000000103', roles: [] as string[], permissions: (BASIC | MANAGE_GUILD).toString() };
/** A member Discord shows the command to (the server changed who sees it) but who lacks Manage Server. */
const NOT_MANAGER = { ...MEMBERS.developer, permissions: BASIC.toString() };

type Member = { id: string; roles: readonly string[]; permissions?: string };
type Answer = { status: number; body: any };

function context(s: TestStack) {
  return { applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId };
}

/** Picks roles in a setup role menu; `resolved` leaves out a role that was deleted meanwhile. */
function pickRoles(s: TestStack, user: Member, customId: string, values: string[], resolved?: string[]): Promise<Answer> {
  return s.send(buildRoleSelect({ ...context(s), user, customId, messageId: newSnowflake(), values, ...(resolved ? { resolvedRoles: resolved } : {}) }));
}

/** Submits a setup form as opened from the panel's button (Discord then sends the panel's message along). */
function submit(s: TestStack, user: Member, customId: string, fields: Record<string, string>): Promise<Answer> {
  const message = { id: newSnowflake(), channel_id: GUILD.channelId } as never;
  return s.send(buildModalSubmit({ ...context(s), user, customId, fields, message }));
}

/** The custom id of a role menu whose placeholder mentions `words`. */
function menuId(components: unknown, words: string): string {
  for (const row of components as { components: { placeholder?: string; custom_id?: string }[] }[]) {
    const menu = row.components.find((c) => c.placeholder?.includes(words));
    if (menu?.custom_id) return menu.custom_id;
  }
  throw new Error(`no menu about ${words}`);
}

/** The configuration's revision, to show that a refused change wrote nothing. */
async function revision(s: TestStack): Promise<number> {
  return (await s.store.listGuildEvents(GUILD.id, 1))[0]?.id ?? 0;
}

describe('/jules-setup', () => {
  it('sets a new server up entirely from Discord, after which a /jules runs', async () => {
    stack = await startTestStack({ guild: false });
    const s = stack;
    const answers: Answer[] = [];
    const keep = (answer: Answer) => (answers.push(answer), answer);

    const opened = keep(await s.command(MANAGER, 'jules-setup'));
    expect(opened.body.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(opened.body.data.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(opened.body.data.embeds[0].title).toContain('Step 1 of 3');

    const created = keep(await pickRoles(s, MANAGER, menuId(opened.body.data.components, 'ask Jules'), [GUILD.developerRole]));
    expect(created.body.type).toBe(InteractionResponseType.UpdateMessage);
    const confirmed = keep(await pickRoles(s, MANAGER, menuId(created.body.data.components, 'confirms'), [GUILD.leadRole]));
    expect(confirmed.body.data.embeds[0].title).toContain('Step 2 of 3');

    const repoForm = keep(await s.click(MANAGER, buttonId(confirmed.body.data.components, 'Set default repository')!));
    expect(repoForm.body.type).toBe(InteractionResponseType.Modal);
    const repoSaved = keep(await submit(s, MANAGER, repoForm.body.data.custom_id, { repo: GUILD.repo, branch: '' }));
    expect(repoSaved.body.data.embeds[0].title).toContain('Step 3 of 3');

    const keyForm = keep(await s.click(MANAGER, buttonId(repoSaved.body.data.components, 'Set default key')!));
    expect(JSON.stringify(keyForm.body)).not.toContain('"value"');
    const keySaved = keep(await submit(s, MANAGER, keyForm.body.data.custom_id, { key: KEYS.guild }));
    expect(keySaved.body.type).toBe(InteractionResponseType.UpdateMessage);
    expect(keySaved.body.data.content).toContain(READY_TEXT);
    // The full panel says when and by whom the key was set, never the key.
    expect(keySaved.body.data.embeds[0].description).toMatch(new RegExp(`Default key\\*\\*: set on <t:\\d+:D> by <@${MANAGER.id}>`));

    const guild = await s.store.getGuild(GUILD.id);
    expect(guild).toMatchObject({ createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], defaultRepo: GUILD.repo, defaultBranch: null, hasDefaultKey: true, defaultKeySetBy: MANAGER.id });
    expect(s.secrets.decrypt((await s.store.getGuildKey(GUILD.id))!)).toBe(KEYS.guild);
    // Every change has its audit row, made by the member.
    const events = await s.store.listGuildEvents(GUILD.id);
    expect(events.map((event) => event.actorId)).toEqual([MANAGER.id, MANAGER.id, MANAGER.id, MANAGER.id]);
    expect(events.map((event) => Object.keys(event.detail))).toContainEqual(['default_key']);

    // The suggested test: a confirmer's `/jules` runs straight away on the guild's key and default repository.
    const asked = await s.ask(MEMBERS.lead, { prompt: 'Add a sentence about Jules to the README' });
    const outcome = await s.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    expect((await s.store.getTask(asked.taskId))).toMatchObject({ repo: GUILD.repo, keySource: 'guild' });

    // The key set through the form appears in no log, history, Discord message, answer or stored row in plaintext.
    expect(await keyLeaks(s, [KEYS.guild], { taskIds: [asked.taskId], answers })).toEqual([]);
  });

  it('refuses a member without Manage Server on the server side, even when Discord shows them the command', async () => {
    stack = await startTestStack({ guild: false });
    const s = stack;
    expect((await s.command(NOT_MANAGER, 'jules-setup')).body.data.content).toBe(SETUP_TEXT.notManager);
    // Nor can they use a panel's components or forms, whoever showed them.
    const click = await pickRoles(s, NOT_MANAGER, encodeSetupId({ action: 'create_roles', revision: 0 }), [GUILD.developerRole]);
    expect(click.body.data.content).toBe(SETUP_TEXT.notManager);
    const form = await submit(s, NOT_MANAGER, encodeSetupModalId({ action: 'key', revision: 0 }), { key: KEYS.guild });
    expect(form.body.data.content).toBe(SETUP_TEXT.notManager);
    const noPermissions = await s.command({ ...MEMBERS.developer, permissions: 'not-a-bitfield' }, 'jules-setup');
    expect(noPermissions.body.data.content).toBe(SETUP_TEXT.notManager);
    expect(await s.store.getGuild(GUILD.id)).toBeUndefined();
    expect(await s.store.listGuildEvents(GUILD.id)).toEqual([]);
  });

  it('changes toggles, the merge method and quotas at once, each with its audit row', async () => {
    stack = await startTestStack();
    const s = stack;
    const panel = await s.command(MANAGER, 'jules-setup');
    expect(panel.body.data.embeds[0].title).toBe('Jules in this server');
    const shipped = await s.click(MANAGER, buttonId(panel.body.data.components, 'Auto-ship: off')!);
    expect(shipped.body.data.content).toBe('Saved: auto-ship on.');
    const merged = await s.click(MANAGER, buttonId(shipped.body.data.components, 'Merge: squash')!);
    expect(merged.body.data.content).toBe('Saved: pull requests merge by merge.');
    const quotasForm = await s.click(MANAGER, buttonId(merged.body.data.components, 'Quotas')!);
    const quotas = await submit(s, MANAGER, quotasForm.body.data.custom_id, { user_requests_per_hour: '7', daily_sessions_per_key: 'default' });
    expect(quotas.body.data.content).toBe('Saved: the quotas.');
    expect(await s.store.getGuild(GUILD.id)).toMatchObject({ autoShip: true, mergeMethod: 'merge' });
    expect((await s.store.getGuildQuotas(GUILD.id)).userRequestsPerHour).toBe(7);
    const [quotaEvent, mergeEvent, shipEvent] = await s.store.listGuildEvents(GUILD.id, 3);
    expect(quotaEvent).toMatchObject({ kind: 'quotas_changed', actorId: MANAGER.id, detail: { user_requests_per_hour: 7 } });
    expect(mergeEvent).toMatchObject({ kind: 'settings_changed', actorId: MANAGER.id, detail: { merge_method: 'merge' } });
    expect(shipEvent).toMatchObject({ kind: 'settings_changed', actorId: MANAGER.id, detail: { auto_ship: true } });
  });

  describe('bad input gets words and changes nothing', () => {
    it('a malformed key, never echoed', async () => {
      stack = await startTestStack();
      const s = stack;
      const before = await s.store.getGuildKey(GUILD.id);
      const at = await revision(s);
      for (const [key, words] of [
        ['AQ.has a space in it', 'the key contains whitespace'],
        ['AQ.short', 'not plausible'],
        ['', SETUP_TEXT.emptyForm],
      ] as const) {
        const answer = await submit(s, MANAGER, encodeSetupModalId({ action: 'key', revision: at }), { key });
        expect(answer.body.data.content).toContain(words);
        expect(answer.body.data.flags).toBe(MessageFlags.Ephemeral);
        if (key) expect(answer.body.data.content).not.toContain(key);
      }
      expect(await s.store.getGuildKey(GUILD.id)).toBe(before);
      expect(await revision(s)).toBe(at);
    });

    it('an empty form, a repository that does not parse and a branch git would refuse', async () => {
      stack = await startTestStack();
      const s = stack;
      const at = await revision(s);
      const repo = encodeSetupModalId({ action: 'repo', revision: at });
      expect((await submit(s, MANAGER, repo, { repo: '  ', branch: '' })).body.data.content).toContain(SETUP_TEXT.emptyForm);
      expect((await submit(s, MANAGER, repo, { repo: 'not a repo', branch: '' })).body.data.content).toBe('The repository must be a GitHub repository of the form owner/name, so nothing was changed.');
      expect((await submit(s, MANAGER, repo, { repo: 'acme/other', branch: 'bad..branch' })).body.data.content).toContain('The branch must be a git branch name');
      const quotas = encodeSetupModalId({ action: 'quotas', revision: at });
      expect((await submit(s, MANAGER, quotas, {})).body.data.content).toContain(SETUP_TEXT.emptyForm);
      expect((await submit(s, MANAGER, quotas, { user_requests_per_hour: '0' })).body.data.content).toContain('must be a whole number from 1');
      expect(await s.store.getGuild(GUILD.id)).toMatchObject({ defaultRepo: GUILD.repo, defaultBranch: null });
      expect((await s.store.getGuildQuotas(GUILD.id)).customised).toBe(false);
      expect(await revision(s)).toBe(at);
    });

    it('a role that no longer exists, and a forged value', async () => {
      stack = await startTestStack();
      const s = stack;
      const at = await revision(s);
      const menu = encodeSetupId({ action: 'confirm_roles', revision: at });
      const deleted = '800000000000000099';
      expect((await pickRoles(s, MANAGER, menu, [GUILD.leadRole, deleted], [GUILD.leadRole])).body.data.content).toBe(SETUP_TEXT.roleGone);
      expect((await pickRoles(s, MANAGER, menu, ['everyone'], ['everyone'])).body.data.content).toBe(SETUP_TEXT.roleGone);
      expect((await s.store.getGuild(GUILD.id))?.confirmRoles).toEqual([GUILD.leadRole]);
      expect(await revision(s)).toBe(at);
    });

    it('a component or form shown before the configuration changed', async () => {
      stack = await startTestStack();
      const s = stack;
      const panel = await s.command(MANAGER, 'jules-setup');
      const staleToggle = buttonId(panel.body.data.components, 'Two-person rule: off')!;
      const staleForm = encodeSetupModalId({ action: 'repo', revision: await revision(s) });
      // Someone else changes the configuration meanwhile (here: the command line's path, with no actor).
      await s.store.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], planApprovalDefault: true });
      const at = await revision(s);
      const click = await s.click(MANAGER, staleToggle);
      expect(click.body.type).toBe(InteractionResponseType.UpdateMessage);
      expect(click.body.data.content).toBe(SETUP_TEXT.stale);
      // The refreshed panel shows the change that was made meanwhile.
      expect(click.body.data.embeds[0].description).toContain('**Plan approval by default**: on');
      expect((await submit(s, MANAGER, staleForm, { repo: 'acme/other', branch: '' })).body.data.content).toBe(SETUP_TEXT.stale);
      expect(await s.store.getGuild(GUILD.id)).toMatchObject({ twoPersonRule: false, defaultRepo: GUILD.repo });
      expect(await revision(s)).toBe(at);
    });
  });
});

describe('who may set a server up', () => {
  it('needs Manage Server or Administrator in the member’s permission bitfield; anything else reads as neither', () => {
    expect(canManageServer((BASIC | MANAGE_GUILD).toString())).toBe(true);
    expect(canManageServer((1n << 3n).toString())).toBe(true);
    expect(canManageServer(BASIC.toString())).toBe(false);
    for (const bad of [undefined, '', '-32', '0x20', '32.0', ' 32', '9'.repeat(21)]) expect(canManageServer(bad), String(bad)).toBe(false);
  });
});
