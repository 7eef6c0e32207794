import { describe, expect, it } from 'vitest';
import { decideAdmission, type AdmissionFacts } from '../src/tasks/admission';
import type { Admission, TaskRequest } from '../src/shared/task';
import type { GuildConfig } from '../src/store/store';

const guildId = '1200000000000000002';
const requesterId = '1400000000000000004';
const creatorRole = '1500000000000000005';
const confirmerRole = '1500000000000000006';
const otherRole = '1500000000000000007';

function request(overrides: Partial<TaskRequest> = {}, roles: readonly string[] = [creatorRole]): TaskRequest {
  return {
    taskId: 'task-1600000000000000001',
    interactionId: '1600000000000000001',
    guildId,
    channelId: '1300000000000000003',
    requester: { id: requesterId, roles },
    prompt: 'Add a README',
    ...overrides,
  };
}

function guild(overrides: Partial<GuildConfig> = {}): GuildConfig {
  return {
    guildId,
    createRoles: [creatorRole],
    confirmRoles: [confirmerRole],
    defaultRepo: 'acme/widgets',
    defaultBranch: null,
    hasDefaultKey: true,
    defaultKeySetAt: null,
    defaultKeySetBy: null,
    planApprovalDefault: false,
    mergeMethod: 'squash',
    planLabel: 'ready',
    inProgressLabel: 'jules-in-progress',
    planMaxItems: 10,
    twoPersonRule: false,
    autoShip: false,
    fixFailingChecks: false,
    maxFixAttempts: 2,
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...overrides,
  };
}

function facts(overrides: Partial<AdmissionFacts> = {}): AdmissionFacts {
  return { guild: guild(), hasPersonalKey: false, ...overrides };
}

function admitted(admission: Admission): Extract<Admission, { admitted: true }> {
  if (!admission.admitted) throw new Error(`expected admission, got refusal ${admission.code}: ${admission.reason}`);
  return admission;
}

function refused(admission: Admission): Extract<Admission, { admitted: false }> {
  if (admission.admitted) throw new Error(`expected a refusal, got admission as ${admission.status}`);
  return admission;
}

describe('admitting a /jules request', () => {
  it('refuses a server that is not set up and tells the admin the command with this guild id', () => {
    const refusal = refused(decideAdmission(request(), facts({ guild: undefined })));
    expect(refusal.code).toBe('guild_not_configured');
    expect(refusal.reason).toContain('`/jules-setup`');
    expect(refusal.reason).toContain(`jules-orchestrator guild set --guild-id ${guildId}`);
  });

  it('refuses a member who holds none of the create or confirm roles', () => {
    const refusal = refused(decideAdmission(request({}, [otherRole]), facts()));
    expect(refusal.code).toBe('not_allowed');
    expect(refusal.reason).toMatch(/role/);
  });

  it('refuses a member with no roles at all', () => {
    expect(refused(decideAdmission(request({}, []), facts())).code).toBe('not_allowed');
  });

  it('admits a creator and waits for a confirmer', () => {
    const admission = admitted(decideAdmission(request(), facts()));
    expect(admission.status).toBe('pending_confirmation');
    expect(admission.confirmRoles).toEqual([confirmerRole]);
  });

  it('lets a confirmer ask without a create role and confirms their own request at once', () => {
    const admission = admitted(decideAdmission(request({}, [confirmerRole]), facts()));
    expect(admission.status).toBe('in_progress');
  });

  it('auto-confirms a member who holds both a create and a confirm role', () => {
    expect(admitted(decideAdmission(request({}, [creatorRole, confirmerRole]), facts())).status).toBe('in_progress');
  });

  it('refuses when neither the request nor the server names a repository', () => {
    const refusal = refused(decideAdmission(request(), facts({ guild: guild({ defaultRepo: null }) })));
    expect(refusal.code).toBe('no_repo');
    expect(refusal.reason).toContain('--default-repo');
  });

  it('uses the server’s default repository when the request names none', () => {
    expect(admitted(decideAdmission(request(), facts())).repo).toBe('acme/widgets');
  });

  it('prefers the repository named in the request over the server default', () => {
    expect(admitted(decideAdmission(request({ repo: 'acme/gadgets' }), facts())).repo).toBe('acme/gadgets');
  });

  it('refuses a repository that is not owner/name', () => {
    for (const repo of ['widgets', 'acme/widgets/extra', 'https://github.com/acme/widgets', 'acme widgets/x', '/widgets']) {
      const refusal = refused(decideAdmission(request({ repo }), facts()));
      expect(refusal.code, repo).toBe('bad_repo');
      expect(refusal.reason).toContain(repo);
    }
  });

  it('pays with the requester’s personal key when they have one, even if the server has a default', () => {
    expect(admitted(decideAdmission(request(), facts({ hasPersonalKey: true }))).keySource).toBe('personal');
  });

  it('falls back to the server’s default key when the requester has none', () => {
    expect(admitted(decideAdmission(request(), facts({ hasPersonalKey: false }))).keySource).toBe('guild');
  });

  it('uses a personal key in a server that has no default key', () => {
    const admission = decideAdmission(request(), facts({ hasPersonalKey: true, guild: guild({ hasDefaultKey: false }) }));
    expect(admitted(admission).keySource).toBe('personal');
  });

  it('refuses when no key would pay and names both set-key commands with the ids to use', () => {
    const refusal = refused(decideAdmission(request(), facts({ hasPersonalKey: false, guild: guild({ hasDefaultKey: false }) })));
    expect(refusal.code).toBe('no_key');
    expect(refusal.reason).toContain('`/jules-key set`');
    expect(refusal.reason).toContain(`jules-orchestrator guild set-key --guild-id ${guildId}`);
  });

  it('takes the branch from the request first', () => {
    const admission = decideAdmission(request({ branch: 'feature/x' }), facts({ guild: guild({ defaultBranch: 'develop' }) }));
    expect(admitted(admission).branch).toBe('feature/x');
  });

  it('takes the server’s default branch when the request names none', () => {
    expect(admitted(decideAdmission(request(), facts({ guild: guild({ defaultBranch: 'develop' }) }))).branch).toBe('develop');
  });

  it('leaves the branch out when neither names one, so the repository default applies', () => {
    const admission = admitted(decideAdmission(request(), facts()));
    expect(admission.branch).toBeUndefined();
    expect('branch' in admission).toBe(false);
  });

  it('checks roles before the repository and the key, so an outsider learns nothing about the setup', () => {
    const bare = guild({ defaultRepo: null, hasDefaultKey: false });
    expect(refused(decideAdmission(request({}, [otherRole]), facts({ guild: bare }))).code).toBe('not_allowed');
  });

  it('never puts a key or key presence beyond its source into the decision', () => {
    const admission = admitted(decideAdmission(request(), facts({ hasPersonalKey: true })));
    expect(Object.keys(admission).sort()).toEqual(['admitted', 'confirmRoles', 'fixFailingChecks', 'keySource', 'maxFixAttempts', 'mergeMethod', 'planApproval', 'repo', 'status']);
  });

  it("carries the guild's failing-checks setting, for the task's pull request", () => {
    expect(admitted(decideAdmission(request(), facts({ guild: guild({ fixFailingChecks: true, maxFixAttempts: 3 }) })))).toMatchObject({ fixFailingChecks: true, maxFixAttempts: 3 });
    expect(admitted(decideAdmission(request(), facts()))).toMatchObject({ fixFailingChecks: false, maxFixAttempts: 2 });
  });

  it('admits a plan item as started by the plan’s approval, on the key its card named', () => {
    const item = { kind: 'plan_item', runId: 'plan-20261202-widgets-7f3a', issueNumber: 3, issueTitle: 'x', threadId: '1', keySource: 'guild' } as const;
    const outsider = { id: '1', roles: [] };
    expect(decideAdmission(request({ origin: item, requester: outsider }), facts({ hasPersonalKey: true }))).toMatchObject({ admitted: true, status: 'in_progress', keySource: 'guild' });
    expect(decideAdmission(request({ origin: { ...item, keySource: 'personal' }, requester: outsider }), facts({ hasPersonalKey: false }))).toMatchObject({ admitted: false, code: 'no_key' });
  });

  it("carries the guild's merge method, for a Merge click on the task's pull request", () => {
    expect(admitted(decideAdmission(request(), facts({ guild: guild({ mergeMethod: 'rebase' }) }))).mergeMethod).toBe('rebase');
  });

  it("takes plan approval from the request, else from the guild's default", () => {
    expect(admitted(decideAdmission(request(), facts({ guild: guild({ planApprovalDefault: true }) }))).planApproval).toBe(true);
    expect(admitted(decideAdmission(request({ planApproval: false }), facts({ guild: guild({ planApprovalDefault: true }) }))).planApproval).toBe(false);
    expect(admitted(decideAdmission(request({ planApproval: true }), facts({ guild: guild() }))).planApproval).toBe(true);
    expect(admitted(decideAdmission(request(), facts({ guild: guild() }))).planApproval).toBe(false);
  });

  it('hands back a copy of the confirm roles, not the guild’s own array', () => {
    const config = guild({ confirmRoles: [confirmerRole, otherRole] });
    const admission = admitted(decideAdmission(request(), facts({ guild: config })));
    expect(admission.confirmRoles).toEqual([confirmerRole, otherRole]);
    expect(admission.confirmRoles).not.toBe(config.confirmRoles);
  });
});
