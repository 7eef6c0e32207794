import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrCreateLocalKey } from '../../src/crypto/local-key';
import { createSecretBox } from '../../src/crypto/secret-box';
import type { DiscordEmulator } from '../../src/sandbox/discord-emulator';
import type { InteractionSigner } from '../../src/sandbox/interaction-signer';
import type { JulesEmulator } from '../../src/sandbox/jules-emulator';
import { openStore } from '../../src/store/open-store';
import { GUILD, KEYS } from './identities';

/**
 * `jules-orchestrator start | worker | ingress` in a child process through bin/, as an operator runs it: an
 * environment with nothing but PATH, HOME and what the test sets, and signals sent for real.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/jules-orchestrator.mjs', import.meta.url));

/** A running command, with what it printed. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far (the JSON log lines are on stderr). */
  output(): string;
  /** Resolves once `pattern` shows in the output; rejects when the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code, or the signal that killed the process. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

/** Starts `command` with `env` on top of PATH, HOME (and TEMPORAL_CLI_PATH when the test run has one). */
export function startServiceProcess(command: 'start' | 'worker' | 'ingress', env: Readonly<Record<string, string>>): ServiceProcess {
  const child = spawn(process.execPath, [BIN, command], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...(process.env.TEMPORAL_CLI_PATH ? { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, timeoutMs = 90_000) =>
      new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          listeners.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (pattern.test(output)) done();
        };
        const timer = setTimeout(() => done(new Error(`${command} did not print ${pattern} within ${timeoutMs} ms:\n${output.slice(-6_000)}`)), timeoutMs);
        listeners.add(check);
        void exited.then((how) => done(pattern.test(output) ? undefined : new Error(`${command} exited (${how}) before printing ${pattern}:\n${output.slice(-6_000)}`)));
        check();
      }),
  };
}

/** Kills the process if it still runs and waits for it: a test's cleanup, whatever the test got to. */
export async function killServiceProcess(service: ServiceProcess | undefined): Promise<void> {
  if (!service) return;
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  await service.exited;
}

export { freePort } from './ports';

/** The exit code (or signal) once the process has exited, or a rejection when it still runs after `limitMs`. */
export async function exitWithin(service: ServiceProcess, limitMs: number): Promise<number | NodeJS.Signals | null> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the process did not exit within ${limitMs} ms:\n${service.output().slice(-6_000)}`)), limitMs);
  });
  try {
    return await Promise.race([service.exited, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A fresh DATA_DIR (under `prefix`) whose embedded store has the test guild configured as `guild set` and
 * `guild set-key` leave it, the key sealed under the store's local key, for a `start` pointed at it.
 */
export async function dataDirWithGuild(prefix: string): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const secrets = createSecretBox(loadOrCreateLocalKey(dataDir).key);
  const setup = await openStore({ dataDir });
  try {
    await setup.upsertGuild({ guildId: GUILD.id, createRoles: [GUILD.developerRole], confirmRoles: [GUILD.leadRole], defaultRepo: GUILD.repo });
    await setup.setGuildKey(GUILD.id, secrets.encrypt(KEYS.guild));
  } finally {
    await setup.close();
  }
  return dataDir;
}

/** The variables that point a service process at the emulators of the test process (Discord, its signer, Jules). */
export function emulatorEnv(discord: DiscordEmulator, signer: InteractionSigner, jules: JulesEmulator): Record<string, string> {
  return {
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_PUBLIC_KEY: signer.publicKeyHex,
    JULES_API_URL: jules.url,
    JULES_POLL_INTERVAL: '500ms',
  };
}
