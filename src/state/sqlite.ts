// SQLite StateStore: the admission log in one file, exact for every process on this host that opens it (WAL, BEGIN IMMEDIATE).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { CounterInfo, LimitCheck, Reservation, ReservationToken, StateStore, StoreHealth, StoreOptions } from './store.js';
import { assertCheck, fits, retryAfter } from './window.js';

export interface SqliteStoreTuning {
  /** How often admissions of idle keys are deleted; default 60 s. */
  sweepIntervalMs?: number;
  /** How long a reserve() waits for another process's write lock before it fails; default 5 s. */
  busyTimeoutMs?: number;
}

// Version 1: entries (the log; its primary key is the (key, ts) index) and sums (running totals per key).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  key TEXT NOT NULL,
  ts INTEGER NOT NULL,
  member TEXT NOT NULL,
  cost REAL NOT NULL,
  PRIMARY KEY (key, ts, member)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sums (
  key TEXT PRIMARY KEY,
  used REAL NOT NULL,
  calls INTEGER NOT NULL,
  window_ms REAL NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 1;
`;

interface Sum {
  used: number;
  calls: number;
}

/**
 * Opens (and creates, with its directory) the state file. Time is Date.now(): every process on one host reads the
 * same clock. A reserve() that cannot get the write lock within busyTimeoutMs rejects; the caller applies fail_mode.
 */
export function createSqliteStore(file: string, opts: StoreOptions, tuning: SqliteStoreTuning = {}): StateStore {
  const where = file === ':memory:' ? file : path.resolve(file);
  const db = openStateDatabase(file, SCHEMA, tuning.busyTimeoutMs);

  const st = {
    sum: db.prepare<[string], Sum>('SELECT used, calls FROM sums WHERE key = ?'),
    expire: db.prepare<[string, number], { cost: number }>('DELETE FROM entries WHERE key = ? AND ts <= ? RETURNING cost'),
    window: db.prepare<[string], { ts: number; cost: number }>('SELECT ts, cost FROM entries WHERE key = ? ORDER BY ts'),
    insert: db.prepare<[string, number, string, number]>('INSERT INTO entries (key, ts, member, cost) VALUES (?, ?, ?, ?)'),
    setSum: db.prepare<[string, number, number, number]>(
      'INSERT INTO sums (key, used, calls, window_ms) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET used = excluded.used, calls = excluded.calls, window_ms = excluded.window_ms',
    ),
    giveBack: db.prepare<[number, number, string]>('UPDATE sums SET used = max(0, used - ?), calls = ? WHERE key = ?'),
    dropSum: db.prepare<[string]>('DELETE FROM sums WHERE key = ?'),
    removeAt: db.prepare<[string, number, string], { cost: number }>('DELETE FROM entries WHERE key = ? AND ts = ? AND member = ? RETURNING cost'),
    removeAny: db.prepare<[string, string], { cost: number }>('DELETE FROM entries WHERE key = ? AND member = ? RETURNING cost'),
    keys: db.prepare<[], { key: string; window_ms: number }>('SELECT key, window_ms FROM sums'),
    counters: db.prepare<[number, number, string], { key: string; used: number; calls: number; oldest: number; window_ms: number }>(`
      SELECT s.key AS key, total(e.cost) AS used, count(*) AS calls, min(e.ts) AS oldest, s.window_ms AS window_ms
      FROM sums s JOIN entries e ON e.key = s.key AND e.ts > ? - s.window_ms
      WHERE substr(s.key, 1, ?) = ?
      GROUP BY s.key ORDER BY s.key`),
  };

  // Unique across processes sharing the file; the admission time leads the member so that a rollback finds its row
  // through the primary key.
  const instance = randomBytes(6).toString('base64url');
  let seq = 0;

  /** Drops the key's admissions that left the window and returns what is left; the sums row is written by the caller. */
  const expire = (key: string, windowMs: number, now: number): Sum => {
    const sum = st.sum.get(key);
    if (!sum) return { used: 0, calls: 0 };
    const gone = st.expire.all(key, now - windowMs);
    if (gone.length === 0) return sum;
    const calls = sum.calls - gone.length;
    // With no admission left the sum restarts from an exact 0 instead of carrying rounding.
    if (calls <= 0) return { used: 0, calls: 0 };
    let used = sum.used;
    for (const g of gone) used -= g.cost;
    return { used: Math.max(0, used), calls };
  };

  const writeSum = (key: string, sum: Sum, windowMs: number): void => {
    if (sum.calls > 0) st.setSum.run(key, sum.used, sum.calls, windowMs);
    else st.dropSum.run(key);
  };

  const reserveTx = db.transaction((checks: LimitCheck[], now: number): Reservation => {
    const sums: Sum[] = [];
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      const earlier = checks.findIndex((c) => c.key === check.key);
      // A key checked twice in one call: the second check sees the first one's units.
      const sum = earlier < i ? sums[earlier]! : expire(check.key, check.windowMs, now);
      sums.push(sum);
      let used = sum.used;
      for (let j = 0; j < i; j++) if (checks[j]!.key === check.key) used += checks[j]!.cost;
      if (!fits(used, check.cost, check.max)) {
        // The expiries above are kept (the transaction commits): they are true whatever this call's fate.
        for (let j = 0; j <= i; j++) if (checks.findIndex((c) => c.key === checks[j]!.key) === j) writeSum(checks[j]!.key, sums[j]!, checks[j]!.windowMs);
        // Read oldest first only as far as needed; the cursor must be closed before the connection is used again.
        const cursor = st.window.iterate(check.key);
        try {
          return { ok: false, index: i, used, retryAfterMs: retryAfter(cursor, used, check.cost, check.max, check.windowMs, now) };
        } finally {
          cursor.return?.();
        }
      }
    }
    const token: ReservationToken = { entries: [] };
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      const member = `${now}.${instance}.${++seq}`;
      st.insert.run(check.key, now, member, check.cost);
      const sum = sums[checks.findIndex((c) => c.key === check.key)]!;
      sum.used += check.cost;
      sum.calls += 1;
      token.entries.push({ key: check.key, member, cost: check.cost });
    }
    for (let i = 0; i < checks.length; i++) {
      if (checks.findIndex((c) => c.key === checks[i]!.key) === i) writeSum(checks[i]!.key, sums[i]!, checks[i]!.windowMs);
    }
    return { ok: true, token };
  });

  const rollbackTx = db.transaction((token: ReservationToken): void => {
    for (const { key, member } of token.entries) {
      const ts = Number(member.slice(0, member.indexOf('.')));
      const row = Number.isSafeInteger(ts) ? st.removeAt.get(key, ts, member) : st.removeAny.get(key, member);
      if (!row) continue; // already gone: left the window, or rolled back twice
      const sum = st.sum.get(key);
      if (!sum) continue;
      const calls = sum.calls - 1;
      if (calls <= 0) st.dropSum.run(key);
      else st.giveBack.run(row.cost, calls, key);
    }
  });

  const sweepTx = db.transaction((keys: { key: string; window_ms: number }[], now: number): void => {
    for (const { key, window_ms } of keys) {
      const sum = expire(key, window_ms, now);
      writeSum(key, sum, window_ms);
    }
  });

  let closed = false;
  let health: StoreHealth = { ok: true, detail: `sqlite:${where} open` };
  const setHealth = (next: StoreHealth) => {
    if (next.ok === health.ok && next.detail === health.detail) return;
    health = next;
    opts.onHealthChange?.(next);
  };
  /** Runs one store operation, recording whether the file could be used. */
  const guarded = <T>(what: string, fn: () => T): Promise<T> => {
    if (closed) return Promise.reject(new Error(`the state store sqlite:${where} is closed`));
    try {
      const value = fn();
      if (!health.ok) setHealth({ ok: true, detail: `sqlite:${where} open` });
      return Promise.resolve(value);
    } catch (err) {
      setHealth({ ok: false, detail: `sqlite:${where}: ${what} failed: ${(err as Error).message}` });
      return Promise.reject(err);
    }
  };

  // Idle keys are otherwise only expired when checked again; in batches so that other processes are not held up.
  const sweep = () => {
    if (closed) return;
    try {
      const keys = st.keys.all();
      const now = Date.now();
      for (let i = 0; i < keys.length; i += 500) sweepTx.immediate(keys.slice(i, i + 500), now);
    } catch {
      // A busy file is swept next time; reserve() reports real failures.
    }
  };
  const timer = setInterval(sweep, tuning.sweepIntervalMs ?? 60_000);
  timer.unref();

  return {
    kind: 'sqlite',
    reserve(checks) {
      for (const check of checks) assertCheck(check);
      return guarded('reserve', () => reserveTx.immediate(checks, Date.now()));
    },
    async commit() {
      // The rows were written by reserve(); they leave with the window.
    },
    rollback(token) {
      return guarded('rollback', () => rollbackTx.immediate(token));
    },
    counters(prefix = opts.prefix) {
      return guarded('counters', () => {
        const now = Date.now();
        return st.counters.all(now, prefix.length, prefix).map(
          (r): CounterInfo => ({ key: r.key, used: r.used, calls: r.calls, nextExpiryMs: Math.max(0, Math.ceil(r.oldest + r.window_ms - now)) }),
        );
      });
    },
    health: () => health,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      db.close();
      setHealth({ ok: false, detail: `sqlite:${where} closed` });
    },
  };
}

/**
 * Opens (and creates, with its directory) a SQLite file of gateway.state and its `schema`: the counters, approvals,
 * agent tokens and catalogue all live in it, opened by several processes at once (gateways, the CLI).
 */
export function openStateDatabase(file: string, schema: string, busyTimeoutMs = 5000): Database.Database {
  const inMemory = file === ':memory:';
  const where = inMemory ? file : path.resolve(file);
  if (!inMemory) mkdirSync(path.dirname(where), { recursive: true });
  const db = new Database(where);
  // Before anything that takes a lock: several processes may open a new file at the same moment.
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  initialiseWal(db, schema);
  return db;
}

/** WAL lets readers (`policylayer limits`) run beside the writer; setting it and the schema retry while another process does the same. */
/** Switches the file to WAL and creates `schema` in one write transaction, retrying while another process opens it too. */
export function initialiseWal(db: Database.Database, schema: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a crash of the process; only a power cut may lose the last admissions.
      db.pragma('synchronous = NORMAL');
      db.exec(`BEGIN IMMEDIATE; ${schema} COMMIT;`);
      return;
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 20) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
}
