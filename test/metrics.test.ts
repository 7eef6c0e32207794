import { afterEach, describe, expect, it } from 'vitest';
import { discordRouteLabel } from '../src/discord/rest-metrics';
import { endpointOf } from '../src/jules/http-jules-client';
import { parsePrometheusText, sumOf } from './helpers/prometheus-text';
import { opsSummary } from '../src/discord/ops.command';
import { eventually, GUILD, KEYS, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

let stack: TestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function scrape(s: TestStack, headers: Record<string, string> = {}) {
  const response = await s.app.inject({ method: 'GET', url: '/metrics', headers });
  return { status: response.statusCode, text: response.body, contentType: response.headers['content-type'] };
}

describe('GET /metrics', () => {
  it('holds the figures of a whole task, and no key, prompt or token', async () => {
    stack = await startTestStack();
    const prompt = 'Rename the metrics-canary-7f3a9c helper in the billing module';
    const asked = await stack.ask(MEMBERS.lead, { prompt });
    expect(asked.body.data.content).toContain('Starting Jules');
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');

    const { status, text, contentType } = await scrape(stack);
    expect(status).toBe(200);
    expect(contentType).toContain('text/plain');
    const samples = parsePrometheusText(text);
    expect(sumOf(samples, 'jules_interactions_total', { command: 'jules', outcome: 'answered' })).toBe(1);
    expect(sumOf(samples, 'jules_interactions_total')).toBe(1);
    expect(sumOf(samples, 'jules_interaction_ack_seconds_count', { command: 'jules' })).toBe(1);
    expect(sumOf(samples, 'jules_interaction_ack_seconds_sum', { command: 'jules' })).toBeGreaterThan(0);
    expect(sumOf(samples, 'jules_tasks', { status: 'completed' })).toBe(1);
    expect(sumOf(samples, 'jules_tasks')).toBe(1);
    expect(sumOf(samples, 'jules_open_tasks')).toBe(0);
    expect(sumOf(samples, 'jules_tasks_waiting')).toBe(0);
    expect(sumOf(samples, 'jules_admitted_tasks_total', { key_source: 'guild' })).toBe(1);
    expect(sumOf(samples, 'jules_jules_api_requests_total', { method: 'POST', endpoint: 'sessions', status: '200' })).toBe(1);
    expect(sumOf(samples, 'jules_jules_api_requests_total', { method: 'GET', endpoint: 'sessions/{id}', status: '200' })).toBeGreaterThan(0);
    expect(sumOf(samples, 'jules_discord_rest_requests_total', { method: 'POST', route: '/channels/:id/messages', status: '200' })).toBeGreaterThan(0);
    expect(sumOf(samples, 'jules_discord_rest_rate_limited_total')).toBe(0);

    // Labels carry ids and statuses only: nothing a member typed, no key, no token, no task or session id.
    const row = await stack.store.getTask(asked.taskId);
    for (const secret of [prompt, 'metrics-canary-7f3a9c', KEYS.guild, KEYS.personal, stack.discord.token, asked.taskId, row!.julesSessionId!, GUILD.id, GUILD.lead]) {
      expect(text).not.toContain(secret);
    }
  });

  it('asks for the bearer token when METRICS_TOKEN is set, and counts a webhook with a bad signature', async () => {
    const token = 'metrics-token-0123456789abcdef';
    stack = await startTestStack({ metricsToken: token, julesWebhookSecret: 'jules-webhook-secret-0123456789' });
    expect((await scrape(stack)).status).toBe(401);
    expect((await scrape(stack, { authorization: 'Bearer wrong-token-0123456789abcdef' })).status).toBe(401);
    expect((await scrape(stack, { authorization: token })).status).toBe(401);

    const probe = await stack.app.inject({ method: 'POST', url: '/webhook/jules', headers: { 'content-type': 'application/json', 'x-jules-signature': 'sha256=00' }, payload: '{}' });
    expect(probe.statusCode).toBe(401);

    const allowed = await scrape(stack, { authorization: `Bearer ${token}` });
    expect(allowed.status).toBe(200);
    expect(sumOf(parsePrometheusText(allowed.text), 'jules_webhook_deliveries_total', { source: 'jules', outcome: 'invalid_signature' })).toBe(1);
    expect(allowed.text).not.toContain(token);
  });
});

describe('/jules-ops', () => {
  it('shows a confirmer what is open and waiting, and refuses anyone else', async () => {
    stack = await startTestStack();
    const asked = await stack.ask(MEMBERS.developer, { prompt: 'Add a retry to the mailer' });
    expect(asked.body.data.content).toContain('A confirmer must approve it');

    const refused = await stack.command(MEMBERS.developer, 'jules-ops');
    expect(refused.body.data.flags).toBe(64);
    expect(refused.body.data.content).toContain('Only members of a confirm role');

    const answer = await stack.command(MEMBERS.lead, 'jules-ops');
    expect(answer.body.data.flags).toBe(64);
    const text = answer.body.data.embeds[0].description as string;
    expect(text).toMatch(/Open tasks\*\*: .*1/);
    expect(text).toMatch(/Oldest waiting confirmation\*\*: \d+ min ago/);
    expect(text).toContain('Waiting for a plan approval**: 0');
    expect(text).toContain('Jules errors 0 · Jules 429s 0 · Discord 429s 0');
    // Worker state and backlog, from DescribeTaskQueue on the real dev server: this stack's one worker polls both kinds.
    expect(text).toMatch(new RegExp(`Workers\\*\\* on \`${stack.taskQueue}\`: 1 polling workflow tasks · 1 polling activities · last poll \\d+ s ago`));
    expect(text).toMatch(/Backlog\*\*: workflow tasks \d+.* · activity tasks \d+/);
    expect(text).not.toContain('Add a retry to the mailer');
    expect(sumOf(parsePrometheusText((await scrape(stack)).text), 'jules_interactions_total', { command: 'jules-ops', outcome: 'answered' })).toBe(2);
  });
});

describe('/jules-ops worker state and backlog', () => {
  it('says in words that no worker polls, and counts the work waiting for one', async () => {
    stack = await startTestStack({ worker: false });
    const s = stack;
    const before = (await s.command(MEMBERS.lead, 'jules-ops')).body.data.embeds[0].description as string;
    expect(before).toContain(`Workers**: ⚠️ none polling \`${s.taskQueue}\``);
    // No worker: the /jules is admitted and answered all the same (the ingress admits), and its workflow task waits on the queue.
    const asked = await s.ask(MEMBERS.lead, { prompt: 'Nobody will pick this up' });
    expect(asked.body.type).toBe(4);
    expect(asked.body.data.content).toContain('Starting Jules');
    const text = await eventually(async () => {
      const description = (await s.command(MEMBERS.lead, 'jules-ops')).body.data.embeds[0].description as string;
      return /Backlog\*\*: workflow tasks [1-9]\d* \(oldest \d+ s\)/.test(description) ? description : undefined;
    }, 'a workflow task in the backlog');
    expect(text).toContain('none polling');
    await s.client.workflow.getHandle(asked.taskId).terminate('test over');
  });

  it('still answers when Temporal cannot be asked, saying so', async () => {
    const store = { listTasks: async () => [], getGuild: async () => undefined };
    const failing = { describe: async () => Promise.reject(new Error('14 UNAVAILABLE: connection refused')) };
    const body = await opsSummary({ store, workers: failing }, GUILD.id, new Date());
    const text = body.embeds![0]!.description!;
    expect(text).toContain('**Open tasks**: none');
    expect(text).toContain('**Workers**: could not ask Temporal (14 UNAVAILABLE: connection refused)');
    expect(text).not.toContain('Backlog');
  });
});

describe('metric labels', () => {
  it('keep the shape of a Discord route but never an interaction or webhook token', () => {
    expect(discordRouteLabel('/interactions/:id/aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiYw/callback')).toBe('/interactions/:id/:token/callback');
    expect(discordRouteLabel('/webhooks/:id/:token/messages/@original')).toBe('/webhooks/:id/:token/messages/@original');
    expect(discordRouteLabel('/channels/:id/messages/12345')).toBe('/channels/:id/messages/:id');
  });

  it('keep the shape of a Jules endpoint without the session id', () => {
    expect(endpointOf('sessions/1234567:sendMessage')).toBe('sessions/{id}:sendMessage');
    expect(endpointOf('sessions/1234567/activities')).toBe('sessions/{id}/activities');
    expect(endpointOf('sources')).toBe('sources');
  });
});
