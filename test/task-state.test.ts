import { describe, expect, it } from 'vitest';
import type { Admission, TaskRequest } from '../src/shared/task';
import { TaskState } from '../workflows/task/state';

/** The rules of who may ask what of a task, and when, without a Temporal server: TaskState is pure. */

const CONFIRM_ROLE = 'role-lead';
const requester = { id: 'u-dev', roles: ['role-dev'] };
const lead = { id: 'u-lead', roles: [CONFIRM_ROLE] };
const outsider = { id: 'u-out', roles: [] as string[] };

const request: TaskRequest = { taskId: 'task-1', interactionId: '1', guildId: 'g', channelId: 'c', requester, prompt: 'Fix the build' };
const admission = (status: 'pending_confirmation' | 'in_progress'): Extract<Admission, { admitted: true }> => ({
  admitted: true,
  status,
  keySource: 'guild',
  repo: 'acme/widgets',
  confirmRoles: [CONFIRM_ROLE],
});

/** A task admitted as `status`, with ids counted up so tests can tell actions apart. */
function taskIn(status: 'pending_confirmation' | 'in_progress', options: { sessionStarted?: boolean } = {}): TaskState {
  let n = 0;
  const state = new TaskState(request, undefined, () => `id-${++n}`);
  state.admit(admission(status));
  if (options.sessionStarted) state.sessionStarted = true;
  return state;
}

const refusalOf = (check: () => void): string | undefined => {
  try {
    check();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

describe('a task’s rules', () => {
  it('lets only a confirmer confirm, once', () => {
    const state = taskIn('pending_confirmation');
    expect(refusalOf(() => state.checkDecision({ action: 'confirm', member: requester }))).toMatch(/Only members with a confirm role/);
    expect(refusalOf(() => state.checkDecision({ action: 'confirm', member: lead }))).toBeUndefined();
    expect(state.decide({ action: 'reject', member: lead, reason: 'Not now' })).toMatchObject({ status: 'rejected', decidedBy: lead.id, error: 'Not now' });
    expect(refusalOf(() => state.checkDecision({ action: 'confirm', member: lead }))).toBe('This task is already rejected.');
  });

  it('refuses every decision once the final step has begun, naming the ending', () => {
    const state = taskIn('in_progress', { sessionStarted: true });
    state.beginEnding({ status: 'completed', patch: {} });
    expect(state.closed()).toBe(true);
    expect(refusalOf(() => state.checkCancel({ member: lead }))).toBe('This task is already completed.');
    expect(refusalOf(() => state.checkReply({ member: lead, text: 'one more thing' }))).toBe('Jules is not working on this task right now.');
    expect(refusalOf(() => state.checkPlanDecision({ action: 'approve', member: lead }))).toMatch(/has ended/);
    // Roles are still checked first: an outsider learns nothing about the task's state.
    expect(refusalOf(() => state.checkPlanDecision({ action: 'approve', member: outsider }))).toMatch(/Only members with a confirm role/);
  });

  it('takes replies only once the session exists, from the requester or a confirmer, and not empty', () => {
    const state = taskIn('in_progress');
    expect(refusalOf(() => state.checkReply({ member: requester, text: '8080' }))).toMatch(/not working on this task/);
    state.sessionStarted = true;
    expect(refusalOf(() => state.checkReply({ member: outsider, text: '8080' }))).toMatch(/Only the requester or a confirmer/);
    expect(refusalOf(() => state.checkReply({ member: requester, text: '  ' }))).toBe('The reply is empty.');
    state.reply({ member: requester, text: '8080' });
    expect(state.wakeRequested).toBe(true);
    expect(state.takePending()).toEqual([{ kind: 'send_message', id: 'id-1', text: '8080', actorId: requester.id, purpose: 'reply' }]);
    expect(state.wakeRequested).toBe(false);
    expect(state.pending).toEqual([]);
  });

  it('keeps a plan click that comes while the watch is still finishing, and refuses a second one', () => {
    const state = taskIn('in_progress', { sessionStarted: true });
    expect(refusalOf(() => state.checkPlanDecision({ action: 'approve', member: lead }))).toMatch(/No plan is waiting/);
    state.watching = true;
    expect(refusalOf(() => state.checkPlanDecision({ action: 'request_changes', member: lead, feedback: ' ' }))).toBe('Say what Jules should change.');
    state.decidePlan({ action: 'request_changes', member: lead, feedback: 'Use the new API' });
    expect(refusalOf(() => state.checkPlanDecision({ action: 'approve', member: lead }))).toMatch(/No plan is waiting/);
    expect(state.answered()).toBe(true);
    state.takePlanAnswer();
    expect(state.planAnswer).toBeUndefined();
    expect(state.pending).toEqual([{ kind: 'send_message', id: 'id-1', text: 'Use the new API', actorId: lead.id, purpose: 'changes' }]);
  });

  it('lets the requester or a confirmer cancel, once', () => {
    const state = taskIn('in_progress');
    expect(refusalOf(() => state.checkCancel({ member: outsider }))).toMatch(/Only the requester or a confirmer/);
    expect(state.cancel({ member: requester })).toMatchObject({ status: 'cancelled', awaiting: undefined });
    expect(state.cancelledBy).toBe(requester.id);
    expect(refusalOf(() => state.checkCancel({ member: lead }))).toBe('This task is already cancelled.');
  });

  it('shows a step’s patch in the view: status, session link, PR and error', () => {
    const state = taskIn('in_progress');
    const view = state.applyPatch({ status: 'completed', julesSessionUrl: 'https://jules.google.com/session/1', prUrl: 'https://github.com/acme/widgets/pull/1', lastError: 'x' });
    expect(view).toMatchObject({ status: 'completed', sessionUrl: 'https://jules.google.com/session/1', prUrl: 'https://github.com/acme/widgets/pull/1', error: 'x' });
    // An empty patch changes nothing.
    expect(state.applyPatch({})).toEqual(view);
  });
});
