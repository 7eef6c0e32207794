import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_JULES_API_URL, loadConfig } from '../src/config';
import { DEFAULT_TASK_QUEUE } from '../src/shared/ids';
import { planSettingsOf, taskSettingsOf } from '../src/workflow-settings';

const discord = {
  DISCORD_TOKEN: 'bot-token-for-tests',
  DISCORD_APPLICATION_ID: '1100000000000000001',
  DISCORD_PUBLIC_KEY: 'AB'.repeat(32),
};
const encryptionKey = randomBytes(32).toString('base64');

/** Runs loadConfig and returns the ConfigError it throws. */
function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('loadConfig accepted the environment');
}

function allObjectsIn(value: unknown): object[] {
  if (!value || typeof value !== 'object') return [];
  return [value, ...Object.values(value).flatMap(allObjectsIn)];
}

describe('configuring the connection to Temporal', () => {
  const cloud = { TEMPORAL_ADDRESS: 'jules.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'jules.a1b2c' };

  it('connects in plaintext and registers no search attributes unless told', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233' });
    expect(config.temporal.tls).toBeUndefined();
    expect(config.temporal.apiKey).toBeUndefined();
    expect(config.temporal.registerSearchAttributes).toBe(false);
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: 'true' }).temporal.registerSearchAttributes).toBe(true);
  });

  it('switches TLS on for an API key, as Temporal Cloud requires', () => {
    const config = loadConfig({ ...cloud, TEMPORAL_API_KEY: 'cloud-api-key' });
    expect(config.temporal).toMatchObject({ address: cloud.TEMPORAL_ADDRESS, namespace: cloud.TEMPORAL_NAMESPACE, apiKey: 'cloud-api-key', tls: {} });
  });

  it('takes a client certificate and key for mTLS, with paths resolved', () => {
    const config = loadConfig({ ...cloud, TEMPORAL_TLS_CLIENT_CERT_PATH: 'certs/client.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: 'certs/client.key' });
    expect(config.temporal.tls).toEqual({ clientCertPath: resolve('certs/client.pem'), clientKeyPath: resolve('certs/client.key') });
  });

  it('turns TLS on with TEMPORAL_TLS=true, a server CA or a server name alone', () => {
    const address = { TEMPORAL_ADDRESS: 'temporal.internal:7233' };
    expect(loadConfig({ ...address, TEMPORAL_TLS: 'true' }).temporal.tls).toEqual({});
    expect(loadConfig({ ...address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/ca.pem' }).temporal.tls).toEqual({ serverCaCertPath: '/etc/ca.pem' });
    expect(loadConfig({ ...address, TEMPORAL_TLS_SERVER_NAME: 'temporal.example' }).temporal.tls).toEqual({ serverName: 'temporal.example' });
  });

  it('refuses a client certificate without its key, and a key without its certificate', () => {
    expect(problemsOf({ ...cloud, TEMPORAL_TLS_CLIENT_CERT_PATH: 'client.pem' })).toEqual([
      'TEMPORAL_TLS_CLIENT_KEY_PATH is required with TEMPORAL_TLS_CLIENT_CERT_PATH: mTLS needs the certificate and its private key',
    ]);
    expect(problemsOf({ ...cloud, TEMPORAL_TLS_CLIENT_KEY_PATH: 'client.key' })).toEqual([
      'TEMPORAL_TLS_CLIENT_CERT_PATH is required with TEMPORAL_TLS_CLIENT_KEY_PATH: mTLS needs the certificate and its private key',
    ]);
  });

  it('refuses an API key over plaintext', () => {
    expect(problemsOf({ ...cloud, TEMPORAL_API_KEY: 'cloud-api-key', TEMPORAL_TLS: 'false' })).toEqual([
      'TEMPORAL_API_KEY needs TLS, but TEMPORAL_TLS is false (unset it: this setting switches TLS on)',
    ]);
  });

  it('refuses TLS settings and an API key for the embedded dev server', () => {
    const problems = problemsOf({ TEMPORAL_API_KEY: 'cloud-api-key', TEMPORAL_TLS_SERVER_NAME: 'x' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['TEMPORAL_API_KEY', 'TEMPORAL_TLS_SERVER_NAME']);
    expect(problems[0]).toMatch(/needs TEMPORAL_ADDRESS/);
  });

  it('refuses a TEMPORAL_TLS or TEMPORAL_REGISTER_SEARCH_ATTRIBUTES that is not true or false', () => {
    const problems = problemsOf({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS: 'yes', TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: '1' });
    expect([...problems].sort()).toEqual(['TEMPORAL_REGISTER_SEARCH_ATTRIBUTES must be true or false', 'TEMPORAL_TLS must be true or false']);
  });
});

describe('loading the configuration', () => {
  it('runs on embedded defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.temporal).toMatchObject({ address: undefined, namespace: 'default', taskQueue: DEFAULT_TASK_QUEUE, port: 7233, uiPort: 8233 });
    expect(config.store).toEqual({ databaseUrl: undefined, dataDir: resolve('./.data') });
    expect(config.discord).toMatchObject({ emulated: true, token: undefined, apiUrl: 'https://discord.com/api', mode: 'http' });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(config.logLevel).toBe('info');
    expect(config.timeouts).toEqual({ confirmationMs: 24 * 3_600_000, taskDeadlineMs: 3 * 86_400_000, prFollowDeadlineMs: 7 * 86_400_000, prReconcileMs: 10 * 60_000, planApprovalMs: 12 * 3_600_000, watchHeartbeatMs: 30_000 });
    expect(config.jules.pollIntervalMs).toBe(12_000);
  });

  it('uses the Jules emulator (no Jules URL) when Discord is emulated', () => {
    const config = loadConfig({});
    expect(config.discord.emulated).toBe(true);
    expect(config.jules.apiUrl).toBeUndefined();
  });

  it('talks to the real Jules API by default once Discord credentials are set', () => {
    const config = loadConfig({ ...discord });
    expect(config.discord).toMatchObject({ emulated: false, token: discord.DISCORD_TOKEN, applicationId: discord.DISCORD_APPLICATION_ID });
    expect(config.jules.apiUrl).toBe(DEFAULT_JULES_API_URL);
    expect(DEFAULT_JULES_API_URL).toBe('https://jules.googleapis.com');
  });

  it('keeps an explicit JULES_API_URL in both modes', () => {
    expect(loadConfig({ JULES_API_URL: 'http://127.0.0.1:9999' }).jules.apiUrl).toBe('http://127.0.0.1:9999');
    expect(loadConfig({ ...discord, JULES_API_URL: 'http://127.0.0.1:9999' }).jules.apiUrl).toBe('http://127.0.0.1:9999');
  });

  it('traces only with OTEL_EXPORTER_OTLP_ENDPOINT, an http(s) collector, and links runs to TEMPORAL_UI_URL when given', () => {
    expect(loadConfig({}).tracing).toEqual({});
    expect(loadConfig({}).temporal.uiUrl).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing.otlpEndpoint).toBe('http://127.0.0.1:4318');
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://cloud.temporal.io' }).temporal.uiUrl).toBe('https://cloud.temporal.io');
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://127.0.0.1:4317' })).toEqual([expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT must be an OTLP\/HTTP collector/)]);
    expect(problemsOf({ TEMPORAL_UI_URL: 'javascript:alert(1)' })).toEqual([expect.stringMatching(/^TEMPORAL_UI_URL must be the Temporal Web UI's address/)]);
  });

  it('lowercases the Discord public key as the signature check expects', () => {
    expect(loadConfig({ ...discord }).discord.publicKey).toBe('ab'.repeat(32));
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: '', DISCORD_TOKEN: '  ', DATABASE_URL: '' });
    expect(config.temporal.address).toBeUndefined();
    expect(config.discord.emulated).toBe(true);
    expect(config.store.databaseUrl).toBeUndefined();
  });

  it('parses durations such as CONFIRMATION_TIMEOUT=15m', () => {
    const config = loadConfig({ CONFIRMATION_TIMEOUT: '15m', JULES_POLL_INTERVAL: '500ms', TASK_DEADLINE: '7d', PR_FOLLOW_DEADLINE: '2d', PR_RECONCILE_INTERVAL: '90s' });
    expect(config.timeouts.confirmationMs).toBe(15 * 60_000);
    expect(config.jules.pollIntervalMs).toBe(500);
    expect(config.timeouts.taskDeadlineMs).toBe(7 * 86_400_000);
    expect(config.timeouts).toMatchObject({ prFollowDeadlineMs: 2 * 86_400_000, prReconcileMs: 90_000 });
  });

  it('gives running activities SHUTDOWN_GRACE_TIME to finish on a stop, 10 s unless set', () => {
    expect(loadConfig({}).shutdown.graceMs).toBe(10_000);
    expect(loadConfig({ SHUTDOWN_GRACE_TIME: '30s' }).shutdown.graceMs).toBe(30_000);
    expect(problemsOf({ SHUTDOWN_GRACE_TIME: '0s' })[0]).toMatch(/^SHUTDOWN_GRACE_TIME .*positive duration/);
  });

  it('refuses a duration without a unit, naming the variable', () => {
    const problems = problemsOf({ CONFIRMATION_TIMEOUT: '15' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^CONFIRMATION_TIMEOUT .*duration/);
  });

  it('refuses durations past their cap, which would be typing mistakes or overflow a timer', () => {
    expect(problemsOf({ TASK_DEADLINE: '400d' })).toEqual(['TASK_DEADLINE must be at most 365d']);
    expect(problemsOf({ JULES_POLL_INTERVAL: '2h' })).toEqual(['JULES_POLL_INTERVAL must be at most 1h']);
    expect(problemsOf({ CONFIRMATION_TIMEOUT: '99999999999999999999999d' })).toEqual([expect.stringMatching(/^CONFIRMATION_TIMEOUT must be a positive duration/)]);
    expect(loadConfig({ TASK_DEADLINE: '365d', JULES_POLL_INTERVAL: '60m' }).timeouts.taskDeadlineMs).toBe(365 * 86_400_000);
  });

  it('takes a WATCH_HEARTBEAT_TIMEOUT from 5s to 10m, which new tasks are started with', () => {
    expect(problemsOf({ WATCH_HEARTBEAT_TIMEOUT: '2s' })).toEqual(['WATCH_HEARTBEAT_TIMEOUT must be at least 5s (the session watch heartbeats every 2 s)']);
    expect(problemsOf({ WATCH_HEARTBEAT_TIMEOUT: '11m' })).toEqual(['WATCH_HEARTBEAT_TIMEOUT must be at most 10m']);
    const config = loadConfig({ WATCH_HEARTBEAT_TIMEOUT: '10s' });
    expect(config.timeouts.watchHeartbeatMs).toBe(10_000);
    expect(taskSettingsOf(config, { github: false }).watchHeartbeatTimeoutMs).toBe(10_000);
    expect(planSettingsOf(config).task.watchHeartbeatTimeoutMs).toBe(10_000);
  });

  it('takes only http(s) URLs for the services it calls, and postgres URLs for the database', () => {
    expect(problemsOf({ JULES_API_URL: 'file:///etc/passwd' })).toEqual([expect.stringMatching(/^JULES_API_URL must be .*http:\/\/ or https:\/\//)]);
    expect(problemsOf({ DISCORD_API_URL: 'javascript:alert(1)' })).toEqual([expect.stringMatching(/^DISCORD_API_URL must be/)]);
    expect(problemsOf({ GITHUB_API_URL: 'ftp://example.com/api' })).toEqual([expect.stringMatching(/^GITHUB_API_URL must be/)]);
    expect(problemsOf({ SUPABASE_URL: 'data:text/plain,x', SUPABASE_SERVICE_ROLE_KEY: 'k', SECRETS_ENCRYPTION_KEY: encryptionKey })).toEqual([expect.stringMatching(/^SUPABASE_URL must be/)]);
    expect(problemsOf({ DATABASE_URL: 'https://db.example.com', SECRETS_ENCRYPTION_KEY: encryptionKey })).toEqual(['DATABASE_URL must be a postgres:// connection string']);
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@127.0.0.1:5432/db', SECRETS_ENCRYPTION_KEY: encryptionKey, GITHUB_API_URL: 'http://127.0.0.1:9000' }).github.apiUrl).toBe('http://127.0.0.1:9000');
  });

  it('refuses an empty or space-padded Temporal namespace or task queue instead of polling a queue nobody serves', () => {
    expect(problemsOf({ TEMPORAL_TASK_QUEUE: '' })).toEqual([`TEMPORAL_TASK_QUEUE must not be empty: unset it for the default task queue "${DEFAULT_TASK_QUEUE}"`]);
    expect(problemsOf({ TEMPORAL_TASK_QUEUE: '   ' })).toHaveLength(1);
    expect(problemsOf({ TEMPORAL_NAMESPACE: ' prod' })).toEqual(['TEMPORAL_NAMESPACE must not start or end with a space']);
    expect(loadConfig({ TEMPORAL_TASK_QUEUE: 'jo-blue' }).temporal.taskQueue).toBe('jo-blue');
  });

  it('reads ports only as decimal digits', () => {
    expect(problemsOf({ PORT: '1e3' })).toEqual(['PORT must be a port number from 0 to 65535']);
    expect(problemsOf({ TEMPORAL_PORT: '0x50' })).toEqual(['TEMPORAL_PORT must be a port number from 1 to 65535']);
    expect(problemsOf({ PORT: '99999999999999999999' })).toHaveLength(1);
    expect(loadConfig({ PORT: ' 8080 ' }).http.port).toBe(8080);
  });

  it('reads numbers from the environment', () => {
    const config = loadConfig({ PORT: '8080', TEMPORAL_UI_PORT: '18233' });
    expect(config.http.port).toBe(8080);
    expect(config.temporal.uiPort).toBe(18233);
  });

  it('lists every problem at once, each naming its variable', () => {
    const problems = problemsOf({
      DISCORD_PUBLIC_KEY: 'xyz',
      TEMPORAL_UI_PORT: 'abc',
      DISCORD_MODE: 'websocket',
      LOG_LEVEL: 'loud',
      CONFIRMATION_TIMEOUT: 'soon',
      PORT: '70000',
    });
    const named = problems.map((p) => p.split(' ')[0]).sort();
    expect(named).toEqual(['CONFIRMATION_TIMEOUT', 'DISCORD_MODE', 'DISCORD_PUBLIC_KEY', 'LOG_LEVEL', 'PORT', 'TEMPORAL_UI_PORT']);
  });

  it('puts every problem in the error message too', () => {
    let error: unknown;
    try {
      loadConfig({ DISCORD_PUBLIC_KEY: 'xyz', TEMPORAL_UI_PORT: 'abc' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { message, problems, code } = error as ConfigError;
    expect(code).toBe('CONFIG_INVALID');
    expect(problems).toHaveLength(2);
    for (const problem of problems) expect(message).toContain(problem);
  });

  it('asks for the application id and public key when only a Discord token is set', () => {
    const problems = problemsOf({ DISCORD_TOKEN: 'bot-token' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['DISCORD_APPLICATION_ID', 'DISCORD_PUBLIC_KEY']);
    for (const problem of problems) expect(problem).toContain('DISCORD_TOKEN');
  });

  it('refuses a Discord application id that is not a snowflake', () => {
    expect(problemsOf({ ...discord, DISCORD_APPLICATION_ID: 'my-bot' })[0]).toMatch(/^DISCORD_APPLICATION_ID /);
  });

  it('refuses a shared database without an encryption key for the stored Jules keys', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres://jo:pw@db.example:5432/jo' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SECRETS_ENCRYPTION_KEY .*openssl rand -base64 32/);
  });

  it('accepts a shared database with a 32-byte encryption key', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://jo:pw@db.example:5432/jo', SECRETS_ENCRYPTION_KEY: encryptionKey });
    expect(config.store.databaseUrl).toBe('postgres://jo:pw@db.example:5432/jo');
    expect(config.secrets.encryptionKey).toBe(encryptionKey);
  });

  it('refuses an encryption key of 31 bytes', () => {
    const problems = problemsOf({ SECRETS_ENCRYPTION_KEY: randomBytes(31).toString('base64') });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SECRETS_ENCRYPTION_KEY .*32 bytes/);
  });

  it('refuses an encryption key of 33 bytes', () => {
    expect(problemsOf({ SECRETS_ENCRYPTION_KEY: randomBytes(33).toString('base64') })[0]).toMatch(/^SECRETS_ENCRYPTION_KEY /);
  });

  it('never repeats a rejected secret in the problems it lists', () => {
    const badKey = randomBytes(31).toString('base64');
    const problems = problemsOf({ SECRETS_ENCRYPTION_KEY: badKey, DISCORD_TOKEN: 'super-secret-token' });
    expect(problems.join('\n')).not.toContain(badKey);
    expect(problems.join('\n')).not.toContain('super-secret-token');
  });

  it('asks for the service role key and an encryption key with SUPABASE_URL', () => {
    const problems = problemsOf({ SUPABASE_URL: 'https://abc.supabase.co' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['SECRETS_ENCRYPTION_KEY', 'SUPABASE_SERVICE_ROLE_KEY']);
  });

  it('resolves DATA_DIR to an absolute path', () => {
    expect(loadConfig({ DATA_DIR: 'some/dir' }).store.dataDir).toBe(resolve('some/dir'));
  });

  it('hands out a deeply frozen config that nobody can change', () => {
    const config = loadConfig({ ...discord });
    const objects = allObjectsIn(config);
    expect(objects.length).toBeGreaterThan(5);
    for (const object of objects) expect(Object.isFrozen(object)).toBe(true);
    // Test files are ES modules, so strict mode: assigning to a frozen property throws.
    expect(() => {
      (config as { logLevel: string }).logLevel = 'trace';
    }).toThrow(TypeError);
    expect(() => {
      (config.discord as { token?: string }).token = 'stolen';
    }).toThrow(TypeError);
    expect(config.discord.token).toBe(discord.DISCORD_TOKEN);
  });

  it('does not keep or change the environment object it was given', () => {
    const env: NodeJS.ProcessEnv = { PORT: '8080' };
    const config = loadConfig(env);
    env.PORT = '9090';
    expect(config.http.port).toBe(8080);
    expect(env).toEqual({ PORT: '9090' });
  });
});

describe('GitHub settings', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const keyBody = pem.split('\n')[1]!;

  it('talks to api.github.com with no credentials and no webhook secrets by default', () => {
    const config = loadConfig({});
    expect(config.github).toEqual({ apiUrl: 'https://api.github.com', token: undefined });
    expect(config.secrets.githubWebhookSecrets).toEqual([]);
  });

  it('takes a token and a GitHub Enterprise Server API URL', () => {
    const config = loadConfig({ GITHUB_TOKEN: 'ghp_example', GITHUB_API_URL: 'https://ghe.example.com/api/v3' });
    expect(config.github).toEqual({ apiUrl: 'https://ghe.example.com/api/v3', token: 'ghp_example' });
  });

  it('reads a comma-separated GITHUB_WEBHOOK_SECRET as the secrets of a rotation', () => {
    expect(loadConfig({ GITHUB_WEBHOOK_SECRET: 'new-secret, old-secret,' }).secrets.githubWebhookSecrets).toEqual(['new-secret', 'old-secret']);
  });

  it('takes an App private key written on one line with \\n newlines', () => {
    const config = loadConfig({ GITHUB_APP_ID: '123456', GITHUB_APP_PRIVATE_KEY: pem.trim().replace(/\n/g, '\\n') });
    expect(config.github.app).toEqual({ appId: '123456', privateKey: pem.trim() });
  });

  it('reads the App private key from GITHUB_APP_PRIVATE_KEY_FILE', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'jo-config-')), 'app.pem');
    writeFileSync(file, pem);
    expect(loadConfig({ GITHUB_APP_ID: '42', GITHUB_APP_PRIVATE_KEY_FILE: file }).github.app).toEqual({ appId: '42', privateKey: pem.trim() });
  });

  it('says which key file cannot be read', () => {
    const problems = problemsOf({ GITHUB_APP_ID: '42', GITHUB_APP_PRIVATE_KEY_FILE: '/nonexistent/app.pem' });
    expect(problems).toEqual([expect.stringMatching(/^GITHUB_APP_PRIVATE_KEY_FILE cannot be read \(ENOENT\)/)]);
  });

  it('refuses a private key that is not PEM without repeating it', () => {
    const broken = pem.replace(keyBody, keyBody.slice(0, 20));
    const problems = problemsOf({ GITHUB_APP_ID: '42', GITHUB_APP_PRIVATE_KEY: broken });
    expect(problems).toEqual([expect.stringMatching(/^GITHUB_APP_PRIVATE_KEY must be the GitHub App's PEM private key/)]);
    expect(problems.join('\n')).not.toContain(keyBody.slice(0, 20));
  });

  it('asks for the missing half of an App and refuses two ways to authenticate', () => {
    expect(problemsOf({ GITHUB_APP_ID: '42' })).toEqual([expect.stringMatching(/^GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE is required/)]);
    expect(problemsOf({ GITHUB_APP_PRIVATE_KEY: pem })).toEqual([expect.stringMatching(/^GITHUB_APP_ID is required/)]);
    expect(problemsOf({ GITHUB_APP_ID: 'my-app', GITHUB_APP_PRIVATE_KEY: pem })).toEqual([expect.stringMatching(/^GITHUB_APP_ID must be the GitHub App's numeric App ID/)]);
    expect(problemsOf({ GITHUB_TOKEN: 'ghp_example', GITHUB_APP_ID: '42', GITHUB_APP_PRIVATE_KEY: pem })).toEqual([
      expect.stringMatching(/^GITHUB_TOKEN cannot be set with GITHUB_APP_ID/),
    ]);
  });
});
