import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InteractionResponseType } from '@discordjs/core/http-only';
import type { APIChatInputApplicationCommandGuildInteraction } from '@discordjs/core/http-only';
import type { RunningService } from '../src/service';
import { buildSlashCommand } from '../src/sandbox/interaction-signer';
import { round } from './embedded-stack';

/**
 * What the benches that send signed `/jules` share: a guild set up to admit them, the command itself, how an
 * answer is read (in line or deferred), percentiles, and where each bench keeps its JSON.
 */

/** A guild the benches' `/jules` requests are admitted in. */
export interface BenchGuild {
  readonly guildId: string;
  readonly channelId: string;
  /** The role that may ask Jules; every bench member has it. */
  readonly role: string;
}

/**
 * Sets up a guild whose snowflakes derive from `base` (guild +1, channel +2, creator role +10, confirmer role +11)
 * with a Jules key and quotas a bench cannot reach: the default (50 requests a day per guild) would refuse the run,
 * and the quota check itself still runs on every request.
 */
export async function prepareBenchGuild(service: Pick<RunningService, 'store' | 'secrets'>, base: bigint): Promise<BenchGuild> {
  const { store, secrets } = service;
  const guild = { guildId: String(base + 1n), channelId: String(base + 2n), role: String(base + 10n) };
  await store.upsertGuild({ guildId: guild.guildId, createRoles: [guild.role], confirmRoles: [String(base + 11n)], defaultRepo: 'acme/widgets' });
  await store.setGuildKey(guild.guildId, secrets.encrypt(`bench-jules-key-${guild.guildId}`));
  await store.setGuildQuotas(guild.guildId, { guildRequestsPerDay: 1_000_000, userRequestsPerHour: 1_000_000 });
  return guild;
}

/** A `/jules` command in `guild` from member number `member` (each member has a quota of their own). */
export function julesRequest(applicationId: string, guild: BenchGuild, member: number, prompt: string): APIChatInputApplicationCommandGuildInteraction {
  return buildSlashCommand({
    applicationId,
    guildId: guild.guildId,
    channelId: guild.channelId,
    user: { id: String(BigInt(guild.guildId) + 100_000n + BigInt(member)), roles: [guild.role] },
    name: 'jules',
    options: { prompt },
  });
}

/** How the ingress answered a `/jules`: with the admission decision in line, or deferred ("thinking…"). */
export type AckKind = 'in_line' | 'deferred';

/**
 * Reads the ingress's answer to a `/jules` request.
 * @throws Error for anything but a 200 with the admission's words or a deferral, so a bench never counts a refusal.
 */
export function ackKindOf(status: number, body: unknown): AckKind {
  const answer = body as { type?: unknown; data?: { content?: unknown } } | undefined;
  if (status === 200 && answer?.type === InteractionResponseType.DeferredChannelMessageWithSource) return 'deferred';
  if (status === 200 && typeof answer?.data?.content === 'string' && answer.data.content.includes('Request received')) return 'in_line';
  throw new Error(`unexpected answer ${status}: ${JSON.stringify(body)}`);
}

/** The `p`-quantile (0–1) of ascending `sorted` samples, one decimal. */
export function quantile(sorted: readonly number[], p: number): number {
  return round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!);
}

/** A ratio with two decimals. */
export function ratio(numerator: number, denominator: number): number {
  return Math.round((numerator / denominator) * 100) / 100;
}

/** Where the benches keep their JSON (git-ignored), one file per run: `<bench>-<time>.json`. */
export const BENCH_DIR = resolve(import.meta.dirname, '..', '.data', 'bench');

/** Saves a bench's printed JSON under {@link BENCH_DIR}; returns the file. */
export function saveBenchJson(bench: string, figures: unknown): string {
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = join(BENCH_DIR, `${bench}-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  return file;
}

/** Every saved JSON of `bench`, oldest first (file names sort by time); empty when it never ran here. */
export function savedBenchJsons(bench: string): { file: string; figures: unknown }[] {
  let names: string[];
  try {
    names = readdirSync(BENCH_DIR);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith(`${bench}-`) && name.endsWith('.json'))
    .sort()
    .map((name) => {
      const file = join(BENCH_DIR, name);
      return { file, figures: JSON.parse(readFileSync(file, 'utf8')) as unknown };
    });
}

/** The latest saved JSON of `bench`, or undefined when it never ran here. */
export function latestBenchJson(bench: string): { file: string; figures: unknown } | undefined {
  return savedBenchJsons(bench).at(-1);
}
