import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags } from '@discordjs/core/http-only';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHistoryId, encodeHistoryId } from '../src/discord/custom-id';
import { HISTORY_PAGE_SIZE } from '../src/discord/history.command';
import { buildAutocomplete, buildSlashCommand, newSnowflake } from '../src/sandbox/interaction-signer';
import { taskWorkflowId } from '../src/shared/ids';
import { buttonId, cardOf, eventually, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

/**
 * Issue 13's `/jules-retry` and `/jules-history` end to end on the emulator stack: a failed task asked again through
 * a fresh admission that counts against the quota, its new card linking the old one; the retries that are refused;
 * history paging with buttons checked again on click; who may see whose history.
 */

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

type User = { id: string; roles: readonly string[] };

function privateText(answer: { body: any }): string {
  expect(answer.body.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(answer.body.data.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  return (answer.body.data.content as string | undefined) ?? '';
}

/** A `/jules` by the developer, confirmed by the lead, run to its end; returns the task id. */
async function runConfirmed(s: TestStack, options: Record<string, string>): Promise<string> {
  const asked = await s.ask(MEMBERS.developer, options);
  const card = await cardOf(s, asked.taskId);
  await s.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
  await s.outcome(asked.taskId);
  return asked.taskId;
}

function retry(s: TestStack, user: User, task: string, id = newSnowflake()) {
  return s.send(buildSlashCommand({ id, applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, name: 'jules-retry', options: { task } }));
}

function history(s: TestStack, user: User, member?: string) {
  const command = buildSlashCommand({ applicationId: s.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user, name: 'jules-history' });
  if (member) (command.data as { options?: unknown[] }).options = [{ name: 'member', type: ApplicationCommandOptionType.User, value: member }];
  return s.send(command);
}

describe('/jules-retry', () => {
  it('asks a failed task again through a fresh admission that counts against the quota, and the new card links the old one', async () => {
    stack = await startTestStack();
    await stack.store.setGuildQuotas(GUILD.id, { userRequestsPerHour: 2 });
    // The Jules emulator has no access to this repository: the task fails.
    const failed = await runConfirmed(stack, { prompt: 'Fix the flaky login test', repo: 'acme/secret-project' });
    const earlier = (await stack.store.getTask(failed))!;
    expect(earlier.status).toBe('failed');

    const typed = buildAutocomplete({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.developer, name: 'jules-retry', option: 'task', typed: 'flaky' });
    const choices = (await stack.send(typed)).body.data.choices as { name: string; value: string }[];
    expect(choices).toEqual([{ name: expect.stringContaining('acme/secret-project · Fix the flaky login test'), value: failed }]);
    // Another member's ended tasks are not theirs to pick.
    const others = buildAutocomplete({ applicationId: stack.discord.applicationId, guildId: GUILD.id, channelId: GUILD.channelId, user: MEMBERS.outsider, name: 'jules-retry', option: 'task', typed: '' });
    expect((await stack.send(others)).body.data.choices).toEqual([]);

    const id = newSnowflake();
    expect(privateText(await retry(stack, MEMBERS.developer, failed, id))).toContain('A confirmer must approve it');
    const again = await stack.store.getTask(taskWorkflowId(id));
    expect(again).toMatchObject({ prompt: earlier.prompt, repo: earlier.repo, branch: earlier.branch, requesterId: MEMBERS.developer.id, status: 'pending_confirmation' });
    const card = await cardOf(stack, taskWorkflowId(id));
    const link = card.embeds![0]!.fields!.find((field) => field.name === 'Retry of');
    expect(link?.value).toBe(`[the earlier task](https://discord.com/channels/${GUILD.id}/${GUILD.channelId}/${earlier.cardMessageId})`);

    // The quota of two an hour is spent (the first request and the retry): a second retry is refused, with words.
    const refused = privateText(await retry(stack, MEMBERS.developer, failed));
    expect(refused).toContain('You have used your 2 Jules requests for this hour');
    expect((await stack.store.listTasks({ guildId: GUILD.id, requesterId: MEMBERS.developer.id })).length).toBe(2);
  });

  it('refuses what is not to be asked again: a completed or running task, someone else’s, an unknown one, a plan item', async () => {
    stack = await startTestStack();
    const completed = await runConfirmed(stack, { prompt: 'Rename the widget factory' });
    const running = await stack.ask(MEMBERS.developer, { prompt: 'Still waiting for a confirmer' });
    await eventually(() => stack!.store.getTask(running.taskId), 'the running task’s row');
    const failed = await runConfirmed(stack, { prompt: 'Break things', repo: 'acme/secret-project' });

    expect(privateText(await retry(stack, MEMBERS.developer, completed))).toContain('This task completed');
    expect(privateText(await retry(stack, MEMBERS.developer, running.taskId))).toContain('still running');
    expect(privateText(await retry(stack, MEMBERS.outsider, failed))).toContain('only your own tasks');
    expect(privateText(await retry(stack, MEMBERS.developer, 'task-1'))).toContain('cannot find that task');
    expect(privateText(await retry(stack, MEMBERS.developer, ''))).toContain('cannot find that task');
    await stack.store.createTask({ id: 'task-plan-20261203-widgets-7f3a-12', guildId: GUILD.id, channelId: GUILD.channelId, requesterId: MEMBERS.developer.id, prompt: 'Issue 12', repo: GUILD.repo, branch: null, status: 'failed', keySource: 'guild' });
    expect(privateText(await retry(stack, MEMBERS.developer, 'task-plan-20261203-widgets-7f3a-12'))).toContain('belongs to a daily plan');
    // A confirmer may retry anyone's; the new task is theirs.
    const id = newSnowflake();
    expect(privateText(await retry(stack, MEMBERS.lead, failed, id))).toContain('Starting Jules');
    expect(await stack.store.getTask(taskWorkflowId(id))).toMatchObject({ requesterId: MEMBERS.lead.id });
    // Nothing else was started.
    expect((await stack.store.listTasks({ guildId: GUILD.id })).length).toBe(5);
  });
});

describe('/jules-history', () => {
  it('pages a member’s tasks newest first with buttons, and shows another member’s only to a confirmer', async () => {
    stack = await startTestStack();
    // Older rows of the projection, as earlier tasks left them (within this hour's quota); then one that really runs, the newest.
    await stack.store.setGuildQuotas(GUILD.id, { userRequestsPerHour: 20 });
    for (let i = 0; i < HISTORY_PAGE_SIZE + 1; i++) {
      await stack.store.createTask({ id: `task-${1000 + i}`, guildId: GUILD.id, channelId: GUILD.channelId, requesterId: MEMBERS.developer.id, prompt: `Earlier task ${i}`, repo: GUILD.repo, branch: null, status: 'failed', keySource: 'guild' });
    }
    const done = await runConfirmed(stack, { prompt: 'The one that really ran' });
    const total = HISTORY_PAGE_SIZE + 2;

    const first = await history(stack, MEMBERS.developer);
    privateText(first);
    const description = first.body.data.embeds[0].description as string;
    expect(description).toContain(`Your tasks**, newest first (1–${HISTORY_PAGE_SIZE})`);
    expect(description.split('\n').filter((line) => line.startsWith('• '))).toHaveLength(HISTORY_PAGE_SIZE);
    const [newer, older] = first.body.data.components[0].components;
    expect(newer).toMatchObject({ label: '◀ Newer', disabled: true });
    expect(older).toMatchObject({ label: 'Older ▶', disabled: false });
    expect(decodeHistoryId(older.custom_id)).toEqual({ memberId: MEMBERS.developer.id, page: 1 });

    const second = await stack.click(MEMBERS.developer, older.custom_id);
    expect(second.body.type).toBe(InteractionResponseType.UpdateMessage);
    const secondLines = (second.body.data.embeds[0].description as string).split('\n').filter((line) => line.startsWith('• '));
    expect(secondLines).toHaveLength(total - HISTORY_PAGE_SIZE);
    expect(second.body.data.components[0].components[1]).toMatchObject({ disabled: true });
    // The task that really ran is on the first page, with its outcome and its PR link.
    const ran = (await stack.store.getTask(done))!;
    expect(ran.prUrl).toMatch(/^https:\/\//);
    expect(description).toContain(`[PR](${ran.prUrl})`);
    expect(description).toContain('✅ Completed');

    // Another member's history: refused to a member, shown to a confirmer.
    expect(privateText(await history(stack, MEMBERS.outsider, MEMBERS.developer.id))).toContain('Only members of a confirm role');
    const forged = await stack.click(MEMBERS.outsider, encodeHistoryId({ memberId: MEMBERS.developer.id, page: 0 }));
    expect(forged.body.data.content).toContain('Only members of a confirm role');
    const lead = await history(stack, MEMBERS.lead, MEMBERS.developer.id);
    expect(lead.body.data.embeds[0].description).toContain(`<@${MEMBERS.developer.id}>’s tasks`);
    // Someone with no tasks, and a button that is not ours.
    expect(privateText(await history(stack, MEMBERS.outsider))).toBe('You have no Jules tasks in this server yet.');
    expect((await stack.click(MEMBERS.developer, 'jh1:abc:0')).body.data.content).toContain('out of date');
  });
});
