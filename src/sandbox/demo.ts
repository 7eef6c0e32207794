import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { pullRequestFollowId, taskWorkflowId } from '../shared/ids';
import { parsePullRequestUrl } from '../shared/pull-request';
import type { TaskOutcome } from '../shared/task';
import { startService, type RunningService } from '../service';
import type { MessageHistoryEntry } from './discord-emulator';
import { deliverInteraction, settledAnswerText, type DeliveredInteraction, type HttpInteractionEndpoint } from './http-delivery';
import { buildButtonClick, buildSlashCommand } from './interaction-signer';

/** The people and places of the demo guild. */
const DEMO = {
  guildId: '900000000000000001',
  channelId: '900000000000000002',
  developerRole: '900000000000000010',
  leadRole: '900000000000000011',
  requester: '900000000000000100',
  confirmer: '900000000000000101',
  julesKey: 'demo-jules-key-0123456789',
  repo: 'acme/widgets',
};

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly print: (line: string) => void;
  /** Keep the stack (and its Web UI) running after the demo until this promise settles. */
  readonly holdOpen?: Promise<unknown>;
}

/**
 * `jules-orchestrator demo`: on the embedded defaults, with no credentials, starts Temporal, Postgres and the
 * emulators; sends a signed `/jules`; clicks Confirm as a confirmer; prints the channel's transcript through to
 * the PR link and the Web UI URL of the run.
 */
export async function runDemo(options: DemoOptions): Promise<TaskOutcome> {
  const { print } = options;
  // The demo keeps its own data (and random ports), so it runs beside a `start` without touching its state.
  const config: Config = {
    ...options.config,
    temporal: { ...options.config.temporal, address: undefined, port: 0, uiPort: 0 },
    store: { databaseUrl: undefined, dataDir: join(options.config.store.dataDir, 'demo') },
    discord: { ...options.config.discord, emulated: true },
    jules: { apiUrl: undefined, pollIntervalMs: 500 },
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
    const outcome = await playScenario(service, print);
    if (options.holdOpen) {
      print('');
      print('The demo is done. The Temporal Web UI stays up so you can look at the run; press Ctrl+C to stop.');
      await options.holdOpen;
    }
    return outcome;
  } finally {
    await service.stop();
  }
}

async function playScenario(service: RunningService, print: (line: string) => void): Promise<TaskOutcome> {
  const { sandbox, store, secrets, client, ingressUrl } = service;
  if (!sandbox || !client || !ingressUrl) throw new Error('the demo needs the emulated sandbox, a client and the ingress');
  const { discord, signer } = sandbox;

  print('');
  print(`Guild ${DEMO.guildId}: developers (role ${DEMO.developerRole}) may ask, leads (role ${DEMO.leadRole}) confirm.`);
  await store.upsertGuild({ guildId: DEMO.guildId, createRoles: [DEMO.developerRole], confirmRoles: [DEMO.leadRole], defaultRepo: DEMO.repo });
  await store.setUserKey(DEMO.requester, secrets.encrypt(DEMO.julesKey));
  print(`User ${DEMO.requester} has a personal Jules key (stored encrypted).`);

  const prompt = 'Add input validation to the signup form and a unit test for it';
  const command = buildSlashCommand({
    applicationId: discord.applicationId,
    guildId: DEMO.guildId,
    channelId: DEMO.channelId,
    user: { id: DEMO.requester, roles: [DEMO.developerRole] },
    name: 'jules',
    options: { prompt },
  });
  print('');
  print(`→ <@${DEMO.requester}> runs /jules prompt:"${prompt}"`);
  const endpoint = { ingressUrl, signer, discord };
  const answer = await post(endpoint, command);
  print(`← ephemeral answer: ${await settledAnswerText(discord, answer)}`);

  const taskId = taskWorkflowId(command.id);
  const card = await waitFor(() => discord.channelMessages(DEMO.channelId).find((m) => m.embeds?.[0]?.footer?.text === taskId), 'the task card');
  const confirmId = findButton(card.components, 'Confirm');
  print(`→ <@${DEMO.confirmer}> clicks Confirm on the card`);
  const click = buildButtonClick({
    applicationId: discord.applicationId,
    guildId: DEMO.guildId,
    channelId: DEMO.channelId,
    user: { id: DEMO.confirmer, roles: [DEMO.leadRole] },
    customId: confirmId,
    messageId: card.id,
  });
  const clicked = await post(endpoint, click);
  print(`← the card updates in place (response type ${clicked.body.type})`);

  print('… Jules is working (emulated) …');
  const outcome = (await client.workflow.getHandle(taskId).result()) as TaskOutcome;
  const github = service.sandbox?.github;
  const pull = outcome.prUrl ? parsePullRequestUrl(outcome.prUrl) : undefined;
  if (github && pull) {
    // The PR's life on GitHub (emulated): CI runs two checks, then a confirmer merges from Discord at the green head.
    const repo = `${pull.owner}/${pull.repo}`;
    const thread = card.id;
    const prStatus = (pattern: RegExp) => waitFor(() => discord.channelMessages(thread).find((m) => pattern.test(m.content ?? '')), `the PR status saying ${pattern}`);
    print(`… CI runs on PR #${pull.number} (emulated GitHub): build and test …`);
    const sha = github.pullRequest({ repo, number: pull.number }).head.sha as string;
    await prStatus(/runs no checks/);
    const build = github.addCheckRun({ repo, sha, name: 'build' });
    github.addCheckRun({ repo, sha, name: 'test', conclusion: 'success' });
    await prStatus(/1 of 2 checks done/);
    github.completeCheckRun({ repo, id: build, conclusion: 'success' });
    const green = await prStatus(/all 2 checks passed/);
    print(`→ <@${DEMO.confirmer}> clicks Merge on the PR status message`);
    const merge = buildButtonClick({
      applicationId: discord.applicationId,
      guildId: DEMO.guildId,
      channelId: thread,
      user: { id: DEMO.confirmer, roles: [DEMO.leadRole] },
      customId: findButton(green.components, 'Merge'),
      messageId: green.id,
    });
    print(`← ephemeral answer: ${await settledAnswerText(discord, await post(endpoint, merge))}`);
    await client.workflow.getHandle(pullRequestFollowId(taskId)).result();
  }

  print('');
  print(`Transcript of channel ${DEMO.channelId} and the task's thread (→ marks the thread):`);
  const thread = card.id; // a thread started from a message has that message's id
  const history = discord.messageHistory().filter((entry) => entry.channelId === DEMO.channelId || entry.channelId === thread);
  for (const line of formatTranscript(history, thread)) print(`  ${line}`);
  print('');
  print(`Outcome: ${outcome.status}${outcome.prUrl ? ` — ${outcome.prUrl}` : ''}${outcome.reason ? ` (${outcome.reason})` : ''}`);
  if (service.temporal.uiUrl) print(`Web UI of the run: ${service.temporal.uiUrl}/namespaces/${service.temporal.namespace}/workflows/${taskId}`);
  return outcome;
}

/** Sends a signed interaction to the ingress as Discord would; anything but 200 stops the demo. */
async function post(endpoint: HttpInteractionEndpoint, interaction: { id: string; token: string }): Promise<DeliveredInteraction> {
  const delivered = await deliverInteraction(endpoint, interaction);
  if (delivered.status !== 200) throw new Error(`the ingress answered ${delivered.status}: ${JSON.stringify(delivered.body)}`);
  return delivered;
}

/** Renders the emulator's record of a channel (and its thread, marked →) as readable lines. */
export function formatTranscript(history: readonly MessageHistoryEntry[], threadId?: string): string[] {
  const start = history[0]?.at ?? 0;
  return history.map((entry) => {
    const at = `+${((entry.at - start) / 1000).toFixed(1)}s`.padStart(7);
    const embed = entry.embeds?.[0] as { title?: string; fields?: { name: string; value: string }[] } | undefined;
    const status = embed?.fields?.find((f) => f.name === 'Status')?.value;
    const buttons = (entry.components as { components?: { label?: string }[] }[] | undefined)?.flatMap((row) => row.components ?? []).map((b) => `[${b.label}]`) ?? [];
    const body = entry.content || (embed ? `${embed.title ?? 'card'}${status ? `: ${status}` : ''}` : '');
    const verb = entry.kind === 'create' ? 'posted' : entry.kind === 'edit' ? 'edited' : 'deleted';
    const where = entry.channelId === threadId ? '→ ' : '';
    return `${at} ${where}${verb.padEnd(7)} ${body.split('\n')[0]}${buttons.length ? ` ${buttons.join(' ')}` : ''}`;
  });
}

function findButton(components: unknown, label: string): string {
  for (const row of (components as { components?: { label?: string; custom_id?: string }[] }[] | undefined) ?? []) {
    const button = row.components?.find((c) => c.label === label);
    if (button?.custom_id) return button.custom_id;
  }
  throw new Error(`no ${label} button on the card`);
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}


