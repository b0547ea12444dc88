// SQLite AuditSink: the audit log in one file (WAL), shared by every gateway process on this host that opens it.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { AUDIT_COLUMNS, eventValues, filterSql, rowToEvent, type SqlDialect, type SqlValue } from './rows.js';
import type { AuditEvent, AuditSink } from './sink.js';

/**
 * Schema versions, oldest first: MIGRATIONS[n] takes a file from `PRAGMA user_version` n to n + 1. A later version
 * appends a step; a file already at a newer version than this code knows is refused rather than misread.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    instance TEXT NOT NULL,
    seq INTEGER NOT NULL,
    server TEXT,
    tool TEXT,
    agent TEXT,
    session TEXT,
    protocol TEXT,
    args TEXT,
    args_hash TEXT,
    decision TEXT,
    rule TEXT,
    reason TEXT,
    approval_id TEXT,
    call_id TEXT,
    outcome TEXT,
    decision_ms REAL,
    upstream_ms REAL,
    detail TEXT,
    prev_hash TEXT,
    hash TEXT
  );
  -- (time) extended by the rest of the query order: a tail of the whole log needs no sort.
  CREATE INDEX audit_events_time ON audit_events (time, instance, seq);
  CREATE INDEX audit_events_server_tool_time ON audit_events (server, tool, time);
  CREATE INDEX audit_events_agent_time ON audit_events (agent, time);
  CREATE INDEX audit_events_decision_time ON audit_events (decision, time);
  CREATE INDEX audit_events_call_id ON audit_events (call_id);
  `,
];
export const SQLITE_AUDIT_SCHEMA_VERSION = MIGRATIONS.length;

const DIALECT: SqlDialect = {
  placeholder: () => '?',
  // One parameter whatever the number of ids (SQLite caps the number of parameters).
  oneOf: (column, placeholder) => `${column} IN (SELECT value FROM json_each(${placeholder}))`,
  list: (values) => JSON.stringify(values),
};

/** Rows deleted per prune transaction: other processes get the write lock between chunks (their busy_timeout is 5 s). */
const PRUNE_CHUNK = 5000;

/** Opens (creating it and its directory, and migrating its schema) the audit file. */
export function createSqliteSink(file: string): AuditSink {
  const inMemory = file === ':memory:';
  const where = inMemory ? file : path.resolve(file);
  const fail = (what: string, err: unknown): Error =>
    new Error(`sqlite audit log ${where}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });

  let db: Database.Database;
  try {
    if (!inMemory) mkdirSync(path.dirname(where), { recursive: true });
    db = new Database(where);
    // Before anything that takes a lock: several processes may open a new file at the same moment.
    db.pragma('busy_timeout = 5000');
    initialise(db);
  } catch (err) {
    throw fail('opening', err);
  }

  const columns = AUDIT_COLUMNS.join(', ');
  // A retried batch (its earlier attempt committed after all) is not stored twice: ids are unique per event.
  const insert = db.prepare<SqlValue[]>(
    `INSERT INTO audit_events (${columns}) VALUES (${AUDIT_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (id) DO NOTHING`,
  );
  const writeTx = db.transaction((events: readonly AuditEvent[]) => {
    for (const event of events) insert.run(...eventValues(event));
  });
  const pruneChunk = db.prepare<[number, number]>(
    'DELETE FROM audit_events WHERE rowid IN (SELECT rowid FROM audit_events WHERE time < ? LIMIT ?)',
  );
  const pruneTx = db.transaction((before: number) => pruneChunk.run(before, PRUNE_CHUNK).changes);
  // One prepared statement per filter shape (which fields are set): a handful at most.
  const queries = new Map<string, Database.Statement<unknown[], Record<string, unknown>>>();

  let closed = false;
  const open = (what: string): void => {
    if (closed) throw fail(what, new Error('the sink is closed'));
  };

  return {
    kind: 'sqlite',
    async write(events) {
      open('write');
      if (events.length === 0) return;
      try {
        // IMMEDIATE takes the write lock up front, so a busy file waits (busy_timeout) instead of failing mid-batch.
        writeTx.immediate(events);
      } catch (err) {
        throw fail(`write of ${events.length} events`, err);
      }
    },
    async query(filter) {
      open('query');
      const { sql, params } = filterSql(filter, DIALECT);
      try {
        const text = `SELECT ${columns} FROM audit_events ${sql}`;
        let statement = queries.get(text);
        if (!statement) {
          statement = db.prepare<unknown[], Record<string, unknown>>(text);
          queries.set(text, statement);
        }
        return statement.all(...params).map(rowToEvent);
      } catch (err) {
        throw fail('query', err);
      }
    },
    async prune(before) {
      open('prune');
      let deleted = 0;
      try {
        for (;;) {
          const changes = pruneTx.immediate(before);
          deleted += changes;
          if (changes < PRUNE_CHUNK) return deleted;
          // Lets this process's own writes in between chunks too.
          await yieldToEventLoop();
          if (closed) throw new Error('the sink was closed meanwhile');
        }
      } catch (err) {
        throw fail(`prune (after deleting ${deleted} events)`, err);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

/** WAL (readers beside the writer, e.g. `policylayer audit`) and the schema; retried while another process does the same. */
function initialise(db: Database.Database): void {
  for (let attempt = 0; ; attempt++) {
    try {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a crash of the process; only a power cut may lose the last commits.
      db.pragma('synchronous = NORMAL');
      // Opening an up-to-date file needs no write lock.
      if (schemaVersion(db) === MIGRATIONS.length) return;
      db.exec('BEGIN IMMEDIATE');
      const from = schemaVersion(db);
      if (from > MIGRATIONS.length) {
        throw new Error(
          `the file has audit schema version ${from}, newer than this policylayer knows (${MIGRATIONS.length}); upgrade policylayer or use another file`,
        );
      }
      for (let version = from; version < MIGRATIONS.length; version++) db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${MIGRATIONS.length}`);
      db.exec('COMMIT');
      return;
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 20) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
}

function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}
