import type { TestStack } from './stack';

/**
 * Where any of `keys` shows in plaintext (or base64 of it) in what a stack kept: the tasks' workflow histories, every
 * log line, every Discord message, the interaction answers a test collected, and every row of every table the store
 * keeps. An empty list means nowhere. Stored keys are ciphertext, so a key found in a row is a leak.
 */
export async function keyLeaks(
  s: TestStack,
  keys: readonly string[],
  seen: { readonly taskIds?: readonly string[]; readonly answers?: readonly unknown[] } = {},
): Promise<string[]> {
  const histories = await Promise.all((seen.taskIds ?? []).map((id) => s.client.workflow.getHandle(id).fetchHistory()));
  const tables = await s.sql.query<{ name: string }>("select tablename as name from pg_tables where schemaname = 'public' order by 1");
  const rows = await Promise.all(tables.map(({ name }) => s.sql.query(`select to_jsonb(t)::text as row from public."${name.replaceAll('"', '""')}" t`)));
  if (s.logs.length === 0) throw new Error('the stack wrote no log lines: nothing to look for keys in');
  const haystacks = {
    history: JSON.stringify(histories),
    logs: s.logs.join('\n'),
    discord: s.discord.allMessagesText(),
    answers: JSON.stringify(seen.answers ?? []),
    database: JSON.stringify(rows),
  };
  const leaks: string[] = [];
  for (const [where, text] of Object.entries(haystacks)) {
    for (const key of keys) {
      if (text.includes(key)) leaks.push(`${where} contains a Jules key`);
      if (text.includes(Buffer.from(key).toString('base64'))) leaks.push(`${where} contains a base64 Jules key`);
    }
  }
  return leaks;
}
