import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SqlExecutor } from '../../src/store/sql-executor';

/**
 * The contract of Supabase's Data API (PostgREST 12) for the requests supabase-js makes, answered from a
 * real Postgres: `GET/POST/PATCH/DELETE /rest/v1/<table>` with `select`, `eq.`/`in.`/`is.`/`lt.`/`gt.`/`like.` filters,
 * `order`, `limit`/`offset`, `on_conflict` and `Prefer: resolution=…, return=…`, and `POST /rest/v1/rpc/<fn>`
 * with named arguments. Like the real one it needs the `apikey` header, runs each request in a transaction
 * as the role of the `Authorization: Bearer` JWT (HS256, the project's JWT secret), reads the body with
 * `json_populate_recordset`/`json_to_record`, answers with Postgres' own `json_agg` (so timestamps look
 * exactly as PostgREST sends them), and maps SQLSTATEs to HTTP statuses as PostgREST documents.
 * @see https://docs.postgrest.org/en/v12/references/api/tables_views.html
 * @see https://docs.postgrest.org/en/v12/references/errors.html
 */
export interface PostgrestEmulator {
  /** The project URL to give supabase-js (`http://127.0.0.1:<port>`). */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** One request as the emulator saw it. */
export interface RecordedRequest {
  readonly method: string;
  /** The path, e.g. `/rest/v1/rpc/jo_transition_task`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
}

/** Signs an HS256 JWT, as Supabase signs its anon and service role keys. */
export function signJwt(payload: Record<string, unknown>, secret: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** The role claim of a valid token, or undefined. */
function roleOf(token: string, secret: string): string | undefined {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return undefined;
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { role?: unknown };
  return typeof claims.role === 'string' ? claims.role : undefined;
}

/** An HTTP answer with PostgREST's error shape. */
class ApiError extends Error {
  readonly status: number;
  readonly body: { code: string; message: string; details: string | null; hint: string | null };
  constructor(status: number, body: ApiError['body']) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const ROLES = new Set(['anon', 'authenticated', 'service_role']);

function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new ApiError(400, { code: 'PGRST100', message: `"${name}" is not a column or table name`, details: null, hint: null });
  return `"${name}"`;
}

/** `a,b,c` or `*` as a select list, optionally qualified by a table alias. */
function selectList(select: string | null, alias = ''): string {
  const prefix = alias ? `${alias}.` : '';
  if (select === null || select === '*') return `${prefix}*`;
  return select.split(',').map((column) => `${prefix}${ident(column.trim())}`).join(', ');
}

/** The `in.(…)` list of PostgREST: comma-separated, values with reserved characters double-quoted. */
function inValues(list: string): string[] {
  const inner = list.replace(/^\(/, '').replace(/\)$/, '');
  return [...inner.matchAll(/"((?:[^"\\]|\\.)*)"|([^,]+)/g)].map((match) => (match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]!));
}

const RESERVED_PARAMS = new Set(['select', 'order', 'limit', 'offset', 'on_conflict', 'columns']);

/** The WHERE clause of a request's filters, appending its values to `params`. */
function whereOf(query: URLSearchParams, params: unknown[], alias = ''): string {
  const conditions: string[] = [];
  const col = (name: string) => `${alias ? `${alias}.` : ''}${ident(name)}`;
  for (const [column, filter] of query) {
    if (RESERVED_PARAMS.has(column)) continue;
    const negated = filter.startsWith('not.');
    const [operator, ...rest] = (negated ? filter.slice(4) : filter).split('.');
    const value = rest.join('.');
    let condition: string;
    if (operator === 'eq') {
      params.push(value);
      condition = `${col(column)} = $${params.length}`;
    } else if (operator === 'lt' || operator === 'gt') {
      params.push(value);
      condition = `${col(column)} ${operator === 'lt' ? '<' : '>'} $${params.length}`;
    } else if (operator === 'like') {
      // PostgREST takes `*` as an alias of `%`, so a pattern needs no URL encoding.
      params.push(value.replaceAll('*', '%'));
      condition = `${col(column)} like $${params.length}`;
    } else if (operator === 'in') {
      const values = inValues(value);
      condition = values.length === 0 ? 'false' : `${col(column)} in (${values.map((each) => (params.push(each), `$${params.length}`)).join(', ')})`;
    } else if (operator === 'is' && (value === 'null' || value === 'true' || value === 'false')) {
      condition = `${col(column)} is ${value}`;
    } else {
      throw new ApiError(400, { code: 'PGRST100', message: `unsupported filter ${filter}`, details: null, hint: null });
    }
    conditions.push(negated ? `not (${condition})` : condition);
  }
  return conditions.length > 0 ? `where ${conditions.join(' and ')}` : '';
}

function orderOf(order: string | null): string {
  if (!order) return '';
  const terms = order.split(',').map((term) => {
    const [column, ...modifiers] = term.split('.');
    const direction = modifiers.includes('desc') ? 'desc' : 'asc';
    const nulls = modifiers.includes('nullsfirst') ? ' nulls first' : modifiers.includes('nullslast') ? ' nulls last' : '';
    return `${ident(column!)} ${direction}${nulls}`;
  });
  return `order by ${terms.join(', ')}`;
}

function preferences(header: string | undefined): Set<string> {
  return new Set((header ?? '').split(',').map((part) => part.trim()).filter(Boolean));
}

/** The HTTP status PostgREST gives a SQLSTATE. */
function statusOf(code: string, role: string): number {
  if (code === '42501') return role === 'anon' ? 401 : 403;
  if (code === '23503' || code === '23505' || code === '23001') return 409;
  if (code === '42883' || code === '42P01') return 404;
  if (code === '53400') return 500;
  if (/^(08|09|0L|0P|25|28|2D|38|39|3B|40|53|54|55|57|58|F0|HV|P0|XX)/.test(code) && code !== 'P0001') return 500;
  return 400;
}

/** Runs one request's SQL and returns the HTTP status and JSON body. */
async function answer(tx: SqlExecutor, method: string, path: string, query: URLSearchParams, prefer: Set<string>, body: unknown): Promise<{ status: number; json?: unknown }> {
  const rpc = /^\/rest\/v1\/rpc\/([a-z_][a-z0-9_]*)$/.exec(path);
  if (rpc && method === 'POST') {
    const name = rpc[1]!;
    const [fn] = await tx.query<{ args: string; returns_set: boolean; scalar: boolean; void: boolean }>(
      `select pg_get_function_identity_arguments(p.oid) as args, p.proretset as returns_set,
              t.typtype <> 'c' as scalar, p.prorettype = 'void'::regtype as void
       from pg_proc p join pg_type t on t.oid = p.prorettype
       where p.pronamespace = 'public'::regnamespace and p.proname = $1`,
      [name],
    );
    if (!fn) throw new ApiError(404, { code: 'PGRST202', message: `Could not find the function public.${name} in the schema cache`, details: null, hint: null });
    const given = Object.keys((body ?? {}) as object);
    const named = given.map((arg) => `${ident(arg)} => _.${ident(arg)}`).join(', ');
    const call = `public.${ident(name)}(${named})`;
    // A function without arguments takes no record (an empty column list is not SQL).
    const from = fn.args ? `from json_to_record($1::json) as _(${fn.args})` : '';
    const args = fn.args ? [JSON.stringify(body ?? {})] : [];
    if (fn.void) {
      await tx.query(`select ${call} ${from}`, args);
      return { status: 204 };
    }
    if (fn.scalar && !fn.returns_set) {
      const [row] = await tx.query<{ result: unknown }>(`select to_json(${call}) as result ${from}`, args);
      return { status: 200, json: row?.result ?? null };
    }
    const [row] = await tx.query<{ rows: unknown }>(`select coalesce(json_agg(f), '[]'::json) as rows ${from ? `${from}, lateral` : 'from'} ${call} as f`, args);
    return { status: 200, json: row?.rows };
  }

  const table = /^\/rest\/v1\/([a-z_][a-z0-9_]*)$/.exec(path)?.[1];
  if (!table) throw new ApiError(404, { code: 'PGRST125', message: `Invalid path ${path}`, details: null, hint: null });
  const relation = `public.${ident(table)}`;
  const params: unknown[] = [];
  const returning = prefer.has('return=representation') ? `returning ${selectList(query.get('select'))}` : '';
  const aggregate = (sql: string) => `with r as (${sql}) select coalesce(json_agg(r), '[]'::json) as rows from r`;

  if (method === 'GET') {
    const where = whereOf(query, params);
    const limit = query.get('limit') !== null ? `limit ${Number.parseInt(query.get('limit')!, 10)}` : '';
    const offset = query.get('offset') !== null ? `offset ${Number.parseInt(query.get('offset')!, 10)}` : '';
    const [row] = await tx.query<{ rows: unknown }>(aggregate(`select ${selectList(query.get('select'))} from ${relation} ${where} ${orderOf(query.get('order'))} ${limit} ${offset}`), params);
    return { status: 200, json: row?.rows };
  }

  if (method === 'POST') {
    const records = Array.isArray(body) ? body : [body];
    const columns = [...new Set(records.flatMap((record) => Object.keys(record as object)))].map(ident);
    params.push(JSON.stringify(records));
    let conflict = '';
    const target = query.get('on_conflict');
    if (target !== null) {
      const targetColumns = target.split(',').map((column) => ident(column.trim()));
      const updates = columns.filter((column) => !targetColumns.includes(column)).map((column) => `${column} = excluded.${column}`);
      conflict =
        prefer.has('resolution=ignore-duplicates') || updates.length === 0
          ? `on conflict (${targetColumns.join(', ')}) do nothing`
          : `on conflict (${targetColumns.join(', ')}) do update set ${updates.join(', ')}`;
    }
    const insert = `insert into ${relation} (${columns.join(', ')}) select ${columns.join(', ')} from json_populate_recordset(null::${relation}, $1::json) ${conflict} ${returning}`;
    if (!returning) {
      await tx.query(insert, params);
      return { status: 201 };
    }
    const [row] = await tx.query<{ rows: unknown }>(aggregate(insert), params);
    return { status: 201, json: row?.rows };
  }

  if (method === 'PATCH') {
    const columns = Object.keys(body as object).map(ident);
    params.push(JSON.stringify(body));
    const where = whereOf(query, params, 't').replace(/^where /, 'and ');
    const qualified = returning ? `returning ${selectList(query.get('select'), 't')}` : '';
    const update = `update ${relation} as t set ${columns.map((column) => `${column} = b.${column}`).join(', ')} from json_populate_record(null::${relation}, $1::json) as b where true ${where} ${qualified}`;
    if (!returning) {
      await tx.query(update, params);
      return { status: 204 };
    }
    const [row] = await tx.query<{ rows: unknown }>(aggregate(update), params);
    return { status: 200, json: row?.rows };
  }

  if (method === 'DELETE') {
    const remove = `delete from ${relation} ${whereOf(query, params)} ${returning}`;
    if (!returning) {
      await tx.query(remove, params);
      return { status: 204 };
    }
    const [row] = await tx.query<{ rows: unknown }>(aggregate(remove), params);
    return { status: 200, json: row?.rows };
  }
  throw new ApiError(405, { code: 'PGRST117', message: `Unsupported HTTP method ${method}`, details: null, hint: null });
}

/** Starts the emulator on a random loopback port over `executor` (a migrated database). */
export async function startPostgrestEmulator(options: { executor: SqlExecutor; jwtSecret: string }): Promise<PostgrestEmulator> {
  const requests: RecordedRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body: unknown = text ? JSON.parse(text) : undefined;
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const headers = Object.fromEntries(['apikey', 'authorization', 'prefer', 'content-type', 'accept', 'content-profile', 'accept-profile'].map((name) => [name, header(name)]));
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body });

    const send = (status: number, json?: unknown) => {
      res.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' });
      res.end(json === undefined ? undefined : JSON.stringify(json));
    };
    // Supabase's gateway refuses a request without an API key before PostgREST sees it.
    if (!headers.apikey) return send(401, { message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1] ?? headers.apikey;
    const role = roleOf(bearer, options.jwtSecret);
    if (!role || !ROLES.has(role)) return send(401, { code: 'PGRST301', message: 'JWT could not be decoded', details: null, hint: null });

    let result: { status: number; json?: unknown } | undefined;
    let failure: ApiError | undefined;
    try {
      await options.executor.transaction(async (tx) => {
        await tx.exec(`set local role ${role}`);
        result = await answer(tx, req.method ?? 'GET', url.pathname, url.searchParams, preferences(headers.prefer), body);
      });
    } catch (error) {
      if (error instanceof ApiError) failure = error;
      else {
        const pgError = error as { code?: string; message?: string; detail?: string; hint?: string };
        const code = pgError.code ?? 'XX000';
        failure = new ApiError(statusOf(code, role), { code, message: pgError.message ?? String(error), details: pgError.detail ?? null, hint: pgError.hint ?? null });
      }
    }
    if (failure) return send(failure.status, failure.body);
    send(result!.status, result!.json);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'XX000', message: String(error), details: null, hint: null }));
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
