import { afterEach, describe, expect, it } from 'vitest';
import { formatDuration } from '../src/discord/usage.command';
import { buttonId, cardOf, GUILD, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

/**
 * `/jules-usage` end to end: tasks run on the real Temporal dev server with the Jules emulator, then the command's
 * figures are checked against those very tasks as the store recorded them.
 */

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});


describe('/jules-usage', () => {
  it('reports this week’s tasks per member, their PRs, the median time to a PR and each key’s sessions, matching the tasks run', async () => {
    stack = await startTestStack({ personalKey: true });
    const s = stack;
    // The developer's task waits for a confirmer and runs on their personal key; the lead's two run on the server's.
    const mine = await s.ask(MEMBERS.developer, { prompt: 'Add a health check' });
    const card = await cardOf(s, mine.taskId);
    await s.click(MEMBERS.lead, buttonId(card.components, 'Confirm')!, card.id);
    const leads = [await s.ask(MEMBERS.lead, { prompt: 'Fix the typo in the README' }), await s.ask(MEMBERS.lead, { prompt: 'Bump a dependency' })];
    const ids = [mine.taskId, ...leads.map((asked) => asked.taskId)];
    for (const id of ids) expect((await s.outcome(id)).status).toBe('completed');

    // The expected figures, from the tasks as recorded: each one's request time and its `completed` event.
    const tasks = await Promise.all(ids.map(async (id) => (await s.store.getTask(id))!));
    expect(tasks.every((task) => task.prUrl)).toBe(true);
    const toPr = await Promise.all(
      tasks.map(async (task) => ((await s.store.listTaskEvents(task.id)).find((event) => event.kind === 'completed')!.createdAt.getTime() - task.createdAt.getTime()) / 1000),
    );
    const median = [...toPr].sort((a, b) => a - b)[1]!;

    const answer = await s.command(MEMBERS.lead, 'jules-usage');
    const text: string = answer.body.data.embeds[0].description;
    expect(answer.body.data.flags).toBe(64);
    expect(text).toContain(`**This week** (since <t:`);
    expect(text).toContain(`3 tasks · 3 PRs opened · 0 merged · median time to PR ${formatDuration(median)}`);
    expect(text).toContain(`• <@${GUILD.lead}>: 2 tasks · 2 PRs opened · 0 merged`);
    expect(text).toContain(`• <@${GUILD.developer}>: 1 task · 1 PR opened · 0 merged · median time to PR ${formatDuration(toPr[0]!)}`);
    expect(text).toContain('• Server default key: 2 of 15');
    expect(text).toContain(`• <@${GUILD.developer}>’s personal key: 1 of 15`);
  });

  it('is for confirmers only', async () => {
    stack = await startTestStack();
    const answer = await stack.command(MEMBERS.developer, 'jules-usage');
    expect(answer.body.data.content).toBe('Only members of a confirm role can see `/jules-usage`; `/jules-status` lists the open tasks.');
  });
});
