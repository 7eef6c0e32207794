import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config';
import { runGuildSet, runGuildSetQuotas, runMigrate, runSetKey, UsageError, type AdminContext } from './cli/admin.commands';
import { runKeysRotate } from './cli/keys.commands';
import { runRegisterCommands } from './cli/register-commands';
import { runScheduleList, runScheduleRemove, runScheduleSet, ScheduleCommandError } from './cli/schedule.commands';
import { ownShutdownSignals, type ShutdownSignals } from './lifecycle/shutdown-signals';
import { createLogger } from './logger';
import { openTracing, type Tracing } from './telemetry/tracing';
import { runDemo } from './sandbox/demo';
import { runPlanDemo } from './sandbox/demo-plan';
import { startService, type RunningService, type ServiceParts } from './service';
import { StoreLockedError } from './store/errors';

const USAGE = `Usage: jules-orchestrator <command>

  start                 run everything in one process (embedded Temporal, store and emulators
                        where no credentials are set)
  worker                run only a worker (needs TEMPORAL_ADDRESS to share a server)
  ingress               run only the HTTP ingress
  demo [--no-wait]      run a /jules request end to end on the embedded stack and print the transcript
  demo plan [--no-wait] run the daily plan end to end (/plan, Approve, three PRs, /status, /ship, Cancel)
  migrate               apply pending database migrations
  guild set --guild-id ID --create-roles ID,ID --confirm-roles ID,ID [--default-repo owner/name] [--default-branch NAME]
                        [--plan-approval on|off] [--merge-method squash|merge|rebase]
                        [--plan-label LABEL] [--in-progress-label LABEL] [--plan-max-items 1-50]
                        [--two-person-rule on|off] [--auto-ship on|off] [--fix-failing-checks on|off]
                        [--max-fix-attempts 0-10]
  guild set-key --guild-id ID      read the guild's default Jules API key from stdin
  guild set-quotas --guild-id ID [--requests-per-member-hour N] [--requests-per-day N]
                   [--sessions-at-once N] [--sessions-per-day N]
                                   the guild's request quotas and Jules session limits (N or \`default\`)
  user set-key --discord-id ID     read a member's personal Jules API key from stdin
  keys rotate                      re-encrypt every stored Jules key under SECRETS_ENCRYPTION_KEY
  register-commands [--guild ID]   register every slash command with Discord (one bulk overwrite;
                                   --guild: one server only, available at once)
  schedule set --guild-id ID --repo owner/name --channel ID --cron "0 9 * * 1-5" --timezone Europe/Berlin
               [--label LABEL]     propose the repository's plan in the channel at those times (a Temporal
                                   Schedule; each plan waits for /approve); again: updates it
  schedule list [--guild-id ID]    the plan schedules, their next runs, paused or not
  schedule remove --guild-id ID --repo owner/name | --id SCHEDULE_ID

Configuration comes from the environment; see README.md.`;

/** Commands that run until a signal stops them. */
const SERVICE_COMMANDS: Readonly<Record<string, ServiceParts>> = {
  start: { worker: true, ingress: true },
  worker: { worker: true, ingress: false },
  ingress: { worker: false, ingress: true },
};

/** Time a clean stop may take beyond the worker's grace time before the process exits anyway. */
const STOP_MARGIN_MS = 10_000;

/** The Discord command that makes the same change as a CLI command, for when `start` holds the embedded store. */
const SAME_IN_DISCORD: Readonly<Record<string, string>> = {
  'guild set': '`/jules-setup`',
  'guild set-key': '`/jules-setup` (Set default key)',
  'guild set-quotas': '`/jules-setup` (Quotas)',
  'user set-key': '`/jules-key set` (as that member)',
};

/**
 * Runs the CLI and returns the process exit code. `shutdown`: the signal handlers bin/ installs before loading
 * anything else; without it, a service command installs its own here.
 */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env, shutdown?: ShutdownSignals): Promise<number> {
  const [command, ...rest] = argv;
  const serviceParts = command === undefined ? undefined : SERVICE_COMMANDS[command];
  if (!serviceParts) shutdown?.release();
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE);
    return command ? 0 : 2;
  }

  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      err(error.message);
      return 78; // EX_CONFIG
    }
    throw error;
  }
  // Before the logger and any Temporal connection: with OTEL_EXPORTER_OTLP_ENDPOINT, log lines carry the trace id.
  const tracing = serviceParts ? await openTracing(config.tracing) : undefined;
  // Service logs go to stderr as JSON lines; what a person reads at the terminal goes to stdout.
  const log = createLogger(command === 'demo' ? 'warn' : config.logLevel, process.stderr, tracing ? { fields: () => tracing.logFields() } : {});
  const ctx: AdminContext = { config, log, out, stdin: process.stdin, prompt: (text) => process.stderr.write(text) };

  try {
    switch (command) {
      case 'start':
      case 'worker':
      case 'ingress':
        takesNoArguments(command, rest);
        try {
          return await runService(config, log, serviceParts!, out, shutdown ?? ownShutdownSignals(), tracing);
        } finally {
          await tracing?.shutdown().catch((error: unknown) => log.warn({ err: error }, 'could not export the last spans'));
        }
      case 'demo': {
        const { values, positionals: scenario } = parseArgs({ args: rest, options: { 'no-wait': { type: 'boolean' } }, allowPositionals: true, strict: true });
        const noWait = values['no-wait'] === true || !process.stdout.isTTY;
        if (scenario.length > 1 || (scenario[0] !== undefined && scenario[0] !== 'plan')) throw new UsageError('demo takes `plan` or nothing');
        const options = { config, log, print: out, ...(noWait ? {} : { holdOpen: untilSignal() }) };
        if (scenario[0] === 'plan') return (await runPlanDemo(options)).asScripted ? 0 : 1;
        const outcome = await runDemo(options);
        return outcome.status === 'completed' ? 0 : 1;
      }
      case 'migrate':
        takesNoArguments(command, rest);
        await runMigrate(ctx);
        return 0;
      case 'guild':
        if (rest[0] === 'set') await runGuildSet(ctx, rest.slice(1));
        else if (rest[0] === 'set-key') await runSetKey(ctx, 'guild', rest.slice(1));
        else if (rest[0] === 'set-quotas') await runGuildSetQuotas(ctx, rest.slice(1));
        else throw new UsageError('guild takes `set`, `set-key` or `set-quotas`');
        return 0;
      case 'register-commands':
        try {
          await runRegisterCommands(ctx, rest);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          err(error.message);
          return 78; // EX_CONFIG, like a configuration refused at start
        }
        return 0;
      case 'user':
        if (rest[0] === 'set-key') await runSetKey(ctx, 'user', rest.slice(1));
        else throw new UsageError('user takes `set-key`');
        return 0;
      case 'schedule':
        if (rest[0] === 'set') await runScheduleSet(ctx, rest.slice(1));
        else if (rest[0] === 'list') await runScheduleList(ctx, rest.slice(1));
        else if (rest[0] === 'remove') await runScheduleRemove(ctx, rest.slice(1));
        else throw new UsageError('schedule takes `set`, `list` or `remove`');
        return 0;
      case 'keys':
        if (rest[0] !== 'rotate') throw new UsageError('keys takes `rotate`');
        await runKeysRotate(ctx, rest.slice(1));
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      err(`${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof StoreLockedError) {
      const inDiscord = SAME_IN_DISCORD[`${command} ${rest[0] ?? ''}`];
      // One line: what holds the store, and where the same change can be made without stopping it.
      err(inDiscord ? `${error.message} Or, with \`start\` running, use ${inDiscord} in Discord: it does the same.` : error.message);
      return 1;
    }
    if (error instanceof ScheduleCommandError) {
      err(error.message);
      return 1;
    }
    log.error({ err: error }, 'command failed');
    err(`Failed: ${(error as Error).message}`);
    return 1;
  }
}

/**
 * Runs the service until SIGTERM or SIGINT, then stops it cleanly: a signal during start-up stops the start, a
 * second signal exits at once, and a stop that outlasts the worker's grace time plus a margin exits anyway.
 */
async function runService(config: Config, log: ReturnType<typeof createLogger>, parts: ServiceParts, out: (line: string) => void, shutdown: ShutdownSignals, tracing?: Tracing): Promise<number> {
  void shutdown.requested.then((signal) => {
    const boundMs = config.shutdown.graceMs + STOP_MARGIN_MS;
    log.info({ signal, boundMs }, 'shutdown requested: stopping cleanly');
    setTimeout(() => {
      log.error({ boundMs }, 'the clean stop did not finish in time: exiting anyway');
      process.exit(1);
    }, boundMs).unref();
  });
  let service: RunningService;
  try {
    service = await startService({ config, log, parts, print: out, signal: shutdown.signal, ...(tracing ? { tracing } : {}) });
  } catch (error) {
    if (!shutdown.signal.aborted) throw error;
    out('Stopped before start-up finished.');
    return 0;
  }
  if (!shutdown.signal.aborted) out('Ready. Press Ctrl+C to stop.');
  const signal = await shutdown.requested;
  out(`${signal}: stopping…`);
  await service.stop();
  out('Stopped.');
  return 0;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/**
 * Refuses words after a command that takes none: `start --port 8080` or `migrate now` would otherwise run as if
 * they were not there. The words are not repeated, since a stray one may be a secret pasted in the wrong place.
 */
function takesNoArguments(command: string, args: readonly string[]): void {
  if (args.length > 0) throw new UsageError(`${command} takes no arguments (got ${args.length}); its settings come from the environment, see README.md`);
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
