import { describe, expect, it } from 'vitest';
import { planItemTaskId } from '../src/shared/ids';
import {
  BUTTON_ACTIONS,
  decodeCustomId,
  decodeHistoryId,
  decodeModalId,
  decodeSetupId,
  decodeSetupModalId,
  encodeCustomId,
  encodeHistoryId,
  encodeModalId,
  encodeSetupId,
  encodeSetupModalId,
  MODAL_ACTIONS,
  SETUP_ACTIONS,
  SETUP_FORMS,
} from '../src/discord/custom-id';
import { taskWorkflowId } from '../src/shared/ids';

/** Discord's limit on a component's custom_id. */
const DISCORD_CUSTOM_ID_MAX = 100;

describe('button custom ids', () => {
  it('decodes every button it encodes back to the same action and task', () => {
    const taskId = taskWorkflowId('1234567890123456789');
    for (const action of BUTTON_ACTIONS) {
      const customId = encodeCustomId({ action, taskId });
      expect(decodeCustomId(customId)).toEqual({ action, taskId });
    }
  });

  it('gives confirm and reject different ids for the same task', () => {
    const taskId = taskWorkflowId('1234567890123456789');
    expect(encodeCustomId({ action: 'confirm', taskId })).not.toBe(encodeCustomId({ action: 'reject', taskId }));
  });

  it('stays within Discord’s 100-character limit even for the longest task id', () => {
    const longest = taskWorkflowId('9'.repeat(25));
    for (const action of BUTTON_ACTIONS) {
      const customId = encodeCustomId({ action, taskId: longest });
      expect(customId.length).toBeLessThanOrEqual(DISCORD_CUSTOM_ID_MAX);
      expect(decodeCustomId(customId)).toEqual({ action, taskId: longest });
    }
  });

  it('carries nothing but the version, the action and the task id', () => {
    const customId = encodeCustomId({ action: 'confirm', taskId: 'task-42' });
    expect(customId.split(':')).toEqual(['jo1', 'confirm', 'task-42']);
  });

  it('ignores buttons that belong to another bot or an older format', () => {
    for (const foreign of ['task:confirm:1', 'jo2:confirm:task-1', 'jo0:confirm:task-1', 'confirm:task-1', 'xjo1:confirm:task-1', 'JO1:CONFIRM:TASK-1', '']) {
      expect(decodeCustomId(foreign), foreign).toBeUndefined();
    }
  });

  it('refuses actions the dispatcher does not know', () => {
    for (const forged of ['jo1:launch:task-1', 'jo1:approve:task-1', 'jo1::task-1', 'jo1:Confirm:task-1', 'jo1:CANCEL:task-1']) {
      expect(decodeCustomId(forged), forged).toBeUndefined();
    }
  });

  it('refuses forged ids with extra segments, padding or line breaks', () => {
    for (const forged of [
      'jo1:confirm:task-1:extra',
      'jo1:confirm:task-1:',
      'jo1:confirm:reject:task-1',
      ' jo1:confirm:task-1',
      'jo1:confirm:task-1 ',
      'jo1:confirm:task-1\n',
      'jo1:confirm:task-1\njo1:reject:task-2',
    ]) {
      expect(decodeCustomId(forged), JSON.stringify(forged)).toBeUndefined();
    }
  });

  it('refuses task ids that are not a task workflow id with a numeric interaction id', () => {
    for (const forged of [
      'jo1:confirm:task-abc',
      'jo1:confirm:task-',
      'jo1:confirm:task-12a',
      'jo1:confirm:task--1',
      'jo1:confirm:plan-123',
      'jo1:confirm:123',
      `jo1:confirm:task-${'1'.repeat(26)}`,
      'jo1:confirm:task-١٢٣', // Arabic-Indic digits are not ASCII digits
    ]) {
      expect(decodeCustomId(forged), forged).toBeUndefined();
    }
  });

  it('carries a plan item’s task id, and refuses one that is not shaped like a run id and an issue number', () => {
    const taskId = planItemTaskId('plan-20261201-widgets-7f3a', 12);
    const customId = encodeCustomId({ action: 'approve_plan', taskId });
    expect(customId.length).toBeLessThanOrEqual(100);
    expect(decodeCustomId(customId)).toEqual({ action: 'approve_plan', taskId });
    for (const forged of ['jo1:confirm:task-plan-20261201-widgets-7f3a', 'jo1:confirm:task-plan-2026121-widgets-7f3a-1', 'jo1:confirm:task-plan-20261201-Widgets-7f3a-1']) {
      expect(decodeCustomId(forged), forged).toBeUndefined();
    }
  });
});

describe('modal custom ids', () => {
  it('decodes every modal it encodes back to the same action and task', () => {
    const taskId = taskWorkflowId('1234567890123456789');
    for (const action of MODAL_ACTIONS) {
      expect(decodeModalId(encodeModalId({ action, taskId }))).toEqual({ action, taskId });
    }
  });

  it('stays within Discord’s 100-character limit even for the longest task id', () => {
    const longest = taskWorkflowId('9'.repeat(25));
    for (const action of MODAL_ACTIONS) expect(encodeModalId({ action, taskId: longest }).length).toBeLessThanOrEqual(DISCORD_CUSTOM_ID_MAX);
  });

  it('never mistakes a button id for a modal id, or the other way round', () => {
    const taskId = 'task-42';
    for (const action of MODAL_ACTIONS) {
      expect(decodeCustomId(encodeModalId({ action, taskId })), action).toBeUndefined();
      expect(decodeModalId(encodeCustomId({ action, taskId })), action).toBeUndefined();
    }
  });

  it('has a modal only for the buttons that ask for text', () => {
    expect([...MODAL_ACTIONS].sort()).toEqual(['reject', 'reply', 'request_changes']);
    for (const action of ['confirm', 'cancel', 'approve_plan']) {
      expect(() => encodeModalId({ action: action as never, taskId: 'task-1' }), action).toThrow(RangeError);
      expect(decodeModalId(`jo1m:${action}:task-1`), action).toBeUndefined();
    }
  });

  it('refuses forged modal ids', () => {
    for (const forged of ['jo1m:reply:task-1:x', 'jo1m:reply:task-abc', ' jo1m:reply:task-1', 'jo1m:reply:task-1\n', 'jo2m:reply:task-1', 'jo1m::task-1', '']) {
      expect(decodeModalId(forged), JSON.stringify(forged)).toBeUndefined();
    }
  });
});

describe('button actions', () => {
  it('include the thread’s plan, reply and cancel buttons', () => {
    const taskId = 'task-7';
    for (const action of ['approve_plan', 'request_changes', 'reply', 'cancel'] as const) {
      expect(decodeCustomId(encodeCustomId({ action, taskId })), action).toEqual({ action, taskId });
    }
  });

  it('throws on an encode that could not be decoded', () => {
    expect(() => encodeCustomId({ action: 'confirm', taskId: 'plan-1' })).toThrow(RangeError);
    expect(() => encodeCustomId({ action: 'launch' as never, taskId: 'task-1' })).toThrow(RangeError);
  });
});

describe('setup custom ids', () => {
  it('decodes every setup component and form it encodes back to the same action and revision', () => {
    for (const action of SETUP_ACTIONS) {
      for (const revision of [0, 7, Number.MAX_SAFE_INTEGER]) {
        const customId = encodeSetupId({ action, revision });
        expect(customId.length).toBeLessThanOrEqual(DISCORD_CUSTOM_ID_MAX);
        expect(decodeSetupId(customId)).toEqual({ action, revision });
      }
    }
    for (const action of SETUP_FORMS) expect(decodeSetupModalId(encodeSetupModalId({ action, revision: 12 }))).toEqual({ action, revision: 12 });
  });

  it('carries nothing but the version, the action and the revision: the guild is the interaction’s own', () => {
    expect(encodeSetupId({ action: 'auto_ship', revision: 3 }).split(':')).toEqual(['js1', 'auto_ship', '3']);
    expect(encodeSetupModalId({ action: 'key', revision: 3 }).split(':')).toEqual(['js1m', 'key', '3']);
  });

  it('refuses forged, padded, foreign or differently written ids', () => {
    for (const forged of [
      'js1:auto_ship',
      'js1:auto_ship:',
      'js1:auto_ship:03',
      'js1:auto_ship:-1',
      'js1:auto_ship:1.5',
      'js1:auto_ship:3:extra',
      ' js1:auto_ship:3',
      'js1:auto_ship:3\n',
      'js1:AUTO_SHIP:3',
      'js1:launch:3',
      'js2:auto_ship:3',
      'js1m:auto_ship:3',
      `js1:auto_ship:${'9'.repeat(20)}`,
      'js1:auto_ship:9007199254740993', // above 2^53: it would not come back as the same number
      'jo1:confirm:task-1',
    ]) {
      expect(decodeSetupId(forged), JSON.stringify(forged)).toBeUndefined();
    }
    for (const forged of ['js1m:plan_approval:3', 'js1:key:3', 'js1m:key:007', 'js1m:key:', 'js1m:key:1\n']) {
      expect(decodeSetupModalId(forged), JSON.stringify(forged)).toBeUndefined();
    }
  });

  it('will not encode what it could not decode', () => {
    expect(() => encodeSetupId({ action: 'launch' as never, revision: 1 })).toThrow(RangeError);
    expect(() => encodeSetupId({ action: 'auto_ship', revision: -1 })).toThrow(RangeError);
    expect(() => encodeSetupId({ action: 'auto_ship', revision: 1.5 })).toThrow(RangeError);
    expect(() => encodeSetupModalId({ action: 'auto_ship' as never, revision: 1 })).toThrow(RangeError);
  });
});

describe('history page custom ids', () => {
  it('decode to the member and page they encode, within Discord’s limit', () => {
    for (const id of [{ memberId: '1400000000000000004', page: 0 }, { memberId: '99999999999999999999', page: 9999 }]) {
      const customId = encodeHistoryId(id);
      expect(customId.length).toBeLessThanOrEqual(100);
      expect(decodeHistoryId(customId)).toEqual(id);
    }
  });

  it('refuse forged ids: not a snowflake, a padded or negative page, extra segments, another namespace', () => {
    for (const forged of ['jh1:abc:0', 'jh1:1400000000000000004:01', 'jh1:1400000000000000004:-1', 'jh1:1400000000000000004:0:1', 'jh1:1400000000000000004:10000', 'jo1:1400000000000000004:0', 'jh1:1400000000000000004:0\n']) {
      expect(decodeHistoryId(forged), forged).toBeUndefined();
    }
    expect(() => encodeHistoryId({ memberId: 'someone', page: 0 })).toThrow(RangeError);
    expect(() => encodeHistoryId({ memberId: '1400000000000000004', page: -1 })).toThrow(RangeError);
  });
});
