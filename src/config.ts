import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from './shared/ids';

/**
 * The one place that reads `process.env`. Everything else receives the frozen {@link Config}.
 * Names are the stable contract of DESIGN.md; a missing or malformed value stops the process with
 * one message listing every problem and what to set.
 */

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** A port number; an empty value counts as unset and takes the default. */
const port = (fallback: number, min = 1) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    z.coerce
      .number({ error: 'must be a port number' })
      .int('must be a port number')
      .min(min, `must be a port number from ${min} to 65535`)
      .max(65535, `must be a port number from ${min} to 65535`)
      .default(fallback),
  );

const snowflake = z.string().regex(/^\d{15,25}$/, 'must be a Discord snowflake (15–25 digits)');
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .pipe(z.string().regex(/^[1-9]\d*(ms|s|m|h|d)$/, 'must be a positive duration like 500ms, 30s, 15m, 24h or 7d'))
    .transform(parseDuration);

const envSchema = z
  .object({
    TEMPORAL_ADDRESS: optionalString,
    TEMPORAL_NAMESPACE: z.string().default('default'),
    TEMPORAL_TASK_QUEUE: z.string().default(DEFAULT_TASK_QUEUE),
    TEMPORAL_CLI_PATH: optionalString,
    PATH: optionalString,
    TEMPORAL_TEST_SERVER_PATH: optionalString,
    TEMPORAL_UI_PORT: port(8233),
    TEMPORAL_PORT: port(7233),

    DATABASE_URL: optionalString.pipe(z.string().url('must be a postgres:// connection string').optional()),
    SUPABASE_URL: optionalString.pipe(z.string().url().optional()),
    SUPABASE_SERVICE_ROLE_KEY: optionalString,
    DATA_DIR: z.string().default('./.data'),

    DISCORD_APPLICATION_ID: optionalString.pipe(snowflake.optional()),
    DISCORD_PUBLIC_KEY: optionalString.pipe(
      z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex characters shown in the Developer Portal').optional(),
    ),
    DISCORD_TOKEN: optionalString,
    DISCORD_API_URL: z.string().url().default('https://discord.com/api'),
    DISCORD_MODE: z.enum(['http', 'gateway']).default('http'),

    JULES_API_URL: optionalString.pipe(z.string().url().optional()),
    GITHUB_TOKEN: optionalString,
    GITHUB_API_URL: z.string().url().default('https://api.github.com'),

    SECRETS_ENCRYPTION_KEY: optionalString.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be standard base64 of exactly 32 bytes (openssl rand -base64 32)')
        .optional(),
    ),
    JULES_WEBHOOK_SECRET: optionalString,
    GITHUB_WEBHOOK_SECRET: optionalString,

    HOST: z.string().default('127.0.0.1'),
    PORT: port(3000, 0),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    CONFIRMATION_TIMEOUT: duration('24h'),
    JULES_POLL_INTERVAL: duration('10s'),
    TASK_DEADLINE: duration('3d'),
  })
  .superRefine((env, ctx) => {
    if (env.SUPABASE_URL && !env.SUPABASE_SERVICE_ROLE_KEY) {
      ctx.addIssue({ code: 'custom', path: ['SUPABASE_SERVICE_ROLE_KEY'], message: 'is required with SUPABASE_URL' });
    }
    if (env.SUPABASE_URL && !env.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message:
          'is required for now: set it to the Supabase connection string (Project Settings → Database); the supabase-js adapter is not built yet',
      });
    }
    if (env.DISCORD_TOKEN) {
      for (const name of ['DISCORD_APPLICATION_ID', 'DISCORD_PUBLIC_KEY'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when DISCORD_TOKEN is set' });
      }
    }
    if (env.DATABASE_URL && !env.SECRETS_ENCRYPTION_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['SECRETS_ENCRYPTION_KEY'],
        message: 'is required with a shared database (generate one: openssl rand -base64 32)',
      });
    }
  });

/** The validated, frozen configuration. */
export interface Config {
  readonly temporal: {
    /** Undefined: start the embedded dev server. */
    readonly address?: string;
    readonly namespace: string;
    readonly taskQueue: string;
    readonly cliPath?: string;
    /** The PATH searched for a `temporal` binary. */
    readonly searchPath?: string;
    readonly testServerPath?: string;
    readonly port: number;
    readonly uiPort: number;
  };
  readonly store: { readonly databaseUrl?: string; readonly dataDir: string };
  readonly discord: {
    /** True when no Discord credentials are set: the local emulator stands in. */
    readonly emulated: boolean;
    readonly applicationId?: string;
    readonly publicKey?: string;
    readonly token?: string;
    readonly apiUrl: string;
    readonly mode: 'http' | 'gateway';
  };
  readonly jules: {
    /** Undefined in the sandbox (no Discord credentials): the local Jules emulator stands in. */
    readonly apiUrl?: string;
    readonly pollIntervalMs: number;
  };
  readonly github: { readonly token?: string; readonly apiUrl: string };
  readonly secrets: {
    readonly encryptionKey?: string;
    readonly julesWebhookSecret?: string;
    readonly githubWebhookSecret?: string;
  };
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly timeouts: { readonly confirmationMs: number; readonly taskDeadlineMs: number };
}

/** Thrown by {@link loadConfig} when the environment is missing or malformed; lists every problem. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`The configuration is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee README.md, "Configuration".`);
    this.name = 'ConfigError';
  }
}

/** Default Jules API base URL, used when Discord is real and JULES_API_URL is unset. */
export const DEFAULT_JULES_API_URL = 'https://jules.googleapis.com';

/**
 * Validates an environment (default `process.env`) into a frozen Config.
 * @throws ConfigError listing every missing or malformed variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`));
  }
  const e = parsed.data;
  const emulated = !e.DISCORD_TOKEN;
  const config: Config = {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      cliPath: e.TEMPORAL_CLI_PATH,
      searchPath: e.PATH,
      testServerPath: e.TEMPORAL_TEST_SERVER_PATH,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
    },
    store: { databaseUrl: e.DATABASE_URL, dataDir: resolve(e.DATA_DIR) },
    discord: {
      emulated,
      applicationId: e.DISCORD_APPLICATION_ID,
      publicKey: e.DISCORD_PUBLIC_KEY?.toLowerCase(),
      token: e.DISCORD_TOKEN,
      apiUrl: e.DISCORD_API_URL,
      mode: e.DISCORD_MODE,
    },
    jules: {
      apiUrl: e.JULES_API_URL ?? (emulated ? undefined : DEFAULT_JULES_API_URL),
      pollIntervalMs: e.JULES_POLL_INTERVAL,
    },
    github: { token: e.GITHUB_TOKEN, apiUrl: e.GITHUB_API_URL },
    secrets: {
      encryptionKey: e.SECRETS_ENCRYPTION_KEY,
      julesWebhookSecret: e.JULES_WEBHOOK_SECRET,
      githubWebhookSecret: e.GITHUB_WEBHOOK_SECRET,
    },
    http: { host: e.HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    timeouts: { confirmationMs: e.CONFIRMATION_TIMEOUT, taskDeadlineMs: e.TASK_DEADLINE },
  };
  return deepFreeze(config);
}

/** Parses `500ms`, `30s`, `15m`, `24h`, `7d` into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new RangeError(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
