/**
 * Admission: whether a request may become a task, and its `tasks` row and audit event when it may. The ingress
 * runs it for `/jules` and `/jules-retry` before it starts the task's workflow, so the answer waits for no
 * workflow task; the workflow's `admitTask` local activity runs it for plan items (and replays of older tasks).
 */
import type { Logger } from 'pino';
import type { ServiceMetrics } from '../metrics/service-metrics';
import { REPO_PATTERN } from '../shared/jules-request';
import { planItemOrigin, type Admission, type KeySource, type TaskRequest } from '../shared/task';
import type { GuildConfig, Store, TaskRecord } from '../store/store';

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

/** What {@link admitRequest} needs: the store's guild, key and task tables, and where to say what it decided. */
export interface AdmissionDeps {
  readonly store: Pick<Store, 'getGuild' | 'getUserKey' | 'createTaskWithinQuota' | 'recordTaskEvent'>;
  readonly log: Logger;
  readonly metrics?: Pick<ServiceMetrics, 'quotaRefusals'>;
}

/** The decision, and for an admitted request its row as stored (a retried admission finds the row it wrote). */
export interface AdmissionResult {
  readonly admission: Admission;
  readonly task?: TaskRecord;
}

/**
 * Loads the guild's config and the requester's key presence, decides, and records an admitted task with its
 * audit event. Idempotent on the task id: run again, it finds the row it wrote (counted against the quota once)
 * and the audit event is not doubled.
 */
export async function admitRequest({ store, log, metrics }: AdmissionDeps, request: TaskRequest): Promise<AdmissionResult> {
  const [guild, personalKey] = await Promise.all([store.getGuild(request.guildId), store.getUserKey(request.requester.id)]);
  let admission = decideAdmission(request, { guild, hasPersonalKey: personalKey !== undefined });
  let task: TaskRecord | undefined;
  if (admission.admitted) {
    // The quota check and the insert are one SQL call, so two processes cannot both take the last request.
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
    if (recorded.allowed) task = recorded.task;
    else {
      admission = quotaRefusal(recorded.limit, recorded.quota, recorded.retryAt);
      metrics?.quotaRefusals.inc({ limit: recorded.limit });
    }
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
    {
      taskId: request.taskId,
      guildId: request.guildId,
      requesterId: request.requester.id,
      admitted: admission.admitted,
      ...(admission.admitted ? { status: admission.status, keySource: admission.keySource } : { code: admission.code }),
    },
    'admission decided',
  );
  return { admission, ...(task ? { task } : {}) };
}
