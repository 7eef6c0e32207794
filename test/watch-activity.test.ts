import { API } from '@discordjs/core/http-only';
import { REST } from '@discordjs/rest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createWatchActivities } from '../activities/watch.activities';
import { createSecretBox, generateEncryptionKey } from '../src/crypto/secret-box';
import { createDiscordAnnouncers } from '../src/discord/discord-announcers';
import { createRestMessenger } from '../src/discord/messenger';
import { createHttpJulesClient, createHttpJulesClientFactory } from '../src/jules/http-jules-client';
import { createLogger } from '../src/logger';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';
import { askingScript, startJulesEmulator, type JulesEmulator } from '../src/sandbox/jules-emulator';
import { openStore } from '../src/store/open-store';
import type { Store } from '../src/store/store';

const KEY = 'fake-jules-watch-key-0123456789';
const GUILD = '700000000000000001';
const TASK = 'task-700000000000000999';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function setup(): Promise<{ store: Store; jules: JulesEmulator; discord: DiscordEmulator; session: string; watch: ReturnType<typeof createWatchActivities>['watchJulesSession'] }> {
  const store = await openStore({ inMemory: true });
  const jules = await startJulesEmulator({ keys: [KEY], timeScale: 0.05, script: () => askingScript('Which port?') });
  const discord = await startDiscordEmulator();
  cleanup.push(() => store.close(), () => jules.close(), () => discord.close());
  const secrets = createSecretBox(generateEncryptionKey());
  await store.setGuildKey(GUILD, secrets.encrypt(KEY));
  await store.createTask({ id: TASK, guildId: GUILD, channelId: '700000000000000002', requesterId: '700000000000000100', prompt: 'p', repo: 'acme/widgets', branch: null, status: 'in_progress', keySource: 'guild' });
  const client = createHttpJulesClient({ baseUrl: jules.url, apiKey: KEY });
  const session = await client.createSession({ prompt: 'p', title: 't', source: 'sources/github/acme/widgets' });
  const { watchJulesSession } = createWatchActivities({
    store,
    secrets,
    julesClientFor: createHttpJulesClientFactory(jules.url),
    announcerFor: createDiscordAnnouncers({ discord: createRestMessenger(new API(new REST({ api: discord.apiUrl }).setToken(discord.token))), log: createLogger('silent') }),
    log: createLogger('silent'),
  });
  return { store, jules, discord, session: session.name, watch: watchJulesSession };
}

function input(session: string, deliver: { id: string; text: string }[]) {
  return {
    taskId: TASK,
    guildId: GUILD,
    requesterId: '700000000000000100',
    keySource: 'guild' as const,
    session,
    knownState: 'QUEUED',
    cursor: { seenAtLastTime: [], lastChangeAt: Date.now(), delivered: [] },
    deliver: deliver.map((d) => ({ kind: 'send_message' as const, id: d.id, text: d.text, actorId: '700000000000000100', purpose: 'reply' as const })),
    threadId: '700000000000000003',
    view: { taskId: TASK, status: 'in_progress' as const, prompt: 'p', repo: 'acme/widgets', requesterId: '700000000000000100', keySource: 'guild' as const },
    planApproval: false,
    pollIntervalMs: 50,
    stallAfterMs: 60_000,
    stalled: false,
    maxRunMs: 200,
  };
}

describe('the session watcher', () => {
  it('never sends Jules an action that an interrupted attempt already delivered', async () => {
    const { store, jules, watch } = await setup();
    // The interrupted attempt delivered "8080" and recorded it, then was cancelled before reporting back.
    await store.recordTaskEvent({ taskId: TASK, kind: 'message_to_jules', actorId: '700000000000000100', detail: { action: 'reply-1' }, dedupeKey: 'reply-1' });
    const env = new MockActivityEnvironment();
    await env.run(watch, input(jules.sessions()[0]!.name, [{ id: 'reply-1', text: '8080' }, { id: 'reply-2', text: 'and 8443' }]));
    expect(jules.sessions()[0]!.messages).toEqual(['and 8443']);
    expect((await store.listTaskEvents(TASK)).filter((e) => e.kind === 'message_to_jules').map((e) => e.detail.action)).toEqual(['reply-1', 'reply-2']);
  });
});
