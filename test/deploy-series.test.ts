import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../src/logger';
import { installTemporalRuntime } from '../src/temporal/runtime';
import { parsePrometheusText } from './helpers/prometheus-text';
import { freePort } from './helpers/ports';
import { eventually, MEMBERS, startTestStack, type TestStack } from './helpers/stack';

/**
 * The names a scrape offers: every sample's, every declared (`# TYPE`) series' even before its first sample (a
 * labelled counter nobody incremented yet), and a histogram's `_bucket`, `_sum` and `_count`.
 */
function seriesNames(text: string): Set<string> {
  const names = new Set(parsePrometheusText(text).map((sample) => sample.name));
  for (const [, name, kind] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name!}${suffix}`);
  }
  return names;
}

/** Names a PromQL expression refers to: our `jules_` series and the SDK's `temporal_` ones. */
function namesIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:jules|temporal)_[a-zA-Z0-9_]+)/g)].map((m) => m[1]!);
}

let stack: TestStack;
let sdkMetricsUrl: string;

beforeAll(async () => {
  // First thing in this file's process: the Runtime is one per process and takes its telemetry at install.
  const port = await freePort();
  expect(installTemporalRuntime(createLogger('silent'), { metricsBindAddress: `127.0.0.1:${port}` })).toBe(true);
  sdkMetricsUrl = `http://127.0.0.1:${port}/metrics`;
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe('the dashboard and the alert rules', () => {
  it('name only series that the service or the Temporal SDK emit', async () => {
    const asked = await stack.ask(MEMBERS.lead, { prompt: 'Add a changelog entry' });
    expect((await stack.outcome(asked.taskId)).status).toBe('completed');
    // A workflow task that fails (no such workflow type) makes the SDK emit its failure counter, and evict the run
    // from its sticky cache: the eviction counter can come a moment after the failure one (CI scraped in between once).
    const handle = await stack.client.workflow.start('noSuchWorkflowType', { taskQueue: stack.taskQueue, workflowId: `missing-${asked.taskId}` });
    const sdkText = await eventually(async () => {
      const text = await (await fetch(sdkMetricsUrl)).text();
      return text.includes('temporal_workflow_task_execution_failed') && text.includes('temporal_sticky_cache_total_forced_eviction') ? text : undefined;
    }, 'the SDK counting a failed workflow task and its eviction', 60_000);
    await handle.terminate('test done');
    const service = (await stack.app.inject({ method: 'GET', url: '/metrics' })).body;
    const emitted = new Set([...seriesNames(service), ...seriesNames(sdkText)]);

    const dashboard = JSON.parse(readFileSync('deploy/grafana/jules-orchestrator.json', 'utf8')) as { panels: { type: string; targets?: { expr: string }[] }[] };
    const alerts = parseYaml(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const rules = alerts.groups.flatMap((group) => group.rules);
    const exprs = [...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)), ...rules.map((rule) => rule.expr)];
    expect(rules.map((rule) => rule.alert)).toEqual(expect.arrayContaining(['WorkflowNonDeterminism', 'WorkflowTaskScheduleToStartSlow', 'WorkerSlotsExhausted', 'TasksStalled', 'JulesApiErrors', 'DiscordRateLimited', 'GitHubRateLimitNearlySpent', 'WebhookSignatureFailures']));
    expect(dashboard.panels.filter((panel) => panel.type !== 'row').every((panel) => (panel.targets ?? []).length > 0)).toBe(true);

    const used = new Set(exprs.flatMap(namesIn));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !emitted.has(name))).toEqual([]);
  });
});
