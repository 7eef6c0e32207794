import { ApplicationFailure } from '@temporalio/activity';
import { julesCorrelationTag } from '../src/shared/ids';
import type { SessionSnapshot } from '../src/shared/jules-session';
import type { KeySource } from '../src/shared/task';
import type { JulesClient, JulesSession } from '../src/jules/jules-client';
import type { ActivityDeps } from './deps';
import { whileBeating } from './heartbeat';
import { toApplicationFailure } from './failures';

/** Which stored key pays: the workflow carries these ids and the source, never the key. */
export interface KeyOwner {
  readonly taskId: string;
  readonly guildId: string;
  readonly requesterId: string;
  readonly keySource: KeySource;
}

/** Input of {@link startJulesSession}. */
export interface StartSessionInput extends KeyOwner {
  readonly prompt: string;
  readonly repo: string;
  readonly branch?: string;
  readonly planApproval?: boolean;
}

/**
 * Loads and decrypts the key that pays for a task, and makes a Jules client with it. Keys are decrypted here, inside
 * the activity that calls Jules, and nowhere else. Failures are permanent and say what to fix.
 */
export async function julesClientForOwner(
  { store, secrets, julesClientFor, log }: Pick<ActivityDeps, 'store' | 'secrets' | 'julesClientFor' | 'log'>,
  owner: KeyOwner,
): Promise<JulesClient> {
  const ciphertext = owner.keySource === 'personal' ? await store.getUserKey(owner.requesterId) : await store.getGuildKey(owner.guildId);
  if (!ciphertext) {
    throw ApplicationFailure.nonRetryable(
      owner.keySource === 'personal'
        ? 'Your personal Jules API key was removed before the task started. Set it again and retry.'
        : "This server's default Jules API key was removed before the task started. An admin sets it again.",
      'JulesKeyMissing',
    );
  }
  let apiKey: string;
  try {
    apiKey = secrets.decrypt(ciphertext);
  } catch (err) {
    // The operator gets the reason in the worker log; the user gets a plain refusal.
    log.error({ taskId: owner.taskId, keySource: owner.keySource, err: (err as Error).name }, 'stored Jules key cannot be decrypted (was SECRETS_ENCRYPTION_KEY changed?)');
    throw ApplicationFailure.nonRetryable('The stored Jules API key cannot be used. An admin must set it again.', 'JulesKeyUnreadable');
  }
  return julesClientFor(apiKey);
}

/** Activities that start Jules sessions. */
export function createJulesActivities(deps: Pick<ActivityDeps, 'store' | 'secrets' | 'julesClientFor' | 'log'>) {
  const { log } = deps;
  return {
    /**
     * Creates the Jules session for a task. Idempotent: Jules has no idempotency key, so a retry first looks
     * for a session whose title carries the task's correlation tag.
     */
    startJulesSession: (input: StartSessionInput): Promise<SessionSnapshot> =>
      whileBeating(async () => {
        const client = await julesClientForOwner(deps, input);
        const tag = julesCorrelationTag(input.taskId);
        try {
          const existing = await findTaggedSession(client, tag);
          if (existing) {
            log.info({ taskId: input.taskId, session: existing.name }, 'found the Jules session a previous attempt created');
            return toSnapshot(existing);
          }
          const [owner, repo] = input.repo.split('/') as [string, string];
          const source = await client.findSource(owner, repo);
          if (!source) {
            throw ApplicationFailure.nonRetryable(
              `Jules has no access to ${input.repo}: install the Jules GitHub app on it (jules.google.com), then ask again.`,
              'JulesSourceNotFound',
            );
          }
          const startingBranch = input.branch ?? source.githubRepo?.defaultBranch?.displayName;
          const session = await client.createSession({
            prompt: input.prompt,
            title: `${tag} ${summarize(input.prompt)}`,
            source: source.name,
            ...(startingBranch ? { startingBranch } : {}),
            // requirePlanApproval:false together with an unspecified mode is refused by Jules (jules-sdk #18);
            // asking for a PR is what a task is for.
            ...(input.planApproval ? { requirePlanApproval: true } : {}),
            automationMode: 'AUTO_CREATE_PR',
          });
          log.info({ taskId: input.taskId, session: session.name, state: session.state }, 'Jules session created');
          return toSnapshot(session);
        } catch (err) {
          throw toApplicationFailure(err);
        }
      }),
  };
}

async function findTaggedSession(client: JulesClient, tag: string): Promise<JulesSession | undefined> {
  // Newest first: the session a crashed attempt created is on the first page or two.
  let pageToken: string | undefined;
  for (let page = 0; page < 3; page++) {
    const result = await client.listSessions(pageToken);
    const found = result.items.find((s) => s.title?.includes(tag));
    if (found) return found;
    if (!result.nextPageToken) return undefined;
    pageToken = result.nextPageToken;
  }
  return undefined;
}

/** The part of a session the workflow reasons about. */
export function toSnapshot(session: JulesSession): SessionSnapshot {
  const prUrl = session.outputs?.find((o) => o.pullRequest?.url)?.pullRequest?.url;
  return {
    name: session.name,
    state: session.state ?? 'STATE_UNSPECIFIED',
    ...(session.url ? { url: session.url } : {}),
    ...(prUrl ? { prUrl } : {}),
  };
}

function summarize(prompt: string): string {
  const line = prompt.replace(/\s+/g, ' ').trim();
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}
