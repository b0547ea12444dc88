// Postgres AuditSink: one table for every replica's audit log; the gateway creates and migrates its schema itself.
import pg from 'pg';
import { AUDIT_COLUMNS, eventValues, filterSql, rowToEvent, type SqlDialect, type SqlValue } from './rows.js';
import type { AuditEvent, AuditFilter, AuditSink } from './sink.js';

export interface PostgresSinkOptions {
  /** The events table; default policylayer_audit_events. */
  table?: string;
}

export const DEFAULT_AUDIT_TABLE = 'policylayer_audit_events';
/** One row per events table in this database: the table's schema version. */
export const AUDIT_SCHEMA_TABLE = 'policylayer_audit_schema';
// Lowercase because psql folds unquoted names to lowercase (what the config says is what a person types); at most
// 40 characters so that every index name (table + suffix) stays within Postgres's 63 and is never truncated.
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,39}$/;
/** Rows per INSERT: 500 × 23 columns stays far below Postgres's 65 535 parameters per statement. */
const CHUNK = 500;

/** Schema versions, oldest first: step n takes a table from version n to n + 1 (see migrate()). */
function migrations(table: string): string[] {
  const t = `"${table}"`;
  const index = (suffix: string, columns: string) => `CREATE INDEX "${table}_${suffix}" ON ${t} (${columns});`;
  return [
    `CREATE TABLE ${t} (
      id text COLLATE "C" PRIMARY KEY,
      time bigint NOT NULL,
      kind text NOT NULL,
      instance text COLLATE "C" NOT NULL,
      seq bigint NOT NULL,
      server text,
      tool text,
      agent text,
      session text,
      protocol text,
      args jsonb,
      args_hash text,
      decision text,
      rule text,
      reason text,
      approval_id text,
      call_id text,
      outcome text,
      decision_ms double precision,
      upstream_ms double precision,
      detail text,
      prev_hash text,
      hash text
    );
    ${index('time', 'time, instance, seq')}
    ${index('server_tool_time', 'server, tool, time')}
    ${index('agent_time', 'agent, time')}
    ${index('decision_time', 'decision, time')}
    ${index('call_id', 'call_id')}`,
    // `instance` sorts bytewise, as in SQLite and JSONL, whatever the database's collation; the time index carries the
    // whole query order (time, instance, seq) so that a tail of the log needs no sort (as in SQLite).
  ];
}

const DIALECT: SqlDialect = {
  placeholder: (n) => `$${n}`,
  oneOf: (column, placeholder) => `${column} = ANY(${placeholder}::text[])`,
  list: (values) => values,
};

// Postgres text cannot hold U+0000 and jsonb also rejects unpaired surrogates; rather than lose a whole batch to one
// such argument, they are stored as U+FFFD. (JSON.stringify escapes exactly these characters as \u0000 / \udXXX,
// so in JSON text they are found as escapes preceded by an even run of backslashes.)
const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const UNSTORABLE_JSON = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;
const storable = (column: string, value: SqlValue): SqlValue =>
  typeof value !== 'string' ? value : column === 'args' ? value.replace(UNSTORABLE_JSON, '$1\\ufffd') : value.replace(UNSTORABLE_TEXT, '\ufffd');

/** The URL as errors may show it: scheme, user, host:port and database; never the password or query options. */
export function redactPostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return url.replace(/(\/\/[^:@/]*):[^@]*@/, '$1:***@').replace(/\?.*$/, '');
  }
}

/** What went wrong, also for connection errors whose message is empty (an AggregateError of every address tried). */
function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describe).join('; ');
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

/**
 * Connects (a pool of at most 4), creates or migrates the table, and resolves once the sink can be used: a wrong URL,
 * an unreachable server or a schema from a newer policylayer fails here, naming the server (without its password).
 */
export async function createPostgresSink(url: string, opts: PostgresSinkOptions = {}): Promise<AuditSink> {
  const where = redactPostgresUrl(url);
  const table = opts.table ?? DEFAULT_AUDIT_TABLE;
  const fail = (what: string, err: unknown): Error =>
    new Error(`postgres audit log ${where} (table ${table}): ${what} failed: ${describe(err)}`, { cause: err });

  if (!TABLE_NAME.test(table)) {
    throw fail('opening', new Error('the table name must be 1–40 lowercase letters, digits or _, not starting with a digit'));
  }
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw fail('opening', new Error('not a URL; expected postgres://user[:password]@host[:port]/database'));
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') throw fail('opening', new Error(`expected postgres:// or postgresql://, got ${protocol}//`));

  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000, application_name: 'policylayer-audit' });
  // An idle connection that breaks (server restart) is dropped by the pool and reopened on demand; without a
  // listener the 'error' event would end the process.
  pool.on('error', () => {});
  try {
    await migrate(pool, table);
  } catch (err) {
    await pool.end().catch(() => {});
    throw fail('creating the schema', err);
  }

  const t = `"${table}"`;
  const columns = AUDIT_COLUMNS.join(', ');
  const selected = AUDIT_COLUMNS.map((c) => (c === 'args' ? 'args::text AS args' : c)).join(', ');
  /** One INSERT of `rows` events; a retried batch (its earlier attempt committed after all) is not stored twice. */
  const insertSql = (rows: number): string => {
    const tuples = Array.from({ length: rows }, (_, r) => {
      const base = r * AUDIT_COLUMNS.length;
      return `(${AUDIT_COLUMNS.map((c, i) => `$${base + i + 1}${c === 'args' ? '::jsonb' : ''}`).join(', ')})`;
    });
    return `INSERT INTO ${t} (${columns}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO NOTHING`;
  };
  const insert = (client: pg.Pool | pg.PoolClient, events: readonly AuditEvent[]) =>
    client.query(insertSql(events.length), events.flatMap((e) => eventValues(e).map((v, i) => storable(AUDIT_COLUMNS[i]!, v))));

  let closed = false;
  const open = (what: string): void => {
    if (closed) throw fail(what, new Error('the sink is closed'));
  };

  return {
    kind: 'postgres',
    async write(events) {
      open('write');
      if (events.length === 0) return;
      try {
        if (events.length <= CHUNK) {
          await insert(pool, events);
          return;
        }
        // Several statements, one transaction: a write() is stored whole or not at all.
        await transaction(pool, async (client) => {
          for (let i = 0; i < events.length; i += CHUNK) await insert(client, events.slice(i, i + CHUNK));
        });
      } catch (err) {
        throw fail(`write of ${events.length} events`, err);
      }
    },
    async query(filter) {
      open('query');
      // `time` is a bigint: a fractional bound is rounded up, which keeps its meaning for whole-millisecond times.
      const whole: AuditFilter = { ...filter };
      if (whole.since !== undefined) whole.since = Math.ceil(whole.since);
      if (whole.until !== undefined) whole.until = Math.ceil(whole.until);
      const { sql, params } = filterSql(whole, DIALECT);
      try {
        const { rows } = await pool.query<Record<string, unknown>>(`SELECT ${selected} FROM ${t} ${sql}`, params);
        return rows.map(rowToEvent);
      } catch (err) {
        throw fail('query', err);
      }
    },
    async prune(before) {
      open('prune');
      try {
        const { rowCount } = await pool.query(`DELETE FROM ${t} WHERE time < $1`, [Math.ceil(before)]);
        return rowCount ?? 0;
      } catch (err) {
        throw fail('prune', err);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/**
 * Brings the table to the latest schema version in one transaction. Replicas starting together queue on a
 * transaction-scoped advisory lock, so exactly one creates the table and the others find it done (a plain
 * CREATE TABLE IF NOT EXISTS still races in Postgres: two creators can both pass the check and one fails).
 */
async function migrate(pool: pg.Pool, table: string): Promise<void> {
  const steps = migrations(table);
  await transaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('${AUDIT_SCHEMA_TABLE}'))`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${AUDIT_SCHEMA_TABLE} (table_name text PRIMARY KEY, version int NOT NULL)`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${AUDIT_SCHEMA_TABLE} WHERE table_name = $1`, [table]);
    const from = rows[0]?.version ?? 0;
    if (from > steps.length) {
      throw new Error(`the table has audit schema version ${from}, newer than this policylayer knows (${steps.length}); upgrade policylayer or use another table`);
    }
    for (let version = from; version < steps.length; version++) await client.query(steps[version]!);
    if (from < steps.length) {
      await client.query(
        `INSERT INTO ${AUDIT_SCHEMA_TABLE} (table_name, version) VALUES ($1, $2) ON CONFLICT (table_name) DO UPDATE SET version = EXCLUDED.version`,
        [table, steps.length],
      );
    }
  });
}

/** Runs `fn` in a transaction on one pooled connection; a connection that could not even roll back is discarded. */
async function transaction(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await fn(client);
    await client.query('COMMIT');
  } catch (err) {
    broken = await client.query('ROLLBACK').then(
      () => undefined,
      (rollbackErr: unknown) => (rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))),
    );
    throw err;
  } finally {
    client.release(broken);
  }
}
