import { REPO_PATTERN } from '../src/shared/jules-request';
import { planItemOrigin, type Admission, type KeySource, type TaskRequest } from '../src/shared/task';
import type { GuildConfig } from '../src/store/store';
import type { ActivityDeps } from './deps';

/** What admission knows besides the request: the guild's config and which keys exist (never their values). */
export interface AdmissionFacts {
  readonly guild: GuildConfig | undefined;
  readonly hasPersonalKey: boolean;
}

/**
 * Decides whether a request may become a task: the requester's roles, the repository, and which key would
 * pay (personal first, then the guild's default). Pure, so every rule is testable without I/O.
 */
export function decideAdmission(request: TaskRequest, facts: AdmissionFacts): Admission {
  const { guild } = facts;
  // A guild row with no roles exists when `guild set-key` ran before `guild set`: still not set up.
  if (!guild || (guild.createRoles.length === 0 && guild.confirmRoles.length === 0)) {
    return {
      admitted: false,
      code: 'guild_not_configured',
      reason:
        'This server is not set up for Jules yet. A member with Manage Server runs `/jules-setup` (or an admin runs ' +
        `\`jules-orchestrator guild set --guild-id ${request.guildId} --create-roles … --confirm-roles …\`).`,
    };
  }
  // A plan item was confirmed by the plan's approval, and is paid by the key its card named.
  const item = planItemOrigin(request);
  const roles = new Set(request.requester.roles);
  const isConfirmer = item !== undefined || guild.confirmRoles.some((role) => roles.has(role));
  // Confirmers may also ask: whoever can approve others' work can request their own.
  const mayCreate = isConfirmer || guild.createRoles.some((role) => roles.has(role));
  if (!mayCreate) {
    return {
      admitted: false,
      code: 'not_allowed',
      reason: 'You need one of the roles allowed to ask Jules for work in this server. Ask an admin for access.',
    };
  }
  const repo = request.repo ?? guild.defaultRepo ?? undefined;
  if (!repo) {
    return {
      admitted: false,
      code: 'no_repo',
      reason: 'No repository given and this server has no default: pass `repo: owner/name`, or an admin sets `--default-repo`.',
    };
  }
  if (!REPO_PATTERN.test(repo)) {
    return { admitted: false, code: 'bad_repo', reason: `\`${repo}\` is not a GitHub repository name of the form owner/name.` };
  }
  let keySource: KeySource;
  if (item && (item.keySource === 'guild' ? guild.hasDefaultKey : facts.hasPersonalKey)) keySource = item.keySource;
  else if (item) {
    return { admitted: false, code: 'no_key', reason: `The ${item.keySource === 'guild' ? 'server’s default' : 'plan owner’s'} Jules key that this plan was approved with is gone.` };
  } else if (facts.hasPersonalKey) keySource = 'personal';
  else if (guild.hasDefaultKey) keySource = 'guild';
  else {
    return {
      admitted: false,
      code: 'no_key',
      reason:
        'No Jules API key is configured for you or for this server. Set your own with `/jules-key set` (a private form), ' +
        'or an admin sets a server default with ' +
        `\`jules-orchestrator guild set-key --guild-id ${request.guildId}\`.`,
    };
  }
  const branch = request.branch ?? guild.defaultBranch ?? undefined;
  return {
    admitted: true,
    status: isConfirmer ? 'in_progress' : 'pending_confirmation',
    keySource,
    repo,
    ...(branch ? { branch } : {}),
    confirmRoles: [...guild.confirmRoles],
    planApproval: request.planApproval ?? guild.planApprovalDefault ?? false,
    mergeMethod: guild.mergeMethod ?? 'squash',
    fixFailingChecks: guild.fixFailingChecks ?? false,
    maxFixAttempts: guild.maxFixAttempts ?? 2,
  };
}

/** The refusal for a request over quota, saying when to try again (a Discord timestamp shows local time). */
export function quotaRefusal(limit: 'user_hourly' | 'guild_daily', quota: number, retryAt: Date): Admission {
  const when = `<t:${Math.ceil(retryAt.getTime() / 1000)}:R>`;
  return {
    admitted: false,
    code: 'quota',
    reason:
      limit === 'user_hourly'
        ? `You have used your ${quota} Jules requests for this hour in this server. You can ask again ${when}.`
        : `This server has used its ${quota} Jules requests for today. You can ask again ${when}.`,
  };
}

/** Activities over the task projection and guild configuration. */
export function createStoreActivities({ store, log, metrics }: Pick<ActivityDeps, 'store' | 'log' | 'metrics'>) {
  return {
    /**
     * Loads the guild's config and the requester's key presence, decides, and records an admitted task.
     * Idempotent: a retried admission finds the row it already wrote.
     */
    async admitTask(request: TaskRequest): Promise<Admission> {
      const [guild, personalKey] = await Promise.all([
        store.getGuild(request.guildId),
        store.getUserKey(request.requester.id),
      ]);
      let admission = decideAdmission(request, { guild, hasPersonalKey: personalKey !== undefined });
      if (admission.admitted) {
        // The quota check and the insert are one SQL call, so two workers cannot both take the last request.
        const recorded = await store.createTaskWithinQuota({
          id: request.taskId,
          guildId: request.guildId,
          channelId: request.channelId,
          requesterId: request.requester.id,
          prompt: request.prompt,
          repo: admission.repo,
          branch: admission.branch ?? null,
          status: admission.status,
          keySource: admission.keySource,
        });
        if (!recorded.allowed) {
          admission = quotaRefusal(recorded.limit, recorded.quota, recorded.retryAt);
          metrics?.quotaRefusals.inc({ limit: recorded.limit });
        } else metrics?.admittedTasks.inc({ key_source: recorded.task.keySource });
      }
      await store.recordTaskEvent({
        taskId: request.taskId,
        guildId: request.guildId,
        actorId: request.requester.id,
        kind: admission.admitted ? 'admitted' : 'refused',
        outcome: admission.admitted ? admission.status : admission.code,
        detail: admission.admitted ? { keySource: admission.keySource, repo: admission.repo } : {},
        dedupeKey: 'admission',
      });
      log.info(
        { taskId: request.taskId, guildId: request.guildId, requesterId: request.requester.id, admitted: admission.admitted, ...(admission.admitted ? { status: admission.status, keySource: admission.keySource } : { code: admission.code }) },
        'admission decided',
      );
      return admission;
    },
  };
}
