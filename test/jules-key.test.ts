import { ComponentType, InteractionResponseType, MessageFlags } from '@discordjs/core/http-only';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_MODAL_ID, MODAL_TEXT_FIELD } from '../src/discord/custom-id';
import { KEY_TEXT } from '../src/discord/key.command';
import { buildModalSubmit, buildSlashCommand } from '../src/sandbox/interaction-signer';
import { buttonId, eventually, GUILD, KEYS, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

/**
 * Issue 13's `/jules-key set | status | remove` end to end on the emulator stack: a personal key typed into the
 * private form pays the member's next task and shows up nowhere in plaintext; status says since when; remove
 * deletes it; bad input changes nothing; a key Jules refuses is reported privately to its owner.
 */

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

type User = { id: string; roles: readonly string[] };

function keyCommand(s: TestStack, user: User, subcommand: string) {
  return s.send(buildSlashCommand({ applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, name: 'jules-key', subcommand }));
}

function submitKey(s: TestStack, user: User, key: string, customId: string = KEY_MODAL_ID) {
  return s.send(buildModalSubmit({ applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, customId, fields: { [MODAL_TEXT_FIELD]: key } }));
}

/** Every stored row of the tables a key could land in, as text. */
async function storedText(s: TestStack): Promise<string> {
  const rows = await s.sql.query<{ row: unknown }>(
    `select to_jsonb(u) as row from users u union all select to_jsonb(g) from guilds g
     union all select to_jsonb(t) from tasks t union all select to_jsonb(e) from task_events e`,
  );
  return JSON.stringify(rows);
}

function expectPrivate(answer: { body: any }): string {
  expect(answer.body.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(answer.body.data.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  return answer.body.data.content as string;
}

describe('/jules-key', () => {
  it('set opens a private form whose key pays the member’s next task, and that key is never shown or stored in plaintext', async () => {
    stack = await startTestStack({ personalKey: false });

    const opened = await keyCommand(stack, MEMBERS.developer, 'set');
    expect(opened.body.type).toBe(InteractionResponseType.Modal);
    expect(opened.body.data.custom_id).toBe(KEY_MODAL_ID);
    const input = opened.body.data.components[0].component;
    expect(input).toMatchObject({ type: ComponentType.TextInput, custom_id: MODAL_TEXT_FIELD, required: true });

    const saved = await submitKey(stack, MEMBERS.developer, `  ${KEYS.personal}  `);
    expect(expectPrivate(saved)).toBe(KEY_TEXT.saved);
    expect(stack.secrets.decrypt((await stack.store.getUserKey(MEMBERS.developer.id))!)).toBe(KEYS.personal);

    // The developer's next task is paid with it: personal key first.
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Paid by my own key' });
    const card = await eventually(() => stack!.discord.channelMessages(GUILD.channelId).find((m) => m.components?.length), 'the card');
    await stack.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    expect(await stack.store.getTask(asked.taskId)).toMatchObject({ keySource: 'personal' });

    const history = await stack.client.workflow.getHandle(asked.taskId).fetchHistory();
    const haystacks = { history: JSON.stringify(history), logs: stack.logs.join('\n'), discord: stack.discord.allMessagesText(), store: await storedText(stack) };
    for (const [where, text] of Object.entries(haystacks)) {
      expect(text.includes(KEYS.personal), `${where} contains the key`).toBe(false);
      expect(text.includes(Buffer.from(KEYS.personal).toString('base64')), `${where} contains the key in base64`).toBe(false);
    }
  });

  it('status says whether a key is set and since when; remove deletes it, and the next task uses the server’s key', async () => {
    stack = await startTestStack({ personalKey: false });

    expect(expectPrivate(await keyCommand(stack, MEMBERS.developer, 'status'))).toBe(KEY_TEXT.none);
    await submitKey(stack, MEMBERS.developer, KEYS.personal);
    const status = expectPrivate(await keyCommand(stack, MEMBERS.developer, 'status'));
    expect(status).toMatch(/^You have a personal Jules key, set <t:\d+:R>/);
    const setAt = Number(/<t:(\d+):R>/.exec(status)![1]) * 1000;
    expect(Math.abs(setAt - Date.now())).toBeLessThan(120_000);
    expect(status).not.toContain(KEYS.personal.slice(0, 6));
    // Another member's status is their own.
    expect(expectPrivate(await keyCommand(stack, MEMBERS.outsider, 'status'))).toBe(KEY_TEXT.none);

    expect(expectPrivate(await keyCommand(stack, MEMBERS.developer, 'remove'))).toBe(KEY_TEXT.removed);
    expect(await stack.store.getUserKey(MEMBERS.developer.id)).toBeUndefined();
    expect(expectPrivate(await keyCommand(stack, MEMBERS.developer, 'status'))).toBe(KEY_TEXT.none);
    expect(expectPrivate(await keyCommand(stack, MEMBERS.developer, 'remove'))).toBe(KEY_TEXT.none);

    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Paid by the server' });
    const card = await eventually(() => stack!.discord.channelMessages(GUILD.channelId).find((m) => m.components?.length), 'the card');
    await stack.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    expect(await stack.store.getTask(asked.taskId)).toMatchObject({ keySource: 'guild' });
  });

  it('refuses an empty form, a key with spaces, an implausible key and a forged form id, storing nothing and echoing nothing', async () => {
    stack = await startTestStack({ personalKey: false });

    const cases: [string, string][] = [
      ['', 'Not saved: the key is empty.'],
      ['AQ.has a space-0123456789', 'Not saved: the key contains whitespace.'],
      ['short', 'Not saved: the key length is not plausible for a Jules API key.'],
      ['x'.repeat(600), 'Not saved: the key length is not plausible for a Jules API key.'],
    ];
    for (const [key, words] of cases) {
      const answer = expectPrivate(await submitKey(stack, MEMBERS.developer, key));
      expect(answer.startsWith(words), answer).toBe(true);
      if (key) expect(answer).not.toContain(key);
    }
    const forged = expectPrivate(await submitKey(stack, MEMBERS.developer, KEYS.personal, 'jk1m:someone-else'));
    expect(forged).toContain('out of date');
    expect(await stack.store.getUserKey(MEMBERS.developer.id)).toBeUndefined();
    expect(expectPrivate(await keyCommand(stack, MEMBERS.developer, 'rotate'))).toContain('/jules-key set');
  });

  it('a personal key Jules refuses fails the task and tells its owner privately how to replace it', async () => {
    const revoked = 'AQ.revoked-personal-key-000000000';
    stack = await startTestStack({ personalKey: false });
    await submitKey(stack, MEMBERS.developer, revoked);

    const asked = await stack.ask(MEMBERS.developer, { prompt: 'My key was revoked' });
    const card = await eventually(() => stack!.discord.channelMessages(GUILD.channelId).find((m) => m.components?.length), 'the card');
    await stack.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('failed');

    const dm = await eventually(() => stack!.discord.dmChannelOf(MEMBERS.developer.id), 'a DM to the key owner');
    const words = await eventually(() => stack!.discord.channelMessages(dm).map((m) => m.content ?? '').find((t) => t.includes('refused your personal Jules API key')), 'the private notice');
    expect(words).toContain('/jules-key set');
    expect(words).toContain(GUILD.repo);
    expect(stack.discord.allMessagesText()).not.toContain(revoked);
    expect(stack.logs.join('\n')).not.toContain(revoked);
  });
});
