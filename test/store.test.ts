import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATUSES, type TaskStatus } from '../src/shared/task-status';
import { MigrationError, StoreLockedError, TaskNotFoundError } from '../src/store/errors';
import { DEFAULT_MIGRATIONS_DIR, migrate, splitStatements } from '../src/store/migrate';
import { openStore } from '../src/store/open-store';
import { createPostgresStore } from '../src/store/postgres-store';
import { createPgExecutor, createPgliteExecutor, type SqlExecutor } from '../src/store/sql-executor';
import type { NewTask, Store } from '../src/store/store';

const INITIAL_VERSION = '20261121000000';
const TABLES = ['guilds', 'users', 'tasks'];

let sequence = 0;
/** A unique id, so tests sharing one database never see each other's rows. */
function uniqueId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${sequence}`;
}

function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: uniqueId('task'),
    guildId: uniqueId('guild'),
    channelId: 'channel-1',
    requesterId: uniqueId('user'),
    prompt: 'Add a health check endpoint',
    repo: 'acme/widgets',
    branch: 'main',
    status: 'pending_confirmation',
    keySource: 'personal',
    ...overrides,
  };
}

/**
 * The store's behaviour, run against one engine. `freshExecutor` returns an empty database each call.
 */
function describeStoreOn(engine: string, freshExecutor: () => Promise<SqlExecutor>): void {
  describe(`the store on ${engine}`, () => {
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
      it('applies the initial schema once, and a second run applies nothing', async () => {
        const db = await fresh();
        expect(await migrate(db)).toEqual([INITIAL_VERSION]);
        expect(await migrate(db)).toEqual([]);
        const history = await db.query<{ version: string; name: string; statements: string[] }>(
          'select version, name, statements from supabase_migrations.schema_migrations',
        );
        expect(history).toHaveLength(1);
        expect(history[0]?.version).toBe(INITIAL_VERSION);
        expect(history[0]?.name).toBe('initial_schema');
        expect(history[0]?.statements.some((statement) => statement.includes('create table tasks'))).toBe(true);
      });

      it('applies each migration once when two runners start together', async () => {
        const db = await fresh();
        const [first, second] = await Promise.all([migrate(db), migrate(db)]);
        expect([...(first ?? []), ...(second ?? [])]).toEqual([INITIAL_VERSION]);
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
          const tables = await db.query<{ relname: string }>(
            `select relname from pg_class where relname in ('good_one', 'half_done')`,
          );
          expect(tables.map((row) => row.relname)).toEqual(['good_one']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('enables row level security on every table', async () => {
        const rows = await executor.query<{ relname: string; relrowsecurity: boolean }>(
          `select relname, relrowsecurity from pg_class
           where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname`,
        );
        expect(rows.map((row) => row.relname).sort()).toEqual([...TABLES].sort());
        expect(rows.every((row) => row.relrowsecurity)).toBe(true);
      });

      it('shows an anonymous role no rows even when it is granted select', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: ['r1'], confirmRoles: [] });
        const role = `anon_${process.pid}_${Date.now()}`;
        await executor.exec(`create role ${role} nologin; grant select on guilds, users, tasks to ${role};`);
        try {
          const seen = await executor.transaction(async (tx) => {
            await tx.exec(`set local role ${role}`);
            return tx.query<{ n: number }>('select count(*)::int as n from guilds');
          });
          expect(seen).toEqual([{ n: 0 }]);
          expect(await store.getGuild(guildId)).toBeDefined();
        } finally {
          await executor.exec(`drop owned by ${role}; drop role ${role};`);
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

      it('accepts every status the service knows', async () => {
        for (const status of TASK_STATUSES) {
          const task = await store.createTask(newTask({ status }));
          expect(task.status).toBe(status);
        }
      });

      it('refuses a default repo that is not owner/repo', async () => {
        const upsert = store.upsertGuild({
          guildId: uniqueId('guild'),
          createRoles: [],
          confirmRoles: [],
          defaultRepo: 'https://github.com/acme/widgets',
        });
        await expect(upsert).rejects.toMatchObject({ code: '23514' });
      });
    });

    describe('guilds', () => {
      it('has no configuration for a guild nobody set up', async () => {
        expect(await store.getGuild(uniqueId('guild'))).toBeUndefined();
      });

      it('stores a guild’s roles and defaults', async () => {
        const guildId = uniqueId('guild');
        const saved = await store.upsertGuild({
          guildId,
          createRoles: ['111', '222'],
          confirmRoles: ['333'],
          defaultRepo: 'acme/widgets',
          defaultBranch: 'develop',
        });
        expect(saved).toMatchObject({
          guildId,
          createRoles: ['111', '222'],
          confirmRoles: ['333'],
          defaultRepo: 'acme/widgets',
          defaultBranch: 'develop',
          hasDefaultKey: false,
        });
        expect(saved.updatedAt).toBeInstanceOf(Date);
        expect(await store.getGuild(guildId)).toEqual(saved);
      });

      it('keeps the default repo and branch when a later update leaves them out, and clears them with null', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: [], defaultRepo: 'acme/a', defaultBranch: 'dev' });
        const kept = await store.upsertGuild({ guildId, createRoles: ['2'], confirmRoles: ['3'] });
        expect(kept).toMatchObject({ createRoles: ['2'], confirmRoles: ['3'], defaultRepo: 'acme/a', defaultBranch: 'dev' });
        const changed = await store.upsertGuild({ guildId, createRoles: ['2'], confirmRoles: ['3'], defaultRepo: 'acme/b' });
        expect(changed).toMatchObject({ defaultRepo: 'acme/b', defaultBranch: 'dev' });
        const cleared = await store.upsertGuild({
          guildId,
          createRoles: [],
          confirmRoles: [],
          defaultRepo: null,
          defaultBranch: null,
        });
        expect(cleared).toMatchObject({ createRoles: [], confirmRoles: [], defaultRepo: null, defaultBranch: null });
        expect(cleared.updatedAt.getTime()).toBeGreaterThanOrEqual(kept.updatedAt.getTime());
      });

      it('reports a default key once the guild key is set, without exposing it', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: [], confirmRoles: [] });
        expect((await store.getGuild(guildId))?.hasDefaultKey).toBe(false);
        await store.setGuildKey(guildId, 'v1:abc:ciphertext');
        const config = await store.getGuild(guildId);
        expect(config?.hasDefaultKey).toBe(true);
        expect(JSON.stringify(config)).not.toContain('ciphertext');
      });
    });

    describe('keys', () => {
      it('returns no key for a guild or member that never set one', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: [], confirmRoles: [] });
        expect(await store.getGuildKey(guildId)).toBeUndefined();
        expect(await store.getGuildKey(uniqueId('guild'))).toBeUndefined();
        expect(await store.getUserKey(uniqueId('user'))).toBeUndefined();
      });

      it('stores a guild key as given and replaces it on a second set', async () => {
        const guildId = uniqueId('guild');
        await store.upsertGuild({ guildId, createRoles: ['9'], confirmRoles: [] });
        await store.setGuildKey(guildId, 'v1:first');
        await store.setGuildKey(guildId, 'v1:second');
        expect(await store.getGuildKey(guildId)).toBe('v1:second');
        expect((await store.getGuild(guildId))?.createRoles).toEqual(['9']);
      });

      it('creates the guild when its key is set before its roles', async () => {
        const guildId = uniqueId('guild');
        await store.setGuildKey(guildId, 'v1:early');
        expect(await store.getGuild(guildId)).toMatchObject({ guildId, createRoles: [], confirmRoles: [], hasDefaultKey: true });
        await store.upsertGuild({ guildId, createRoles: ['1'], confirmRoles: ['2'] });
        expect(await store.getGuildKey(guildId)).toBe('v1:early');
      });

      it('stores a member’s personal key and replaces it on a second set', async () => {
        const userId = uniqueId('user');
        await store.setUserKey(userId, 'v1:mine');
        expect(await store.getUserKey(userId)).toBe('v1:mine');
        await store.setUserKey(userId, 'v1:rotated');
        expect(await store.getUserKey(userId)).toBe('v1:rotated');
        expect(await store.getUserKey(uniqueId('user'))).toBeUndefined();
      });
    });

    describe('tasks', () => {
      it('records a new task with empty progress fields', async () => {
        const input = newTask({ branch: null, keySource: 'guild' });
        const task = await store.createTask(input);
        expect(task).toMatchObject({
          ...input,
          cardMessageId: null,
          decidedBy: null,
          julesSessionId: null,
          julesSessionUrl: null,
          julesState: null,
          prUrl: null,
          lastError: null,
        });
        expect(task.createdAt).toBeInstanceOf(Date);
        expect(task.updatedAt).toBeInstanceOf(Date);
        expect(await store.getTask(input.id)).toEqual(task);
      });

      it('returns the first record unchanged when the same task is recorded twice', async () => {
        const input = newTask();
        const first = await store.createTask(input);
        await store.updateTask(input.id, { status: 'in_progress' });
        const again = await store.createTask({ ...input, prompt: 'something else', status: 'pending_confirmation' });
        expect(again.prompt).toBe(first.prompt);
        expect(again.status).toBe('in_progress');
        expect(again.createdAt).toEqual(first.createdAt);
      });

      it('has no task for an unknown id', async () => {
        expect(await store.getTask(uniqueId('task'))).toBeUndefined();
      });

      it('changes only the fields a patch sets, clears those set to null, and bumps updated_at', async () => {
        const created = await store.createTask(newTask());
        const started = await store.updateTask(created.id, {
          status: 'in_progress',
          decidedBy: 'confirmer-1',
          julesSessionId: 'sessions/42',
          julesSessionUrl: 'https://jules.google.com/session/42',
          lastError: 'transient',
        });
        expect(started).toMatchObject({
          status: 'in_progress',
          decidedBy: 'confirmer-1',
          julesSessionId: 'sessions/42',
          prompt: created.prompt,
          cardMessageId: null,
        });
        // Compared in SQL: Date has millisecond precision, timestamptz has microseconds.
        const [bumped] = await executor.query<{ later: boolean }>(
          'select updated_at > created_at as later from tasks where id = $1',
          [created.id],
        );
        expect(bumped?.later).toBe(true);
        expect(started.createdAt).toEqual(created.createdAt);

        const finished = await store.updateTask(created.id, {
          status: 'completed',
          prUrl: 'https://github.com/acme/widgets/pull/7',
          lastError: null,
          julesState: undefined,
        });
        expect(finished).toMatchObject({
          status: 'completed',
          prUrl: 'https://github.com/acme/widgets/pull/7',
          lastError: null,
          decidedBy: 'confirmer-1',
          julesSessionUrl: 'https://jules.google.com/session/42',
        });
        expect(await store.getTask(created.id)).toEqual(finished);
      });

      it('refuses to update a task that does not exist', async () => {
        const id = uniqueId('task');
        const failure = await store.updateTask(id, { status: 'failed' }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(TaskNotFoundError);
        expect(failure).toMatchObject({ code: 'TASK_NOT_FOUND', status: 404, taskId: id });
      });

      it('lists a guild’s tasks newest first, filtered by requester and status', async () => {
        const guildId = uniqueId('guild');
        const alice = uniqueId('alice');
        const bob = uniqueId('bob');
        const made: string[] = [];
        const plan: [string, TaskStatus][] = [
          [alice, 'pending_confirmation'],
          [bob, 'in_progress'],
          [alice, 'completed'],
          [alice, 'in_progress'],
        ];
        for (const [requesterId, status] of plan) {
          made.push((await store.createTask(newTask({ guildId, requesterId, status }))).id);
        }
        await store.createTask(newTask({ requesterId: alice, status: 'in_progress' })); // another guild

        const all = await store.listTasks({ guildId });
        expect(all.map((task) => task.id)).toEqual([...made].reverse());

        const alicesOpen = await store.listTasks({ guildId, requesterId: alice, statuses: ['pending_confirmation', 'in_progress'] });
        expect(alicesOpen.map((task) => task.id)).toEqual([made[3], made[0]]);

        const alicesEverywhere = await store.listTasks({ requesterId: alice, statuses: ['in_progress'] });
        expect(alicesEverywhere).toHaveLength(2);

        expect(await store.listTasks({ guildId, limit: 2 })).toHaveLength(2);
        expect(await store.listTasks({ guildId, statuses: [] })).toEqual([]);
      });

      it('lists at most 25 tasks unless asked for more', async () => {
        const guildId = uniqueId('guild');
        for (let i = 0; i < 27; i += 1) await store.createTask(newTask({ guildId }));
        expect(await store.listTasks({ guildId })).toHaveLength(25);
        expect(await store.listTasks({ guildId, limit: 100 })).toHaveLength(27);
      });
    });

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
        const [row] = await executor.query<{ at: unknown; roles: unknown }>(
          `select now() as at, array['a', 'b"c', 'd,e']::text[] as roles`,
        );
        expect(row?.at).toBeInstanceOf(Date);
        expect(row?.roles).toEqual(['a', 'b"c', 'd,e']);
      });
    });
  });
}

describeStoreOn('PGlite in memory', () => createPgliteExecutor(undefined));

/**
 * Starts a throwaway PostgreSQL server from the local binaries, if there are any. Postgres refuses to run
 * as root, so as root it runs as the `postgres` user through runuser.
 */
async function startLocalPostgres(): Promise<{ url: string; stop: () => void } | string> {
  const bin = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .map((version) => join('/usr/lib/postgresql', version, 'bin'))
        .find((dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')))
    : undefined;
  if (!bin) return 'no PostgreSQL server binary under /usr/lib/postgresql';
  const asRoot = process.getuid?.() === 0;
  if (asRoot && spawnSync('id', ['postgres']).status !== 0) return 'running as root and there is no postgres user';
  const run = (command: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : join(bin, command), asRoot ? ['-u', 'postgres', '--', join(bin, command), ...args] : args, {
      stdio: 'pipe',
    });
  const port = await new Promise<number>((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const root = mkdtempSync(join(tmpdir(), 'jo-postgres-'));
  chmodSync(root, 0o777); // the postgres user writes here when we are root
  const data = join(root, 'data');
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    run('pg_ctl', ['-D', data, '-w', '-l', join(root, 'log'), '-o', `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    return `could not start a local PostgreSQL server: ${(error as Error).message}`;
  }
  return {
    url: `postgresql://postgres@127.0.0.1:${port}`,
    stop: () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

// The same behaviour on a real PostgreSQL server, when this machine has one. Skipped, with the reason
// printed, when it has not: PGlite above is the engine every machine can run.
const localPostgres = await startLocalPostgres();
if (typeof localPostgres === 'string') {
  describe.skip(`the store on a local PostgreSQL server (${localPostgres})`, () => {
    it('is skipped', () => {});
  });
} else {
  afterAll(() => localPostgres.stop());
  const admin = createPgExecutor(`${localPostgres.url}/postgres`);
  afterAll(() => admin.close());
  describeStoreOn('a local PostgreSQL server', async () => {
    const name = `store_${sequence++}`;
    await admin.exec(`create database ${name}`);
    return createPgExecutor(`${localPostgres.url}/${name}`);
  });
}

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
    expect(history.map((row) => row.version)).toEqual([INITIAL_VERSION]);
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
