import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createDataConverter } from '../../src/temporal/data-converter';
import { createEncryptionCodec, createPayloadKeyring } from '../../src/temporal/codec';

/**
 * The committed workflow histories the replay tests run: task runs at the top of test/histories/, plan runs (and
 * their items' tasks) in test/histories/plan-runs/. Both are recorded from real runs with the same fixed key.
 */

/** Where task histories live; plan runs are in {@link PLAN_HISTORIES}. */
export const HISTORIES = join(import.meta.dirname, '..', 'histories');
export const PLAN_HISTORIES = join(HISTORIES, 'plan-runs');

/** A fixed test key: the committed histories are encrypted with it, like production histories with theirs. */
export const SECRETS_KEY = 'cmVwbGF5LWhpc3Rvcmllcy10ZXN0LWtleS0zMmJ5dGU=';

/** The data converter that reads the committed histories. */
export const replayDataConverter = createDataConverter(createEncryptionCodec(createPayloadKeyring({ secretsKey: SECRETS_KEY })));

/** The `.json` files of a histories folder, sorted; subfolders are not read. */
export function historyFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
}

/** A committed history, ready for `Worker.runReplayHistory`. */
export function readHistory(dir: string, file: string): ReturnType<typeof historyFromJSON> {
  return historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
}

/** The workflow type a committed history ran (from its first event). */
export function workflowTypeOf(dir: string, file: string): string | undefined {
  const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] };
  return json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
}

/** Fetches a run's history from the server and writes it as committed JSON (one event attribute per line). */
export async function recordHistory(client: Client, dir: string, file: string, workflowId: string, runId?: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
}
