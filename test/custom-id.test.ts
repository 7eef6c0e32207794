import { describe, expect, it } from 'vitest';
import { BUTTON_ACTIONS, decodeCustomId, encodeCustomId } from '../src/discord/custom-id';
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
    for (const forged of ['jo1:merge:task-1', 'jo1:cancel:task-1', 'jo1::task-1', 'jo1:Confirm:task-1']) {
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
});
