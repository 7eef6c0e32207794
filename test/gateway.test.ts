import { Writable } from 'node:stream';
import { API, ChannelType, InteractionResponseType, MessageFlags, type APIInteractionResponse } from '@discordjs/core/http-only';
import { REST } from '@discordjs/rest';
import { afterEach, describe, expect, it } from 'vitest';
import { createGatewayIngress, GATEWAY_INTENTS, GatewayConnectError, INTERACTIONS_ONLY_INTENTS, type GatewayIngress } from '../src/discord/gateway';
import type { InteractionDispatcher } from '../src/discord/dispatcher';
import { sendInteractionCallback } from '../src/discord/interaction-callback';
import { createLogger } from '../src/logger';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';
import { startGatewayEmulator, type GatewayEmulator, type GatewayEmulatorOptions } from '../src/sandbox/discord-gateway';
import { buildButtonClick, buildSlashCommand, newSnowflake } from '../src/sandbox/interaction-signer';
import { askingScript } from '../src/sandbox/jules-emulator';
import type { Reply } from '../src/shared/task';
import type { Store, TaskRecord } from '../src/store/store';
import type { DecideResult, TaskControl } from '../src/temporal/task-control';
import { buttonId, eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

const EPHEMERAL = MessageFlags.Ephemeral;
/** Far below Discord's 41 s, so heartbeats happen within a test. */
const HEARTBEAT_MS = 300;

/** The bot's side without Temporal: the real @discordjs/ws client, a scripted dispatcher and a small TaskControl fake. */
interface Bot {
  readonly discord: DiscordEmulator;
  readonly gateway: GatewayEmulator;
  readonly ingress: GatewayIngress;
  readonly logs: string[];
  /** Every `reply` the gateway forwarded to the TaskControl. */
  readonly replies: { taskId: string; reply: Reply }[];
  /** Thread id → task id, what the store fake knows (the full-stack tests below use the real store). */
  readonly threads: Map<string, string>;
  /** Threads the gateway looked up. */
  readonly lookups: string[];
}

const cleanups: (() => Promise<unknown>)[] = [];
let stack: TestStack | undefined;

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stack?.stop();
  stack = undefined;
});

function captureLogs(): { logs: string[]; log: ReturnType<typeof createLogger> } {
  const logs: string[] = [];
  return { logs, log: createLogger('debug', new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } })) };
}

const ephemeral = (content: string): APIInteractionResponse => ({ type: InteractionResponseType.ChannelMessageWithSource, data: { content, flags: EPHEMERAL } });

async function startBot(options: { gateway?: GatewayEmulatorOptions; forwardThreadMessages?: boolean; replyResult?: DecideResult; connect?: boolean } = {}): Promise<Bot> {
  const { logs, log } = captureLogs();
  const discord = await startDiscordEmulator();
  cleanups.push(() => discord.close());
  const gateway = await startGatewayEmulator({ rest: discord, heartbeatIntervalMs: HEARTBEAT_MS, ...options.gateway });
  cleanups.push(() => gateway.close());
  const threads = new Map<string, string>();
  const lookups: string[] = [];
  const store: Pick<Store, 'findTaskByThread'> = {
    async findTaskByThread(threadId) {
      lookups.push(threadId);
      const id = threads.get(threadId);
      return id ? ({ id, guildId: GUILD.id, threadId } as TaskRecord) : undefined;
    },
  };
  const replies: Bot['replies'] = [];
  const dispatch: InteractionDispatcher = async (interaction) => ephemeral(`answered ${interaction.id}`);
  const tasks: Pick<TaskControl, 'reply'> = {
    async reply(taskId, reply) {
      replies.push({ taskId, reply });
      return options.replyResult ?? { kind: 'refused', reason: 'Only the requester or a confirmer can reply to Jules.' };
    },
  };
  const ingress = createGatewayIngress({
    rest: new REST({ api: discord.apiUrl, retries: 0 }).setToken(discord.token),
    token: discord.token,
    dispatch,
    tasks,
    store,
    log,
    ...(options.forwardThreadMessages !== undefined ? { forwardThreadMessages: options.forwardThreadMessages } : {}),
  });
  cleanups.push(() => ingress.stop());
  if (options.connect !== false) await ingress.start();
  return { discord, gateway, ingress, logs, replies, threads, lookups };
}

function slashCommand(discord: DiscordEmulator, user: { id: string; roles: readonly string[] } = MEMBERS.developer) {
  return buildSlashCommand({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, name: 'jules', options: { prompt: 'Fix it' } });
}

/** A task whose Discord thread is a new id, known to the bot's store fake. */
function taskWithThread(bot: Bot): { taskId: string; threadId: string } {
  const taskId = `task-${newSnowflake()}`;
  const threadId = newSnowflake();
  bot.threads.set(threadId, taskId);
  return { taskId, threadId };
}

describe('the gateway emulator with the real @discordjs/ws client', () => {
  it('identifies once with the intents for interactions and thread messages, heartbeats, and is told its own resume URL', async () => {
    const bot = await startBot();
    expect(bot.gateway.identifies).toHaveLength(1);
    expect(bot.gateway.identifies[0]!.intents).toBe(GATEWAY_INTENTS);
    expect(bot.gateway.connections[0]).toMatchObject({ url: 'gateway', query: { v: '10', encoding: 'json' } });
    expect(bot.discord.requests.filter((r) => r.path === '/gateway/bot')).toHaveLength(1);
    expect(bot.gateway.resumeUrl).not.toBe(bot.gateway.url);
    // Several heartbeats in a row means every one was ACKed: @discordjs/ws drops a connection whose beat went unanswered.
    await eventually(() => bot.gateway.heartbeats.length >= 3, 'three heartbeats');
    expect(bot.gateway.heartbeats.at(-1)!.seq).toBe(1); // the READY dispatch's sequence
    expect(bot.gateway.connections).toHaveLength(1);
  });

  it('answers an interaction from the gateway through the REST callback, without the bot token', async () => {
    const bot = await startBot();
    const command = slashCommand(bot.discord);
    bot.gateway.dispatchInteraction(command);
    const callback = await eventually(() => bot.discord.callbacks.find((c) => c.interactionId === command.id), 'the callback');
    expect(callback).toMatchObject({ type: InteractionResponseType.ChannelMessageWithSource, data: { content: `answered ${command.id}`, flags: EPHEMERAL } });
    const request = bot.discord.requests.find((r) => r.path.startsWith(`/interactions/${command.id}/`));
    expect(request?.auth).toBeUndefined();
    // The answer lands where Discord would show it: an ephemeral message in the command's channel.
    expect(bot.discord.channelMessages(GUILD.channelId)).toEqual([expect.objectContaining({ content: `answered ${command.id}`, ephemeral: true })]);
  });

  it('resumes a dropped session on the resume URL and replays what was dispatched while it was away', async () => {
    const bot = await startBot();
    const dropped = await bot.gateway.dropConnection(4000);
    expect(dropped).toBe(1);
    expect(bot.gateway.connected).toBe(false);
    const missed = slashCommand(bot.discord);
    bot.gateway.dispatchInteraction(missed);
    expect(bot.gateway.dispatches.at(-1)).toMatchObject({ t: 'INTERACTION_CREATE', sentLive: false });

    const resume = await eventually(() => bot.gateway.resumes[0], 'a RESUME');
    expect(resume).toMatchObject({ accepted: true, viaResumeUrl: true, seq: 1, replayed: 1 });
    await eventually(() => bot.discord.callbacks.find((c) => c.interactionId === missed.id), 'the replayed interaction answered');
    expect(bot.gateway.identifies).toHaveLength(1);
    expect(bot.gateway.connected).toBe(true);
  });

  it('identifies again when the session it tries to resume is unknown', async () => {
    const bot = await startBot();
    await bot.gateway.dropConnection(4000, { forgetSession: true });
    await eventually(() => bot.gateway.identifies.length === 2, 'a second IDENTIFY');
    expect(bot.gateway.resumes).toEqual([expect.objectContaining({ accepted: false })]);
    const after = slashCommand(bot.discord);
    bot.gateway.dispatchInteraction(after);
    await eventually(() => bot.discord.callbacks.find((c) => c.interactionId === after.id), 'an interaction on the new session answered');
  });

  it('refuses to start, saying what to enable, when the Message Content intent is not enabled for the bot', async () => {
    const bot = await startBot({ gateway: { privilegedIntents: 0 }, connect: false });
    const started = bot.ingress.start();
    await expect(started).rejects.toBeInstanceOf(GatewayConnectError);
    await expect(started).rejects.toThrow(/Message Content intent.*Developer Portal.*DISCORD_FORWARD_THREAD_MESSAGES=false/);
    await eventually(() => bot.gateway.connections[0]?.closeCode === 4014, 'the 4014 close');
  });

  it('connects without privileged intents when thread messages are not forwarded', async () => {
    const bot = await startBot({ gateway: { privilegedIntents: 0 }, forwardThreadMessages: false });
    expect(bot.gateway.identifies[0]!.intents).toBe(INTERACTIONS_ONLY_INTENTS);
  });
});

describe('interaction callbacks', () => {
  it('keep the bot serving after a 10062 Unknown interaction and a 40060 already acknowledged', async () => {
    const bot = await startBot();
    bot.discord.failNext({ status: 404, code: 10062, message: 'Unknown interaction', match: { path: /\/callback$/ } });
    const late = slashCommand(bot.discord);
    bot.gateway.dispatchInteraction(late);
    await eventually(() => bot.logs.find((l) => l.includes('10062') && l.includes(late.id)), 'the 10062 logged');

    bot.discord.failNext({ status: 400, code: 40060, message: 'Interaction has already been acknowledged.', match: { path: /\/callback$/ } });
    const twice = slashCommand(bot.discord);
    bot.gateway.dispatchInteraction(twice);
    await eventually(() => bot.logs.find((l) => l.includes('40060') && l.includes(twice.id)), 'the 40060 logged');

    // Neither was retried: one callback request each.
    expect(bot.discord.requests.filter((r) => r.path.startsWith(`/interactions/${late.id}/`))).toHaveLength(1);
    expect(bot.discord.requests.filter((r) => r.path.startsWith(`/interactions/${twice.id}/`))).toHaveLength(1);
    expect(bot.logs.filter((l) => l.includes('could not answer a gateway interaction'))).toEqual([]);

    const next = slashCommand(bot.discord);
    bot.gateway.dispatchInteraction(next);
    await eventually(() => bot.discord.callbacks.find((c) => c.interactionId === next.id), 'the next interaction answered');
    expect(bot.gateway.identifies).toHaveLength(1);
  });

  it('report 10062 as expired and 40060 as already acknowledged, and throw other Discord errors', async () => {
    const { log } = captureLogs();
    const discord = await startDiscordEmulator();
    cleanups.push(() => discord.close());
    const api = new API(new REST({ api: discord.apiUrl, retries: 0 }).setToken(discord.token)).interactions;
    const answer = ephemeral('hello');

    discord.failNext({ status: 404, code: 10062, message: 'Unknown interaction' });
    expect(await sendInteractionCallback(api, slashCommand(discord), answer, log)).toBe('expired');
    discord.failNext({ status: 400, code: 40060, message: 'Interaction has already been acknowledged.' });
    expect(await sendInteractionCallback(api, slashCommand(discord), answer, log)).toBe('already_acknowledged');
    discord.failNext({ status: 403, code: 50001, message: 'Missing Access' });
    await expect(sendInteractionCallback(api, slashCommand(discord), answer, log)).rejects.toMatchObject({ code: 50001 });
    // The emulator itself answers a second callback for one interaction with 40060.
    const once = slashCommand(discord);
    expect(await sendInteractionCallback(api, once, answer, log)).toBe('sent');
    expect(await sendInteractionCallback(api, once, answer, log)).toBe('already_acknowledged');
  });

  it('use the callback type of each response: reply, defer, update, deferred update and modal', async () => {
    const { log } = captureLogs();
    const discord = await startDiscordEmulator();
    cleanups.push(() => discord.close());
    const api = new API(new REST({ api: discord.apiUrl, retries: 0 }).setToken(discord.token)).interactions;
    const click = () => buildButtonClick({ applicationId: discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.lead, customId: 'x', messageId: newSnowflake() });
    const modal: APIInteractionResponse = {
      type: InteractionResponseType.Modal,
      data: { custom_id: 'reply:1', title: 'Reply to Jules', components: [{ type: 18, label: 'Your reply', component: { type: 4, custom_id: 'text', style: 2 } }] } as never,
    };
    const responses: APIInteractionResponse[] = [
      ephemeral('hi'),
      { type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: EPHEMERAL } },
      { type: InteractionResponseType.UpdateMessage, data: { content: 'updated', components: [] } },
      { type: InteractionResponseType.DeferredMessageUpdate },
      modal,
    ];
    for (const response of responses) expect(await sendInteractionCallback(api, click(), response, log)).toBe('sent');
    expect(discord.callbacks.map((c) => c.type)).toEqual([4, 5, 7, 6, 9]);
    expect(discord.callbacks[1]!.data).toEqual({ flags: EPHEMERAL });
    expect(discord.callbacks[4]!.data).toMatchObject({ custom_id: 'reply:1', title: 'Reply to Jules' });
    expect(await sendInteractionCallback(api, click(), { type: InteractionResponseType.Pong }, log)).toBe('not_sent');
    expect(discord.callbacks).toHaveLength(5);
  });
});

describe('messages in a task thread (gateway mode)', () => {
  it('forwards the text and the author’s roles to the task, and ignores bots, other channels and other threads', async () => {
    const bot = await startBot({ replyResult: { kind: 'gone' } });
    const { taskId, threadId } = taskWithThread(bot);
    const base = { guildId: GUILD.id, channelId: threadId };

    bot.gateway.dispatchMessage({ ...base, user: MEMBERS.outsider, content: 'hi', bot: true });
    bot.gateway.dispatchMessage({ ...base, channelId: GUILD.channelId, channelType: ChannelType.GuildText, user: MEMBERS.developer, content: 'in the channel' });
    bot.gateway.dispatchMessage({ ...base, channelId: newSnowflake(), user: MEMBERS.developer, content: 'in another thread' });
    bot.gateway.dispatchMessage({ ...base, user: MEMBERS.developer, content: '   ' });
    bot.gateway.dispatchMessage({ ...base, user: MEMBERS.developer, content: '  Use the v2 API, please. ' });
    await eventually(() => bot.replies.length > 0, 'the forwarded reply');
    await bot.ingress.settled();

    expect(bot.replies).toEqual([{ taskId, reply: { member: { id: GUILD.developer, roles: [GUILD.developerRole] }, text: 'Use the v2 API, please.' } }]);
    // An ordinary channel (MESSAGE_CREATE says its type) and bots never reach the store.
    expect(bot.lookups).not.toContain(GUILD.channelId);
    expect(bot.lookups).toHaveLength(2);
  });

  it('stays quiet when the workflow refuses a message (nothing is posted, the refusal is logged at debug)', async () => {
    const bot = await startBot({ replyResult: { kind: 'refused', reason: 'Only the requester or a confirmer can reply to Jules.' } });
    const { threadId } = taskWithThread(bot);
    const message = bot.gateway.dispatchMessage({ guildId: GUILD.id, channelId: threadId, user: MEMBERS.outsider, content: 'let me in' });
    await eventually(() => bot.replies.length === 1, 'the reply attempt');
    await bot.ingress.settled();
    expect(bot.replies[0]!.reply.member).toEqual({ id: GUILD.outsider, roles: [] });
    expect(bot.discord.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    const line = bot.logs.find((l) => l.includes(message.id));
    expect(JSON.parse(line!)).toMatchObject({ level: 20, result: 'refused', msg: 'thread message not forwarded' });
  });

  it('subscribes to no messages when thread forwarding is off, so nothing is forwarded', async () => {
    const bot = await startBot({ forwardThreadMessages: false, replyResult: { kind: 'gone' } });
    const { threadId } = taskWithThread(bot);
    bot.gateway.dispatchMessage({ guildId: GUILD.id, channelId: threadId, user: MEMBERS.developer, content: 'hello' });
    // Without GUILD_MESSAGES the emulator, like Discord, does not even send the event.
    expect(bot.gateway.dispatches.filter((d) => d.t === 'MESSAGE_CREATE')).toEqual([]);
    await bot.ingress.settled();
    expect(bot.replies).toEqual([]);
  });
});

describe('a task over the gateway (full stack)', () => {
  it('runs a /jules from a confirmer: ephemeral answer through the callback, then the PR in the task thread', async () => {
    stack = await startTestStack({ mode: 'gateway' });
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Bump the lodash version' });
    expect(asked.body).toMatchObject({ type: InteractionResponseType.ChannelMessageWithSource, data: { flags: EPHEMERAL } });
    expect(asked.body.data.content).toContain('Starting Jules');
    // The answer went out as the REST callback (the stack's gateway `send` reads it from the emulator's record).
    expect(stack.discord.callbacks).toHaveLength(1);

    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    const threadId = (await stack.store.getTask(asked.taskId))?.threadId;
    expect(threadId).toBeTruthy();
    expect(stack.discord.channelMessages(threadId!).filter((m) => m.content.includes(`PR ready: ${outcome.prUrl}`))).toHaveLength(1);
    expect(stack.gateway!.identifies).toHaveLength(1);
  });

  it('drops the connection mid-task, resumes without identifying again, and answers the click sent while it was away', async () => {
    stack = await startTestStack({ mode: 'gateway' });
    const gateway = stack.gateway!;
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Fix the flaky login test' });
    expect(asked.body.data.content).toContain('A confirmer must approve it');
    const card = await eventually(() => stack!.discord.channelMessages(GUILD.channelId).find((m) => m.embeds?.[0]?.footer?.text === asked.taskId), 'the task card');

    await gateway.dropConnection(4000);
    expect(gateway.connected).toBe(false);
    const confirm = buildButtonClick({
      applicationId: stack.discord.applicationId,
      guildId: GUILD.id,
      channelId: GUILD.channelId,
      user: MEMBERS.lead,
      customId: buttonId(card.components, 'Confirm')!,
      messageId: card.id,
      message: card,
    });
    gateway.dispatchInteraction(confirm);
    expect(gateway.dispatches.at(-1)).toMatchObject({ t: 'INTERACTION_CREATE', sentLive: false });

    const callback = await eventually(() => stack!.discord.callbacks.find((c) => c.interactionId === confirm.id), 'the confirm click answered');
    expect(callback.type).toBe(InteractionResponseType.UpdateMessage);
    expect(gateway.resumes).toEqual([expect.objectContaining({ accepted: true, viaResumeUrl: true, replayed: 1 })]);
    expect(gateway.identifies).toHaveLength(1);

    const outcome = await stack.outcome(asked.taskId);
    expect(outcome).toMatchObject({ status: 'completed' });
    expect((await stack.store.getTask(asked.taskId))?.decidedBy).toBe(GUILD.lead);
  });

  it('forwards the requester’s thread message to Jules while it waits for an answer, and not an outsider’s', async () => {
    stack = await startTestStack({ mode: 'gateway', jules: { script: () => askingScript('Which database should the cache use?') } });
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Add a cache' });
    expect(asked.body.data.content).toContain('Starting Jules');
    await eventually(() => stack!.jules.sessions()[0]?.state === 'AWAITING_USER_FEEDBACK', 'Jules asking its question');
    const threadId = await eventually(async () => (await stack!.store.getTask(asked.taskId))?.threadId ?? undefined, 'the task thread');

    stack.gateway!.dispatchMessage({ guildId: GUILD.id, channelId: threadId, user: MEMBERS.outsider, content: 'Use MongoDB' });
    stack.gateway!.dispatchMessage({ guildId: GUILD.id, channelId: threadId, user: MEMBERS.lead, content: 'Use Redis' });
    await eventually(() => stack!.jules.sessions()[0]?.messages.includes('Use Redis'), 'the reply at Jules');

    const outcome = await stack.outcome(asked.taskId);
    expect(outcome.status).toBe('completed');
    expect(stack.jules.sessions()[0]!.messages).toEqual(['Use Redis']);
  });
});
