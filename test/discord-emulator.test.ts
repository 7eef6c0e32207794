import { API, ButtonStyle, ComponentType, MessageFlags } from '@discordjs/core/http-only';
import { DiscordAPIError, REST, RESTEvents, type RateLimitData } from '@discordjs/rest';
import { afterEach, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';
import { buildButtonClick, buildSlashCommand, newSnowflake } from '../src/sandbox/interaction-signer';

const guildId = '1200000000000000002';
const channelId = '1300000000000000003';
const member = { id: '1400000000000000004', roles: ['1500000000000000005'] };

const opened: { emulator: DiscordEmulator; rest: REST }[] = [];

async function setup(opts: Parameters<typeof startDiscordEmulator>[0] = {}) {
  const emulator = await startDiscordEmulator(opts);
  // A small offset keeps rate-limit waits short; the client still honours Retry-After and the buckets.
  const rest = new REST({ api: emulator.apiUrl, offset: 0 }).setToken(emulator.token);
  opened.push({ emulator, rest });
  return { emulator, rest, api: new API(rest) };
}

async function rejection(promise: Promise<unknown>): Promise<DiscordAPIError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DiscordAPIError);
  return err as DiscordAPIError;
}

afterEach(async () => {
  for (const { emulator, rest } of opened.splice(0)) {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
    await emulator.close();
  }
});

describe('Discord REST emulator with the real discord.js client', () => {
  it('posts a message to a channel and edits it, keeping the transcript', async () => {
    const { emulator, api } = await setup();
    const created = await api.channels.createMessage(channelId, {
      content: 'Task queued',
      components: [{ type: ComponentType.ActionRow, components: [{ type: ComponentType.Button, style: ButtonStyle.Success, label: 'Confirm', custom_id: 'task:confirm:1' }] }],
    });
    expect(created.id).toMatch(/^\d{17,20}$/);
    expect(created.channel_id).toBe(channelId);
    expect(created.author.bot).toBe(true);
    expect(created.author.id).toBe(emulator.applicationId);
    expect(Date.parse(created.timestamp)).not.toBeNaN();

    const edited = await api.channels.editMessage(channelId, created.id, { content: 'Task confirmed', components: [] });
    expect(edited.content).toBe('Task confirmed');
    expect(edited.edited_timestamp).not.toBeNull();
    expect(await api.channels.getMessage(channelId, created.id)).toMatchObject({ id: created.id, content: 'Task confirmed' });

    const [message, ...others] = emulator.channelMessages(channelId);
    expect(others).toEqual([]);
    expect(message).toMatchObject({ id: created.id, content: 'Task confirmed', components: [], editCount: 1, source: 'channel', ephemeral: false });
    expect(emulator.messageHistory(channelId).map((e) => [e.kind, e.content])).toEqual([
      ['create', 'Task queued'],
      ['edit', 'Task confirmed'],
    ]);
    const posted = emulator.requests.find((r) => r.method === 'POST')!;
    expect(posted).toMatchObject({ path: `/channels/${channelId}/messages`, status: 200, auth: 'Bot' });
    // The emulator never keeps the bot token itself.
    expect(JSON.stringify(emulator.requests)).not.toContain(emulator.token);
  });

  it('answers 404 Unknown Message for a message that does not exist', async () => {
    const { api } = await setup();
    const err = await rejection(api.channels.editMessage(channelId, newSnowflake(), { content: 'x' }));
    expect(err.status).toBe(404);
    expect(err.code).toBe(10008);
  });

  it('refuses empty and over-long messages like Discord does', async () => {
    const { emulator, api } = await setup();
    expect((await rejection(api.channels.createMessage(channelId, {}))).code).toBe(50006);
    const tooLong = await rejection(api.channels.createMessage(channelId, { content: 'x'.repeat(2001) }));
    expect(tooLong.status).toBe(400);
    expect(tooLong.code).toBe(50035);
    expect(emulator.channelMessages(channelId)).toEqual([]);
  });

  it('starts one thread per message, with the message id as the thread id', async () => {
    const { emulator, api } = await setup();
    const starter = await api.channels.createMessage(channelId, { content: 'Working on it' });
    const thread = await api.channels.createThread(channelId, { name: 'Task 1', auto_archive_duration: 1440 }, starter.id);
    expect(thread).toMatchObject({ id: starter.id, parent_id: channelId, name: 'Task 1', type: 11 });
    expect(emulator.threads().map((t) => t.id)).toEqual([starter.id]);
    await api.channels.createMessage(thread.id, { content: 'Plan ready' });
    expect(emulator.channelMessages(thread.id).map((m) => m.content)).toEqual(['Plan ready']);
    expect((await rejection(api.channels.createThread(channelId, { name: 'again' }, starter.id))).code).toBe(160004);
  });

  it('rejects bot routes with a wrong token as 401 Unauthorized', async () => {
    const { emulator } = await setup();
    const rest = new REST({ api: emulator.apiUrl }).setToken('not-the-token');
    opened.push({ emulator, rest });
    const err = await rejection(new API(rest).channels.createMessage(channelId, { content: 'hi' }));
    expect(err.status).toBe(401);
    expect(err.code).toBe(0);
    expect(err.message).toBe('401: Unauthorized');
    expect(emulator.requests.at(-1)).toMatchObject({ status: 401, auth: 'Bot' });
    expect(emulator.channelMessages(channelId)).toEqual([]);
  });

  it('replies to a slash command without the bot token and puts the reply in its channel', async () => {
    const { emulator, api } = await setup();
    // An opaque token, like Discord's: the emulator learns the channel from registration.
    const interaction = buildSlashCommand({ applicationId: emulator.applicationId, guildId, channelId, user: member, name: 'jules', token: 'opaque-token_1' });
    emulator.registerInteraction(interaction);
    await api.interactions.reply(interaction.id, interaction.token, { content: 'Queued for confirmation' });

    expect(emulator.callbacks).toMatchObject([{ interactionId: interaction.id, token: interaction.token, type: 4, data: { content: 'Queued for confirmation' } }]);
    const callback = emulator.requests.find((r) => r.path.endsWith('/callback'))!;
    expect(callback.path).toBe(`/interactions/${interaction.id}/${interaction.token}/callback`);
    expect(callback.auth).toBeUndefined();
    expect(callback.status).toBe(204);
    const [reply] = emulator.channelMessages(channelId);
    expect(reply).toMatchObject({ content: 'Queued for confirmation', source: 'interaction', type: 20 });
    expect(reply!.interaction_metadata?.user.id).toBe(member.id);

    // A second acknowledgement is the classic "reply after defer" bug.
    const twice = await rejection(api.interactions.reply(interaction.id, interaction.token, { content: 'again' }));
    expect(twice.status).toBe(400);
    expect(twice.code).toBe(40060);
  });

  it('puts responses to an unknown interaction with an opaque token in channel 0', async () => {
    const { emulator, api } = await setup();
    await api.interactions.reply(newSnowflake(), 'someone-elses-token', { content: 'where am I' });
    expect(emulator.channelMessages(channelId)).toEqual([]);
    expect(emulator.channelMessages('0').map((m) => m.content)).toEqual(['where am I']);
  });

  it('returns the response message with with_response=true', async () => {
    const { emulator, api } = await setup();
    const interaction = buildSlashCommand({ applicationId: emulator.applicationId, guildId, channelId, user: member, name: 'jules' });
    emulator.registerInteraction(interaction);
    const response = await api.interactions.defer(interaction.id, interaction.token, { flags: MessageFlags.Ephemeral, with_response: true });
    const [loading] = emulator.channelMessages(channelId);
    expect(response.interaction).toMatchObject({
      id: interaction.id,
      type: 2,
      response_message_id: loading!.id,
      response_message_loading: true,
      response_message_ephemeral: true,
    });
  });

  it('defers, edits @original and sends a follow-up through the interaction webhook', async () => {
    const { emulator, api } = await setup();
    const interaction = buildSlashCommand({ applicationId: emulator.applicationId, guildId, channelId, user: member, name: 'jules' });
    emulator.registerInteraction(interaction);
    await api.interactions.defer(interaction.id, interaction.token);
    const original = await api.interactions.editReply(emulator.applicationId, interaction.token, { content: 'Started task-1' });
    const followUp = await api.interactions.followUp(emulator.applicationId, interaction.token, { content: 'Details', flags: MessageFlags.Ephemeral });
    const fetched = await api.interactions.getOriginalReply(emulator.applicationId, interaction.token);

    expect(original.content).toBe('Started task-1');
    expect(fetched.id).toBe(original.id);
    expect((original.flags ?? 0) & (1 << 7)).toBe(0); // no longer loading
    expect(followUp.id).not.toBe(original.id);
    const edit = emulator.requests.find((r) => r.method === 'PATCH')!;
    expect(edit.path).toBe(`/webhooks/${emulator.applicationId}/${interaction.token}/messages/@original`);
    expect(edit.auth).toBeUndefined();
    expect(emulator.followUps).toMatchObject([{ messageId: followUp.id, channelId, content: 'Details', editedDeferredOriginal: false }]);
    expect(emulator.channelMessages(channelId).map((m) => [m.content, m.ephemeral, m.editCount])).toEqual([
      ['Started task-1', false, 1],
      ['Details', true, 0],
    ]);
    // Ephemeral messages exist only for the interaction; bot routes cannot fetch them.
    expect((await rejection(api.channels.getMessage(channelId, followUp.id))).code).toBe(10008);

    await api.interactions.deleteReply(emulator.applicationId, interaction.token, followUp.id);
    expect(emulator.channelMessages(channelId).map((m) => m.content)).toEqual(['Started task-1']);
  });

  it('lets the first follow-up after a defer fill in the loading message, as Discord still does', async () => {
    const { emulator, api } = await setup();
    const interaction = buildSlashCommand({ applicationId: emulator.applicationId, guildId, channelId, user: member, name: 'jules' });
    emulator.registerInteraction(interaction);
    await api.interactions.defer(interaction.id, interaction.token);
    const first = await api.interactions.followUp(emulator.applicationId, interaction.token, { content: 'Done' });
    const second = await api.interactions.followUp(emulator.applicationId, interaction.token, { content: 'More' });
    expect(emulator.channelMessages(channelId).map((m) => m.content)).toEqual(['Done', 'More']);
    expect(emulator.followUps.map((f) => f.editedDeferredOriginal)).toEqual([true, false]);
    expect(first.id).toBe(emulator.channelMessages(channelId)[0]!.id);
    expect(second.id).not.toBe(first.id);
  });

  it('refuses webhook calls for an interaction that was never acknowledged', async () => {
    const { emulator, api } = await setup();
    const err = await rejection(api.interactions.editReply(emulator.applicationId, 'never-acknowledged', { content: 'x' }));
    expect(err.status).toBe(404);
    expect(err.code).toBe(10015);
  });

  it('updates the clicked message when a button answers with UPDATE_MESSAGE', async () => {
    const { emulator, api } = await setup();
    const prompt = await api.channels.createMessage(channelId, {
      content: 'Confirm task 1?',
      components: [{ type: ComponentType.ActionRow, components: [{ type: ComponentType.Button, style: ButtonStyle.Primary, label: 'Confirm', custom_id: 'task:confirm:1' }] }],
    });
    // No registration: a builder-made interaction's token tells the emulator its channel and message.
    const click = buildButtonClick({ applicationId: emulator.applicationId, guildId, channelId, user: member, customId: 'task:confirm:1', messageId: prompt.id });
    await api.interactions.updateMessage(click.id, click.token, { content: 'Confirmed by <@1400000000000000004>', components: [] });

    expect(emulator.callbacks.map((c) => c.type)).toEqual([7]);
    expect(emulator.channelMessages(channelId)).toMatchObject([{ id: prompt.id, content: 'Confirmed by <@1400000000000000004>', components: [], editCount: 1 }]);
    const original = await api.interactions.getOriginalReply(emulator.applicationId, click.token);
    expect(original.id).toBe(prompt.id);
  });

  it('bulk-overwrites global and guild commands, keeping ids of commands that stay', async () => {
    const { emulator, api } = await setup();
    const commands = [
      { name: 'jules', description: 'Ask Jules to write code', options: [{ type: 3, name: 'prompt', description: 'What to do', required: true }] },
      { name: 'jules-status', description: 'Show your tasks' },
    ];
    const global = await api.applicationCommands.bulkOverwriteGlobalCommands(emulator.applicationId, commands);
    expect(global.map((c) => [c.name, c.type, c.application_id])).toEqual([
      ['jules', 1, emulator.applicationId],
      ['jules-status', 1, emulator.applicationId],
    ]);
    const again = await api.applicationCommands.bulkOverwriteGlobalCommands(emulator.applicationId, [commands[0]!]);
    expect(again[0]!.id).toBe(global[0]!.id);
    expect(emulator.registeredCommands().map((c) => c.name)).toEqual(['jules']);

    const guild = await api.applicationCommands.bulkOverwriteGuildCommands(emulator.applicationId, guildId, commands);
    expect(guild.every((c) => c.guild_id === guildId)).toBe(true);
    expect(emulator.registeredCommands(guildId).map((c) => c.name)).toEqual(['jules', 'jules-status']);

    const invalid = await rejection(api.applicationCommands.bulkOverwriteGlobalCommands(emulator.applicationId, [{ name: 'Jules', description: 'caps' }]));
    expect(invalid.code).toBe(50035);
  });

  it('waits out a 429 and retries, so the call still resolves', async () => {
    const { emulator, rest, api } = await setup();
    const limits: RateLimitData[] = [];
    rest.on(RESTEvents.RateLimited, (info) => limits.push(info));
    emulator.rateLimitNext({ retryAfterSeconds: 0.3, match: { method: 'POST', path: /^\/channels\/\d+\/messages$/ } });

    const started = Date.now();
    const message = await api.channels.createMessage(channelId, { content: 'after the limit' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(message.content).toBe('after the limit');
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(limits).toHaveLength(1);
    expect(limits[0]).toMatchObject({ scope: 'user', global: false });
    expect(emulator.channelMessages(channelId)).toHaveLength(1);
  });

  it('waits out a global 429 on an interaction callback too', async () => {
    const { emulator, api } = await setup();
    const interaction = buildSlashCommand({ applicationId: emulator.applicationId, guildId, channelId, user: member, name: 'jules' });
    emulator.registerInteraction(interaction);
    emulator.rateLimitNext({ retryAfterSeconds: 0.2, global: true, match: { path: /\/callback$/ } });
    await api.interactions.reply(interaction.id, interaction.token, { content: 'ok' });
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 204]);
    expect(emulator.callbacks).toHaveLength(1);
  });

  it('fails the next matching request with the injected Discord error', async () => {
    const { emulator, api } = await setup();
    const interaction = buildSlashCommand({ applicationId: emulator.applicationId, guildId, channelId, user: member, name: 'jules' });
    emulator.failNext({ status: 404, code: 10062, message: 'Unknown interaction', match: { path: /\/callback$/ } });
    const err = await rejection(api.interactions.defer(interaction.id, interaction.token));
    expect(err.status).toBe(404);
    expect(err.code).toBe(10062);
    expect(emulator.callbacks).toEqual([]);
    // Only the next one: the retry goes through.
    await api.interactions.defer(interaction.id, interaction.token);
    expect(emulator.callbacks).toHaveLength(1);
  });

  it('answers every matching request with a 5xx for a stretch of time, then normally again', async () => {
    const { emulator } = await setup();
    const post = () =>
      fetch(`${emulator.apiUrl}/v10/channels/${channelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${emulator.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'hello' }),
      });
    emulator.failNext({ status: 503, code: 0, message: '503: Service Unavailable', forMs: 400, match: { method: 'POST' } });
    const during = [await post(), await post(), await post()];
    expect(during.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(await during[0]!.json()).toMatchObject({ code: 0, message: '503: Service Unavailable' });
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await post()).status).toBe(200);
    expect(emulator.channelMessages(channelId)).toHaveLength(1);
  });

  it('sends rate-limit headers and enforces the bucket, which the client then waits out', async () => {
    const { emulator, api } = await setup({ routeLimit: { requests: 2, windowSeconds: 0.5 } });
    const post = (content: string) =>
      fetch(`${emulator.apiUrl}/v10/channels/${channelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${emulator.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content }),
      });
    const first = await post('one');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(Number(first.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(0);
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1);
    expect(first.headers.get('x-ratelimit-bucket')).toMatch(/^[0-9a-f]{32}$/);
    expect((await post('two')).headers.get('x-ratelimit-remaining')).toBe('0');
    const limited = await post('dropped');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-scope')).toBe('user');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ message: 'You are being rate limited.', global: false });

    // The client has not seen this bucket yet, so it may meet the 429 once; it must still create each message once.
    for (const content of ['three', 'four', 'five']) await api.channels.createMessage(channelId, { content });
    expect(emulator.channelMessages(channelId).map((m) => m.content)).toEqual(['one', 'two', 'three', 'four', 'five']);
    expect(emulator.requests.filter((r) => r.status === 200)).toHaveLength(5);
  });

  it('accepts a message with an attachment sent as multipart', async () => {
    const { emulator, api } = await setup();
    const message = await api.channels.createMessage(channelId, {
      content: 'Diff attached',
      files: [{ name: 'changes.diff', data: Buffer.from('+ added line') }],
    });
    expect(message.content).toBe('Diff attached');
    expect(emulator.requests.at(-1)).toMatchObject({ body: { content: 'Diff attached' }, files: [{ name: 'changes.diff', size: 12 }] });
    expect(emulator.allMessagesText()).toContain('+ added line');
  });

  it('answers unknown routes with 404 and knows its gateway', async () => {
    const { emulator, api } = await setup();
    const res = await fetch(`${emulator.apiUrl}/v10/nothing/here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: '404: Not Found', code: 0 });
    const gateway = await api.gateway.getBot();
    expect(gateway.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(gateway.session_start_limit.max_concurrency).toBe(1);
    emulator.setGatewayUrl('ws://127.0.0.1:1');
    expect((await api.gateway.getBot()).url).toBe('ws://127.0.0.1:1');
  });

  it('collects every text sent anywhere for leak scans', async () => {
    const { emulator, api } = await setup();
    const interaction = buildSlashCommand({ applicationId: emulator.applicationId, guildId, channelId, user: member, name: 'jules' });
    emulator.registerInteraction(interaction);
    await api.channels.createMessage(channelId, { embeds: [{ title: 'Plan', fields: [{ name: 'Step 1', value: 'embed-secret' }] }] });
    await api.interactions.reply(interaction.id, interaction.token, {
      content: 'reply-text',
      components: [{ type: ComponentType.ActionRow, components: [{ type: ComponentType.Button, style: ButtonStyle.Danger, label: 'button-label', custom_id: 'x:1' }] }],
    });
    await api.interactions.followUp(emulator.applicationId, interaction.token, { content: 'followup-text' });
    const text = emulator.allMessagesText();
    for (const expected of ['embed-secret', 'reply-text', 'button-label', 'followup-text']) expect(text).toContain(expected);
    expect(text).not.toContain('never-sent');
  });
});
