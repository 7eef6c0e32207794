import { join } from 'node:path';
import { MessageFlags } from '@discordjs/core/http-only';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { planItemLabel } from '../discord/plan-card';
import { startService, type RunningService } from '../service';
import { PLAN_ITEM_STATUSES } from '../shared/plan';
import type { DiscordEmulator, MessageHistoryEntry } from './discord-emulator';
import type { GitHubEmulator } from './github-emulator';
import { deliverInteraction, settledAnswerText, type DeliveredInteraction, type HttpInteractionEndpoint } from './http-delivery';
import { buildButtonClick, buildSlashCommand, type InteractionUserInput } from './interaction-signer';

/**
 * What every `demo` scenario shares: the demo guild and its members, the embedded stack on its own data and
 * random ports, signed interactions sent as Discord sends them, and the transcript printer. A scenario
 * (demo.ts, demo-plan.ts) is then only its story.
 */

/** The people and places of the demo guild. */
export const DEMO = {
  guildId: '900000000000000001',
  channelId: '900000000000000002',
  developerRole: '900000000000000010',
  leadRole: '900000000000000011',
  requester: '900000000000000100',
  confirmer: '900000000000000101',
  julesKey: 'demo-jules-key-0123456789',
  repo: 'acme/widgets',
};

/** The demo's members as interactions carry them: a developer who asks, a lead who confirms. */
export const DEMO_MEMBERS = {
  requester: { id: DEMO.requester, roles: [DEMO.developerRole] },
  confirmer: { id: DEMO.confirmer, roles: [DEMO.leadRole] },
} as const satisfies Record<string, InteractionUserInput>;

/** Options of every demo scenario. */
export interface DemoOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly print: (line: string) => void;
  /** Keep the stack (and its Web UI) running after the demo until this promise settles. */
  readonly holdOpen?: Promise<unknown>;
}

/** The running stack as a scenario drives it. */
export interface DemoStage {
  readonly service: RunningService;
  readonly client: Client;
  readonly discord: DiscordEmulator;
  /** The emulated GitHub (the demo sets no GitHub credentials, so it is always there). */
  readonly github: GitHubEmulator;
  readonly print: (line: string) => void;
  /** Sends a signed interaction to the ingress as Discord would; anything but 200 stops the demo. */
  send(interaction: { id: string; token: string }): Promise<DeliveredInteraction>;
  /** The words the member finally reads for an answer (a deferred one once it was edited in). */
  answerText(answer: DeliveredInteraction): Promise<string>;
  /** Runs a slash command as `member` in the demo channel. */
  command(member: InteractionUserInput, name: string, options?: Record<string, string | boolean>): Promise<DeliveredInteraction>;
  /** Clicks the button labelled `label` on `message` as `member`. */
  click(member: InteractionUserInput, message: { id: string; channel_id: string; components?: unknown }, label: string): Promise<DeliveredInteraction>;
}

/**
 * Starts the embedded defaults with no credentials (Temporal dev server, PGlite in memory, the Discord, Jules and
 * GitHub emulators), sets up the demo guild with the requester's personal key, plays `scenario`, and keeps the
 * Web UI up until `holdOpen` settles when asked to.
 */
export async function runOnDemoStack<T>(options: DemoOptions, scenario: (stage: DemoStage) => Promise<T>): Promise<T> {
  const { print } = options;
  // The demo keeps its own data (and random ports), so it runs beside a `start` without touching its state.
  const config: Config = {
    ...options.config,
    temporal: { ...options.config.temporal, address: undefined, port: 0, uiPort: 0 },
    store: { databaseUrl: undefined, dataDir: join(options.config.store.dataDir, 'demo') },
    discord: { ...options.config.discord, emulated: true },
    jules: { apiUrl: undefined, pollIntervalMs: 500 },
    // Never a real repository: without credentials the service starts the GitHub emulator, where Jules' PRs open.
    github: { apiUrl: options.config.github.apiUrl },
    http: { host: '127.0.0.1', port: 0 },
  };
  print('Starting the embedded stack (Temporal dev server, PGlite, Discord and Jules emulators)…');
  const service = await startService({
    config,
    log: options.log,
    parts: { worker: true, ingress: true },
    print: (line) => print(`  ${line}`),
    inMemoryStore: true,
    julesEmulator: { keys: [DEMO.julesKey] },
  });
  try {
    const stage = stageOf(service, print);
    print('');
    print(`Guild ${DEMO.guildId}: developers (role ${DEMO.developerRole}) may ask, leads (role ${DEMO.leadRole}) confirm.`);
    await service.store.upsertGuild({ guildId: DEMO.guildId, createRoles: [DEMO.developerRole], confirmRoles: [DEMO.leadRole], defaultRepo: DEMO.repo });
    await service.store.setUserKey(DEMO.requester, service.secrets.encrypt(DEMO.julesKey));
    print(`User ${DEMO.requester} has a personal Jules key (stored encrypted).`);
    const result = await scenario(stage);
    if (options.holdOpen) {
      print('');
      print('The demo is done. The Temporal Web UI stays up so you can look at the run; press Ctrl+C to stop.');
      await options.holdOpen;
    }
    return result;
  } finally {
    await service.stop();
  }
}

function stageOf(service: RunningService, print: (line: string) => void): DemoStage {
  const { sandbox, client, ingressUrl } = service;
  if (!sandbox?.github || !client || !ingressUrl) throw new Error('the demo needs the emulated sandbox with GitHub, a client and the ingress');
  const { discord, signer } = sandbox;
  const endpoint: HttpInteractionEndpoint = { ingressUrl, signer, discord };
  const send = async (interaction: { id: string; token: string }) => {
    const delivered = await deliverInteraction(endpoint, interaction);
    if (delivered.status !== 200) throw new Error(`the ingress answered ${delivered.status}: ${JSON.stringify(delivered.body)}`);
    return delivered;
  };
  return {
    service,
    client,
    discord,
    github: sandbox.github,
    print,
    send,
    answerText: (answer) => settledAnswerText(discord, answer),
    command: (member, name, options = {}) =>
      send(buildSlashCommand({ applicationId: discord.applicationId, guildId: DEMO.guildId, channelId: DEMO.channelId, user: member, name, options })),
    click: (member, message, label) =>
      send(
        buildButtonClick({
          applicationId: discord.applicationId,
          guildId: DEMO.guildId,
          channelId: message.channel_id,
          user: member,
          customId: findButton(message.components, label),
          messageId: message.id,
        }),
      ),
  };
}

/** Prints the emulator's record of the demo channel and of `threadId` (marked →), under a heading. */
export function printTranscript(stage: Pick<DemoStage, 'discord' | 'print'>, heading: string, threadId: string): void {
  stage.print('');
  stage.print(heading);
  const history = stage.discord.messageHistory().filter((entry) => entry.channelId === DEMO.channelId || entry.channelId === threadId);
  for (const line of formatTranscript(history, threadId)) stage.print(`  ${line}`);
}

/** Renders the emulator's record of a channel (and its thread, marked →) as readable lines. */
export function formatTranscript(history: readonly MessageHistoryEntry[], threadId?: string): string[] {
  const start = history[0]?.at ?? 0;
  return history.map((entry) => {
    const at = `+${((entry.at - start) / 1000).toFixed(1)}s`.padStart(7);
    const embed = entry.embeds?.[0] as { title?: string; description?: string; fields?: { name: string; value: string }[] } | undefined;
    const status = embed?.fields?.find((f) => f.name === 'Status')?.value;
    const items = embed?.description ? planItemsOf(embed.description) : '';
    const controls = (entry.components as { components?: { label?: string; placeholder?: string }[] }[] | undefined)?.flatMap((row) => row.components ?? []) ?? [];
    const buttons = controls.map((c) => c.label ?? c.placeholder).filter(Boolean).map((label) => `[${label}]`);
    const card = embed ? `${embed.title ?? 'card'}${status ? `: ${status}` : ''}${items}` : undefined;
    const body = entry.content ? firstLine(entry.content, card) : (card ?? (loading(entry) ? '(thinking…)' : ''));
    const verb = entry.kind === 'create' ? 'posted' : entry.kind === 'edit' ? 'edited' : 'deleted';
    const where = entry.channelId === threadId ? '→ ' : '';
    return `${at} ${where}${verb.padEnd(7)} ${body}${buttons.length ? ` ${buttons.join(' ')}` : ''}`;
  });
}

/**
 * A message's first line. In a plan's thread each item's messages carry its label (`**#N** title`) on a line of
 * their own: there, the item's number and what follows the label, the next line or the message's card.
 */
function firstLine(content: string, card: string | undefined): string {
  const [first = '', second] = content.split('\n');
  const item = /^\*\*#(\d+)\*\* /.exec(first);
  const after = second ?? card;
  return item && after ? `#${item[1]} ${after}` : first;
}

/** A plan card's items as `#N` and the status label each line shows, e.g. ` · #1 🔎 PR open, #2 ✅ merged`. */
function planItemsOf(description: string): string {
  const items = description.split('\n').flatMap((line) => {
    const number = /^\[#(\d+)\]/.exec(line)?.[1];
    const status = PLAN_ITEM_STATUSES.find((candidate) => line.includes(` · ${planItemLabel(candidate)}`));
    return number && status ? [`#${number} ${planItemLabel(status)}`] : [];
  });
  return items.length ? ` · ${items.join(', ')}` : '';
}

/** Whether a message is a deferred answer still "thinking…". */
function loading(entry: MessageHistoryEntry): boolean {
  return ((entry.flags ?? 0) & MessageFlags.Loading) !== 0;
}

/** The custom id of the button labelled `label` among a message's components. */
export function findButton(components: unknown, label: string): string {
  for (const row of (components as { components?: { label?: string; custom_id?: string }[] }[] | undefined) ?? []) {
    const button = row.components?.find((c) => c.label === label);
    if (button?.custom_id) return button.custom_id;
  }
  throw new Error(`no ${label} button on the message`);
}

/** Polls `probe` every 50 ms until it gives a value. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
