import { Writable } from 'node:stream';
import { MessageFlags } from '@discordjs/core/http-only';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_ANSWER_WITHIN_MS } from '../src/discord/dispatcher';
import { statusLabel } from '../src/discord/task-card';
import { createLogger } from '../src/logger';
import type { MessageHistoryEntry, RecordedRequest } from '../src/sandbox/discord-emulator';
import type { SessionScript } from '../src/sandbox/jules-emulator';
import type { TaskOutcome } from '../src/shared/task';
import { connectWorker } from '../src/temporal/connection';
import { createDataConverter } from '../src/temporal/data-converter';
import { createTaskWorker } from '../src/temporal/worker';
import { wireWorker } from '../src/wiring';
import { GUILD, MEMBERS, startTestStack, workflowBundle, type TestStack } from './helpers/stack';

/**
 * Issue 4, item 7: fifty tasks in one channel at once, with Discord limiting every route to a handful of requests a
 * second, so the card posts, thread starts and card edits of the channel queue up. Two workers share the task queue,
 * as a scaled-out deployment does: each has its own REST client, whose queue only knows its own requests, while
 * Discord counts the channel's bucket for both, so real 429s certainly happen (one client alone paces itself from
 * the rate-limit headers and meets a 429 only by chance). The test runs the burst once, then reads the emulator's
 * record the way a member scrolling the channel would.
 */

const TASKS = 50;
const UPDATES = 8;
// Progress comes faster than the watcher's five-second coalescing interval, so most updates must be folded.
const UPDATE_GAP_MS = 700;
// Tighter than Discord's usual per-channel limit over a second, so the channel's buckets run dry many times.
const ROUTE_LIMIT = { requests: 5, windowSeconds: 1 };
const PR = 'https://github.com/{owner}/{repo}/pull/{number}';

/** Straight to work: eight progress updates 0.7 s apart, then a pull request. */
function burstScript(): SessionScript {
  return [
    ...Array.from({ length: UPDATES }, (_, i) => ({
      afterMs: i === 0 ? 200 : UPDATE_GAP_MS,
      state: 'IN_PROGRESS',
      activity: { originator: 'agent' as const, progressUpdated: { title: `Step ${i + 1} of ${UPDATES}` } },
    })),
    { afterMs: 400, state: 'COMPLETED', pullRequestUrl: PR, activity: { originator: 'system' as const, sessionCompleted: {} } },
  ];
}

const lastUpdate = `Step ${UPDATES} of ${UPDATES}`;

interface Finished {
  readonly taskId: string;
  readonly outcome: TaskOutcome;
  readonly cardMessageId: string;
  readonly threadId: string;
}

let stack: TestStack;
let second: { worker: Worker; running: Promise<void>; connection: NativeConnection } | undefined;
let finished: Finished[] = [];

/** A second worker process on the stack's task queue, with a Discord REST client (and rate-limit queue) of its own. */
async function startSecondWorker(s: TestStack): Promise<NonNullable<typeof second>> {
  const connection = await connectWorker({ address: inject('temporalAddress'), namespace: inject('temporalNamespace') });
  const log = createLogger('warn', new Writable({ write(chunk, _enc, done) { s.logs.push(String(chunk)); done(); } }));
  const worker = await createTaskWorker(
    wireWorker({
      connection,
      namespace: inject('temporalNamespace'),
      taskQueue: s.taskQueue,
      store: s.store,
      secrets: s.secrets,
      dataConverter: createDataConverter(s.codec),
      discord: { apiUrl: s.discord.apiUrl, token: s.discord.token, retries: 1 },
      julesApiUrl: s.jules.url,
      log,
      workflowBundle: await workflowBundle(),
      shutdownGraceTime: '1s',
    }),
  );
  return { worker, running: worker.run(), connection };
}

beforeAll(async () => {
  stack = await startTestStack({
    discord: { routeLimit: ROUTE_LIMIT },
    // Discord's real deadline: fifty requests at once on two cores may miss it, and must still be answered.
    answerWithinMs: DEFAULT_ANSWER_WITHIN_MS,
    jules: { script: burstScript, timeScale: 1 },
    settings: { pollIntervalMs: 400, deadlineMs: 300_000 },
  });
  second = await startSecondWorker(stack);
  // The burst is one team's morning: lift the request quotas and the per-key session limit so all fifty run at once.
  await stack.store.setGuildQuotas(GUILD.id, { userRequestsPerHour: TASKS, guildRequestsPerDay: TASKS, concurrentSessionsPerKey: TASKS, dailySessionsPerKey: TASKS });

  // A confirmer asks, so every task starts without waiting for a click.
  const asked = await Promise.all(Array.from({ length: TASKS }, (_, i) => stack.ask(MEMBERS.lead, { prompt: `Burst task ${i + 1}: tidy module ${i + 1}` })));
  // On a busy machine some answers miss Discord's deadline: those are deferred and edited in later.
  for (const answer of asked) expect(await stack.answerText(answer)).toContain('Starting Jules');

  finished = await Promise.all(
    asked.map(async ({ taskId }) => {
      const outcome = await stack.outcome(taskId);
      const task = await stack.store.getTask(taskId);
      if (!task?.cardMessageId || !task.threadId) throw new Error(`task ${taskId} has no card or thread`);
      return { taskId, outcome, cardMessageId: task.cardMessageId, threadId: task.threadId };
    }),
  );
}, 150_000);

afterAll(async () => {
  if (second) {
    second.worker.shutdown();
    await second.running;
    await second.connection.close();
  }
  await stack?.stop();
});

/** The JSON text of a message, for loose content checks. */
const textOf = (value: unknown) => JSON.stringify(value);

describe('a burst of fifty tasks in one rate-limited channel, served by two workers', () => {
  it('completes every task, and every card ends showing Completed with its pull request', () => {
    expect(finished).toHaveLength(TASKS);
    const cards = stack.discord.channelMessages(GUILD.channelId).filter((m) => m.embeds?.[0]?.title === 'Jules task');
    expect(cards).toHaveLength(TASKS);
    for (const { taskId, outcome, cardMessageId } of finished) {
      expect(outcome).toMatchObject({ status: 'completed', prUrl: expect.stringMatching(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/) });
      const card = stack.discord.message(cardMessageId)!;
      const fields = Object.fromEntries((card.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));
      expect(card.embeds[0]?.footer?.text).toBe(taskId);
      expect(fields.Status).toBe(statusLabel('completed'));
      expect(fields['Pull request']).toBe(outcome.prUrl);
      expect(card.components).toEqual([]);
    }
    // Fifty tasks, fifty different pull requests: no card shows another task's.
    expect(new Set(finished.map((f) => f.outcome.prUrl)).size).toBe(TASKS);
  });

  it("posts exactly one 'PR ready' message in each task's thread, with that task's pull request", () => {
    expect(stack.discord.threads()).toHaveLength(TASKS);
    for (const { outcome, threadId } of finished) {
      const ready = stack.discord.channelMessages(threadId).filter((m) => m.content.includes('PR ready'));
      expect(ready).toHaveLength(1);
      expect(ready[0]!.content).toContain(outcome.prUrl!);
    }
  });

  it("leaves each thread's progress message on the session's last progress update", () => {
    for (const { threadId } of finished) {
      const progress = stack.discord.channelMessages(threadId).filter((m) => m.content.includes('Step '));
      expect(progress).toHaveLength(1);
      expect(progress[0]!.content).toBe(`${statusLabel('in_progress')} · ${lastUpdate}`);
      // The transcript agrees: the last write to the message carried the latest state.
      const writes = stack.discord.messageHistory(threadId).filter((entry) => entry.messageId === progress[0]!.id);
      expect(writes.at(-1)?.content).toContain(lastUpdate);
    }
  });

  it('coalesces progress edits: fewer writes to each progress message than Jules sent updates', () => {
    for (const { threadId } of finished) {
      const progress = stack.discord.channelMessages(threadId).find((m) => m.content.includes('Step '))!;
      const writes = stack.discord.messageHistory(threadId).filter((entry) => entry.messageId === progress.id);
      expect(writes[0]?.kind).toBe('create');
      expect(progress.editCount).toBe(writes.length - 1);
      expect(writes.length).toBeLessThanOrEqual(UPDATES);
      expect(writes.length).toBeLessThan(UPDATES);
    }
  });

  it('never posts a message twice: every post carries a nonce and each nonce made one message', () => {
    const posts = stack.discord.requests.filter((r) => r.method === 'POST' && /^\/channels\/\d+\/messages$/.test(r.path));
    expect(posts.length).toBeGreaterThan(0);
    for (const post of posts) expect(post.body).toMatchObject({ nonce: expect.any(String), enforce_nonce: true });
    const nonces = new Set(posts.filter((r) => r.status === 200).map((r) => `${r.path}:${(r.body as { nonce: string }).nonce}`));
    // The members' private answers to /jules are Discord's interaction responses, not bot posts.
    const posted = (entry: MessageHistoryEntry) => entry.kind === 'create' && ((entry.flags ?? 0) & MessageFlags.Ephemeral) === 0;
    expect(stack.discord.messageHistory().filter(posted)).toHaveLength(nonces.size);
    // Per task: one card in the channel; one start announcement, one progress message and one PR message in its thread.
    expect(stack.discord.messageHistory(GUILD.channelId).filter(posted)).toHaveLength(TASKS);
    for (const { threadId } of finished) {
      const texts = stack.discord.channelMessages(threadId).map((m) => m.content);
      expect(texts.filter((t) => t.includes('Jules started working'))).toHaveLength(1);
    }
  });

  it('meets real 429s and waits each one out until the same request succeeds', () => {
    const limited = stack.discord.requests.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    const requests = stack.discord.requests;
    for (const refused of limited) {
      const after = requests.slice(requests.indexOf(refused) + 1);
      expect(after.some((r) => sameRequest(r, refused) && r.status >= 200 && r.status < 300), `${refused.method} ${refused.path} was never retried`).toBe(true);
    }
    // Nothing was dropped on the way: every request but the rate-limited ones succeeded. (A retried publish may start
    // its thread again and hear 400 "thread already created", which the messenger takes as the thread's id.)
    const failed = requests.filter((r) => r.status !== 429 && (r.status < 200 || r.status >= 300) && !(r.status === 400 && r.path.endsWith('/threads')));
    expect(failed.map((r) => `${r.status} ${r.method} ${r.path}`)).toEqual([]);
  });
});

/** The same call made again: method, path and body (the REST client retries a 429 with the identical request). */
function sameRequest(a: RecordedRequest, b: RecordedRequest): boolean {
  return a.method === b.method && a.path === b.path && textOf(a.body) === textOf(b.body);
}
