import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { API } from '@discordjs/core/http-only';
import { REST } from '@discordjs/rest';
import { afterEach, describe, expect, it } from 'vitest';
import { registerCommands } from '../src/cli/register-commands';
import { COMMANDS } from '../src/discord/commands';
import { startDiscordEmulator, type DiscordEmulator } from '../src/sandbox/discord-emulator';

/**
 * `register-commands` against the Discord REST emulator: in-process for the bulk overwrite itself, and as an
 * operator runs it (a child process through bin/, configured only by the environment) for the CLI.
 */

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'jules-orchestrator.mjs');
const GUILD_ID = '1200000000000000002';
/** Any 64 hex characters: the config requires a public key with a token, register-commands never uses it. */
const PUBLIC_KEY = 'ab'.repeat(32);

let discord: DiscordEmulator | undefined;
afterEach(async () => {
  await discord?.close();
  discord = undefined;
});

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

const envFor = (emulator: DiscordEmulator) => ({
  DISCORD_API_URL: emulator.apiUrl,
  DISCORD_TOKEN: emulator.token,
  DISCORD_APPLICATION_ID: emulator.applicationId,
  DISCORD_PUBLIC_KEY: PUBLIC_KEY,
});

const commandPuts = (emulator: DiscordEmulator) => emulator.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/commands'));

describe('register-commands', () => {
  it('registers every command of commands.ts globally with one bulk overwrite', async () => {
    discord = await startDiscordEmulator();
    const api = new API(new REST({ api: discord.apiUrl, retries: 0 }).setToken(discord.token));
    const registered = await registerCommands({ api, applicationId: discord.applicationId });

    expect(commandPuts(discord)).toEqual([expect.objectContaining({ path: `/applications/${discord.applicationId}/commands`, status: 200 })]);
    expect(discord.registeredCommands()).toMatchObject(structuredClone(COMMANDS) as unknown as object[]);
    expect(registered.map((c) => c.name)).toEqual(COMMANDS.map((c) => c.name));
    // Option limits travel with the definitions, so Discord enforces what the handlers check.
    expect(discord.registeredCommands()[0]?.options?.find((o) => o.name === 'prompt')).toMatchObject({ required: true, max_length: 4000 });
    // Discord shows `/jules-setup` only to members with Manage Server (0x20); the handler checks again.
    expect(discord.registeredCommands().find((c) => c.name === 'jules-setup')).toMatchObject({ default_member_permissions: '32', dm_permission: false });
  });

  it('registers them in one server with --guild, leaving the global commands alone', async () => {
    discord = await startDiscordEmulator();
    const run = await runCli(['register-commands', '--guild', GUILD_ID], envFor(discord));

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Registered ${COMMANDS.length} command(s) in server ${GUILD_ID}: /jules`);
    expect(commandPuts(discord)).toEqual([expect.objectContaining({ path: `/applications/${discord.applicationId}/guilds/${GUILD_ID}/commands`, auth: 'Bot' })]);
    expect(discord.registeredCommands(GUILD_ID).map((c) => c.name)).toEqual(COMMANDS.map((c) => c.name));
    expect(discord.registeredCommands(GUILD_ID)[0]).toMatchObject({ options: structuredClone(COMMANDS[0].options) as unknown as object[], guild_id: GUILD_ID });
    // Guild commands never run in DMs; the guild route has no such field.
    expect(commandPuts(discord)[0]!.body).toEqual(expect.not.arrayContaining([expect.objectContaining({ dm_permission: expect.anything() })]));
    expect(discord.registeredCommands()).toEqual([]);
  });

  it('refuses without DISCORD_TOKEN, naming what to set, and calls Discord not at all', async () => {
    discord = await startDiscordEmulator();
    const run = await runCli(['register-commands'], { DISCORD_API_URL: discord.apiUrl });

    expect(run.code).toBe(78);
    expect(run.stderr).toContain('DISCORD_TOKEN is required by register-commands');
    expect(run.stderr).toContain('DISCORD_APPLICATION_ID is required by register-commands');
    expect(discord.requests).toEqual([]);
  });

  it('refuses a --guild that is not a server id', async () => {
    discord = await startDiscordEmulator();
    const run = await runCli(['register-commands', '--guild', 'my-server'], envFor(discord));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--guild must be a server id');
    expect(discord.requests).toEqual([]);
  });
});
