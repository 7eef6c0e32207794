import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

/** A port number in decimal digits (not `1e3` or `0x50`) from `min` to 65535. */
const portNumber = (min: number) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,5}$/, `must be a port number from ${min} to 65535`)
    .transform(Number)
    .pipe(z.number().min(min, `must be a port number from ${min} to 65535`).max(65535, `must be a port number from ${min} to 65535`));
const emptyIsUnset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/** A port number; an empty value counts as unset and takes the default. */
const port = (fallback: number, min = 1) => z.preprocess(emptyIsUnset, portNumber(min).default(fallback));

/** A port number that may stay unset (an empty value too). */
const optionalPort = () => z.preprocess(emptyIsUnset, portNumber(1).optional());

const snowflake = z.string().regex(/^\d{15,25}$/, 'must be a Discord snowflake (15–25 digits)');
/**
 * A duration like `30s` up to `max` (also a duration): longer values are typing mistakes, and past about 24.8 days
 * Node's timers fire at once instead of late.
 */
const duration = (fallback: string, max: string) =>
  z
    .string()
    .default(fallback)
    .pipe(z.string().regex(/^[1-9]\d{0,9}(ms|s|m|h|d)$/, 'must be a positive duration like 500ms, 30s, 15m, 24h or 7d'))
    .transform(parseDuration)
    .pipe(z.number().max(parseDuration(max), `must be at most ${max}`));

/** A URL the service calls over HTTP: http(s) only, so a `file:` or `javascript:` value is refused at start. */
const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .url(`must be ${what} (an http:// or https:// URL)`)
    .refine((value) => /^https?:\/\//i.test(value), `must be ${what} (an http:// or https:// URL)`);

/** A Temporal name (namespace, task queue): set or left out, never empty or padded with spaces. */
const temporalName = (fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .refine((value) => value.trim() !== '', `must not be empty: unset it for the default ${what} "${fallback}"`)
    .refine((value) => value.trim() === '' || value === value.trim(), 'must not start or end with a space')
    .refine((value) => value.length <= 1000, 'must be at most 1000 characters (a Temporal limit)');

/** A comma-separated list; empty entries are dropped, an empty value counts as unset. */
const commaList = (item: z.ZodType<string, string>) =>
  optionalString.transform((value) => value?.split(',').map((part) => part.trim()).filter(Boolean)).pipe(z.array(item).optional());
const base64Key32 = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be standard base64 of exactly 32 bytes (openssl rand -base64 32)');
/** A browser origin as the Origin header carries it: scheme, host and port, no path. */
const origin = z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be origins like http://127.0.0.1:8233 (scheme://host:port, no path), comma-separated');

/**
 * A GitHub App private key in PEM, as downloaded or with its newlines written as `\n` (one-line .env files).
 * Problems name the variable, never the key's text.
 */
const appPrivateKey = () =>
  z.string().transform((text, ctx) => {
    const pem = text.trim().replace(/\\n/g, '\n');
    try {
      createPrivateKey(pem);
      return pem;
    } catch {
      ctx.issues.push({
        code: 'custom',
        input: '[redacted]',
        message: "must be the GitHub App's PEM private key (the whole text of the .pem file GitHub gives you), with real or \\n newlines",
      });
      return z.NEVER;
    }
  });

/** The contents of the key file named by GITHUB_APP_PRIVATE_KEY_FILE. */
const appPrivateKeyFile = z
  .string()
  .transform((path, ctx) => {
    try {
      return readFileSync(resolve(path), 'utf8');
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'unreadable';
      ctx.issues.push({ code: 'custom', input: path, message: `cannot be read (${code}): give the path of the App's .pem file` });
      return z.NEVER;
    }
  })
  .pipe(appPrivateKey());

const envSchema = z
  .object({
    TEMPORAL_ADDRESS: optionalString,
    TEMPORAL_NAMESPACE: temporalName('default', 'namespace'),
    TEMPORAL_TASK_QUEUE: temporalName(DEFAULT_TASK_QUEUE, 'task queue'),
    TEMPORAL_CLI_PATH: optionalString,
    PATH: optionalString,
    TEMPORAL_TEST_SERVER_PATH: optionalString,
    TEMPORAL_UI_PORT: port(8233),
    TEMPORAL_PORT: port(7233),
    // Connecting to a server we did not start (Temporal Cloud, a TLS cluster); see src/temporal/connection.ts.
    TEMPORAL_API_KEY: optionalString,
    TEMPORAL_TLS: optionalString.pipe(z.enum(['true', 'false'], { error: 'must be true or false' }).optional()),
    TEMPORAL_TLS_CLIENT_CERT_PATH: optionalString,
    TEMPORAL_TLS_CLIENT_KEY_PATH: optionalString,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalString,
    TEMPORAL_TLS_SERVER_NAME: optionalString,
    TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),

    DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\/\S+$/i, 'must be a postgres:// connection string')
        .url('must be a postgres:// connection string')
        .optional(),
    ),
    SUPABASE_URL: optionalString.pipe(httpUrl("the project's URL").optional()),
    SUPABASE_SERVICE_ROLE_KEY: optionalString,
    DATA_DIR: z.string().default('./.data'),

    DISCORD_APPLICATION_ID: optionalString.pipe(snowflake.optional()),
    DISCORD_PUBLIC_KEY: optionalString.pipe(
      z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex characters shown in the Developer Portal').optional(),
    ),
    DISCORD_TOKEN: optionalString,
    DISCORD_API_URL: httpUrl("Discord's REST base URL").default('https://discord.com/api'),
    DISCORD_MODE: z.enum(['http', 'gateway']).default('http'),
    DISCORD_FORWARD_THREAD_MESSAGES: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),

    JULES_API_URL: optionalString.pipe(httpUrl("the Jules API's base URL").optional()),
    GITHUB_TOKEN: optionalString,
    GITHUB_APP_ID: optionalString.pipe(z.string().regex(/^\d+$/, "must be the GitHub App's numeric App ID (its settings page shows it)").optional()),
    GITHUB_APP_PRIVATE_KEY: optionalString.pipe(appPrivateKey().optional()),
    GITHUB_APP_PRIVATE_KEY_FILE: optionalString.pipe(appPrivateKeyFile.optional()),
    GITHUB_API_URL: httpUrl("GitHub's REST base URL").default('https://api.github.com'),

    SECRETS_ENCRYPTION_KEY: optionalString.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be standard base64 of exactly 32 bytes (openssl rand -base64 32)')
        .optional(),
    ),
    // Retired keys, readable until `keys rotate` has re-encrypted everything under SECRETS_ENCRYPTION_KEY.
    SECRETS_ENCRYPTION_PREVIOUS_KEYS: commaList(base64Key32),
    TEMPORAL_PAYLOAD_KEY: optionalString.pipe(base64Key32.optional()),
    TEMPORAL_PAYLOAD_PREVIOUS_KEYS: commaList(base64Key32),
    TEMPORAL_UI_ORIGIN: commaList(origin),
    // A cluster's Web UI (the embedded one is known): tasks' threads link to their runs there.
    TEMPORAL_UI_URL: optionalString.pipe(httpUrl("the Temporal Web UI's address, e.g. https://cloud.temporal.io").optional()),
    CODEC_AUTH_TOKEN: optionalString.pipe(
      z.string().regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters without spaces (openssl rand -hex 32)').optional(),
    ),
    JULES_WEBHOOK_SECRET: optionalString,
    // Several during a rotation: deliveries signed with any of them are accepted.
    GITHUB_WEBHOOK_SECRET: commaList(z.string()),

    METRICS_TOKEN: optionalString.pipe(
      z.string().regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters without spaces (openssl rand -hex 32)').optional(),
    ),
    // Unset: a worker-only process serves no /metrics (the ingress always does, on PORT).
    METRICS_PORT: optionalPort(),
    // Unset: the Temporal SDK's own metrics are off (a fixed default would collide between processes on one host).
    TEMPORAL_SDK_METRICS_PORT: optionalPort(),
    TEMPORAL_SERVER_METRICS_PORT: port(9233, 0),
    // Set: one trace per request, posted as OTLP/HTTP JSON to <endpoint>/v1/traces (src/telemetry/tracing.ts).
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(httpUrl('an OTLP/HTTP collector, e.g. http://127.0.0.1:4318').optional()),

    HOST: z.string().default('127.0.0.1'),
    PORT: port(3000, 0),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    CONFIRMATION_TIMEOUT: duration('24h', '30d'),
    JULES_POLL_INTERVAL: duration('12s', '1h'),
    TASK_DEADLINE: duration('3d', '365d'),
    PR_FOLLOW_DEADLINE: duration('7d', '365d'),
    PR_RECONCILE_INTERVAL: duration('10m', '1d'),
    PLAN_APPROVAL_TIMEOUT: duration('12h', '30d'),
    // How long a dead worker's session watch goes unnoticed; the watch heartbeats every 2 s, so 5 s is the floor.
    WATCH_HEARTBEAT_TIMEOUT: duration('30s', '10m').pipe(z.number().min(5_000, 'must be at least 5s (the session watch heartbeats every 2 s)')),
    // How long running activities may finish on SIGTERM before the worker cancels them through their heartbeats.
    SHUTDOWN_GRACE_TIME: duration('10s', '1h'),
  })
  .superRefine((env, ctx) => {
    checkTemporalConnection(env, ctx);
    if (env.SUPABASE_URL && !env.SUPABASE_SERVICE_ROLE_KEY) {
      ctx.addIssue({ code: 'custom', path: ['SUPABASE_SERVICE_ROLE_KEY'], message: 'is required with SUPABASE_URL' });
    }
    if (env.SUPABASE_URL && !env.DATABASE_URL && !env.SECRETS_ENCRYPTION_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['SECRETS_ENCRYPTION_KEY'],
        message: 'is required with a shared database (generate one: openssl rand -base64 32)',
      });
    }
    if (env.DISCORD_TOKEN) {
      for (const name of ['DISCORD_APPLICATION_ID', 'DISCORD_PUBLIC_KEY'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when DISCORD_TOKEN is set' });
      }
    }
    if (env.GITHUB_APP_PRIVATE_KEY && env.GITHUB_APP_PRIVATE_KEY_FILE) {
      ctx.addIssue({ code: 'custom', path: ['GITHUB_APP_PRIVATE_KEY_FILE'], message: 'cannot be set with GITHUB_APP_PRIVATE_KEY: set one of them' });
    }
    const appKey = env.GITHUB_APP_PRIVATE_KEY ?? env.GITHUB_APP_PRIVATE_KEY_FILE;
    if (env.GITHUB_APP_ID && !appKey) {
      ctx.addIssue({ code: 'custom', path: ['GITHUB_APP_PRIVATE_KEY'], message: 'or GITHUB_APP_PRIVATE_KEY_FILE is required with GITHUB_APP_ID' });
    }
    if (appKey && !env.GITHUB_APP_ID) {
      ctx.addIssue({ code: 'custom', path: ['GITHUB_APP_ID'], message: "is required with the App's private key" });
    }
    if (env.GITHUB_TOKEN && env.GITHUB_APP_ID) {
      ctx.addIssue({ code: 'custom', path: ['GITHUB_TOKEN'], message: 'cannot be set with GITHUB_APP_ID: authenticate with a token or with the App, not both' });
    }
    if (env.DATABASE_URL && !env.SECRETS_ENCRYPTION_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['SECRETS_ENCRYPTION_KEY'],
        message: 'is required with a shared database (generate one: openssl rand -base64 32)',
      });
    }
  });

/** TLS and API-key settings only make sense for a server we connect to, and they must add up to one TLS setup. */
type TemporalConnectionEnv = Partial<
  Record<'TEMPORAL_ADDRESS' | 'TEMPORAL_API_KEY' | 'TEMPORAL_TLS' | 'TEMPORAL_TLS_CLIENT_CERT_PATH' | 'TEMPORAL_TLS_CLIENT_KEY_PATH' | 'TEMPORAL_TLS_SERVER_CA_CERT_PATH' | 'TEMPORAL_TLS_SERVER_NAME', string>
>;

function checkTemporalConnection(env: TemporalConnectionEnv, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const tlsNames = ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_NAME'] as const;
  if (!env.TEMPORAL_ADDRESS) {
    for (const name of ['TEMPORAL_API_KEY', 'TEMPORAL_TLS', ...tlsNames] as const) {
      if (env[name]) issue(name, 'needs TEMPORAL_ADDRESS: the embedded dev server speaks plaintext without an API key');
    }
    return;
  }
  if (env.TEMPORAL_TLS_CLIENT_CERT_PATH && !env.TEMPORAL_TLS_CLIENT_KEY_PATH) {
    issue('TEMPORAL_TLS_CLIENT_KEY_PATH', 'is required with TEMPORAL_TLS_CLIENT_CERT_PATH: mTLS needs the certificate and its private key');
  }
  if (env.TEMPORAL_TLS_CLIENT_KEY_PATH && !env.TEMPORAL_TLS_CLIENT_CERT_PATH) {
    issue('TEMPORAL_TLS_CLIENT_CERT_PATH', 'is required with TEMPORAL_TLS_CLIENT_KEY_PATH: mTLS needs the certificate and its private key');
  }
  if (env.TEMPORAL_TLS === 'false') {
    // Temporal Cloud refuses an API key over plaintext, and the certificate settings mean nothing without TLS.
    for (const name of ['TEMPORAL_API_KEY', ...tlsNames] as const) {
      if (env[name]) issue(name, 'needs TLS, but TEMPORAL_TLS is false (unset it: this setting switches TLS on)');
    }
  }
}

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
    /** Browser origins of the Web UI allowed to call `/codec`; undefined: the embedded UI's loopback origins. */
    readonly uiOrigins?: readonly string[];
    /** TEMPORAL_UI_URL: the Web UI of TEMPORAL_ADDRESS, linked from tasks' threads; undefined: no link (embedded: its own UI). */
    readonly uiUrl?: string;
    /** TEMPORAL_API_KEY, sent as a bearer token (Temporal Cloud API keys); implies TLS. */
    readonly apiKey?: string;
    /**
     * Present: connect to TEMPORAL_ADDRESS over TLS (TEMPORAL_TLS=true, an API key or any TLS setting switches it
     * on); the paths are read at connect time. Undefined: plaintext, as the embedded and compose servers speak.
     */
    readonly tls?: {
      readonly clientCertPath?: string;
      readonly clientKeyPath?: string;
      readonly serverCaCertPath?: string;
      readonly serverName?: string;
    };
    /**
     * TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: register missing search attributes on TEMPORAL_ADDRESS at start.
     * Off by default: Temporal Cloud manages them with tcld, and the embedded server gets them at its start.
     */
    readonly registerSearchAttributes: boolean;
  };
  readonly store: {
    readonly databaseUrl?: string;
    /** SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY: the Data API store, used when DATABASE_URL is unset. */
    readonly supabaseUrl?: string;
    readonly supabaseServiceRoleKey?: string;
    readonly dataDir: string;
  };
  readonly discord: {
    /** True when no Discord credentials are set: the local emulator stands in. */
    readonly emulated: boolean;
    readonly applicationId?: string;
    readonly publicKey?: string;
    readonly token?: string;
    readonly apiUrl: string;
    readonly mode: 'http' | 'gateway';
    /**
     * Gateway mode: forward plain messages in a task's thread to Jules. Needs the privileged Message Content
     * intent enabled in the Developer Portal; false connects with GUILDS only.
     */
    readonly forwardThreadMessages: boolean;
  };
  readonly jules: {
    /** Undefined in the sandbox (no Discord credentials): the local Jules emulator stands in. */
    readonly apiUrl?: string;
    readonly pollIntervalMs: number;
  };
  readonly github: {
    /** GITHUB_API_URL: https://api.github.com, `https://HOST/api/v3` for GHES, or the emulator. */
    readonly apiUrl: string;
    /** GITHUB_TOKEN: a classic or fine-grained token. */
    readonly token?: string;
    /** GITHUB_APP_ID and its private key (PEM, from GITHUB_APP_PRIVATE_KEY or the file GITHUB_APP_PRIVATE_KEY_FILE). */
    readonly app?: { readonly appId: string; readonly privateKey: string };
  };
  readonly secrets: {
    readonly encryptionKey?: string;
    /** SECRETS_ENCRYPTION_PREVIOUS_KEYS: retired keys of the stored Jules keys, for reading only. */
    readonly previousEncryptionKeys: readonly string[];
    /** Key of the Temporal payload codec (base64, 32 bytes); undefined: derived from the secrets key with HKDF. */
    readonly payloadKey?: string;
    /** Retired payload keys whose payloads must stay readable. */
    readonly payloadPreviousKeys: readonly string[];
    /** Bearer token of `/codec`; undefined: generated into DATA_DIR when Temporal is embedded, else `/codec` is off. */
    readonly codecAuthToken?: string;
    readonly julesWebhookSecret?: string;
    /** GITHUB_WEBHOOK_SECRET: the secrets `X-Hub-Signature-256` may be made with (several during a rotation). */
    readonly githubWebhookSecrets: readonly string[];
  };
  readonly http: { readonly host: string; readonly port: number };
  readonly metrics: {
    /** METRICS_TOKEN: a scrape of `/metrics` must send `Authorization: Bearer <token>`; unset, it is open. */
    readonly token?: string;
    /** METRICS_PORT: where a worker-only process serves its `/metrics` (on HOST); unset, it serves none. */
    readonly workerPort?: number;
    /** TEMPORAL_SDK_METRICS_PORT: where the Temporal SDK serves its own `/metrics` (on HOST); unset, off. */
    readonly sdkPort?: number;
    /** TEMPORAL_SERVER_METRICS_PORT: the embedded dev server's `/metrics` (default 9233; 0 any free port). */
    readonly devServerPort: number;
  };
  readonly tracing: {
    /** OTEL_EXPORTER_OTLP_ENDPOINT: where spans go (OTLP/HTTP); undefined: tracing is off and OpenTelemetry never loaded. */
    readonly otlpEndpoint?: string;
  };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly timeouts: {
    readonly confirmationMs: number;
    readonly taskDeadlineMs: number;
    /** PR_FOLLOW_DEADLINE: how long a task's pull request is followed at most (default 7 days). */
    readonly prFollowDeadlineMs: number;
    /** PR_RECONCILE_INTERVAL: how often a followed PR is looked at without a webhook (default 10 minutes). */
    readonly prReconcileMs: number;
    /** PLAN_APPROVAL_TIMEOUT: how long a proposed plan waits for approval before it expires (default 12 hours). */
    readonly planApprovalMs: number;
    /** WATCH_HEARTBEAT_TIMEOUT: how soon another worker takes over a session watch whose worker died (default 30 s). */
    readonly watchHeartbeatMs: number;
  };
  readonly shutdown: {
    /** SHUTDOWN_GRACE_TIME: on SIGTERM, how long running activities may finish before they are cancelled (default 10 s). */
    readonly graceMs: number;
  };
}

/** Thrown by {@link loadConfig} when the environment is missing or malformed; lists every problem. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`The configuration is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee README.md, "Configuration".`);
    this.problems = problems;
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
    throw new ConfigError(parsed.error.issues.map((issue) => `${problemSubject(issue.path)} ${issue.message}`));
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
      ...(e.TEMPORAL_UI_ORIGIN ? { uiOrigins: e.TEMPORAL_UI_ORIGIN } : {}),
      ...(e.TEMPORAL_UI_URL ? { uiUrl: e.TEMPORAL_UI_URL } : {}),
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
      ...(temporalTlsOn(e) ? { tls: temporalTls(e) } : {}),
      registerSearchAttributes: e.TEMPORAL_REGISTER_SEARCH_ATTRIBUTES === 'true',
    },
    store: {
      databaseUrl: e.DATABASE_URL,
      supabaseUrl: e.SUPABASE_URL,
      supabaseServiceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY,
      dataDir: resolve(e.DATA_DIR),
    },
    discord: {
      emulated,
      applicationId: e.DISCORD_APPLICATION_ID,
      publicKey: e.DISCORD_PUBLIC_KEY?.toLowerCase(),
      token: e.DISCORD_TOKEN,
      apiUrl: e.DISCORD_API_URL,
      mode: e.DISCORD_MODE,
      forwardThreadMessages: e.DISCORD_FORWARD_THREAD_MESSAGES === 'true',
    },
    jules: {
      apiUrl: e.JULES_API_URL ?? (emulated ? undefined : DEFAULT_JULES_API_URL),
      pollIntervalMs: e.JULES_POLL_INTERVAL,
    },
    github: {
      apiUrl: e.GITHUB_API_URL,
      token: e.GITHUB_TOKEN,
      ...(e.GITHUB_APP_ID ? { app: { appId: e.GITHUB_APP_ID, privateKey: (e.GITHUB_APP_PRIVATE_KEY ?? e.GITHUB_APP_PRIVATE_KEY_FILE)! } } : {}),
    },
    secrets: {
      encryptionKey: e.SECRETS_ENCRYPTION_KEY,
      previousEncryptionKeys: e.SECRETS_ENCRYPTION_PREVIOUS_KEYS ?? [],
      payloadKey: e.TEMPORAL_PAYLOAD_KEY,
      payloadPreviousKeys: e.TEMPORAL_PAYLOAD_PREVIOUS_KEYS ?? [],
      codecAuthToken: e.CODEC_AUTH_TOKEN,
      julesWebhookSecret: e.JULES_WEBHOOK_SECRET,
      githubWebhookSecrets: e.GITHUB_WEBHOOK_SECRET ?? [],
    },
    http: { host: e.HOST, port: e.PORT },
    metrics: {
      ...(e.METRICS_TOKEN ? { token: e.METRICS_TOKEN } : {}),
      ...(e.METRICS_PORT !== undefined ? { workerPort: e.METRICS_PORT } : {}),
      ...(e.TEMPORAL_SDK_METRICS_PORT !== undefined ? { sdkPort: e.TEMPORAL_SDK_METRICS_PORT } : {}),
      devServerPort: e.TEMPORAL_SERVER_METRICS_PORT,
    },
    tracing: { ...(e.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT } : {}) },
    logLevel: e.LOG_LEVEL,
    timeouts: { confirmationMs: e.CONFIRMATION_TIMEOUT, taskDeadlineMs: e.TASK_DEADLINE, prFollowDeadlineMs: e.PR_FOLLOW_DEADLINE, prReconcileMs: e.PR_RECONCILE_INTERVAL, planApprovalMs: e.PLAN_APPROVAL_TIMEOUT, watchHeartbeatMs: e.WATCH_HEARTBEAT_TIMEOUT },
    shutdown: { graceMs: e.SHUTDOWN_GRACE_TIME },
  };
  return deepFreeze(config);
}

/** The variable a problem is about, and which entry of a comma-separated list: `TEMPORAL_UI_ORIGIN entry 2`. */
function problemSubject(path: readonly PropertyKey[]): string {
  const [name, entry] = path;
  if (name === undefined) return 'environment';
  return typeof entry === 'number' ? `${String(name)} entry ${entry + 1}` : String(name);
}

/** TLS is on when asked for, or implied by an API key or any TLS setting (Temporal Cloud takes nothing else). */
function temporalTlsOn(e: z.output<typeof envSchema>): boolean {
  if (e.TEMPORAL_TLS !== undefined) return e.TEMPORAL_TLS === 'true';
  return Boolean(e.TEMPORAL_API_KEY || e.TEMPORAL_TLS_CLIENT_CERT_PATH || e.TEMPORAL_TLS_SERVER_CA_CERT_PATH || e.TEMPORAL_TLS_SERVER_NAME);
}

function temporalTls(e: z.output<typeof envSchema>): NonNullable<Config['temporal']['tls']> {
  return {
    ...(e.TEMPORAL_TLS_CLIENT_CERT_PATH ? { clientCertPath: resolve(e.TEMPORAL_TLS_CLIENT_CERT_PATH) } : {}),
    ...(e.TEMPORAL_TLS_CLIENT_KEY_PATH ? { clientKeyPath: resolve(e.TEMPORAL_TLS_CLIENT_KEY_PATH) } : {}),
    ...(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH ? { serverCaCertPath: resolve(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH) } : {}),
    ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverName: e.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
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
